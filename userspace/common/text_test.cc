#include "common/text.h"

#include <fcntl.h>

#include <gtest/gtest.h>

namespace agentwatch {
namespace {

TEST(TextTest, NormalizePath) {
  EXPECT_EQ(NormalizePath("/a//b/./c/../d"), "/a/b/d");
  EXPECT_EQ(NormalizePath("/../.."), "/");
  EXPECT_EQ(NormalizePath("/"), "/");
  EXPECT_EQ(NormalizePath("a/../../b"), "../b");
  EXPECT_EQ(NormalizePath(""), ".");
}

TEST(TextTest, JoinPath) {
  EXPECT_EQ(JoinPath("/tmp/x", "sub/f.txt"), "/tmp/x/sub/f.txt");
  EXPECT_EQ(JoinPath("/tmp/x", "../y"), "/tmp/y");
  EXPECT_EQ(JoinPath("/tmp/x", "/etc/passwd"), "/etc/passwd");
  EXPECT_EQ(JoinPath("/", "./a"), "/a");
}

TEST(TextTest, HostPort) {
  std::string host, port;
  ASSERT_TRUE(SplitHostPort("[::1]:9590", &host, &port));
  EXPECT_EQ(host, "::1");
  EXPECT_EQ(port, "9590");
  EXPECT_EQ(JoinHostPort(host, port), "[::1]:9590");
  ASSERT_TRUE(SplitHostPort("127.0.0.1:0", &host, &port));
  EXPECT_EQ(JoinHostPort(host, port), "127.0.0.1:0");
  EXPECT_FALSE(SplitHostPort("9590", &host, &port));
  EXPECT_FALSE(SplitHostPort(":9590", &host, &port));
  EXPECT_FALSE(SplitHostPort("host:", &host, &port));
  for (const char* h : {"localhost", "127.0.0.1", "127.1.2.3", "::1"}) EXPECT_TRUE(IsLoopbackHost(h)) << h;
  for (const char* h : {"0.0.0.0", "10.0.0.1", "::", "example.com", "128.0.0.1"})
    EXPECT_FALSE(IsLoopbackHost(h)) << h;
}

TEST(TextTest, SplitNul) {
  using std::string_literals::operator""s;
  auto v = SplitNul("ls\0-la\0/tmp\0"s);
  ASSERT_EQ(v.size(), 3u);
  EXPECT_EQ(v[0], "ls");
  EXPECT_EQ(v[2], "/tmp");
  EXPECT_EQ(SplitNul("a\0\0b"s).size(), 3u);  // empty argument kept
  EXPECT_TRUE(SplitNul("").empty());
}

TEST(TextTest, OpenFlags) {
  EXPECT_EQ(OpenFlagsText(O_RDONLY), "O_RDONLY");
  EXPECT_EQ(OpenFlagsText(O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC),
            "O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC");
}

TEST(TextTest, ErrnoName) {
  EXPECT_EQ(ErrnoName(2), "ENOENT");
  EXPECT_EQ(ErrnoName(111), "ECONNREFUSED");
  EXPECT_EQ(ErrnoName(100000), "E100000");
}

TEST(TextTest, JoinArgvQuotes) {
  EXPECT_EQ(JoinArgv({"sh", "-c", "echo hi"}), "sh -c 'echo hi'");
  EXPECT_EQ(JoinArgv({"a'b"}), "'a'\\''b'");
  EXPECT_EQ(JoinArgv({std::string("x\x01", 2)}), "'x\\x01'");
}

TEST(TextTest, Glob) {
  EXPECT_TRUE(GlobMatch("/usr/bin/*", "/usr/bin/node"));
  EXPECT_TRUE(GlobMatch("*mcp-server*", "/opt/x/mcp-server-git"));
  EXPECT_FALSE(GlobMatch("/usr/bin/py*", "/usr/local/bin/python3"));
}

TEST(TextTest, DurationsAndSizes) {
  uint64_t v = 0;
  EXPECT_EQ(ParseDurationMs("90", &v), "");
  EXPECT_EQ(v, 90000u);
  EXPECT_EQ(ParseDurationMs("1.5h", &v), "");
  EXPECT_EQ(v, 5400000u);
  EXPECT_NE(ParseDurationMs("-5s", &v), "");
  EXPECT_NE(ParseDurationMs("", &v), "");
  EXPECT_EQ(ParseSize("10MB", &v), "");
  EXPECT_EQ(v, 10000000u);
  EXPECT_EQ(ParseSize("2 GiB", &v), "");
  EXPECT_EQ(v, 2ull << 30);
}

}  // namespace
}  // namespace agentwatch
