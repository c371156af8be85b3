// libFuzzer target: JSON-RPC parsing of arbitrary frames.
#include <cstdint>
#include <cstdlib>
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
  return 0;
}
