// Fuzzes the MCP field readers and the canonical JSON form over arbitrary
// bytes: the first byte picks the method the bytes are read as.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "mcp/mcp_json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static constexpr std::string_view kMethods[] = {
      "tools/call", "tools/list", "initialize", "server/discover",
      "resources/read", "prompts/get"};
  std::string_view method = kMethods[data[0] % 6];
  std::string_view json(reinterpret_cast<const char*>(data + 1), size - 1);
  agentwatch::ReadRequestParams(method, json);
  agentwatch::ReadResult(method, json);
  agentwatch::ReadProgress(json);
  agentwatch::ReadCancel(json);
  auto c = agentwatch::CanonicalJson(json);
  // The canonical form is a fixed point.
  if (c) {
    auto again = agentwatch::CanonicalJson(*c);
    if (!again || *again != *c) __builtin_trap();
  }
  return 0;
}
