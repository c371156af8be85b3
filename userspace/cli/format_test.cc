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

TEST(FormatChain, DotAndTree) {
  v1::Chain c;
  c.set_id(7);
  c.set_agent_pid(42);
  c.set_agent_exe("/usr/bin/node");
  v1::ChainEntry* read = c.add_entries();
  read->mutable_call()->set_call_id(1);
  read->mutable_call()->set_method("tools/call");
  read->mutable_call()->set_tool("read_file");
  read->mutable_call()->set_status("ok");
  v1::ChainEffect* open = read->add_effects();
  open->set_summary("open /home/u/\"quoted\" O_RDONLY = 3");
  open->set_candidates(2);
  v1::ChainEntry* send = c.add_entries();
  send->mutable_call()->set_call_id(2);
  send->mutable_call()->set_method("tools/call");
  send->mutable_call()->set_tool("fetch");
  v1::DataFlow* f = send->mutable_call()->add_flows();
  f->set_from_call_id(1);
  f->set_from_tool("read_file");
  v1::DataFlow* w = send->mutable_call()->add_written_by();
  w->set_from_call_id(61);
  w->set_from_tool("create_entities");
  w->set_from_agent_id("4242-17");
  w->set_from_agent_pid(4242);
  v1::ChainEntry* git = c.add_entries();
  git->mutable_agent_effect()->set_summary("exec /usr/bin/git [git status]");
  v1::CrossAgentRead* r = c.add_entries()->mutable_read_by_agent();
  r->set_from_call_id(1);
  r->set_from_tool("read_file");
  r->set_call_id(90);
  r->set_tool("read_graph");
  r->set_agent_id("5151-3");
  r->set_content_flag("instructions to the model");

  const std::string dot = FormatChainDot(c);
  EXPECT_EQ(dot.rfind("digraph chain_7 {", 0), 0u);
  EXPECT_NE(dot.find("c1 -> c2 [style=dashed, color=red, label=\"data\"]"), std::string::npos);
  EXPECT_NE(dot.find("c1 -> e0 [style=dotted, label=\"1/2\"]"), std::string::npos);
  EXPECT_NE(dot.find("open /home/u/\\\"quoted\\\""), std::string::npos) << dot;
  EXPECT_NE(dot.find("agent -> e1"), std::string::npos);
  EXPECT_EQ(dot.back(), '\n');

  const std::string tree = FormatChainTree(c);
  EXPECT_NE(tree.find("[1 of 2 calls in flight]"), std::string::npos) << tree;
  EXPECT_NE(tree.find("<= data from call 1 read_file"), std::string::npos) << tree;
  EXPECT_NE(tree.find("(agent) exec /usr/bin/git"), std::string::npos) << tree;
  EXPECT_NE(tree.find("<= written by agent 4242-17 (pid 4242) in call 61 create_entities"),
            std::string::npos)
      << tree;
  EXPECT_NE(tree.find("=> call 1 read_file was read by agent 5151-3"), std::string::npos)
      << tree;
  EXPECT_NE(tree.find("it carried instructions to the model"), std::string::npos) << tree;
  EXPECT_NE(dot.find("label=\"written by\""), std::string::npos) << dot;
  EXPECT_NE(dot.find("c1 -> r"), std::string::npos) << dot;
}

