#include "cli/verbs.h"

#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace agentwatch::cli {
namespace {

// The verbs the usage lists: the first word of each line under "Commands:"
// indented by two spaces (continuation lines are indented further).
std::set<std::string> UsageVerbs() {
  std::set<std::string> verbs;
  std::istringstream in(kUsage);
  std::string line;
  bool commands = false;
  while (std::getline(in, line)) {
    if (line == "Commands:") {
      commands = true;
    } else if (commands && line.empty()) {
      break;
    } else if (commands && line.rfind("  ", 0) == 0 && line[2] != ' ') {
      verbs.insert(line.substr(2, line.find(' ', 2) - 2));
    }
  }
  return verbs;
}

TEST(VerbsTest, EveryVerbOfTheUsageHasAHandler) {
  const std::set<std::string> usage = UsageVerbs();
  EXPECT_EQ(usage.size(), 16u);
  for (const std::string& name : usage) {
    const Verb* v = FindVerb(name);
    ASSERT_NE(v, nullptr) << name;
    EXPECT_STREQ(v->name, name.c_str());
    EXPECT_TRUE(v->run != nullptr || v->all_nodes != nullptr) << name;
  }
}

TEST(VerbsTest, EveryHandlerIsInTheUsageOnce) {
  const std::set<std::string> usage = UsageVerbs();
  std::set<std::string> seen;
  for (const Verb& v : Verbs()) {
    EXPECT_TRUE(usage.count(v.name)) << v.name << " is not in the usage";
    EXPECT_TRUE(seen.insert(v.name).second) << v.name << " twice";
  }
  EXPECT_EQ(seen, usage);
}

TEST(VerbsTest, OnlyHealthRunsOnAllNodesAndOnlyAlertsMerge) {
  for (const Verb& v : Verbs()) {
    EXPECT_EQ(v.all_nodes != nullptr, std::string(v.name) == "health") << v.name;
    EXPECT_EQ(v.merged != nullptr, std::string(v.name) == "alerts") << v.name;
    // A verb runs one way or the other, not both.
    EXPECT_NE(v.run == nullptr, v.all_nodes == nullptr) << v.name;
  }
  EXPECT_EQ(FindVerb("bogus"), nullptr);
  EXPECT_EQ(FindVerb(""), nullptr);
}

// Nodes on unix sockets nobody serves (a channel connects only when used).
std::vector<Node> Nodes(std::vector<std::string> endpoints) {
  std::vector<Node> nodes;
  std::string error;
  EXPECT_TRUE(ConnectAll(endpoints, TlsFlags(), &nodes, &error)) << error;
  return nodes;
}

TEST(VerbsTest, UnknownCommandPrintsTheUsage) {
  std::vector<Node> nodes = Nodes({"unix:///nonexistent.sock"});
  testing::internal::CaptureStderr();
  EXPECT_EQ(Dispatch("bogus", nodes, false, false, {}), 2);
  EXPECT_EQ(testing::internal::GetCapturedStderr(),
            std::string("agentwatch: unknown command 'bogus'\n") + kUsage);
}

TEST(VerbsTest, SeveralEndpoints) {
  std::vector<Node> nodes = Nodes({"unix:///a.sock", "unix:///b.sock"});
  testing::internal::CaptureStderr();
  EXPECT_EQ(Dispatch("events", nodes, false, false, {"-f"}), 2);
  EXPECT_EQ(testing::internal::GetCapturedStderr(),
            "agentwatch: --follow takes one --endpoint at a time\n");

  // One section per node.
  testing::internal::CaptureStdout();
  testing::internal::CaptureStderr();
  EXPECT_EQ(Dispatch("bogus", nodes, false, false, {}), 2);
  EXPECT_EQ(testing::internal::GetCapturedStdout(),
            "== unix:///a.sock ==\n\n== unix:///b.sock ==\n");
  testing::internal::GetCapturedStderr();

  // A lint runs once, on the first node.
  testing::internal::CaptureStderr();
  EXPECT_EQ(Dispatch("rules", nodes, false, false, {"--lint", "/nonexistent/rules.yaml"}), 2);
  EXPECT_EQ(testing::internal::GetCapturedStderr(),
            "agentwatch rules: cannot read /nonexistent/rules.yaml\n");
  EXPECT_EQ(nodes.size(), 1u);
}

TEST(ConnectionTest, TagJsonLines) {
  EXPECT_EQ(TagJsonLines("{\"a\":1}\n{}\nplain\n", "h:1"),
            "{\"endpoint\":\"h:1\",\"a\":1}\n{\"endpoint\":\"h:1\"}\nplain\n");
}

TEST(ConnectionTest, TcpNeedsTheTlsFlags) {
  std::string error;
  EXPECT_EQ(Connect("127.0.0.1:1", TlsFlags(), &error), nullptr);
  EXPECT_EQ(error,
            "127.0.0.1:1: TCP endpoints need --tls-ca, --tls-cert and --tls-key (the daemon "
            "accepts only clients with a certificate)");
  TlsFlags tls;
  tls.ca = "/nonexistent/ca.pem";
  tls.cert = "c";
  tls.key = "k";
  EXPECT_EQ(Connect("127.0.0.1:1", tls, &error), nullptr);
  EXPECT_EQ(error, "cannot read /nonexistent/ca.pem");
}

}  // namespace
}  // namespace agentwatch::cli
