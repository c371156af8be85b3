#include "net/dns.h"

#include <fmt/format.h>

namespace agentwatch {
namespace {

constexpr size_t kHeaderSize = 12;
constexpr int kMaxQuestions = 32;
constexpr size_t kMaxNameLength = 255;  // RFC 1035 2.3.4, wire form
constexpr int kMaxPointerHops = 16;

// Reads a (possibly compressed) name starting at *pos. On success *pos is
// just after the name's in-place part.
DnsParseState ReadName(std::span<const uint8_t> d, size_t* pos,
                       std::string* out, std::string* error) {
  size_t p = *pos;
  size_t wire_len = 0;
  int hops = 0;
  bool jumped = false;
  out->clear();
  while (true) {
    if (p >= d.size()) {
      *error = "name runs past the end";
      return DnsParseState::kTruncated;
    }
    uint8_t len = d[p];
    if ((len & 0xC0) == 0xC0) {
      if (p + 1 >= d.size()) {
        *error = "pointer runs past the end";
        return DnsParseState::kTruncated;
      }
      size_t target = ((len & 0x3F) << 8) | d[p + 1];
      if (++hops > kMaxPointerHops || target >= p) {
        *error = "compression pointer loop";
        return DnsParseState::kInvalid;
      }
      if (!jumped) *pos = p + 2;
      jumped = true;
      p = target;
      continue;
    }
    if ((len & 0xC0) != 0) {
      *error = fmt::format("reserved label type 0x{:02x}", len & 0xC0);
      return DnsParseState::kInvalid;
    }
    if (len == 0) {
      if (!jumped) *pos = p + 1;
      if (out->empty()) *out = ".";
      return DnsParseState::kOk;
    }
    wire_len += len + 1;
    if (wire_len > kMaxNameLength) {
      *error = "name longer than 255 bytes";
      return DnsParseState::kInvalid;
    }
    if (p + 1 + len > d.size()) {
      *error = "label runs past the end";
      return DnsParseState::kTruncated;
    }
    for (size_t i = 0; i < len; ++i) {
      uint8_t c = d[p + 1 + i];
      if (c == '.' || c == '\\') {
        *out += '\\';
        *out += static_cast<char>(c);
      } else if (c > 0x20 && c < 0x7f) {
        *out += static_cast<char>(c);
      } else {
        *out += fmt::format("\\{:03}", c);  // RFC 4343 style escape
      }
    }
    *out += '.';
    p += 1 + len;
  }
}

}  // namespace

DnsQuery ParseDnsQuery(std::span<const uint8_t> d) {
  DnsQuery q;
  if (d.size() < kHeaderSize) {
    q.state = DnsParseState::kTruncated;
    q.error = fmt::format("{} bytes, shorter than the 12-byte header",
                          d.size());
    return q;
  }
  q.id = static_cast<uint16_t>(d[0] << 8 | d[1]);
  q.is_response = (d[2] & 0x80) != 0;
  q.opcode = (d[2] >> 3) & 0x0F;
  uint16_t qdcount = static_cast<uint16_t>(d[4] << 8 | d[5]);
  if (qdcount == 0 || qdcount > kMaxQuestions) {
    q.state = DnsParseState::kInvalid;
    q.error = fmt::format("question count {}", qdcount);
    return q;
  }
  size_t pos = kHeaderSize;
  for (int i = 0; i < qdcount; ++i) {
    DnsQuestion question;
    DnsParseState st = ReadName(d, &pos, &question.name, &q.error);
    if (st != DnsParseState::kOk) {
      q.state = st;
      return q;
    }
    if (pos + 4 > d.size()) {
      q.questions.push_back(std::move(question));
      q.state = DnsParseState::kTruncated;
      q.error = "question type/class runs past the end";
      return q;
    }
    question.qtype = static_cast<uint16_t>(d[pos] << 8 | d[pos + 1]);
    question.qclass = static_cast<uint16_t>(d[pos + 2] << 8 | d[pos + 3]);
    pos += 4;
    q.questions.push_back(std::move(question));
  }
  q.state = DnsParseState::kOk;
  return q;
}

std::string DnsTypeName(uint16_t t) {
  switch (t) {
    case 1: return "A";
    case 2: return "NS";
    case 5: return "CNAME";
    case 6: return "SOA";
    case 12: return "PTR";
    case 15: return "MX";
    case 16: return "TXT";
    case 28: return "AAAA";
    case 33: return "SRV";
    case 64: return "SVCB";
    case 65: return "HTTPS";
    case 255: return "ANY";
    default: return fmt::format("TYPE{}", t);
  }
}

}  // namespace agentwatch
