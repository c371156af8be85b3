#include "cli/format.h"

#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <google/protobuf/util/json_util.h>

#include "common/clock.h"
#include "common/text.h"
#include "model/event_text.h"

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
    {v1::EVENT_TYPE_CAPTURE_EVADED, "evasion", "payload"},
    {v1::EVENT_TYPE_POSTURE, "posture", "process"},
    {v1::EVENT_TYPE_MCP_MESSAGE, "mcp", "mcp"},
    {v1::EVENT_TYPE_MCP_CALL, "call", "mcp"},
    {v1::EVENT_TYPE_MCP_TOOLS_CHANGED, "tools", "mcp"},
    {v1::EVENT_TYPE_CHAIN_UPDATE, "chain", "mcp"},
    {v1::EVENT_TYPE_ALERT, "alert", "alert"},
    {v1::EVENT_TYPE_LOSS, "loss", "loss"},
};

std::string Millis(uint64_t ns) {
  return fmt::format("{:.1f}ms", static_cast<double>(ns) / 1e6);
}

std::string CallSummary(const v1::McpCall& c) {
  std::string what = c.method();
  if (!c.tool().empty()) what += " " + c.tool();
  if (!c.arguments().empty()) what += " " + c.arguments().substr(0, 80);
  std::string outcome = c.status();
  if (c.status() == "error")
    outcome += fmt::format(" {} {}", c.error_code(), c.error_message().substr(0, 60));
  if (c.status() == "cancelled" && !c.cancel_reason().empty())
    outcome += " (" + c.cancel_reason().substr(0, 60) + ")";
  if (!c.result_summary().empty()) outcome += " " + c.result_summary();
  if (c.progress_count() > 0)
    outcome += fmt::format(" progress={} ({})", c.progress_count(), c.progress_last());
  return fmt::format("{} {} -> {} {}", c.session_id(), what, outcome,
                     c.status() == "pending" ? "" : Millis(c.latency_ns()));
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
                         SyscallResultText(ev.file().result(), ev.file().error()));
    case v1::EVENT_TYPE_FILE_UNLINK:
      return fmt::format("{} = {}", ev.file().path(),
                         SyscallResultText(ev.file().result(), ev.file().error()));
    case v1::EVENT_TYPE_FILE_RENAME:
      return fmt::format("{} -> {} = {}", ev.file().path(), ev.file().new_path(),
                         SyscallResultText(ev.file().result(), ev.file().error()));
    case v1::EVENT_TYPE_NET_CONNECT:
    case v1::EVENT_TYPE_NET_ACCEPT:
      return fmt::format("{} {} -> {} = {}", ev.net().protocol().empty()
                                                 ? ev.net().sock_type()
                                                 : ev.net().protocol(),
                         SockAddrText(ev.net().local()), SockAddrText(ev.net().remote()),
                         SyscallResultText(ev.net().result(), ev.net().error()));
    case v1::EVENT_TYPE_NET_BIND:
      return fmt::format("{} {} = {}", ev.net().protocol(),
                         SockAddrText(ev.net().local()),
                         SyscallResultText(ev.net().result(), ev.net().error()));
    case v1::EVENT_TYPE_NET_LISTEN:
      return fmt::format("{} {} backlog={} = {}", ev.net().protocol(),
                         SockAddrText(ev.net().local()), ev.net().backlog(),
                         SyscallResultText(ev.net().result(), ev.net().error()));
    case v1::EVENT_TYPE_NET_CLOSE:
      return fmt::format("{} {} -> {} sent={} recv={}", ev.net().protocol(),
                         SockAddrText(ev.net().local()), SockAddrText(ev.net().remote()),
                         ev.net().bytes_sent(), ev.net().bytes_received());
    case v1::EVENT_TYPE_DNS_QUERY: {
      std::string q;
      for (int i = 0; i < ev.dns().names_size(); ++i) {
        if (i) q += ' ';
        q += ev.dns().names(i);
        if (i < ev.dns().qtypes_size()) q += "/" + ev.dns().qtypes(i);
      }
      if (ev.dns().malformed()) q += " (malformed: " + ev.dns().error() + ")";
      return fmt::format("{} via {}", q, SockAddrText(ev.dns().server()));
    }
    case v1::EVENT_TYPE_CAPTURE_EVADED:
      return EvasionText(ev.evasion());
    case v1::EVENT_TYPE_POSTURE: {
      const auto& c = ev.posture();
      return fmt::format("{} {} {} ({}, fingerprint {}{})", c.subject(), c.source(), c.name(),
                         c.kind(), c.fingerprint(),
                         c.previous_fingerprint().empty()
                             ? ""
                             : ", rotated from " + c.previous_fingerprint());
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
    case v1::EVENT_TYPE_MCP_CALL:
      return CallSummary(ev.call());
    case v1::EVENT_TYPE_MCP_TOOLS_CHANGED: {
      const auto& c = ev.tool_change();
      return fmt::format("tool {} {} {} -> {}", c.tool(), c.change(),
                         c.old_hash().substr(0, 12), c.new_hash().substr(0, 12));
    }
    case v1::EVENT_TYPE_CHAIN_UPDATE:
      return FormatChainUpdate(ev.chain_update());
    case v1::EVENT_TYPE_ALERT:
      return FormatAlertLine(ev.alert());
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

// The writer's side of a cross-agent flow, one line.
std::string CrossAgentReadText(const v1::CrossAgentRead& r) {
  return fmt::format("=> call {} {} was read by agent {} (pid {}) in call {} {} on {} "
                     "({} fingerprints){}",
                     r.from_call_id(), r.from_tool(), r.agent_id(), r.agent_pid(), r.call_id(),
                     r.tool(), r.server_id(), r.shared_fingerprints(),
                     r.content_flag().empty() ? "" : "; it carried " + r.content_flag());
}

}  // namespace

