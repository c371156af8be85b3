#include "pipeline/watch_rules.h"

#include <gtest/gtest.h>

namespace agentwatch {
namespace {

ProcessInfo Proc(uint32_t pid, const std::string& exe,
                 std::vector<std::string> argv) {
  ProcessInfo p;
  p.pid = pid;
  p.exe = exe;
  p.comm = exe.substr(exe.rfind('/') + 1).substr(0, 15);
  p.argv = std::move(argv);
  return p;
}

TEST(WatchRulesTest, BuiltinRulesFindMcpServers) {
  WatchMatcher m(BuiltinWatchRules(), {});
  EXPECT_NE(m.Match(Proc(1, "/usr/bin/node",
                         {"node", "/x/node_modules/@modelcontextprotocol/"
                                  "server-filesystem/dist/index.js",
                          "/tmp"})),
            "");
  EXPECT_NE(m.Match(Proc(2, "/usr/local/bin/mcp-server-git", {"mcp-server-git"})),
            "");
  EXPECT_EQ(m.Match(Proc(3, "/usr/bin/node", {"node", "app.js"})), "");
  EXPECT_EQ(m.Match(Proc(4, "/usr/bin/bash", {"bash"})), "");
}

TEST(WatchRulesTest, AllFieldsOfARuleMustMatch) {
  WatchRule r{"r", "/usr/bin/python3*", "server.py", ""};
  WatchMatcher m({r}, {});
  EXPECT_EQ(m.Match(Proc(1, "/usr/bin/python3.11", {"python3", "server.py"})),
            "r");
  EXPECT_EQ(m.Match(Proc(1, "/usr/bin/python3.11", {"python3", "other.py"})),
            "");
  EXPECT_EQ(m.Match(Proc(1, "/usr/bin/ruby", {"ruby", "server.py"})), "");
}

TEST(WatchRulesTest, Pids) {
  WatchMatcher m({}, {42});
  EXPECT_EQ(m.Match(Proc(42, "/bin/sh", {})), "pid:42");
  EXPECT_EQ(m.Match(Proc(43, "/bin/sh", {})), "");
}

}  // namespace
}  // namespace agentwatch
