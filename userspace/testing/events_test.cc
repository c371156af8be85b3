// The builders set what they name and nothing else: each is compared,
// byte for byte, with the event written out by hand.
#include "testing/events.h"

#include <fcntl.h>

#include <gtest/gtest.h>

namespace agentwatch {
namespace {

// Equal bytes: the same fields, and the same sub-messages present.
void ExpectSame(const v1::Event& built, const v1::Event& want) {
  EXPECT_EQ(built.SerializeAsString(), want.SerializeAsString())
      << "built: " << built.ShortDebugString() << "\nwant:  " << want.ShortDebugString();
}

TEST(EventsTest, TypeAloneHasNoDetailAndNoProcess) {
  v1::Event e = events::Event(v1::EVENT_TYPE_EXIT);
  EXPECT_EQ(e.type(), v1::EVENT_TYPE_EXIT);
  EXPECT_FALSE(e.has_process());
  EXPECT_EQ(e.detail_case(), v1::Event::DETAIL_NOT_SET);
  ExpectSame(events::Exit(), e);
  ExpectSame(events::Event(), v1::Event());
}

TEST(EventsTest, NumberingTimeAndProcess) {
  v1::Event want;
  want.set_seq(7);
  want.set_type(v1::EVENT_TYPE_EXEC);
  want.set_ktime_ns(110);
  want.set_time_unix_ns(1110);
  want.mutable_process()->set_pid(20);
  want.mutable_process()->set_tid(21);
  want.mutable_process()->set_ppid(10);
  want.mutable_process()->set_comm("node");
  want.mutable_process()->set_exe("/usr/bin/node");
  want.mutable_process()->set_watched(true);
  ExpectSame(events::Event(v1::EVENT_TYPE_EXEC)
                 .Seq(7)
                 .At(110, 1110)
                 .Pid(20)
                 .Tid(21)
                 .Ppid(10)
                 .Comm("node")
                 .Exe("/usr/bin/node")
                 .Watched(),
             want);
  v1::Event times;
  times.set_ktime_ns(5);
  times.set_time_unix_ns(6);
  ExpectSame(events::Event().Ktime(5).Time(6), times);
  // A pid of 0 still makes the process present, as mutable_process() does.
  v1::Event zero;
  zero.set_type(v1::EVENT_TYPE_LOSS);
  zero.mutable_process()->set_pid(0);
  zero.set_lost(3);
  EXPECT_TRUE(zero.has_process());
  ExpectSame(events::Loss(3).Pid(0), zero);
}

TEST(EventsTest, Processes) {
  v1::Event exec;
  exec.set_type(v1::EVENT_TYPE_EXEC);
  exec.mutable_exec()->set_filename("/usr/bin/git");
  exec.mutable_exec()->add_argv("git");
  exec.mutable_exec()->add_argv("status");
  ExpectSame(events::Exec("/usr/bin/git", {"git", "status"}), exec);
  v1::Event bare;
  bare.set_type(v1::EVENT_TYPE_EXEC);
  bare.mutable_exec()->set_filename("/bin/true");
  ExpectSame(events::Exec("/bin/true"), bare);

  v1::Event snap;
  snap.set_type(v1::EVENT_TYPE_PROCESS_SNAPSHOT);
  snap.mutable_process()->set_ppid(1);
  snap.mutable_exec()->set_filename("/bin/bash");
  ExpectSame(events::Snapshot("/bin/bash").Ppid(1), snap);

  v1::Event fork;
  fork.set_type(v1::EVENT_TYPE_FORK);
  fork.mutable_process()->set_pid(100);
  fork.mutable_fork()->set_child_pid(101);
  ExpectSame(events::Fork(101).Pid(100), fork);
  fork.mutable_fork()->set_child_watched(true);
  ExpectSame(events::Fork(101).Pid(100).ChildWatched(), fork);
}

TEST(EventsTest, Files) {
  v1::Event open;
  open.set_type(v1::EVENT_TYPE_FILE_OPEN);
  open.mutable_file()->set_path("/data/a");
  ExpectSame(events::FileOpen("/data/a"), open);
  open.mutable_file()->set_result(3);
  ExpectSame(events::FileOpen("/data/a").Result(3), open);
  open.mutable_file()->set_flags(O_WRONLY);
  ExpectSame(events::FileOpen("/data/a").Flags(O_WRONLY).Result(3), open);
  open.mutable_file()->set_flags(O_RDONLY);
  open.mutable_file()->set_flags_text("O_RDONLY");
  ExpectSame(events::OpenRead("/data/a", 3), open);
}

TEST(EventsTest, Network) {
  v1::Event c;
  c.set_type(v1::EVENT_TYPE_NET_CONNECT);
  c.mutable_net()->set_protocol("tcp");
  c.mutable_net()->mutable_remote()->set_family("inet");
  c.mutable_net()->mutable_remote()->set_address("203.0.113.9");
  c.mutable_net()->mutable_remote()->set_port(443);
  ExpectSame(events::TcpConnect("203.0.113.9", 443), c);
  c.mutable_net()->set_socket_inode(907);
  ExpectSame(events::TcpConnect("203.0.113.9", 443).SocketInode(907), c);
  EXPECT_EQ(events::TcpConnect("2001:db8::1", 80).event().net().remote().family(), "inet6");

  v1::Event d;
  d.set_type(v1::EVENT_TYPE_DNS_QUERY);
  d.mutable_dns()->add_names("paste.example.com.");
  d.mutable_dns()->add_names("db.svc.cluster.local.");
  ExpectSame(events::DnsQuery({"paste.example.com.", "db.svc.cluster.local."}), d);
}

TEST(EventsTest, PayloadChunks) {
  v1::Event in;
  in.set_type(v1::EVENT_TYPE_PAYLOAD);
  v1::PayloadInfo* p = in.mutable_payload();
  p->set_syscall("read");
  p->set_fd(0);
  p->set_direction("in");
  p->set_file_type("pipe");
  p->set_inode(777);
  p->set_offset(50);
  p->set_syscall_length(4);
  p->set_data("abcd");
  ExpectSame(events::Payload("in", 0, "abcd").Stream("pipe", 777, 50), in);

  v1::Event out;
  out.set_type(v1::EVENT_TYPE_PAYLOAD);
  p = out.mutable_payload();
  p->set_syscall("write");
  p->set_fd(1);
  p->set_direction("out");
  p->set_file_type("socket");
  p->set_inode(901);
  p->set_syscall_length(70000);
  p->set_truncated(true);
  p->set_data("{");
  ExpectSame(events::Payload("out", 1, "{").Stream("socket", 901, 0).Truncated(70000), out);
}

TEST(EventsTest, McpMessagesCallsAndToolChanges) {
  v1::Event req;
  req.set_type(v1::EVENT_TYPE_MCP_MESSAGE);
  req.mutable_mcp()->set_kind("request");
  req.mutable_mcp()->set_direction("in");
  req.mutable_mcp()->set_id("1");
  ExpectSame(events::McpRequest("1"), req);

  v1::Event call;
  call.set_type(v1::EVENT_TYPE_MCP_CALL);
  v1::McpCall* c = call.mutable_call();
  c->set_request_id("1");
  c->set_tool("read");
  c->set_method("tools/call");
  c->set_initiator("client");
  c->set_server_pid(20);
  c->set_session_id("20/stdio");
  c->set_server_id("20-1");
  c->set_server_identity("ident");
  c->set_started_ktime_ns(100);
  c->set_started_unix_ns(1100);
  c->set_latency_ns(20);
  c->set_status("ok");
  c->set_arguments("{}");
  c->set_result("[]");
  c->set_request_bytes(100);
  c->set_response_bytes(2000);
  v1::DataFlow* f = c->add_flows();
  f->set_from_tool("read_text_file");
  f->set_from_server_id("20-1");
  ExpectSame(events::ToolCall("read")
                 .RequestId("1")
                 .Initiator("client")
                 .ServerPid(20)
                 .Session("20/stdio")
                 .ServerId("20-1")
                 .ServerIdentity("ident")
                 .Started(100, 1100)
                 .Latency(20)
                 .Status("ok")
                 .Arguments("{}")
                 .CallResult("[]")
                 .Bytes(100, 2000)
                 .Flow("read_text_file", "20-1"),
             call);

  v1::Event list;
  list.set_type(v1::EVENT_TYPE_MCP_CALL);
  list.mutable_call()->set_method("tools/list");
  ExpectSame(events::ToolsList(), list);
  v1::Event no_method;
  no_method.set_type(v1::EVENT_TYPE_MCP_CALL);
  no_method.mutable_call()->set_tool("t");
  ExpectSame(events::McpCall().Tool("t"), no_method);
  ExpectSame(events::Event(v1::EVENT_TYPE_MCP_CALL).Method("tools/list"), list);

  v1::Event change;
  change.set_type(v1::EVENT_TYPE_MCP_TOOLS_CHANGED);
  change.mutable_tool_change()->set_tool("echo");
  change.mutable_tool_change()->set_change("changed");
  change.mutable_tool_change()->set_server_pid(20);
  ExpectSame(events::ToolChange("echo", "changed").ServerPid(20), change);
}

TEST(EventsTest, ConvertsAndAllowsTheRest) {
  events::EventBuilder b = events::FileOpen("/a");
  b->mutable_file()->set_inode(9);
  v1::Event e = b;
  EXPECT_EQ(e.file().inode(), 9u);
  std::vector<v1::Event> list;
  list.push_back(events::FileOpen("/b"));
  EXPECT_EQ(list[0].file().path(), "/b");
}

TEST(EventsDeathTest, ASetterOfAnotherDetailAborts) {
  EXPECT_DEATH(events::TcpConnect("10.0.0.1", 1).Flags(O_RDONLY), "Flags fills file, but the event is net");
  EXPECT_DEATH(events::FileOpen("/a").ServerPid(20), "ServerPid fills call, but the event is file");
}

}  // namespace
}  // namespace agentwatch