std::string FormatChainUpdate(const v1::ChainUpdate& u) {
  std::string head = u.chain().id() == 0
                         ? std::string("no chain")
                         : fmt::format("chain {} agent {}", u.chain().id(),
                                       u.chain().agent_id());
  if (u.entry().has_call()) {
    return fmt::format("{} + {} ({} effects)", head, CallSummary(u.entry().call()),
                       u.entry().effects_size());
  }
  if (u.entry().has_agent_effect())
    return fmt::format("{} + (agent) {}", head, u.entry().agent_effect().summary());
  if (u.entry().has_read_by_agent()) return head + " + " + CrossAgentReadText(u.entry().read_by_agent());
  return fmt::format("{} ended: {} calls, {} effects", head, u.chain().calls(),
                     u.chain().effects());
}

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
  out += s.ready() ? "ready\n" : "NOT READY: " + s.not_ready_reason() + "\n";
  if (s.missing_capabilities_size() > 0) {
    std::string caps;
    for (const auto& c : s.missing_capabilities()) caps += (caps.empty() ? "" : ", ") + c;
    out += "missing capabilities: " + caps + "\n";
  }
  if (s.has_kubernetes()) {
    const auto& k = s.kubernetes();
    out += fmt::format("kubernetes: {}  pods={}  unresolved={}  last sync {}{}\n", k.source(),
                       k.pods_known(), k.unresolved(),
                       k.last_sync_unix_ns() ? FormatRfc3339(k.last_sync_unix_ns())
                                             : std::string("never"),
                       k.last_error().empty() ? "" : "  last error: " + k.last_error());
  }
  if (s.has_store()) {
    const auto& st = s.store();
    if (st.path().empty()) {
      out += "store: NOT open (" + st.last_error() + "); chains are in memory only\n";
    } else {
      out += fmt::format("store: {}  {:.1f} MiB  schema {}  chains={} calls={} effects={}  "
                         "last write {}{}\n",
                         st.path(), static_cast<double>(st.size_bytes()) / 1048576.0,
                         st.schema_version(), st.chains(), st.calls(), st.effects(),
                         st.last_flush_unix_ns() ? FormatRfc3339(st.last_flush_unix_ns())
                                                 : std::string("never"),
                         st.last_error().empty() ? "" : "  last error: " + st.last_error());
    }
  }
  if (s.sinks_size() > 0) {
    out += "\nSINKS\n";
    for (const auto& k : s.sinks()) {
      out += fmt::format("  {:<16} {:<10} sent={} queued={} skipped={} failed={} retried={}{}{}\n",
                         k.name(), k.type(), k.sent(), k.queued(), k.skipped(), k.failed(),
                         k.retried(), k.rows() ? fmt::format(" rows={}", k.rows()) : "",
                         k.last_error().empty() ? "" : "  last error: " + k.last_error());
    }
  }
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
  if (s.tls_size() > 0) {
    out += "\nTLS PLAINTEXT\n";
    for (const auto& t : s.tls()) {
      std::string pids;
      for (uint32_t p : t.pids()) pids += (pids.empty() ? "" : ",") + std::to_string(p);
      out += fmt::format("  {:<8} {:<10} {}{}{}\n", t.attached() ? "hooked" : "NOT",
                         t.library(), t.path(),
                         t.attached() ? " (" + std::to_string(t.functions_size()) +
                                            " functions)"
                                      : " — " + t.detail(),
                         pids.empty() ? "" : " used by " + pids);
    }
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

std::string ProtoJson(const google::protobuf::Message& m) {
  std::string s;
  google::protobuf::util::MessageToJsonString(m, &s, JsonOpts());
  return s;
}

std::string CallsHeader() {
  return fmt::format("{:<12} {:<18} {:<16} {:<24} {:<10} {:>9}  {}", "TIME",
                     "SESSION", "METHOD", "TOOL/TARGET", "STATUS", "LATENCY",
                     "DETAILS");
}

std::string FormatCallLine(const v1::McpCall& c) {
  std::string details = c.arguments().substr(0, 60);
  if (c.status() == "error") details = c.error_message().substr(0, 60);
  if (!c.result_summary().empty())
    details += (details.empty() ? "" : " => ") + c.result_summary();
  if (c.progress_count() > 0)
    details += fmt::format(" progress={} ({})", c.progress_count(), c.progress_last());
  if (!c.cancel_reason().empty()) details += " reason: " + c.cancel_reason();
  if (c.initiator() == "server") details = "[server->client] " + details;
  for (const auto& f : c.flows())
    details += fmt::format(" <= data from call {} ({})", f.from_call_id(), f.from_tool());
  for (const auto& f : c.written_by())
    details += fmt::format(" <= written by agent {} (call {} {})", f.from_agent_id(),
                           f.from_call_id(), f.from_tool());
  return fmt::format("{:<12} {:<18} {:<16} {:<24} {:<10} {:>9}  {}",
                     FormatClock(c.started_unix_ns()), c.session_id(),
                     c.method(), c.tool().substr(0, 24), c.status(),
                     c.status() == "pending" ? "-" : Millis(c.latency_ns()),
                     details);
}

std::string FormatServers(const std::vector<v1::McpServer>& servers) {
  std::string out = fmt::format(
      "{:>7} {:<22} {:<9} {:<6} {:<10} {:>5} {:>6} {:>7} {:<8} {:<10} {}\n",
      "PID", "NAME", "VERSION", "TRANS", "PROTOCOL", "TOOLS", "CALLS", "CLIENT",
      "STATE", "FOUND BY", "PACKAGE / EXE");
  for (const auto& s : servers) {
    out += fmt::format(
        "{:>7} {:<22} {:<9} {:<6} {:<10} {:>5} {:>6} {:>7} {:<8} {:<10} {}\n",
        s.pid(), s.name().empty() ? "?" : s.name().substr(0, 22),
        s.version().substr(0, 9), s.transport(), s.protocol_version(),
        s.tool_count(), s.calls(),
        s.client_pid() ? std::to_string(s.client_pid()) : "-",
        s.alive() ? "running" : "exited", s.discovered_by(),
        s.package().empty() ? s.exe() : s.package() + " (" + s.exe() + ")");
  }
  return out;
}

std::string FormatSessions(const std::vector<v1::McpSession>& sessions) {
  std::string out = fmt::format(
      "{:<20} {:>7} {:>7} {:<24} {:<6} {:<10} {:>6} {:>6} {:>5} {:<8} {}\n",
      "SESSION", "SERVER", "CLIENT", "CLIENT INFO", "TRANS", "PROTOCOL", "CALLS",
      "ERRORS", "PEND", "STATE", "STARTED");
  for (const auto& s : sessions) {
    std::string info = s.client_name();
    if (!s.client_version().empty()) info += " " + s.client_version();
    out += fmt::format(
        "{:<20} {:>7} {:>7} {:<24} {:<6} {:<10} {:>6} {:>6} {:>5} {:<8} {}\n",
        s.id(), s.server_pid(), s.client_pid() ? std::to_string(s.client_pid()) : "-",
        info.empty() ? "?" : info.substr(0, 24), s.transport(),
        s.protocol_version(), s.calls(), s.errors(), s.pending(),
        s.ended() ? "ended" : "open", FormatClock(s.started_unix_ns()));
  }
  return out;
}

std::string FormatInventory(const v1::McpToolInventory& inv, bool history) {
  std::string out = fmt::format("server {} ({}), {} tools\n", inv.server_name(),
                                inv.server_identity(), inv.tools_size());
  out += fmt::format("  {:<28} {:<16} {:>3}  {}\n", "TOOL", "HASH", "VER",
                     "DESCRIPTION");
  for (const auto& t : inv.tools()) {
    std::string d = Printable(t.description());
    if (d.size() > 70) d = d.substr(0, 70) + "…";
    out += fmt::format("  {:<28} {:<16} {:>3}  {}\n", t.name(),
                       t.hash().substr(0, 16), t.version(), d);
  }
  if (history) {
    out += "\nHISTORY\n";
    for (const auto& h : inv.history()) {
      out += fmt::format("  {}  {:<8} {:<28} {} -> {}\n",
                         FormatRfc3339(h.time_unix_ns()), h.change(), h.tool(),
                         h.old_hash().empty() ? "-" : h.old_hash().substr(0, 16),
                         h.new_hash().empty() ? "-" : h.new_hash().substr(0, 16));
    }
  }
  return out;
}

std::string FormatAgents(const std::vector<v1::McpAgent>& agents) {
  std::string out = fmt::format("{:>7} {:>5} {:<26} {:<24} {:>8} {:>7} {:>6} {:<8} {}\n",
                                "PID", "UID", "CLIENT INFO", "EXE", "SESSIONS",
                                "SERVERS", "CALLS", "STATE", "CONTAINER / POD");
  for (const auto& a : agents) {
    std::string info = a.client_name();
    if (!a.client_version().empty()) info += " " + a.client_version();
    std::string where = a.container_id().substr(0, 12);
    if (!a.kubernetes().pod_name().empty()) {
      where += (where.empty() ? "" : " ") + a.kubernetes().namespace_() + "/" +
               a.kubernetes().pod_name();
    } else if (!a.pod_uid().empty()) {
      where += (where.empty() ? "" : " ") + a.pod_uid();
    }
    out += fmt::format("{:>7} {:>5} {:<26} {:<24} {:>8} {:>7} {:>6} {:<8} {}\n",
                       a.pid(), a.uid(), info.empty() ? "?" : info.substr(0, 26),
                       a.exe().substr(0, 24), a.sessions(), a.servers_size(),
                       a.calls(), a.alive() ? "running" : "exited",
                       where.empty() ? "-" : where);
  }
  return out;
}

std::string FormatChains(const std::vector<v1::Chain>& chains) {
  std::string out = fmt::format("{:>6} {:>7} {:<28} {:<12} {:<12} {:>6} {:>8} {}\n",
                                "CHAIN", "AGENT", "EXE", "START", "END", "CALLS",
                                "EFFECTS", "STATE");
  for (const auto& c : chains) {
    out += fmt::format("{:>6} {:>7} {:<28} {:<12} {:<12} {:>6} {:>8} {}\n", c.id(),
                       c.agent_pid(), c.agent_exe().substr(0, 28),
                       FormatClock(c.start_unix_ns()), FormatClock(c.end_unix_ns()),
                       c.calls(), c.effects(), c.open() ? "open" : "closed");
  }
  return out;
}

std::string FormatAlertLine(const v1::Alert& a) {
  return fmt::format("{} #{} {:<8} {:<28} {}{}", FormatClock(a.time_unix_ns()), a.id(),
                     a.severity(), a.rule_id(), a.summary(),
                     a.count() > 1 ? fmt::format("  (x{})", a.count()) : "");
}

std::string FormatAlerts(const std::vector<v1::Alert>& alerts) {
  // A NODE column when the alerts come from several nodes, a POD column
  // when agents run in pods.
  bool nodes = false, pods = false;
  for (const auto& a : alerts) {
    nodes = nodes || a.node() != alerts.front().node();
    pods = pods || !a.agent_kubernetes().pod_uid().empty();
  }
  auto pod = [](const v1::Alert& a) {
    const auto& k = a.agent_kubernetes();
    if (k.pod_uid().empty()) return std::string("-");
    return k.pod_name().empty() ? k.pod_uid().substr(0, 8) : k.namespace_() + "/" + k.pod_name();
  };
  std::string out = fmt::format("{:>6} {:<12} {}{}{:<8} {:<28} {:>6} {:>5} {}\n", "ALERT", "TIME",
                                nodes ? fmt::format("{:<16} ", "NODE") : "",
                                pods ? fmt::format("{:<40} ", "POD") : "", "SEVERITY", "RULE",
                                "CHAIN", "COUNT", "SUMMARY");
  for (const auto& a : alerts) {
    out += fmt::format("{:>6} {:<12} {}{}{:<8} {:<28} {:>6} {:>5} {}\n", a.id(),
                       FormatClock(a.time_unix_ns()),
                       nodes ? fmt::format("{:<16} ", a.node().substr(0, 16)) : "",
                       pods ? fmt::format("{:<40} ", pod(a).substr(0, 40)) : "", a.severity(),
                       a.rule_id().substr(0, 28),
                       a.chain_id() == 0 ? std::string("-") : std::to_string(a.chain_id()),
                       a.count(), a.summary());
  }
  return out;
}

namespace {

// The posture finding an alert stands for: its first evidence's fields.
std::string PostureField(const v1::Alert& a, const char* key) {
  if (a.evidence().empty()) return "";
  const auto& f = a.evidence(0).fields();
  auto it = f.find(key);
  return it == f.end() ? "" : it->second;
}

}  // namespace

std::string FormatPosture(const std::vector<v1::Alert>& alerts) {
  std::string out = fmt::format("{:<7} {:>7} {:<16} {:<36} {:<28} {:<11} {:<15} {}\n", "SUBJECT",
                                "PID", "PROCESS", "NAME", "KIND", "FINGERPRINT", "LAST SEEN",
                                "SOURCE");
  for (const auto& a : alerts) {
    const std::string prev = PostureField(a, "previous_fingerprint");
    const uint32_t pid = a.evidence().empty() ? 0 : a.evidence(0).pid();
    out += fmt::format("{:<7} {:>7} {:<16} {:<36} {:<28} {:<11} {:<15} {}\n",
                       Printable(PostureField(a, "subject")), pid,
                       Printable(PostureField(a, "comm")).substr(0, 16),
                       Printable(PostureField(a, "name")), Printable(PostureField(a, "kind")).substr(0, 28),
                       PostureField(a, "fingerprint") + (prev.empty() ? "" : "*"),
                       FormatClock(a.last_unix_ns()), Printable(PostureField(a, "source")));
  }
  bool rotated = false;
  for (const auto& a : alerts) rotated = rotated || !PostureField(a, "previous_fingerprint").empty();
  if (rotated) out += "* rotated: the same name held another credential before\n";
  return out;
}

std::string PostureJson(const v1::Alert& a) {
  std::string out = "{";
  auto field = [&](const char* k, const std::string& v) {
    if (out.size() > 1) out += ',';
    out += JsonString(k) + ":" + JsonString(v);
  };
  for (const char* k : {"subject", "name", "kind", "fingerprint", "previous_fingerprint", "source",
                        "detail", "comm"})
    field(k, PostureField(a, k));
  out += fmt::format(",\"pid\":{},\"rotated\":{},\"alert_id\":{},\"first_unix_ns\":{},"
                     "\"last_unix_ns\":{},\"severity\":{},\"node\":{}}}",
                     a.evidence().empty() ? 0 : a.evidence(0).pid(),
                     PostureField(a, "previous_fingerprint").empty() ? "false" : "true", a.id(),
                     a.time_unix_ns(), a.last_unix_ns(), JsonString(a.severity()),
                     JsonString(a.node()));
  return out;
}

namespace {
std::string KubernetesLine(const char* what, const v1::Kubernetes& k) {
  if (k.pod_uid().empty()) return "";
  if (k.pod_name().empty())
    return fmt::format("{} pod {} (metadata not known), container {}\n", what, k.pod_uid(),
                       k.container_id().substr(0, 12));
  return fmt::format("{} pod {}/{} ({} {}), container {}\n", what, k.namespace_(), k.pod_name(),
                     k.workload_kind(), k.workload_name(),
                     k.container_name().empty() ? k.container_id().substr(0, 12)
                                                : k.container_name());
}
}  // namespace

std::string FormatAlert(const v1::Alert& a) {
  std::string attack;
  for (const auto& t : a.attack()) attack += (attack.empty() ? "" : ", ") + t;
  std::string out = fmt::format("alert {}  {}  {}  {}\n{}\n\n", a.id(), a.severity(),
                                a.rule_id(), FormatRfc3339(a.time_unix_ns()), a.summary());
  if (a.count() > 1)
    out += fmt::format("seen {} times, last {}\n", a.count(), FormatRfc3339(a.last_unix_ns()));
  if (a.agent_pid() != 0)
    out += fmt::format("agent:    {} (pid {}, id {})\n", a.agent_exe(), a.agent_pid(), a.agent_id());
  if (a.server_pid() != 0)
    out += fmt::format("server:   {} (pid {})\n", a.server_name().empty() ? "?" : a.server_name(),
                       a.server_pid());
  out += KubernetesLine("agent:   ", a.agent_kubernetes());
  out += KubernetesLine("server:  ", a.server_kubernetes());
  if (!a.node().empty()) out += "node:     " + a.node() + "\n";
  if (a.chain_id() != 0) out += fmt::format("chain:    {} (agentwatch chain {})\n", a.chain_id(), a.chain_id());
  if (!attack.empty()) out += "ATT&CK:   " + attack + "\n";
  out += "rule:     " + a.description() + " [" + a.rule_source() + "]\n";
  out += "\nEVIDENCE\n";
  for (const auto& e : a.evidence()) {
    out += fmt::format("  {}. {} {:<15} pid {:<7} {}{}\n", e.step(), FormatClock(e.time_unix_ns()),
                       e.signal(), e.pid(), e.description(),
                       e.call_id() != 0 ? fmt::format("  (call {})", e.call_id()) : "");
  }
  if (!a.response().empty()) out += "\nRESPONSE\n  " + a.response() + "\n";
  return out;
}

std::string FormatRules(const std::vector<v1::Rule>& rules) {
  std::string out = fmt::format("{:<30} {:<8} {:<7} {:<7} {:<40} {}\n", "RULE", "SEVERITY",
                                "STATE", "SCOPE", "STEPS", "SOURCE");
  for (const auto& r : rules) {
    std::string steps;
    for (const auto& s : r.signals()) steps += (steps.empty() ? "" : " -> ") + s;
    out += fmt::format("{:<30} {:<8} {:<7} {:<7} {:<40} {}\n", r.id(), r.severity(),
                       r.enabled() ? "on" : "off", r.scope(), steps, r.source());
  }
  return out;
}

std::string FormatBaselines(const std::vector<v1::Baseline>& list, bool detail) {
  std::string out = fmt::format("{:<16} {:<28} {:<9} {:<19} {:>8} {:>6} {:>8} {:>8}\n",
                                "IDENTITY", "SERVER", "STATE", "SINCE", "EVENTS", "VALUES",
                                "NOVEL", "OUTLIERS");
  for (const auto& b : list) {
    const int64_t since = b.state() == "active" ? b.learned_unix_ns() : b.started_unix_ns();
    out += fmt::format("{:<16} {:<28} {:<9} {:<19} {:>8} {:>6} {:>8} {:>8}\n", b.identity(),
                       b.server_name().empty() ? "?" : b.server_name(), b.state(),
                       FormatClock(since), b.observations(), b.features_size(), b.novelties(),
                       b.outliers());
    if (!detail) continue;
    out += fmt::format("  calls learned {}, bytes/call mean {:.0f}, max calls/minute {}\n",
                       b.calls(), b.bytes_mean(), b.max_calls_per_minute());
    for (const auto& k : b.saturated()) out += fmt::format("  {:<12} (too varied to learn)\n", k);
    for (const auto& f : b.features())
      out += fmt::format("  {:<12} {}  x{}{}\n", f.kind(), f.value(), f.count(),
                         f.novel() ? "  (new since learning)" : "");
  }
  return out;
}

bool IsLoaderNoise(const v1::ChainEffect& e) {
  if (e.type() != v1::EVENT_TYPE_FILE_OPEN) return false;
  // "open PATH FLAGS = RESULT" (EffectSummary).
  const std::string& s = e.summary();
  const size_t flags = s.rfind(" O_");
  if (s.rfind("open /", 0) != 0 || flags == std::string::npos) return false;
  const std::string_view path = std::string_view(s).substr(5, flags - 5);
  const std::string_view rest = std::string_view(s).substr(flags + 1);
  const std::string_view mode = rest.substr(0, rest.find(' '));
  // Anything that may write is never noise (a library dropped in place).
  for (const char* w : {"O_WRONLY", "O_RDWR", "O_CREAT", "O_TRUNC", "O_APPEND"})
    if (mode.find(w) != std::string_view::npos) return false;
  static const char* const kExact[] = {"/etc/ld.so.cache", "/etc/ld.so.preload",
                                       "/etc/locale.alias", "/etc/localtime"};
  for (const char* x : kExact)
    if (path == x) return true;
  static const char* const kUnder[] = {"/usr/lib/locale/", "/usr/share/locale/",
                                       "/usr/share/zoneinfo/", "/usr/share/i18n/",
                                       "/usr/lib/x86_64-linux-gnu/gconv/",
                                       "/usr/lib/aarch64-linux-gnu/gconv/",
                                       "/usr/lib64/gconv/"};
  for (const char* u : kUnder)
    if (path.rfind(u, 0) == 0) return true;
  // A shared library: NAME.so or NAME.so.N... under a library directory.
  const std::string_view base = path.substr(path.rfind('/') + 1);
  const size_t so = base.find(".so");
  const bool library = so != std::string_view::npos && so > 0 &&
                       (so + 3 == base.size() || base[so + 3] == '.');
  if (!library) return false;
  for (const char* dir : {"/lib/", "/lib64/", "/usr/lib/", "/usr/lib64/", "/usr/local/lib/"})
    if (path.rfind(dir, 0) == 0) return true;
  return false;
}

std::string FormatChainTree(const v1::Chain& c, bool all_effects) {
  std::string out = fmt::format("chain {}  agent {} (pid {})  {}–{}{}\n", c.id(),
                                c.agent_exe().empty() ? "?" : c.agent_exe(),
                                c.agent_pid(), FormatClock(c.start_unix_ns()),
                                FormatClock(c.end_unix_ns()), c.open() ? " (open)" : "");
  auto effect = [](const v1::ChainEffect& e) {
    std::string s = e.summary();
    if (e.candidates() > 1)
      s += fmt::format("  [1 of {} calls in flight]", e.candidates());
    return s;
  };
  auto noise = [](size_t n) {
    return fmt::format("{} dynamic-loader and locale open{} (--all shows {})", n,
                       n == 1 ? "" : "s", n == 1 ? "it" : "them");
  };
  for (int i = 0; i < c.entries_size(); ++i) {
    const v1::ChainEntry& e = c.entries(i);
    if (e.has_agent_effect() && !all_effects && IsLoaderNoise(e.agent_effect())) {
      // The agent's consecutive loader opens, as one line.
      int j = i;
      while (j + 1 < c.entries_size() && c.entries(j + 1).has_agent_effect() &&
             IsLoaderNoise(c.entries(j + 1).agent_effect()))
        ++j;
      out += fmt::format("{}{} (agent) {}\n", j + 1 == c.entries_size() ? "└─ " : "├─ ",
                         FormatClock(e.agent_effect().time_unix_ns()),
                         noise(static_cast<size_t>(j - i + 1)));
      i = j;
      continue;
    }
    const bool last = i + 1 == c.entries_size();
    const char* branch = last ? "└─ " : "├─ ";
    const char* cont = last ? "   " : "│  ";
    if (e.has_agent_effect()) {
      out += fmt::format("{}{} (agent) {} [pid {}]\n", branch,
                         FormatClock(e.agent_effect().time_unix_ns()),
                         effect(e.agent_effect()), e.agent_effect().pid());
      continue;
    }
    if (e.has_read_by_agent()) {
      out += fmt::format("{}{} {}\n", branch, FormatClock(e.read_by_agent().time_unix_ns()),
                         CrossAgentReadText(e.read_by_agent()));
      continue;
    }
    const v1::McpCall& call = e.call();
    std::string what = call.method();
    if (!call.tool().empty()) what += " " + call.tool();
    out += fmt::format("{}{} {} {}  -> {} {}  {}\n", branch,
                       FormatClock(call.started_unix_ns()), call.session_id(), what,
                       call.arguments().substr(0, 100), call.status(),
                       Millis(call.latency_ns()));
    for (const auto& f : call.flows()) {
      out += fmt::format("{}<= data from call {} {} ({}, {} fingerprints){}\n", cont,
                         f.from_call_id(), f.from_tool(), f.from_session_id(),
                         f.shared_fingerprints(),
                         f.written_by_agent_id().empty()
                             ? ""
                             : ", written by agent " + f.written_by_agent_id());
    }
    for (const auto& f : call.written_by()) {
      out += fmt::format("{}<= written by agent {} (pid {}) in call {} {} ({} fingerprints)\n",
                         cont, f.from_agent_id(), f.from_agent_pid(), f.from_call_id(),
                         f.from_tool(), f.shared_fingerprints());
    }
    // The call's effects; its loader opens as one line where the first was.
    std::vector<std::string> lines;
    size_t quiet = 0, quiet_at = 0;
    for (const auto& x : e.effects()) {
      if (!all_effects && IsLoaderNoise(x)) {
        if (quiet++ == 0) {
          quiet_at = lines.size();
          lines.emplace_back();
        }
        continue;
      }
      lines.push_back(effect(x));
    }
    if (quiet > 0) lines[quiet_at] = noise(quiet);
    for (size_t j = 0; j < lines.size(); ++j) {
      out += fmt::format("{}{}{}\n", cont, j + 1 == lines.size() ? "└─ " : "├─ ", lines[j]);
    }
  }
  return out;
}

namespace {

std::string DotEscape(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 120)) {
    if (c == '"' || c == '\\') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out;
}

}  // namespace

