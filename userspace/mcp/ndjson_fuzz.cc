// libFuzzer target: NDJSON framing. The input is cut into chunks at the
// positions its first bytes choose, with a gap in the middle; frames must
// never contain a newline and never exceed the line limit.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "mcp/ndjson.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const size_t cut = data[0] % (size - 1) + 1;
  const bool gap = data[1] & 1;
  std::string_view s(reinterpret_cast<const char*>(data) + 2, size - 2);
  agentwatch::NdjsonFramer f(64);
  auto check = [](const agentwatch::NdjsonFramer::Frame& fr) {
    if (fr.bytes.find('\n') != std::string_view::npos) abort();
    if (fr.bytes.size() > 64) abort();
  };
  const size_t c = std::min(cut, s.size());
  f.Feed(s.substr(0, c), check);
  if (gap) f.Gap(check);
  f.Feed(s.substr(c), check);
  return 0;
}
