// Text forms of socket addresses as the kernel records them.
#ifndef AGENTWATCH_NET_SOCKADDR_H_
#define AGENTWATCH_NET_SOCKADDR_H_

#include <cstdint>
#include <span>
#include <string>

namespace agentwatch {

// "inet", "inet6", "unix", "" for others.
std::string FamilyName(uint16_t family);
// Textual IP for AF_INET (first 4 bytes) / AF_INET6 (16 bytes).
std::string IpText(uint16_t family, std::span<const uint8_t> addr);
// A unix socket path: pathname up to its NUL; abstract names ("\0name") as
// "@name" with odd bytes escaped; unnamed as "".
std::string UnixPathText(std::span<const uint8_t> path, size_t len);

std::string SockTypeName(uint16_t type);
std::string ProtocolName(uint16_t proto);

}  // namespace agentwatch

#endif  // AGENTWATCH_NET_SOCKADDR_H_
