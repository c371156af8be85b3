#include "testing/events.h"

#include <fcntl.h>

#include <cstdio>
#include <cstdlib>
#include <utility>

namespace agentwatch::events {
namespace {

using Detail = v1::Event::DetailCase;

// The detail a setter fills must be the event's (or none yet).
void Expect(const v1::Event& e, Detail want, const char* setter) {
  if (e.detail_case() == Detail::DETAIL_NOT_SET || e.detail_case() == want) return;
  const auto* have = v1::Event::descriptor()->FindFieldByNumber(e.detail_case());
  const auto* need = v1::Event::descriptor()->FindFieldByNumber(want);
  std::fprintf(stderr, "events::EventBuilder::%s fills %s, but the event is %s\n", setter,
               need->name().c_str(), have->name().c_str());
  std::abort();
}

}  // namespace

EventBuilder::EventBuilder(v1::EventType type) { e_.set_type(type); }

EventBuilder& EventBuilder::Seq(uint64_t seq) {
  e_.set_seq(seq);
  return *this;
}

EventBuilder& EventBuilder::Ktime(uint64_t ktime_ns) {
  e_.set_ktime_ns(ktime_ns);
  return *this;
}

EventBuilder& EventBuilder::Time(int64_t time_unix_ns) {
  e_.set_time_unix_ns(time_unix_ns);
  return *this;
}

EventBuilder& EventBuilder::At(uint64_t ktime_ns, int64_t time_unix_ns) {
  return Ktime(ktime_ns).Time(time_unix_ns);
}

EventBuilder& EventBuilder::Pid(uint32_t pid) {
  e_.mutable_process()->set_pid(pid);
  return *this;
}

EventBuilder& EventBuilder::Tid(uint32_t tid) {
  e_.mutable_process()->set_tid(tid);
  return *this;
}

EventBuilder& EventBuilder::Ppid(uint32_t ppid) {
  e_.mutable_process()->set_ppid(ppid);
  return *this;
}

EventBuilder& EventBuilder::Uid(uint32_t uid) {
  e_.mutable_process()->set_uid(uid);
  return *this;
}

EventBuilder& EventBuilder::Cgroup(uint64_t cgroup_id) {
  e_.mutable_process()->set_cgroup_id(cgroup_id);
  return *this;
}

EventBuilder& EventBuilder::Comm(std::string comm) {
  e_.mutable_process()->set_comm(std::move(comm));
  return *this;
}

EventBuilder& EventBuilder::Exe(std::string exe) {
  e_.mutable_process()->set_exe(std::move(exe));
  return *this;
}

EventBuilder& EventBuilder::Watched(bool watched) {
  e_.mutable_process()->set_watched(watched);
  return *this;
}

EventBuilder& EventBuilder::ChildWatched(bool watched) {
  Expect(e_, Detail::kFork, "ChildWatched");
  e_.mutable_fork()->set_child_watched(watched);
  return *this;
}

EventBuilder& EventBuilder::Flags(uint32_t flags, std::string text) {
  Expect(e_, Detail::kFile, "Flags");
  e_.mutable_file()->set_flags(flags);
  e_.mutable_file()->set_flags_text(std::move(text));
  return *this;
}

EventBuilder& EventBuilder::Result(int64_t result) {
  Expect(e_, Detail::kFile, "Result");
  e_.mutable_file()->set_result(result);
  return *this;
}

EventBuilder& EventBuilder::SocketInode(uint64_t inode) {
  Expect(e_, Detail::kNet, "SocketInode");
  e_.mutable_net()->set_socket_inode(inode);
  return *this;
}

EventBuilder& EventBuilder::Stream(std::string file_type, uint64_t inode, uint64_t offset) {
  Expect(e_, Detail::kPayload, "Stream");
  v1::PayloadInfo* p = e_.mutable_payload();
  p->set_file_type(std::move(file_type));
  p->set_inode(inode);
  p->set_offset(offset);
  return *this;
}

EventBuilder& EventBuilder::Truncated(uint64_t syscall_length) {
  Expect(e_, Detail::kPayload, "Truncated");
  e_.mutable_payload()->set_syscall_length(syscall_length);
  e_.mutable_payload()->set_truncated(true);
  return *this;
}

EventBuilder& EventBuilder::Method(std::string method) {
  Expect(e_, Detail::kCall, "Method");
  e_.mutable_call()->set_method(std::move(method));
  return *this;
}

EventBuilder& EventBuilder::Tool(std::string tool) {
  Expect(e_, Detail::kCall, "Tool");
  e_.mutable_call()->set_tool(std::move(tool));
  return *this;
}

EventBuilder& EventBuilder::Status(std::string status) {
  Expect(e_, Detail::kCall, "Status");
  e_.mutable_call()->set_status(std::move(status));
  return *this;
}

EventBuilder& EventBuilder::Initiator(std::string initiator) {
  Expect(e_, Detail::kCall, "Initiator");
  e_.mutable_call()->set_initiator(std::move(initiator));
  return *this;
}

EventBuilder& EventBuilder::RequestId(std::string id) {
  Expect(e_, Detail::kCall, "RequestId");
  e_.mutable_call()->set_request_id(std::move(id));
  return *this;
}

EventBuilder& EventBuilder::Session(std::string session_id) {
  Expect(e_, Detail::kCall, "Session");
  e_.mutable_call()->set_session_id(std::move(session_id));
  return *this;
}

EventBuilder& EventBuilder::ServerId(std::string server_id) {
  Expect(e_, Detail::kCall, "ServerId");
  e_.mutable_call()->set_server_id(std::move(server_id));
  return *this;
}

EventBuilder& EventBuilder::ServerIdentity(std::string identity) {
  Expect(e_, Detail::kCall, "ServerIdentity");
  e_.mutable_call()->set_server_identity(std::move(identity));
  return *this;
}

EventBuilder& EventBuilder::Started(uint64_t ktime_ns, int64_t unix_ns) {
  Expect(e_, Detail::kCall, "Started");
  e_.mutable_call()->set_started_ktime_ns(ktime_ns);
  e_.mutable_call()->set_started_unix_ns(unix_ns);
  return *this;
}

EventBuilder& EventBuilder::Latency(uint64_t ns) {
  Expect(e_, Detail::kCall, "Latency");
  e_.mutable_call()->set_latency_ns(ns);
  return *this;
}

EventBuilder& EventBuilder::Arguments(std::string json) {
  Expect(e_, Detail::kCall, "Arguments");
  e_.mutable_call()->set_arguments(std::move(json));
  return *this;
}

EventBuilder& EventBuilder::CallResult(std::string json) {
  Expect(e_, Detail::kCall, "CallResult");
  e_.mutable_call()->set_result(std::move(json));
  return *this;
}

EventBuilder& EventBuilder::Bytes(uint64_t request, uint64_t response) {
  Expect(e_, Detail::kCall, "Bytes");
  e_.mutable_call()->set_request_bytes(request);
  e_.mutable_call()->set_response_bytes(response);
  return *this;
}

EventBuilder& EventBuilder::Flow(std::string from_tool, std::string from_server_id) {
  Expect(e_, Detail::kCall, "Flow");
  v1::DataFlow* f = e_.mutable_call()->add_flows();
  f->set_from_tool(std::move(from_tool));
  f->set_from_server_id(std::move(from_server_id));
  return *this;
}

EventBuilder& EventBuilder::ServerPid(uint32_t pid) {
  if (e_.detail_case() == Detail::kToolChange) {
    e_.mutable_tool_change()->set_server_pid(pid);
  } else {
    Expect(e_, Detail::kCall, "ServerPid");
    e_.mutable_call()->set_server_pid(pid);
  }
  return *this;
}

EventBuilder Event(v1::EventType type) { return EventBuilder(type); }

EventBuilder Exec(std::string filename, std::vector<std::string> argv) {
  EventBuilder b(v1::EVENT_TYPE_EXEC);
  v1::ExecInfo* x = b->mutable_exec();
  x->set_filename(std::move(filename));
  for (auto& a : argv) x->add_argv(std::move(a));
  return b;
}

EventBuilder Snapshot(std::string filename) {
  EventBuilder b(v1::EVENT_TYPE_PROCESS_SNAPSHOT);
  b->mutable_exec()->set_filename(std::move(filename));
  return b;
}

EventBuilder Fork(uint32_t child_pid) {
  EventBuilder b(v1::EVENT_TYPE_FORK);
  b->mutable_fork()->set_child_pid(child_pid);
  return b;
}

EventBuilder Exit() { return EventBuilder(v1::EVENT_TYPE_EXIT); }

EventBuilder FileOpen(std::string path) {
  EventBuilder b(v1::EVENT_TYPE_FILE_OPEN);
  b->mutable_file()->set_path(std::move(path));
  return b;
}

EventBuilder OpenRead(std::string path, int64_t fd) {
  EventBuilder b = FileOpen(std::move(path));
  b.Flags(O_RDONLY, "O_RDONLY").Result(fd);
  return b;
}

EventBuilder TcpConnect(std::string address, uint32_t port) {
  EventBuilder b(v1::EVENT_TYPE_NET_CONNECT);
  v1::NetInfo* n = b->mutable_net();
  n->set_protocol("tcp");
  v1::SockAddr* r = n->mutable_remote();
  r->set_family(address.find(':') == std::string::npos ? "inet" : "inet6");
  r->set_address(std::move(address));
  r->set_port(port);
  return b;
}

EventBuilder DnsQuery(std::vector<std::string> names) {
  EventBuilder b(v1::EVENT_TYPE_DNS_QUERY);
  v1::DnsInfo* d = b->mutable_dns();
  for (auto& n : names) d->add_names(std::move(n));
  return b;
}

EventBuilder Payload(std::string direction, int32_t fd, std::string data) {
  EventBuilder b(v1::EVENT_TYPE_PAYLOAD);
  v1::PayloadInfo* p = b->mutable_payload();
  p->set_syscall(direction == "in" ? "read" : "write");
  p->set_fd(fd);
  p->set_direction(std::move(direction));
  p->set_syscall_length(data.size());
  p->set_data(std::move(data));
  return b;
}

EventBuilder McpRequest(std::string id) {
  EventBuilder b(v1::EVENT_TYPE_MCP_MESSAGE);
  v1::McpMessageInfo* m = b->mutable_mcp();
  m->set_kind("request");
  m->set_direction("in");
  m->set_id(std::move(id));
  return b;
}

EventBuilder McpCall() {
  EventBuilder b(v1::EVENT_TYPE_MCP_CALL);
  b->mutable_call();
  return b;
}

EventBuilder ToolCall(std::string tool) {
  return std::move(McpCall().Method("tools/call").Tool(std::move(tool)));
}

EventBuilder ToolsList() { return std::move(McpCall().Method("tools/list")); }

EventBuilder ToolChange(std::string tool, std::string change) {
  EventBuilder b(v1::EVENT_TYPE_MCP_TOOLS_CHANGED);
  v1::McpToolChange* c = b->mutable_tool_change();
  c->set_tool(std::move(tool));
  c->set_change(std::move(change));
  return b;
}

EventBuilder Loss(uint64_t lost) {
  EventBuilder b(v1::EVENT_TYPE_LOSS);
  b->set_lost(lost);
  return b;
}

}  // namespace agentwatch::events
