#include "net/sockaddr.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <gtest/gtest.h>

namespace agentwatch {
namespace {

TEST(SockaddrTest, Ip) {
  uint8_t v4[16] = {127, 0, 0, 1};
  EXPECT_EQ(IpText(AF_INET, v4), "127.0.0.1");
  uint8_t v6[16] = {};
  v6[15] = 1;
  EXPECT_EQ(IpText(AF_INET6, v6), "::1");
  EXPECT_EQ(IpText(AF_UNIX, v6), "");
}

TEST(SockaddrTest, UnixPaths) {
  const uint8_t path[] = "/run/x.sock\0junk";
  EXPECT_EQ(UnixPathText(path, sizeof(path)), "/run/x.sock");
  const uint8_t abstract[] = {0, 'm', 'c', 'p', 0, 'z'};
  EXPECT_EQ(UnixPathText(abstract, 4), "@mcp");
  EXPECT_EQ(UnixPathText(abstract, 6), "@mcp\\x00z");
  EXPECT_EQ(UnixPathText(abstract, 0), "");
}

TEST(SockaddrTest, Names) {
  EXPECT_EQ(FamilyName(AF_INET6), "inet6");
  EXPECT_EQ(SockTypeName(SOCK_DGRAM), "dgram");
  EXPECT_EQ(ProtocolName(IPPROTO_TCP), "tcp");
}

}  // namespace
}  // namespace agentwatch