std::string FormatChainDot(const v1::Chain& c) {
  std::string out = fmt::format(
      "digraph chain_{} {{\n  rankdir=LR;\n  node [fontname=\"monospace\", fontsize=10];\n"
      "  agent [shape=house, label=\"agent {} (pid {})\"];\n",
      c.id(), DotEscape(c.agent_exe()), c.agent_pid());
  int n = 0;  // effects
  int m = 0;  // other agents
  for (const auto& e : c.entries()) {
    if (e.has_agent_effect()) {
      out += fmt::format("  e{} [shape=ellipse, label=\"{}\"];\n  agent -> e{};\n", n,
                         DotEscape(e.agent_effect().summary()), n);
      ++n;
      continue;
    }
    if (e.has_read_by_agent()) {
      const v1::CrossAgentRead& r = e.read_by_agent();
      out += fmt::format(
          "  r{} [shape=house, label=\"agent {}\\n{} (call {})\"];\n"
          "  c{} -> r{} [style=dashed, color=red, label=\"read by\"];\n",
          m, DotEscape(r.agent_id()), DotEscape(r.tool()), r.call_id(), r.from_call_id(), m);
      ++m;
      continue;
    }
    const v1::McpCall& call = e.call();
    out += fmt::format(
        "  c{} [shape=box, label=\"{} {}\\n{} {}\"];\n  agent -> c{};\n",
        call.call_id(), DotEscape(call.method()), DotEscape(call.tool()),
        DotEscape(call.session_id()), DotEscape(call.status()), call.call_id());
    for (const auto& f : call.flows()) {
      out += fmt::format("  c{} -> c{} [style=dashed, color=red, label=\"data\"];\n",
                         f.from_call_id(), call.call_id());
    }
    for (const auto& f : call.written_by()) {
      out += fmt::format(
          "  w{} [shape=house, label=\"agent {}\\n{} (call {})\"];\n"
          "  w{} -> c{} [style=dashed, color=red, label=\"written by\"];\n",
          m, DotEscape(f.from_agent_id()), DotEscape(f.from_tool()), f.from_call_id(), m,
          call.call_id());
      ++m;
    }
    for (const auto& x : e.effects()) {
      out += fmt::format("  e{} [shape=ellipse, label=\"{}\"];\n  c{} -> e{}", n,
                         DotEscape(x.summary()), call.call_id(), n);
      if (x.candidates() > 1)
        out += fmt::format(" [style=dotted, label=\"1/{}\"]", x.candidates());
      out += ";\n";
      ++n;
    }
  }
  out += "}\n";
  return out;
}

std::string StatusJson(const v1::Status& st) {
  std::string s;
  google::protobuf::util::MessageToJsonString(st, &s, JsonOpts());
  return s;
}

}  // namespace agentwatch
