#include "cli/format.h"

#include <fmt/format.h>
#include <google/protobuf/util/json_util.h>

#include "common/clock.h"
#include "common/text.h"

namespace agentwatch {
namespace {

struct TypeName {
  v1::EventType type;
  const char* name;
  const char* group;
};
constexpr TypeName kTypes[] = {
    {v1::EVENT_TYPE_EXEC, "exec", "process"},
    {v1::EVENT_TYPE_FORK, "fork", "process"},
    {v1::EVENT_TYPE_EXIT, "exit", "process"},
    {v1::EVENT_TYPE_PROCESS_SNAPSHOT, "snapshot", "process"},
    {v1::EVENT_TYPE_FILE_OPEN, "open", "file"},
    {v1::EVENT_TYPE_FILE_UNLINK, "unlink", "file"},
    {v1::EVENT_TYPE_FILE_RENAME, "rename", "file"},
    {v1::EVENT_TYPE_NET_CONNECT, "connect", "net"},
    {v1::EVENT_TYPE_NET_ACCEPT, "accept", "net"},
    {v1::EVENT_TYPE_NET_BIND, "bind", "net"},
    {v1::EVENT_TYPE_NET_LISTEN, "listen", "net"},
    {v1::EVENT_TYPE_NET_CLOSE, "close", "net"},
    {v1::EVENT_TYPE_DNS_QUERY, "dns", "net"},
    {v1::EVENT_TYPE_PAYLOAD, "payload", "payload"},
    {v1::EVENT_TYPE_MCP_MESSAGE, "mcp", "mcp"},
    {v1::EVENT_TYPE_LOSS, "loss", "loss"},
};

std::string Addr(const v1::SockAddr& a) {
  if (a.family() == "unix") return a.address().empty() ? "(unnamed)" : a.address();
  if (a.family() == "inet6") return fmt::format("[{}]:{}", a.address(), a.port());
  if (a.family().empty()) return "-";
  return fmt::format("{}:{}", a.address(), a.port());
}

std::string Result(int64_t r, const std::string& err) {
  if (r < 0) return err.empty() ? std::to_string(r) : err;
  return std::to_string(r);
}

std::string Details(const v1::Event& ev) {
  switch (ev.type()) {
    case v1::EVENT_TYPE_EXEC:
    case v1::EVENT_TYPE_PROCESS_SNAPSHOT: {
      const auto& x = ev.exec();
      std::vector<std::string> argv(x.argv().begin(), x.argv().end());
      return fmt::format("{} [{}]{} ppid={} uid={} cwd={}", x.filename(),
                         JoinArgv(argv), x.argv_truncated() ? "…" : "",
                         ev.process().ppid(), ev.process().uid(), x.cwd());
    }
    case v1::EVENT_TYPE_FORK:
      return fmt::format("{} {}{}", ev.fork().thread() ? "thread" : "child",
                         ev.fork().thread() ? ev.fork().child_tid()
                                            : ev.fork().child_pid(),
                         ev.fork().child_watched() ? " (watched)" : "");
    case v1::EVENT_TYPE_EXIT:
      if (ev.exit().signal() != 0)
        return fmt::format("signal {}", ev.exit().signal());
      return fmt::format("code {}", ev.exit().exit_code());
    case v1::EVENT_TYPE_FILE_OPEN:
      return fmt::format("{} {} = {}", ev.file().path(), ev.file().flags_text(),
                         Result(ev.file().result(), ev.file().error()));
    case v1::EVENT_TYPE_FILE_UNLINK:
      return fmt::format("{} = {}", ev.file().path(),
                         Result(ev.file().result(), ev.file().error()));
    case v1::EVENT_TYPE_FILE_RENAME:
      return fmt::format("{} -> {} = {}", ev.file().path(), ev.file().new_path(),
                         Result(ev.file().result(), ev.file().error()));
    case v1::EVENT_TYPE_NET_CONNECT:
    case v1::EVENT_TYPE_NET_ACCEPT:
      return fmt::format("{} {} -> {} = {}", ev.net().protocol().empty()
                                                 ? ev.net().sock_type()
                                                 : ev.net().protocol(),
                         Addr(ev.net().local()), Addr(ev.net().remote()),
                         Result(ev.net().result(), ev.net().error()));
    case v1::EVENT_TYPE_NET_BIND:
      return fmt::format("{} {} = {}", ev.net().protocol(),
                         Addr(ev.net().local()),
                         Result(ev.net().result(), ev.net().error()));
    case v1::EVENT_TYPE_NET_LISTEN:
      return fmt::format("{} {} backlog={} = {}", ev.net().protocol(),
                         Addr(ev.net().local()), ev.net().backlog(),
                         Result(ev.net().result(), ev.net().error()));
    case v1::EVENT_TYPE_NET_CLOSE:
      return fmt::format("{} {} -> {} sent={} recv={}", ev.net().protocol(),
                         Addr(ev.net().local()), Addr(ev.net().remote()),
                         ev.net().bytes_sent(), ev.net().bytes_received());
    case v1::EVENT_TYPE_DNS_QUERY: {
      std::string q;
      for (int i = 0; i < ev.dns().names_size(); ++i) {
        if (i) q += ' ';
        q += ev.dns().names(i);
        if (i < ev.dns().qtypes_size()) q += "/" + ev.dns().qtypes(i);
      }
      if (ev.dns().malformed()) q += " (malformed: " + ev.dns().error() + ")";
      return fmt::format("{} via {}", q, Addr(ev.dns().server()));
    }
    case v1::EVENT_TYPE_PAYLOAD: {
      const auto& p = ev.payload();
      constexpr size_t kPreview = 72;
      std::string preview =
          Printable(std::string_view(p.data()).substr(0, kPreview));
      return fmt::format("{} fd={} {}:[{}] {} @{} {}/{} B{}{} {}{}", p.syscall(),
                         p.fd(), p.file_type(), p.inode(), p.direction(),
                         p.offset(), p.data().size(), p.syscall_length(),
                         p.truncated() ? " truncated" : "",
                         p.fault() ? " unreadable" : "", preview,
                         p.data().size() > kPreview ? "…" : "");
    }
    case v1::EVENT_TYPE_MCP_MESSAGE: {
      const auto& m = ev.mcp();
      std::string what;
      if (m.kind() == "invalid") {
        what = "invalid: " + m.decode_error();
      } else if (m.kind() == "request" || m.kind() == "notification") {
        what = m.method() + (m.id().empty() ? "" : " id=" + m.id()) + " " +
               m.params().substr(0, 96);
      } else if (m.kind() == "error") {
        what = fmt::format("error id={} {} {}", m.id(), m.error_code(),
                           m.error_message());
      } else {
        what = "result id=" + m.id() + " " + m.result().substr(0, 96);
      }
      return fmt::format("{} {} fd={} {}", m.transport(),
                         m.direction() == "out" ? "->" : "<-", m.fd(), what);
    }
    case v1::EVENT_TYPE_LOSS:
      return fmt::format("{} events lost: {}", ev.lost(), ev.lost_reason());
    default:
      return "";
  }
}

google::protobuf::util::JsonPrintOptions JsonOpts() {
  google::protobuf::util::JsonPrintOptions o;
  o.preserve_proto_field_names = true;
  return o;
}

}  // namespace

std::string EventTypeShortName(v1::EventType t) {
  for (const auto& k : kTypes) {
    if (k.type == t) return k.name;
  }
  return "unknown";
}

std::optional<std::vector<v1::EventType>> ParseEventTypes(const std::string& s) {
  std::vector<v1::EventType> out;
  for (const auto& k : kTypes) {
    if (s == k.name || s == k.group) out.push_back(k.type);
  }
  if (out.empty()) return std::nullopt;
  return out;
}

std::string EventsHeader() {
  return fmt::format("{:<12} {:>7} {:<15} {:<8} {}", "TIME", "PID", "COMM",
                     "EVENT", "DETAILS");
}

std::string FormatEventLine(const v1::Event& ev) {
  return fmt::format("{:<12} {:>7} {:<15} {:<8} {}",
                     ev.time_unix_ns() ? FormatClock(ev.time_unix_ns()) : "-",
                     ev.process().pid(), ev.process().comm(),
                     EventTypeShortName(ev.type()) +
                         (ev.process().watched() ? "*" : ""),
                     Details(ev));
}

std::string FormatStatus(const v1::Status& s) {
  std::string out;
  out += fmt::format("agentwatchd {}  mode={}  kernel={}  started={}\n",
                     s.version(), s.mode(), s.kernel(),
                     FormatRfc3339(s.started_unix_ns()));
  out += fmt::format("watched processes: {}   process table: {}   ring buffer: "
                     "{} KiB\n",
                     s.watched_processes(), s.process_table_size(),
                     s.ringbuf_bytes() / 1024);
  if (!s.record_file().empty()) out += "recording to " + s.record_file() + "\n";
  out += "\nHOOK TYPES\n";
  for (const auto& h : s.hook_types()) {
    out += fmt::format("  {:<15} {:<4} {}\n", h.hook_type(),
                       h.available() ? "yes" : "no", h.detail());
  }
  out += fmt::format("\nPROBES\n  {:<15} {:<16} {:<11} {:<28} {}\n",
                     "CAPABILITY", "PROGRAM", "HOOK", "TARGET", "STATE");
  for (const auto& p : s.probes()) {
    std::string state = p.attached() ? "attached" : "off";
    if (!p.detail().empty()) state += " (" + p.detail() + ")";
    out += fmt::format("  {:<15} {:<16} {:<11} {:<28} {}\n", p.capability(),
                       p.program(), p.hook_type(), p.target(), state);
  }
  out += "\nCOUNTERS\n";
  for (const auto& c : s.counters()) {
    out += fmt::format("  {:<36} {}\n", c.name(), c.value());
  }
  return out;
}

std::string EventJson(const v1::Event& ev) {
  std::string s;
  google::protobuf::util::MessageToJsonString(ev, &s, JsonOpts());
  return s;
}

std::string StatusJson(const v1::Status& st) {
  std::string s;
  google::protobuf::util::MessageToJsonString(st, &s, JsonOpts());
  return s;
}

}  // namespace agentwatch
