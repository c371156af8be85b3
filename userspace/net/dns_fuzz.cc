// libFuzzer target: DNS query decoding over arbitrary datagrams.
#include <cstdint>
#include <cstdlib>

#include "net/dns.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  agentwatch::DnsQuery q = agentwatch::ParseDnsQuery({data, size});
  if (q.state == agentwatch::DnsParseState::kOk) {
    if (q.questions.empty()) abort();
    for (const auto& question : q.questions) {
      if (question.name.empty() || question.name.back() != '.') abort();
    }
  } else if (q.error.empty()) {
    abort();  // every failure says why
  }
  return 0;
}
