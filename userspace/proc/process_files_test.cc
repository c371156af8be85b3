#include "proc/process_files.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

namespace agentwatch {
namespace {

TEST(ProcessFiles, IpcLinkTargets) {
  EXPECT_TRUE(IsIpcLinkTarget("pipe:[4026532]"));
  EXPECT_TRUE(IsIpcLinkTarget("socket:[77]"));
  EXPECT_FALSE(IsIpcLinkTarget("/dev/pts/3"));
  EXPECT_FALSE(IsIpcLinkTarget("anon_inode:[eventpoll]"));
  EXPECT_FALSE(IsIpcLinkTarget("/tmp/pipe:[1]"));
  EXPECT_FALSE(IsIpcLinkTarget(""));
}

TEST(ProcessFiles, MappedPathsDistinctInOrder) {
  const std::string maps =
      "55d0c-55d0d r--p 00000000 08:01 1234   /usr/bin/node\n"
      "55d0d-55d0e r-xp 00001000 08:01 1234   /usr/bin/node\n"
      "7f00-7f01 rw-p 00000000 00:00 0 \n"
      "7f01-7f02 r--p 00000000 08:01 99     /usr/lib/x86_64-linux-gnu/libssl.so.3\n"
      "7f02-7f03 rw-p 00000000 00:00 0      [heap]\n"
      "7f03-7f04 r--p 00000000 08:01 98     /opt/app/lib dir/libgnutls.so.30 (deleted)";
  const auto paths = ParseMappedPaths(maps);
  ASSERT_EQ(paths.size(), 3u);
  EXPECT_EQ(paths[0], "/usr/bin/node");
  EXPECT_EQ(paths[1], "/usr/lib/x86_64-linux-gnu/libssl.so.3");
  EXPECT_EQ(paths[2], "/opt/app/lib dir/libgnutls.so.30 (deleted)");
  EXPECT_TRUE(ParseMappedPaths("").empty());
  EXPECT_TRUE(ParseMappedPaths("garbage without a path\n\n\n").empty());
}

TEST(ProcessFiles, TlsLibrariesClassified) {
  const TlsLibraries t = ClassifyTlsLibraries(
      {"/usr/lib/libssl.so.3", "/usr/lib/libcrypto.so.3", "/usr/lib/libgnutls.so.30",
       "/usr/lib/libnss3.so", "/x/libmbedtls.so.14", "/x/libwolfssl.so.35",
       "/x/libboringssl.so", "/x/librustls_ffi.so", "/usr/lib/libc.so.6"});
  ASSERT_EQ(t.openssl.size(), 1u);
  EXPECT_EQ(t.openssl[0], "/usr/lib/libssl.so.3");
  ASSERT_EQ(t.others.size(), 6u);
  EXPECT_EQ(t.others[0], (std::pair<std::string, std::string>{"/usr/lib/libgnutls.so.30", "gnutls"}));
  EXPECT_EQ(t.others[1].second, "nss");
  EXPECT_EQ(t.others[2].second, "mbedtls");
  EXPECT_EQ(t.others[3].second, "wolfssl");
  EXPECT_EQ(t.others[4].second, "boringssl");
  EXPECT_EQ(t.others[5].second, "rustls");
}

TEST(ProcessFiles, ExecutablesThatEmbedOpenSsl) {
  EXPECT_TRUE(EmbedsOpenSsl("/usr/bin/node"));
  EXPECT_TRUE(EmbedsOpenSsl("/home/u/.nvm/versions/node/v20/bin/nodejs"));
  EXPECT_TRUE(EmbedsOpenSsl("/usr/local/bin/bun"));
  EXPECT_FALSE(EmbedsOpenSsl("/usr/bin/python3"));
  EXPECT_FALSE(EmbedsOpenSsl("/usr/bin/node-gyp"));
}

// The readers against this process's own /proc entries.
TEST(ProcessFiles, ReadersOnThisProcess) {
  const uint32_t self = static_cast<uint32_t>(getpid());
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  int s[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, s), 0);
  int f = open("/proc/self/status", O_RDONLY);
  ASSERT_GE(f, 0);
  EXPECT_TRUE(FdIsIpc("/proc", self, p[0]));
  EXPECT_TRUE(FdIsIpc("/proc", self, s[1]));
  EXPECT_FALSE(FdIsIpc("/proc", self, f));
  EXPECT_FALSE(FdIsIpc("/proc", self, 999));
  std::string exe;
  EXPECT_TRUE(ReadExePath("/proc", self, &exe));
  EXPECT_NE(exe.find("proc_test"), std::string::npos) << exe;
  const auto maps = ReadMappedPaths("/proc", self);
  EXPECT_FALSE(maps.empty());
  EXPECT_TRUE(ReadMappedPaths("/nonexistent", self).empty());
  EXPECT_FALSE(ReadExePath("/nonexistent", self, &exe));
  for (int fd : {p[0], p[1], s[0], s[1], f}) close(fd);
}

}  // namespace
}  // namespace agentwatch
