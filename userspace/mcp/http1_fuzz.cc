// libFuzzer target: HTTP/1.1 parsing in both directions, with an arbitrary
// split, an optional gap and a close.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "mcp/http1.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const size_t cut = data[0];
  const uint8_t flags = data[1];
  std::string_view s(reinterpret_cast<const char*>(data) + 2, size - 2);
  agentwatch::Http1Parser::Limits lim;
  lim.max_head = 1024;
  agentwatch::Http1Parser p(flags & 1 ? agentwatch::Http1Parser::Direction::kResponses
                                      : agentwatch::Http1Parser::Direction::kRequests,
                            lim);
  bool in_message = false;
  agentwatch::Http1Parser::Callbacks cb{
      [&](const agentwatch::HttpHead&) {
        if (in_message) abort();  // a head inside an unfinished message
        in_message = true;
      },
      [&](std::string_view) {
        if (!in_message) abort();  // body bytes outside a message
      },
      [&](bool) { in_message = false; },
      [&](std::string_view why) {
        if (why.empty()) abort();
        in_message = false;
      },
  };
  const size_t c = std::min(cut, s.size());
  p.Feed(s.substr(0, c), cb);
  if (flags & 2) p.Gap(flags >> 2, cb);
  p.Feed(s.substr(c), cb);
  p.Close(cb);
  return 0;
}
