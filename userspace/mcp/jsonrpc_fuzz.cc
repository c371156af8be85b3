// libFuzzer target: JSON-RPC parsing of arbitrary frames, whole (with the
// repair of invalid UTF-8 and out-of-range numbers) and as a cut head.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "mcp/jsonrpc.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto p = agentwatch::ParseJsonRpc(
      std::string_view(reinterpret_cast<const char*>(data), size), 1 << 16);
  if (p.status == agentwatch::JsonRpcStatus::kOk) {
    if (p.messages.empty()) abort();
    for (const auto& m : p.messages) {
      if (m.kind == agentwatch::JsonRpcKind::kRequest && m.id.empty()) abort();
      if (m.kind == agentwatch::JsonRpcKind::kResult && m.result.empty())
        abort();
    }
  } else if (p.error.empty()) {
    abort();
  }
  // The same bytes as the head of a cut frame: a message or a reason, and
  // nothing read past the end.
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto h = agentwatch::ParseJsonRpcHead(text);
  if (h.status == agentwatch::JsonRpcStatus::kOk) {
    if (h.messages.size() != 1 || h.messages[0].note.empty()) abort();
    const auto& m = h.messages[0];
    if (m.kind == agentwatch::JsonRpcKind::kRequest && m.id.empty()) abort();
    if (!m.id.empty() && text.find(m.id) == std::string_view::npos) abort();
  } else if (h.error.empty()) {
    abort();
  }
  return 0;
}
