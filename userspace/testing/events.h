// Events for tests, built in one expression instead of field by field:
//
//   v1::Event e = events::OpenRead("/data/a", 3).Seq(1).At(110, 1110).Pid(20);
//   c_->OnEvent(events::ToolCall("read").Status("ok").ServerPid(20), ...);
//
// A starter (Exec, FileOpen, TcpConnect, Payload, ToolCall, ...) gives the
// type and the detail; setters fill one field each and return the builder,
// which converts to v1::Event. Only what is named is set: a field no setter
// names keeps proto3's default, and no sub-message is created that was not
// asked for (an Exit() has no ExitInfo, an Event(type) no detail, and the
// process is present only once a process setter ran). So a builder sets
// exactly what the hand-written code it replaces set.
//
// A detail setter on an event whose detail is another one (Flags on a
// connect) is a mistake in the test: it aborts with a message instead of
// silently switching the oneof.
//
// For tests only (tests/layout/check_layout.py: only *_test.cc include it).
#ifndef AGENTWATCH_TESTING_EVENTS_H_
#define AGENTWATCH_TESTING_EVENTS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "agentwatch/v1/agentwatch.pb.h"

namespace agentwatch::events {

class EventBuilder {
 public:
  explicit EventBuilder(v1::EventType type = v1::EVENT_TYPE_UNSPECIFIED);

  // Numbering and time.
  EventBuilder& Seq(uint64_t seq);
  EventBuilder& Ktime(uint64_t ktime_ns);    // CLOCK_BOOTTIME
  EventBuilder& Time(int64_t time_unix_ns);  // wall clock
  EventBuilder& At(uint64_t ktime_ns, int64_t time_unix_ns);  // both

  // Who: the process (any of these makes it present, even with a 0).
  EventBuilder& Pid(uint32_t pid);
  EventBuilder& Tid(uint32_t tid);
  EventBuilder& Ppid(uint32_t ppid);
  EventBuilder& Uid(uint32_t uid);
  EventBuilder& Cgroup(uint64_t cgroup_id);
  EventBuilder& Comm(std::string comm);
  EventBuilder& Exe(std::string exe);
  EventBuilder& Watched(bool watched = true);

  // Fork: the child inherited the watch in the kernel.
  EventBuilder& ChildWatched(bool watched = true);

  // File open: flags and their text ("O_RDONLY"; "" leaves it unset), and
  // the result (fd or -errno).
  EventBuilder& Flags(uint32_t flags, std::string text = "");
  EventBuilder& Result(int64_t result);

  // Network.
  EventBuilder& SocketInode(uint64_t inode);

  // Payload: the byte stream the chunk belongs to (pipe or socket, its
  // inode, the position of data[0]); Truncated: the syscall moved
  // `syscall_length` bytes, more than the chunk holds.
  EventBuilder& Stream(std::string file_type, uint64_t inode, uint64_t offset);
  EventBuilder& Truncated(uint64_t syscall_length);

  // MCP call.
  EventBuilder& Method(std::string method);
  EventBuilder& Tool(std::string tool);
  EventBuilder& Status(std::string status);
  EventBuilder& Initiator(std::string initiator);  // client, server
  EventBuilder& RequestId(std::string id);         // JSON text of the id
  EventBuilder& Session(std::string session_id);
  EventBuilder& ServerId(std::string server_id);
  EventBuilder& ServerIdentity(std::string identity);
  EventBuilder& Started(uint64_t ktime_ns, int64_t unix_ns);
  EventBuilder& Latency(uint64_t ns);
  EventBuilder& Arguments(std::string json);
  EventBuilder& CallResult(std::string json);
  EventBuilder& Bytes(uint64_t request, uint64_t response);
  // An earlier result that flowed into these arguments.
  EventBuilder& Flow(std::string from_tool, std::string from_server_id);

  // The server's pid: of an MCP call, or of a tool change.
  EventBuilder& ServerPid(uint32_t pid);

  // For what no setter names.
  v1::Event* operator->() { return &e_; }
  const v1::Event& event() const { return e_; }
  operator v1::Event() const { return e_; }  // NOLINT: converts implicitly

 private:
  v1::Event e_;
};

// Just the type: no detail.
EventBuilder Event(v1::EventType type = v1::EVENT_TYPE_UNSPECIFIED);

// Processes. Exec and Snapshot carry the ExecInfo (filename, argv); Exit
// carries no ExitInfo.
EventBuilder Exec(std::string filename, std::vector<std::string> argv = {});
EventBuilder Snapshot(std::string filename);
EventBuilder Fork(uint32_t child_pid);
EventBuilder Exit();

// Files: an open of `path` (no flags, no result yet), and a successful
// read-only open returning `fd` (O_RDONLY, "O_RDONLY").
EventBuilder FileOpen(std::string path);
EventBuilder OpenRead(std::string path, int64_t fd);

// Network: a TCP connect to address:port ("inet", or "inet6" when the
// address has a ':').
EventBuilder TcpConnect(std::string address, uint32_t port);
EventBuilder DnsQuery(std::vector<std::string> names);

// One payload chunk: "in" is a read, "out" a write, of `data` on `fd`,
// the whole syscall (syscall_length = data.size()).
EventBuilder Payload(std::string direction, int32_t fd, std::string data);

// MCP: a request (JSON text of its id) the process read, and calls.
// McpCall names neither method nor tool; ToolCall is tools/call of
// `tool`; ToolsList is tools/list.
EventBuilder McpRequest(std::string id);
EventBuilder McpCall();
EventBuilder ToolCall(std::string tool);
EventBuilder ToolsList();
// A server's tool inventory changed: `change` is added, removed, changed.
EventBuilder ToolChange(std::string tool, std::string change);

// Events lost before this one.
EventBuilder Loss(uint64_t lost);

}  // namespace agentwatch::events

#endif  // AGENTWATCH_TESTING_EVENTS_H_
