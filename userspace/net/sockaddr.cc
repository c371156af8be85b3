#include "net/sockaddr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "common/text.h"

namespace agentwatch {

std::string FamilyName(uint16_t family) {
  switch (family) {
    case AF_INET: return "inet";
    case AF_INET6: return "inet6";
    case AF_UNIX: return "unix";
    case 0: return "";
    default: return fmt::format("af{}", family);
  }
}

std::string IpText(uint16_t family, std::span<const uint8_t> addr) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (family == AF_INET && addr.size() >= 4) {
    inet_ntop(AF_INET, addr.data(), buf, sizeof(buf));
  } else if (family == AF_INET6 && addr.size() >= 16) {
    inet_ntop(AF_INET6, addr.data(), buf, sizeof(buf));
  }
  return buf;
}

std::string UnixPathText(std::span<const uint8_t> path, size_t len) {
  len = std::min(len, path.size());
  if (len == 0) return "";
  std::string_view s(reinterpret_cast<const char*>(path.data()), len);
  if (s[0] == '\0') {
    // Abstract: every byte of len counts, including NULs.
    return "@" + Printable(s.substr(1));
  }
  size_t nul = s.find('\0');
  return Printable(s.substr(0, nul));
}

std::string SockTypeName(uint16_t type) {
  switch (type) {
    case SOCK_STREAM: return "stream";
    case SOCK_DGRAM: return "dgram";
    case SOCK_RAW: return "raw";
    case SOCK_SEQPACKET: return "seqpacket";
    case 0: return "";
    default: return fmt::format("type{}", type);
  }
}

std::string ProtocolName(uint16_t proto) {
  switch (proto) {
    case IPPROTO_TCP: return "tcp";
    case IPPROTO_UDP: return "udp";
    case IPPROTO_ICMP: return "icmp";
    case IPPROTO_ICMPV6: return "icmpv6";
    case IPPROTO_MPTCP: return "mptcp";
    case 0: return "";
    default: return fmt::format("proto{}", proto);
  }
}

}  // namespace agentwatch
