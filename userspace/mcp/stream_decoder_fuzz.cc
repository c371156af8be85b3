// libFuzzer target: the whole per-stream decode path (detection, NDJSON,
// HTTP/1.1, SSE, JSON-RPC) fed in chunks at fuzzer-chosen offsets, so gaps,
// overlaps and stale chunks are exercised too.
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "mcp/stream_decoder.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  agentwatch::StreamDecoder d(1 << 16);
  std::vector<agentwatch::DecodedMessage> out;
  std::vector<agentwatch::DecodeFailure> failures;
  uint64_t offset = 0;
  size_t i = 0;
  // Each chunk: one byte of length, one byte of offset jump (-8..+23).
  while (i + 2 <= size) {
    size_t len = data[i] % 64;
    int jump = static_cast<int>(data[i + 1] % 32) - 8;
    i += 2;
    len = std::min(len, size - i);
    if (jump < 0 && offset < static_cast<uint64_t>(-jump)) jump = 0;
    offset += jump;
    d.Feed(offset, std::string_view(reinterpret_cast<const char*>(data) + i, len),
           &out, &failures);
    offset += len;
    i += len;
  }
  d.Close(&out, &failures);
  for (const auto& m : out) {
    if (m.transport.empty()) abort();
  }
  for (const auto& f : failures) {
    if (f.error.empty()) abort();
  }
  return 0;
}
