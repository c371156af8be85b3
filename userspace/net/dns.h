// DNS query decoding (RFC 1035 section 4): a pure function over the bytes of
// one UDP datagram.
#ifndef AGENTWATCH_NET_DNS_H_
#define AGENTWATCH_NET_DNS_H_

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace agentwatch {

struct DnsQuestion {
  std::string name;   // presentation form, "example.com."; odd bytes escaped
  uint16_t qtype = 0;
  uint16_t qclass = 0;
};

enum class DnsParseState {
  kOk,
  kTruncated,  // the datagram (or our capture of it) ended inside a field
  kInvalid,    // not a DNS query: bad label, pointer loop, counts absurd
};

struct DnsQuery {
  DnsParseState state = DnsParseState::kInvalid;
  std::string error;  // why, when state != kOk
  uint16_t id = 0;
  bool is_response = false;
  uint8_t opcode = 0;
  std::vector<DnsQuestion> questions;
};

// Decodes the header and question section. Never reads past data; a
// truncated capture returns the questions decoded so far.
DnsQuery ParseDnsQuery(std::span<const uint8_t> data);

// "A", "AAAA", "TXT", ... or "TYPE<n>".
std::string DnsTypeName(uint16_t qtype);

}  // namespace agentwatch

#endif  // AGENTWATCH_NET_DNS_H_
