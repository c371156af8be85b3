// libFuzzer target: SSE parsing with an arbitrary split and an optional gap.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "mcp/sse.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const size_t cut = data[0];
  const bool gap = data[1] & 1;
  std::string_view s(reinterpret_cast<const char*>(data) + 2, size - 2);
  agentwatch::SseParser p(256);
  auto check = [](const agentwatch::SseEvent& e) {
    if (e.data.size() > 256) abort();
  };
  const size_t c = std::min(cut, s.size());
  p.Feed(s.substr(0, c), check);
  if (gap) p.Gap();
  p.Feed(s.substr(c), check);
  return 0;
}