TEST(FormatChain, LoaderAndLocaleOpensAreOneLineUnlessAll) {
  auto open = [](const std::string& summary) {
    v1::ChainEffect e;
    e.set_type(v1::EVENT_TYPE_FILE_OPEN);
    e.set_summary(summary);
    return e;
  };
  EXPECT_TRUE(IsLoaderNoise(open("open /etc/ld.so.cache O_RDONLY|O_CLOEXEC = 3")));
  EXPECT_TRUE(IsLoaderNoise(open("open /lib/x86_64-linux-gnu/libc.so.6 O_RDONLY|O_CLOEXEC = 3")));
  EXPECT_TRUE(IsLoaderNoise(open("open /usr/lib/x86_64-linux-gnu/libz.so.1.2.13 O_RDONLY = 3")));
  EXPECT_TRUE(IsLoaderNoise(
      open("open /usr/lib/x86_64-linux-gnu/glibc-hwcaps/x86-64-v3/libm.so.6 O_RDONLY|O_CLOEXEC "
           "= -2 ENOENT")));
  EXPECT_TRUE(IsLoaderNoise(open("open /usr/lib/locale/locale-archive O_RDONLY|O_CLOEXEC = 3")));
  EXPECT_FALSE(IsLoaderNoise(open("open /usr/lib/x86_64-linux-gnu/libpam.so.0 O_WRONLY|O_TRUNC = 3")))
      << "a library written is never noise";
  EXPECT_FALSE(IsLoaderNoise(open("open /home/u/build/libfoo.so O_RDONLY = 3")))
      << "only library directories";
  EXPECT_FALSE(IsLoaderNoise(open("open /usr/lib/node_modules/x/index.so-notes O_RDONLY = 3")));
  EXPECT_FALSE(IsLoaderNoise(open("open /home/u/.ssh/id_ed25519 O_RDONLY = 4")));
  v1::ChainEffect exec = open("exec /usr/lib/libc.so.6 []");
  exec.set_type(v1::EVENT_TYPE_EXEC);
  EXPECT_FALSE(IsLoaderNoise(exec));

  v1::Chain c;
  c.set_id(3);
  v1::ChainEntry* call = c.add_entries();
  call->mutable_call()->set_method("tools/call");
  call->mutable_call()->set_tool("run_command");
  for (const char* s : {"exec /bin/sh [sh -c cat ~/.ssh/id_ed25519]",
                        "open /etc/ld.so.cache O_RDONLY|O_CLOEXEC = 3",
                        "open /lib/x86_64-linux-gnu/libc.so.6 O_RDONLY|O_CLOEXEC = 3",
                        "open /home/u/.ssh/id_ed25519 O_RDONLY = 3",
                        "open /usr/lib/locale/locale-archive O_RDONLY|O_CLOEXEC = 3"}) {
    *call->add_effects() = open(s);
    if (std::string(s).rfind("exec", 0) == 0)
      call->mutable_effects(call->effects_size() - 1)->set_type(v1::EVENT_TYPE_EXEC);
  }
  for (const char* s : {"open /etc/ld.so.cache O_RDONLY|O_CLOEXEC = 3",
                        "open /lib/x86_64-linux-gnu/libpcre2-8.so.0 O_RDONLY|O_CLOEXEC = 3"})
    *c.add_entries()->mutable_agent_effect() = open(s);
  const std::string tree = FormatChainTree(c);
  EXPECT_NE(tree.find("├─ 3 dynamic-loader and locale opens (--all shows them)\n"),
            std::string::npos)
      << tree;
  EXPECT_NE(tree.find("id_ed25519 O_RDONLY = 3"), std::string::npos) << tree;
  EXPECT_EQ(tree.find("libc.so.6"), std::string::npos) << tree;
  EXPECT_NE(tree.find("(agent) 2 dynamic-loader and locale opens"), std::string::npos) << tree;
  // The collapsed line sits where the first loader open was.
  EXPECT_LT(tree.find("dynamic-loader"), tree.find("id_ed25519 O_RDONLY"));
  const std::string all = FormatChainTree(c, true);
  EXPECT_NE(all.find("libc.so.6"), std::string::npos) << all;
  EXPECT_NE(all.find("libpcre2-8.so.0"), std::string::npos) << all;
  EXPECT_EQ(all.find("dynamic-loader"), std::string::npos) << all;
}

TEST(FormatAlerts, NodeAndPodColumnsOnlyWhenTheyTellSomething) {
  v1::Alert a;
  a.set_id(1);
  a.set_rule_id("server-spawns-shell");
  a.set_severity("high");
  a.set_node("node-a");
  v1::Alert b = a;
  b.set_id(2);
  EXPECT_EQ(FormatAlerts({a, b}).find("NODE"), std::string::npos);
  EXPECT_EQ(FormatAlerts({a, b}).find("POD"), std::string::npos);
  b.set_node("node-b");
  b.mutable_agent_kubernetes()->set_pod_uid("3f7c1a2b-8d4e-4f6a-9b0c-1d2e3f4a5b6c");
  a.mutable_agent_kubernetes()->set_pod_uid("0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0");
  a.mutable_agent_kubernetes()->set_pod_name("agent-0");
  a.mutable_agent_kubernetes()->set_namespace_("agents");
  const std::string t = FormatAlerts({a, b});
  EXPECT_NE(t.find("NODE"), std::string::npos) << t;
  EXPECT_NE(t.find("node-b"), std::string::npos) << t;
  EXPECT_NE(t.find("agents/agent-0"), std::string::npos) << t;
  EXPECT_NE(t.find("3f7c1a2b "), std::string::npos) << t;  // no name yet: the uid's start
  const std::string one = FormatAlert(a);
  EXPECT_NE(one.find("pod agents/agent-0"), std::string::npos) << one;
  EXPECT_NE(one.find("node:     node-a"), std::string::npos) << one;
}

}  // namespace
}  // namespace agentwatch
