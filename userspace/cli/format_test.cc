#include "cli/format.h"

#include <gtest/gtest.h>

namespace agentwatch {
namespace {

TEST(FormatTest, TypeNames) {
  auto file = ParseEventTypes("file");
  ASSERT_TRUE(file);
  EXPECT_EQ(file->size(), 3u);
  auto dns = ParseEventTypes("dns");
  ASSERT_TRUE(dns);
  EXPECT_EQ((*dns)[0], v1::EVENT_TYPE_DNS_QUERY);
  EXPECT_FALSE(ParseEventTypes("bogus"));
  EXPECT_EQ(EventTypeShortName(v1::EVENT_TYPE_NET_CONNECT), "connect");
}

TEST(FormatTest, Lines) {
  v1::Event e;
  e.set_type(v1::EVENT_TYPE_NET_CONNECT);
  e.mutable_process()->set_pid(42);
  e.mutable_process()->set_comm("curl");
  e.mutable_process()->set_watched(true);
  e.mutable_net()->set_protocol("tcp");
  e.mutable_net()->mutable_remote()->set_family("inet6");
  e.mutable_net()->mutable_remote()->set_address("::1");
  e.mutable_net()->mutable_remote()->set_port(443);
  e.mutable_net()->set_result(-111);
  e.mutable_net()->set_error("ECONNREFUSED");
  std::string line = FormatEventLine(e);
  EXPECT_NE(line.find("connect*"), std::string::npos) << line;
  EXPECT_NE(line.find("[::1]:443 = ECONNREFUSED"), std::string::npos) << line;

  v1::Event x;
  x.set_type(v1::EVENT_TYPE_EXEC);
  x.mutable_exec()->set_filename("/bin/sh");
  x.mutable_exec()->add_argv("sh");
  x.mutable_exec()->add_argv("-c");
  x.mutable_exec()->add_argv("cat /etc/shadow");
  line = FormatEventLine(x);
  EXPECT_NE(line.find("[sh -c 'cat /etc/shadow']"), std::string::npos) << line;
}

TEST(FormatTest, JsonUsesProtoFieldNames) {
  v1::Event e;
  e.set_type(v1::EVENT_TYPE_FILE_OPEN);
  e.mutable_file()->set_raw_path("x");
  std::string j = EventJson(e);
  EXPECT_NE(j.find("\"raw_path\":\"x\""), std::string::npos) << j;
  EXPECT_NE(j.find("\"EVENT_TYPE_FILE_OPEN\""), std::string::npos) << j;
}

}  // namespace
}  // namespace agentwatch
