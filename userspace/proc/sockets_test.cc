#include "proc/sockets.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

namespace agentwatch {
namespace {

uint64_t InodeOf(int fd) {
  struct stat st {};
  EXPECT_EQ(fstat(fd, &st), 0);
  return st.st_ino;
}

TEST(TcpLine, ParsesProcNetTcp) {
  TcpEntry e;
  EXPECT_FALSE(ParseTcpLine(
      "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when "
      "retrnsmt   uid  timeout inode",
      &e));
  ASSERT_TRUE(ParseTcpLine(
      "   3: 0100007F:94D5 0100007F:1F90 01 00000000:00000000 00:00000000 "
      "00000000     0        0 4242421 1 0000000000000000 20 4 30 10 -1",
      &e));
  EXPECT_EQ(e.local, "0100007F:94D5");
  EXPECT_EQ(e.remote, "0100007F:1F90");
  EXPECT_EQ(e.inode, 4242421u);
  EXPECT_FALSE(ParseTcpLine("   3: garbage", &e));
  // tcp6 shows an IPv4 peer as ::ffff:a.b.c.d; it compares as IPv4.
  ASSERT_TRUE(ParseTcpLine(
      "   0: 0000000000000000FFFF00000100007F:94D5 "
      "0000000000000000FFFF00000100007F:1F90 01 00000000:00000000 "
      "00:00000000 00000000     0        0 77 1 0000000000000000 20 4 30 10 -1",
      &e));
  EXPECT_EQ(e.local, "0100007F:94D5");
  EXPECT_EQ(e.remote, "0100007F:1F90");
}

TEST(TcpPeer, FindsTheOtherEndOfALoopbackConnection) {
  int lfd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(lfd, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(lfd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(listen(lfd, 1), 0);
  socklen_t len = sizeof a;
  ASSERT_EQ(getsockname(lfd, reinterpret_cast<sockaddr*>(&a), &len), 0);
  int cfd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_EQ(connect(cfd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  int sfd = accept(lfd, nullptr, nullptr);
  ASSERT_GE(sfd, 0);

  EXPECT_EQ(TcpPeerInode("/proc", getpid(), InodeOf(sfd)), InodeOf(cfd));
  EXPECT_EQ(TcpPeerInode("/proc", getpid(), InodeOf(cfd)), InodeOf(sfd));
  EXPECT_EQ(TcpPeerInode("/proc", getpid(), InodeOf(lfd)), 0u);  // no peer
  EXPECT_EQ(FindInodeHolder("/proc", InodeOf(cfd), 0), uint32_t(getpid()));
  EXPECT_EQ(FindInodeHolder("/proc", InodeOf(cfd), getpid()), 0u);
  close(sfd);
  close(cfd);
  close(lfd);
}

TEST(InodeHolder, FindsPipesAndTheirWriters) {
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  EXPECT_EQ(FindInodeHolder("/proc", InodeOf(p[0]), 0), uint32_t(getpid()));
  // A child keeps only the reading end: the writer is still this process.
  int go[2], ready[2];
  ASSERT_EQ(pipe(go), 0);
  ASSERT_EQ(pipe(ready), 0);
  pid_t c = fork();
  if (c == 0) {
    close(p[1]);
    close(go[1]);
    close(ready[0]);
    char x = 'r';
    (void)!write(ready[1], &x, 1);
    (void)!read(go[0], &x, 1);
    _exit(0);
  }
  EXPECT_EQ(FindInodeHolder("/proc", InodeOf(p[0]), c, true), uint32_t(getpid()));
  close(p[1]);
  close(ready[1]);
  char r;
  ASSERT_EQ(read(ready[0], &r, 1), 1);
  close(ready[0]);
  EXPECT_EQ(FindInodeHolder("/proc", InodeOf(p[0]), getpid(), true), 0u)
      << "the child holds only the reading end";
  close(go[1]);
  waitpid(c, nullptr, 0);
  close(p[0]);
  close(go[0]);
}

TEST(UnixPeer, NamesTheOtherSocketOfASocketpair) {
  int sp[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
  EXPECT_EQ(UnixPeerInode(InodeOf(sp[0])), InodeOf(sp[1]));
  EXPECT_EQ(UnixPeerInode(InodeOf(sp[1])), InodeOf(sp[0]));
  EXPECT_EQ(UnixPeerInode(1), 0u);
  close(sp[0]);
  close(sp[1]);
}

}  // namespace
}  // namespace agentwatch
