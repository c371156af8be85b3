// Fuzzes the MCP field readers, the canonical JSON form and the data-flow
// fingerprints over arbitrary bytes: the first byte picks the method the
// bytes are read as.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "mcp/fingerprint.h"
#include "mcp/mcp_json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static constexpr std::string_view kMethods[] = {
      "tools/call", "tools/list", "initialize", "server/discover",
      "resources/read", "prompts/get", "roots/list"};
  std::string_view method = kMethods[data[0] % 7];
  std::string_view json(reinterpret_cast<const char*>(data + 1), size - 1);
  agentwatch::ReadRequestParams(method, json);
  for (const auto& root : agentwatch::ReadResult(method, json).roots) {
    if (root.empty() || root[0] != '/') __builtin_trap();  // paths only
  }
  agentwatch::JsonStringValues(json, 4096);
  agentwatch::ReadProgress(json);
  agentwatch::ReadCancel(json);
  // Data-flow fingerprints: sorted and unique; a text shares all of its
  // own fingerprints with itself.
  auto fps = agentwatch::Fingerprints(agentwatch::FingerprintText(json));
  for (size_t i = 1; i < fps.size(); ++i) {
    if (fps[i - 1] >= fps[i]) __builtin_trap();
  }
  if (agentwatch::SharedFingerprints(fps, fps) != fps.size()) __builtin_trap();
  auto c = agentwatch::CanonicalJson(json);
  // The canonical form is a fixed point.
  if (c) {
    auto again = agentwatch::CanonicalJson(*c);
    if (!again || *again != *c) __builtin_trap();
  }
  return 0;
}
