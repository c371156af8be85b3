#include "session/mcp_tracker.h"

#include <algorithm>

#include <fmt/format.h>

#include "common/clock.h"
#include "common/text.h"
#include "mcp/fingerprint.h"
#include "mcp/mcp_json.h"
#include "mcp/redact.h"

namespace agentwatch {
namespace {

constexpr size_t kDescriptionMax = 4096;
constexpr size_t kSchemaMax = 16384;

// Requests a client sends to a server, by method prefix. Anything else a
// process reads on its stdin is not evidence of an MCP server.
bool IsClientToServerMethod(std::string_view m) {
  static constexpr std::string_view kPrefixes[] = {
      "initialize", "tools/",   "resources/",       "prompts/",
      "ping",       "server/",  "completion/",      "logging/",
      "tasks/",     "subscriptions/"};
  for (auto p : kPrefixes) {
    if (m.substr(0, p.size()) == p) return true;
  }
  return false;
}

// The value of a query parameter in an HTTP target ("" if absent).
std::string QueryParam(std::string_view target, std::string_view name) {
  size_t q = target.find('?');
  if (q == std::string_view::npos) return "";
  std::string_view query = target.substr(q + 1);
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view kv = query.substr(0, amp);
    size_t eq = kv.find('=');
    if (eq != std::string_view::npos && kv.substr(0, eq) == name)
      return std::string(kv.substr(eq + 1));
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return "";
}

std::string Key(uint32_t pid, std::string_view channel, bool request_out,
                std::string_view id) {
  std::string k = std::to_string(pid);
  k.reserve(k.size() + channel.size() + id.size() + 5);
  k += '|';
  k += channel;
  k += request_out ? "|o|" : "|i|";
  k += id;
  return k;
}

bool IsLauncher(const ProcessInfo& p) {
  static constexpr std::string_view kLaunchers[] = {
      "sh",  "bash",  "dash",   "zsh",  "env",   "uv",      "uvx",
      "npx", "pipx",  "timeout", "sudo", "setsid", "nohup", "stdbuf",
      "tini", "dumb-init", "xargs", "bunx", "pnpm", "yarn"};
  const std::string exe = Basename(p.exe);
  for (auto l : kLaunchers) {
    if (exe == l || p.comm == l) return true;
  }
  // npm and npx run as node with their CLI script; node renames the
  // process to "npm exec ...".
  if (p.comm.rfind("npm", 0) == 0 || p.comm.rfind("npx", 0) == 0) return true;
  for (size_t i = 1; i < p.argv.size() && i < 3; ++i) {
    const std::string a = Basename(p.argv[i]);
    if (a == "npm" || a == "npx" || a == "npm-cli.js" || a == "npx-cli.js")
      return true;
  }
  return false;
}

}  // namespace

uint32_t GuessClient(const ProcessTable& table, uint32_t server_pid) {
  for (uint32_t pid : table.Ancestry(server_pid, 16)) {
    const ProcessInfo* p = table.Find(pid);
    if (p == nullptr || pid <= 1) return 0;
    if (!IsLauncher(*p)) return pid;
  }
  return 0;
}

std::string ServerPackage(const std::vector<std::string>& argv,
                          const std::string& exe) {
  // The first argument that is not an option of the interpreter; "-m mod"
  // for python. A script inside node_modules is named by its package.
  for (size_t i = 1; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (a == "-m" && i + 1 < argv.size()) return argv[i + 1];
    if (a.empty() || a[0] == '-') continue;
    size_t nm = a.rfind("node_modules/");
    if (nm != std::string::npos) {
      std::string rest = a.substr(nm + 13);
      size_t slash = rest.find('/');
      if (!rest.empty() && rest[0] == '@' && slash != std::string::npos)
        slash = rest.find('/', slash + 1);
      return rest.substr(0, slash);
    }
    return a;
  }
  return argv.empty() ? exe : argv[0];
}

McpTracker::Server* McpTracker::EnsureServer(const McpObservation& w,
                                             const std::string& transport,
                                             const std::string& discovered_by,
                                             bool* created) {
  *created = false;
  const ProcessInfo* p = w.process;
  if (p == nullptr && process_fn_) p = process_fn_(w.pid);
  auto it = servers_.find(w.pid);
  if (it != servers_.end()) {
    // Same process (or no way to tell): keep it.
    if (p == nullptr || it->second.info.id() ==
                            ProcessInstanceId(w.pid, p->start_ns)) {
      it->second.info.set_last_seen_unix_ns(w.time_unix_ns);
      it->second.info.set_alive(true);
      return &it->second;
    }
    servers_.erase(it);  // pid reused
  }
  if (servers_.size() >= opts_.max_servers) {
    // Forget the longest-ended server; if none ended, do not add.
    auto victim = servers_.end();
    for (auto s = servers_.begin(); s != servers_.end(); ++s) {
      if (!s->second.info.alive() &&
          (victim == servers_.end() || s->second.info.last_seen_unix_ns() <
                                           victim->second.info.last_seen_unix_ns()))
        victim = s;
    }
    if (victim == servers_.end()) return nullptr;
    servers_.erase(victim);
  }
  Server s;
  v1::McpServer& i = s.info;
  i.set_pid(w.pid);
  i.set_transport(transport);
  i.set_discovered_by(discovered_by);
  i.set_first_seen_unix_ns(w.time_unix_ns);
  i.set_last_seen_unix_ns(w.time_unix_ns);
  i.set_alive(true);
  std::string exe, package;
  if (p != nullptr) {
    exe = p->exe;
    for (const auto& a : p->argv) i.add_argv(a);
    package = ServerPackage(p->argv, p->exe);
    i.set_container_id(p->container.container_id);
    i.set_pod_uid(p->container.pod_uid);
    v1::Kubernetes k;
    if (PodIdentity(*p, &k)) *i.mutable_kubernetes() = std::move(k);
    i.set_id(ProcessInstanceId(w.pid, p->start_ns));
  } else {
    i.set_id(fmt::format("{}-0", w.pid));
  }
  i.set_exe(exe);
  i.set_package(package);
  i.set_identity(Sha256Hex(Basename(exe) + '\0' + package + '\0' + transport)
                     .substr(0, 16));
  if (client_fn_ && transport == "stdio") {
    uint32_t c = client_fn_(w.pid, w.inode, true);
    i.set_client_pid(c);
    const ProcessInfo* cp = (c != 0 && process_fn_) ? process_fn_(c) : nullptr;
    if (cp != nullptr) i.set_client_exe(cp->exe);
  }
  *created = true;
  return &servers_.emplace(w.pid, std::move(s)).first->second;
}

McpTracker::Session* McpTracker::EnsureSession(const std::string& key,
                                               Server* server,
                                               const McpObservation& w,
                                               const std::string& transport,
                                               const std::string& mcp_sid) {
  auto it = sessions_.find(key);
  if (it != sessions_.end() && !it->second.info.ended()) {
    it->second.info.set_last_unix_ns(w.time_unix_ns);
    return &it->second;
  }
  if (it != sessions_.end()) sessions_.erase(it);  // its pid was reused
  if (sessions_.size() >= opts_.max_sessions) {
    auto victim = sessions_.end();
    for (auto s = sessions_.begin(); s != sessions_.end(); ++s) {
      if (s->second.info.ended() &&
          (victim == sessions_.end() ||
           s->second.info.last_unix_ns() < victim->second.info.last_unix_ns()))
        victim = s;
    }
    if (victim == sessions_.end()) victim = sessions_.begin();
    sessions_.erase(victim);
    ++counters_.sessions_evicted;
  }
  Session s;
  v1::McpSession& i = s.info;
  i.set_id(key);
  i.set_transport(transport);
  i.set_mcp_session_id(mcp_sid);
  i.set_started_unix_ns(w.time_unix_ns);
  i.set_last_unix_ns(w.time_unix_ns);
  if (server != nullptr) {
    i.set_server_id(server->info.id());
    i.set_server_identity(server->info.identity());
    i.set_server_pid(server->info.pid());
    i.set_transport(server->info.transport());
    if (server->info.transport() == "stdio" || !client_fn_) {
      i.set_client_pid(server->info.client_pid());
      i.set_client_exe(server->info.client_exe());
    } else {
      // Each HTTP session has its own client: the other end of the
      // connection that opened it, when it is on this host.
      uint32_t c = client_fn_(server->info.pid(), w.inode, false);
      i.set_client_pid(c);
      const ProcessInfo* cp = (c != 0 && process_fn_) ? process_fn_(c) : nullptr;
      if (cp != nullptr) i.set_client_exe(cp->exe);
      if (c != 0) {
        server->info.set_client_pid(c);
        server->info.set_client_exe(i.client_exe());
      }
    }
    server->info.set_sessions(server->info.sessions() + 1);
  } else {
    // Seen from the client's side: the client is this process.
    i.set_client_pid(w.pid);
    const ProcessInfo* p = w.process;
    if (p == nullptr && process_fn_) p = process_fn_(w.pid);
    if (p != nullptr) i.set_client_exe(p->exe);
  }
  NoteAgent(i.client_pid(), w, i.server_id());
  return &sessions_.emplace(key, std::move(s)).first->second;
}

void McpTracker::NoteAgent(uint32_t pid, const McpObservation& w,
                           const std::string& server_id) {
  if (pid == 0) return;
  const ProcessInfo* p = process_fn_ ? process_fn_(pid) : nullptr;
  const std::string id =
      ProcessInstanceId(pid, p != nullptr ? p->start_ns : 0);
  auto it = agents_.find(pid);
  if (it != agents_.end() && it->second.id() != id) {
    agents_.erase(it);  // pid reused
    it = agents_.end();
  }
  if (it == agents_.end()) {
    if (agents_.size() >= opts_.max_agents) {
      auto victim = agents_.end();
      for (auto a = agents_.begin(); a != agents_.end(); ++a) {
        if (!a->second.alive() &&
            (victim == agents_.end() ||
             a->second.last_seen_unix_ns() < victim->second.last_seen_unix_ns()))
          victim = a;
      }
      if (victim == agents_.end()) return;
      agents_.erase(victim);
    }
    v1::McpAgent a;
    a.set_id(id);
    a.set_pid(pid);
    a.set_hostname(opts_.hostname.empty() ? HostName() : opts_.hostname);
    a.set_first_seen_unix_ns(w.time_unix_ns);
    a.set_alive(true);
    if (p != nullptr) {
      a.set_exe(p->exe);
      for (const auto& arg : p->argv) a.add_argv(arg);
      a.set_start_time_ns(p->start_ns);
      a.set_uid(p->uid);
      a.set_container_id(p->container.container_id);
      a.set_pod_uid(p->container.pod_uid);
      v1::Kubernetes k;
      if (PodIdentity(*p, &k)) *a.mutable_kubernetes() = std::move(k);
    }
    it = agents_.emplace(pid, std::move(a)).first;
  }
  v1::McpAgent& a = it->second;
  a.set_last_seen_unix_ns(w.time_unix_ns);
  a.set_sessions(a.sessions() + 1);
  // Bounded: an agent that starts servers over and over keeps the first.
  if (!server_id.empty() && a.servers_size() < 256 &&
      std::find(a.servers().begin(), a.servers().end(), server_id) == a.servers().end())
    a.add_servers(server_id);
}

std::vector<v1::McpAgent> McpTracker::Agents(bool include_ended,
                                             int64_t changed_since) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<v1::McpAgent> out;
  for (const auto& [pid, a] : agents_) {
    if (!include_ended && !a.alive()) continue;
    if (a.last_seen_unix_ns() < changed_since) continue;
    v1::McpAgent copy = a;
    // clientInfo of its latest session.
    int64_t latest = 0;
    for (const auto& [k, s] : sessions_) {
      if (s.info.client_pid() == pid && s.info.started_unix_ns() >= latest &&
          !s.info.client_name().empty()) {
        latest = s.info.started_unix_ns();
        copy.set_client_name(s.info.client_name());
        copy.set_client_version(s.info.client_version());
      }
    }
    out.push_back(std::move(copy));
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a.first_seen_unix_ns() < b.first_seen_unix_ns();
  });
  return out;
}

McpTracker::Result McpTracker::OnMessage(const McpObservation& w,
                                         const DecodedMessage& d,
                                         std::vector<v1::Event>* out) {
  std::lock_guard<std::mutex> lock(mu_);
  Result res;
  const bool stdio = d.transport == "stdio";
  // Which side of the conversation this process is.
  bool server_side;
  if (stdio) {
    if (!((w.fd == 0 && !w.out) || (w.fd == 1 && w.out))) {
      ++counters_.skipped_client_stdio;
      return res;
    }
    server_side = true;
  } else if (d.endpoint) {
    server_side = w.out;
  } else if (!d.http_method.empty()) {
    server_side = !w.out;  // it reads HTTP requests
  } else {
    server_side = w.out;   // it writes HTTP responses
  }
  const std::string channel =
      stdio ? "stdio" : "sock:" + std::to_string(w.inode);
  // The HTTP session: Mcp-Session-Id, or the legacy transport's sessionId
  // in the POST URI, or what this connection carried before.
  std::string sid;
  if (!stdio) {
    sid = d.http_session_id;
    if (sid.empty() && d.endpoint) sid = QueryParam(d.sse_endpoint, "sessionId");
    if (sid.empty()) sid = QueryParam(d.http_target, "sessionId");
    const auto sock = std::make_tuple(w.pid, w.inode);
    if (!sid.empty()) {
      socket_session_[sock] = sid;
    } else if (auto it = socket_session_.find(sock); it != socket_session_.end()) {
      sid = it->second;
    }
  }
  if (d.endpoint) {
    legacy_sse_.insert(w.pid);
    if (server_side) {
      if (auto it = servers_.find(w.pid); it != servers_.end())
        it->second.info.set_transport("sse");
    }
    return res;
  }

  const JsonRpcMessage& m = d.msg;
  Server* server = nullptr;
  if (server_side) {
    auto it = servers_.find(w.pid);
    if (it != servers_.end()) {
      server = &it->second;
    } else if (m.kind == JsonRpcKind::kRequest && !w.out &&
               IsClientToServerMethod(m.method) &&
               // Other JSON-RPC protocols have an "initialize" too (LSP,
               // ACP): MCP's names a dated protocol version.
               (m.method != "initialize" ||
                !ReadRequestParams(m.method, m.params).protocol_version.empty())) {
      bool created = false;
      server = EnsureServer(w,
                            stdio                    ? "stdio"
                            : legacy_sse_.count(w.pid) ? "sse"
                                                     : "http",
                            stdio ? "stdio" : "http", &created);
      if (created) res.new_server_pid = w.pid;
    }
    if (server != nullptr) {
      server->info.set_last_seen_unix_ns(w.time_unix_ns);
    } else {
      return res;  // not (yet) an MCP server
    }
  }
  auto session_key = [&](const std::string& s) -> std::string {
    if (stdio) return fmt::format("{}/stdio", w.pid);
    // Long ids shortened, with a hash of the whole so ids that share a
    // prefix stay apart.
    if (!s.empty())
      return fmt::format("{}/{}", w.pid,
                         s.size() <= 16 ? s
                                        : s.substr(0, 8) + "~" +
                                              Sha256Hex(s).substr(0, 6));
    return server_side ? fmt::format("{}/http", w.pid)
                       : fmt::format("{}/c{}", w.pid, w.inode);
  };
  // The session's transport: the server's, or what the client saw.
  const std::string transport =
      server != nullptr ? server->info.transport()
      : stdio           ? "stdio"
      : legacy_sse_.count(w.pid) ? "sse"
                                 : "http";

  switch (m.kind) {
    case JsonRpcKind::kRequest: {
      if (pending_.size() >= opts_.max_pending) {
        ++counters_.pending_evicted;
        Finish(pending_.begin()->first, "unanswered", out, w.ktime_ns,
               w.time_unix_ns);
      }
      const std::string key = Key(w.pid, channel, w.out, m.id);
      if (auto old = pending_index_.find(key); old != pending_index_.end()) {
        ++counters_.duplicate_ids;
        Finish(old->second, "unanswered", out, w.ktime_ns, w.time_unix_ns);
      }
      Pending p;
      v1::McpCall& c = p.call;
      c.set_server_pid(server != nullptr ? server->info.pid() : 0);
      if (server != nullptr) {
        c.set_server_id(server->info.id());
        c.set_server_identity(server->info.identity());
        if (server->info.has_kubernetes()) *c.mutable_server_kubernetes() = server->info.kubernetes();
      }
      c.set_transport(transport);
      // A request the server reads, or the client writes, is the client's.
      c.set_initiator(server_side != w.out ? "client" : "server");
      c.set_request_id(m.id);
      c.set_method(m.method);
      McpRequestParams rp = ReadRequestParams(m.method, m.params);
      c.set_tool(rp.target);
      if (!rp.arguments.empty())
        c.set_arguments(Redact(rp.arguments, opts_.arguments_max));
      c.set_status("pending");
      c.set_request_bytes(d.frame_bytes);
      c.set_started_unix_ns(w.time_unix_ns);
      c.set_started_ktime_ns(w.ktime_ns);
      c.set_protocol_version(!rp.protocol_version.empty()
                                 ? rp.protocol_version
                                 : d.http_protocol_version);
      c.set_mcp_session_id(sid);
      p.progress_token = rp.progress_token;
      p.client_name = rp.client_name;
      p.client_version = rp.client_version;
      p.list_continuation =
          m.method == "tools/list" && m.params.find("\"cursor\"") != std::string::npos;
      // Streamable HTTP mints the session in the initialize response.
      if (stdio || !sid.empty() || m.method != "initialize")
        p.session = session_key(sid);
      p.keys.push_back(key);
      if (!sid.empty()) p.keys.push_back(Key(w.pid, "sess:" + sid, w.out, m.id));
      if (!p.progress_token.empty())
        p.keys.push_back(fmt::format("{}|progress|{}", w.pid, p.progress_token));
      const uint64_t id = next_pending_++;
      for (const auto& k : p.keys) pending_index_[k] = id;
      if (!p.session.empty()) {
        Session* s = EnsureSession(p.session, server, w, transport, sid);
        s->info.set_pending(s->info.pending() + 1);
        if (!p.client_name.empty()) {
          s->info.set_client_name(p.client_name);
          s->info.set_client_version(p.client_version);
        }
        if (!c.protocol_version().empty() && s->info.protocol_version().empty())
          s->info.set_protocol_version(c.protocol_version());
        c.set_session_id(p.session);
      }
      // The agent: the session's client, or this process when it is the
      // client (seen from its side).
      p.agent = server_side ? AgentOf(p.session, w.pid) : w.pid;
      if (!rp.arguments.empty() &&
          (m.method == "tools/call" || m.method == "prompts/get"))
        LinkFlows(p.agent, rp.arguments, &c);
      res.session_id = p.session;
      pending_.emplace(id, std::move(p));
      break;
    }
    case JsonRpcKind::kNotification: {
      if (m.method == "notifications/cancelled") {
        auto cancel = ReadCancel(m.params);
        if (!cancel) break;
        auto it = pending_index_.find(Key(w.pid, channel, w.out, cancel->request_id));
        if (it == pending_index_.end() && !sid.empty())
          it = pending_index_.find(
              Key(w.pid, "sess:" + sid, w.out, cancel->request_id));
        if (it == pending_index_.end()) break;
        auto p = pending_.find(it->second);
        p->second.call.set_cancel_reason(Redact(cancel->reason, 512));
        res.session_id = p->second.session;
        Finish(p->first, "cancelled", out, w.ktime_ns, w.time_unix_ns);
      } else if (m.method == "notifications/progress") {
        auto prog = ReadProgress(m.params);
        if (!prog) break;
        auto it = pending_index_.find(
            fmt::format("{}|progress|{}", w.pid, prog->token));
        if (it == pending_index_.end()) break;
        v1::McpCall& c = pending_.at(it->second).call;
        c.set_progress_count(c.progress_count() + 1);
        c.set_progress_last(Redact(FormatProgress(*prog), 256));
        res.session_id = pending_.at(it->second).session;
      } else {
        res.session_id = session_key(sid);
        if (!sessions_.count(res.session_id)) res.session_id.clear();
      }
      break;
    }
    case JsonRpcKind::kResult:
    case JsonRpcKind::kError: {
      // The request went the other way.
      auto it = pending_index_.find(Key(w.pid, channel, !w.out, m.id));
      if (it == pending_index_.end() && !sid.empty())
        it = pending_index_.find(Key(w.pid, "sess:" + sid, !w.out, m.id));
      if (it == pending_index_.end()) {
        ++counters_.unmatched_responses;
        break;
      }
      Pending& p = pending_.at(it->second);
      v1::McpCall& c = p.call;
      c.set_response_bytes(d.frame_bytes);
      c.set_latency_ns(w.ktime_ns > c.started_ktime_ns()
                           ? w.ktime_ns - c.started_ktime_ns()
                           : 0);
      if (p.session.empty()) {
        p.session = session_key(sid);
        c.set_session_id(p.session);
        c.set_mcp_session_id(sid);
        Session* s = EnsureSession(p.session, server, w, transport, sid);
        s->info.set_pending(s->info.pending() + 1);
      }
      Session* s = &sessions_.at(p.session);
      if (s->info.client_name().empty() && !p.client_name.empty()) {
        s->info.set_client_name(p.client_name);
        s->info.set_client_version(p.client_version);
      }
      std::string status = "ok";
      if (m.kind == JsonRpcKind::kError) {
        status = "error";
        c.set_error_code(m.error_code);
        c.set_error_message(Redact(m.error_message, 1024));
      } else {
        McpResultInfo r = ReadResult(c.method(), m.result);
        c.set_is_error(r.is_error);
        c.set_result_summary(r.summary);
        c.set_result(Redact(m.result, opts_.result_max));
        if (r.is_error) status = "tool_error";
        if (c.method() == "tools/call" || c.method() == "resources/read" ||
            c.method() == "prompts/get") {
          // Content the agent reads, as text (one parse serves both uses).
          const std::string text = JsonStringValues(m.result);
          // Scanned whole for text addressed to the model.
          std::string reason, excerpt;
          if (content_scanner_ && content_scanner_(text, &reason, &excerpt)) {
            c.set_content_flag(reason);
            c.set_content_excerpt(Redact(excerpt, 512));
          }
          // What came back may go out again: remember its fingerprints.
          if (!r.is_error) p.result_fps = Fingerprints(NormalizedText(text));
        }
        ApplyResult(&p, s, r, w, out);
      }
      res.session_id = p.session;
      Finish(it->second, status, out, w.ktime_ns, w.time_unix_ns);
      break;
    }
  }
  return res;
}

void McpTracker::ApplyResult(Pending* p, Session* s, const McpResultInfo& r,
                             const McpObservation& w,
                             std::vector<v1::Event>* out) {
  const std::string& method = p->call.method();
  Server* server = nullptr;
  if (auto it = servers_.find(s->info.server_pid());
      it != servers_.end() && s->info.server_pid() != 0)
    server = &it->second;
  if (method == "initialize" || method == "server/discover") {
    if (!r.protocol_version.empty()) s->info.set_protocol_version(r.protocol_version);
    if (server != nullptr) {
      if (!r.server_name.empty()) server->info.set_name(r.server_name);
      if (!r.server_version.empty()) server->info.set_version(r.server_version);
      if (!r.protocol_version.empty())
        server->info.set_protocol_version(r.protocol_version);
      if (!s->info.client_name().empty())
        server->info.set_client_name(s->info.client_name());
    }
    return;
  }
  if (method == "roots/list" && r.has_roots && server != nullptr) {
    // The client's answer to the server: where it may work.
    server->info.clear_roots();
    for (const auto& root : r.roots) server->info.add_roots(root);
    server->info.set_last_seen_unix_ns(w.time_unix_ns);
    return;
  }
  if (method == "tools/list" && r.has_tools) {
    if (!p->list_continuation) s->tool_pages.clear();
    s->tool_pages.insert(s->tool_pages.end(), r.tools.begin(), r.tools.end());
    if (r.next_cursor.empty()) {
      CommitTools(s, std::move(s->tool_pages), w, out);
      s->tool_pages.clear();
    }
  }
}

void McpTracker::CommitTools(Session* s, std::vector<McpToolDef> tools,
                             const McpObservation& w,
                             std::vector<v1::Event>* out) {
  // Tools are known per server identity, so a server that comes back with
  // different definitions after a restart is a change too. A session seen
  // from the client's side has no local server: key by the server's name.
  std::string identity = s->info.server_identity();
  Server* server = nullptr;
  if (auto it = servers_.find(s->info.server_pid());
      it != servers_.end() && s->info.server_pid() != 0)
    server = &it->second;
  if (identity.empty()) identity = "client:" + s->info.id();
  ToolBook& inv = inventories_[identity];
  inv.inv.set_server_identity(identity);
  if (server != nullptr) {
    inv.inv.set_server_name(server->info.name());
    server->info.set_tool_count(tools.size());
  }
  inv.inv.set_updated_unix_ns(w.time_unix_ns);
  std::map<std::string, McpToolDef> now;
  for (auto& t : tools) now[t.name] = std::move(t);
  std::map<std::string, v1::McpTool> before;
  for (const auto& t : inv.inv.tools()) before[t.name()] = t;

  auto change = [&](const std::string& tool, const char* what,
                    const std::string& old_hash, const std::string& new_hash) {
    v1::McpToolChange ch;
    ch.set_time_unix_ns(w.time_unix_ns);
    ch.set_tool(tool);
    ch.set_change(what);
    ch.set_old_hash(old_hash);
    ch.set_new_hash(new_hash);
    ch.set_server_pid(s->info.server_pid());
    *inv.inv.add_history() = ch;
    if (inv.inv.history_size() > static_cast<int>(opts_.max_history))
      inv.inv.mutable_history()->DeleteSubrange(0, 1);
    if (!inv.listed) return;  // the first listing is the baseline
    ++counters_.tool_changes;
    v1::Event e;
    e.set_type(v1::EVENT_TYPE_MCP_TOOLS_CHANGED);
    e.set_time_unix_ns(w.time_unix_ns);
    e.set_ktime_ns(w.ktime_ns);
    e.mutable_process()->set_pid(s->info.server_pid() != 0 ? s->info.server_pid()
                                                           : w.pid);
    *e.mutable_tool_change() = ch;
    out->push_back(std::move(e));
  };

  google::protobuf::RepeatedPtrField<v1::McpTool> next;
  for (auto& [name, t] : now) {
    v1::McpTool* tool = next.Add();
    auto old = before.find(name);
    if (old != before.end() && old->second.hash() == t.hash) {
      *tool = old->second;
      tool->set_last_seen_unix_ns(w.time_unix_ns);
      continue;
    }
    tool->set_name(name);
    tool->set_hash(t.hash);
    tool->set_title(t.title);
    tool->set_description(t.description.substr(0, kDescriptionMax));
    tool->set_input_schema(t.input_schema.substr(0, kSchemaMax));
    tool->set_output_schema(t.output_schema.substr(0, kSchemaMax));
    tool->set_annotations(t.annotations.substr(0, kSchemaMax));
    tool->set_first_seen_unix_ns(w.time_unix_ns);
    tool->set_last_seen_unix_ns(w.time_unix_ns);
    if (old == before.end()) {
      tool->set_version(1);
      change(name, "added", "", t.hash);
    } else {
      tool->set_version(old->second.version() + 1);
      *inv.inv.add_previous() = old->second;
      if (inv.inv.previous_size() > static_cast<int>(opts_.max_history))
        inv.inv.mutable_previous()->DeleteSubrange(0, 1);
      change(name, "changed", old->second.hash(), t.hash);
    }
  }
  for (const auto& [name, t] : before) {
    if (!now.count(name)) change(name, "removed", t.hash(), "");
  }
  inv.inv.mutable_tools()->Swap(&next);
  inv.listed = true;
}

void McpTracker::OnLostResponse(const McpObservation& w, uint64_t bytes,
                                std::vector<v1::Event>* out) {
  std::lock_guard<std::mutex> lock(mu_);
  auto server = servers_.find(w.pid);
  if (server == servers_.end() || server->second.info.transport() != "stdio") return;
  const std::string session = fmt::format("{}/stdio", w.pid);
  uint64_t only = 0;
  int n = 0;
  for (const auto& [id, p] : pending_) {
    if (p.session != session || p.call.initiator() != "client") continue;
    only = id;
    if (++n > 1) break;
  }
  if (n != 1) {
    ++counters_.responses_lost_unpaired;
    return;
  }
  v1::McpCall& c = pending_.at(only).call;
  c.set_response_bytes(bytes);
  if (w.ktime_ns > c.started_ktime_ns()) c.set_latency_ns(w.ktime_ns - c.started_ktime_ns());
  ++counters_.responses_lost;
  Finish(only, "lost", out, w.ktime_ns, w.time_unix_ns);
}

void McpTracker::Finish(uint64_t pending_id, const std::string& status,
                        std::vector<v1::Event>* out, uint64_t ktime_ns,
                        int64_t time_unix_ns) {
  auto it = pending_.find(pending_id);
  if (it == pending_.end()) return;
  Pending& p = it->second;
  for (const auto& k : p.keys) {
    auto idx = pending_index_.find(k);
    if (idx != pending_index_.end() && idx->second == pending_id)
      pending_index_.erase(idx);
  }
  v1::McpCall& c = p.call;
  c.set_status(status);
  c.set_call_id(next_call_++);
  if (!p.result_fps.empty())
    IndexResult(p.agent != 0 ? p.agent : AgentOf(p.session, c.server_pid()), p, c);
  if (status == "cancelled" && c.latency_ns() == 0 && ktime_ns > c.started_ktime_ns())
    c.set_latency_ns(ktime_ns - c.started_ktime_ns());
  if (auto s = sessions_.find(p.session); s != sessions_.end()) {
    v1::McpSession& si = s->second.info;
    si.set_calls(si.calls() + 1);
    if (status == "error" || status == "tool_error") si.set_errors(si.errors() + 1);
    if (status == "cancelled") si.set_cancelled(si.cancelled() + 1);
    if (si.pending() > 0) si.set_pending(si.pending() - 1);
    si.set_last_unix_ns(time_unix_ns);
    if (c.protocol_version().empty()) c.set_protocol_version(si.protocol_version());
  }
  if (auto s = servers_.find(c.server_pid()); s != servers_.end())
    s->second.info.set_calls(s->second.info.calls() + 1);
  if (auto a = agents_.find(p.agent); a != agents_.end()) {
    a->second.set_calls(a->second.calls() + 1);
    a->second.set_last_seen_unix_ns(time_unix_ns);
  }
  ++counters_.calls;
  v1::Event e;
  e.set_type(v1::EVENT_TYPE_MCP_CALL);
  e.set_time_unix_ns(time_unix_ns);
  e.set_ktime_ns(ktime_ns);
  e.mutable_process()->set_pid(c.server_pid());
  *e.mutable_call() = c;
  out->push_back(std::move(e));
  calls_.push_back(std::move(c));
  while (calls_.size() > opts_.max_calls) calls_.pop_front();
  pending_.erase(it);
}

void McpTracker::OnExit(uint32_t pid, int64_t time_unix_ns, uint64_t ktime_ns,
                        std::vector<v1::Event>* out) {
  std::lock_guard<std::mutex> lock(mu_);
  const std::string prefix = fmt::format("{}|", pid);
  std::vector<uint64_t> gone;
  for (const auto& [id, p] : pending_) {
    if (!p.keys.empty() && p.keys[0].rfind(prefix, 0) == 0) gone.push_back(id);
  }
  for (uint64_t id : gone) Finish(id, "unanswered", out, ktime_ns, time_unix_ns);
  if (auto a = agents_.find(pid); a != agents_.end()) {
    a->second.set_alive(false);
    a->second.set_last_seen_unix_ns(time_unix_ns);
  }
  if (auto s = servers_.find(pid); s != servers_.end()) {
    s->second.info.set_alive(false);
    s->second.info.set_last_seen_unix_ns(time_unix_ns);
  }
  const std::string session_prefix = fmt::format("{}/", pid);
  for (auto it = sessions_.lower_bound(session_prefix);
       it != sessions_.end() && it->first.rfind(session_prefix, 0) == 0; ++it) {
    it->second.info.set_ended(true);
  }
  socket_session_.erase(socket_session_.lower_bound({pid, 0}),
                        socket_session_.lower_bound({pid + 1, 0}));
  legacy_sse_.erase(pid);
}

const McpTracker::Server* McpTracker::FindServer(const std::string& q) const {
  const Server* best = nullptr;
  for (const auto& [pid, s] : servers_) {
    const v1::McpServer& i = s.info;
    if (i.id() == q || i.identity() == q || i.name() == q ||
        std::to_string(pid) == q || i.package() == q) {
      // Prefer a live one, then the most recent.
      if (best == nullptr || (i.alive() && !best->info.alive()) ||
          (i.alive() == best->info.alive() &&
           i.last_seen_unix_ns() > best->info.last_seen_unix_ns()))
        best = &s;
    }
  }
  return best;
}

McpTracker::Live McpTracker::LiveCounts() const {
  std::lock_guard<std::mutex> lock(mu_);
  Live n;
  for (const auto& [pid, s] : servers_) n.servers += s.info.alive();
  for (const auto& [key, s] : sessions_) n.sessions += !s.info.ended();
  for (const auto& [pid, a] : agents_) n.agents += a.alive();
  return n;
}

std::vector<v1::McpServer> McpTracker::Servers(bool include_ended,
                                               int64_t changed_since) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<v1::McpServer> out;
  for (const auto& [pid, s] : servers_) {
    if (s.info.last_seen_unix_ns() < changed_since) continue;
    if (include_ended || s.info.alive()) out.push_back(s.info);
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a.first_seen_unix_ns() < b.first_seen_unix_ns();
  });
  return out;
}

std::vector<v1::McpSession> McpTracker::Sessions(const std::string& server,
                                                 bool include_ended,
                                                 int64_t changed_since) const {
  std::lock_guard<std::mutex> lock(mu_);
  const Server* only = server.empty() ? nullptr : FindServer(server);
  std::vector<v1::McpSession> out;
  if (!server.empty() && only == nullptr) return out;
  for (const auto& [key, s] : sessions_) {
    if (!include_ended && s.info.ended()) continue;
    if (s.info.last_unix_ns() < changed_since) continue;
    if (only != nullptr && s.info.server_id() != only->info.id()) continue;
    out.push_back(s.info);
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a.started_unix_ns() < b.started_unix_ns();
  });
  return out;
}

bool McpTracker::MatchesLocked(const v1::CallFilter& f,
                               const v1::McpCall& c) const {
  if (!f.session().empty() && c.session_id() != f.session()) return false;
  if (!f.method().empty() && c.method() != f.method()) return false;
  if (!f.tool().empty() && c.tool() != f.tool()) return false;
  if (!f.status().empty() && c.status() != f.status()) return false;
  if (f.server().empty() || c.server_id() == f.server() ||
      c.server_identity() == f.server() ||
      std::to_string(c.server_pid()) == f.server())
    return true;
  // By serverInfo name or package, of the instance that served the call.
  auto it = servers_.find(c.server_pid());
  return it != servers_.end() && it->second.info.id() == c.server_id() &&
         (it->second.info.name() == f.server() ||
          it->second.info.package() == f.server());
}

bool McpTracker::Matches(const v1::CallFilter& f, const v1::McpCall& c) const {
  std::lock_guard<std::mutex> lock(mu_);
  return MatchesLocked(f, c);
}

std::vector<v1::McpCall> McpTracker::Calls(const v1::CallFilter& f,
                                           size_t limit) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<v1::McpCall> out;
  if (limit == 0) limit = 1000;
  for (auto it = calls_.rbegin(); it != calls_.rend() && out.size() < limit; ++it) {
    if (MatchesLocked(f, *it)) out.push_back(*it);
  }
  // Requests still waiting, when asked for (or not filtered by status).
  if (f.status().empty() || f.status() == "pending") {
    for (const auto& [id, p] : pending_) {
      if (out.size() >= limit) break;
      if (MatchesLocked(f, p.call)) out.push_back(p.call);
    }
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a.started_ktime_ns() < b.started_ktime_ns();
  });
  return out;
}

bool McpTracker::Inventory(const std::string& server,
                           v1::McpToolInventory* out) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::string identity = server;
  if (const Server* s = FindServer(server)) identity = s->info.identity();
  auto it = inventories_.find(identity);
  if (it == inventories_.end()) return false;
  *out = it->second.inv;
  return true;
}

uint32_t McpTracker::AgentOf(const std::string& session,
                             uint32_t server_pid) const {
  if (auto s = sessions_.find(session);
      s != sessions_.end() && s->second.info.client_pid() != 0)
    return s->second.info.client_pid();
  auto sv = servers_.find(server_pid);
  return sv != servers_.end() ? sv->second.info.client_pid() : 0;
}

void McpTracker::AddFlows(const std::vector<const FlowIndex*>& indexes,
                          std::string_view text,
                          google::protobuf::RepeatedPtrField<v1::DataFlow>* out) {
  if (indexes.empty()) return;
  const std::vector<uint64_t> fps = Fingerprints(FingerprintText(text));
  // (shared fingerprints, index, source), the most shared first.
  std::vector<std::tuple<uint32_t, const FlowIndex*, uint32_t>> linked;
  for (const FlowIndex* idx : indexes) {
    std::map<uint32_t, uint32_t> hits;  // source -> shared fingerprints
    for (uint64_t fp : fps) {
      auto it = idx->by_fp.find(fp);
      if (it != idx->by_fp.end()) ++hits[it->second];
    }
    for (auto [src, n] : hits)
      if (n >= opts_.min_shared_fingerprints) linked.emplace_back(n, idx, src);
  }
  std::stable_sort(linked.begin(), linked.end(), [](const auto& a, const auto& b) {
    return std::get<0>(a) > std::get<0>(b);
  });
  if (linked.size() > 8) linked.resize(8);
  for (const auto& [n, idx, src] : linked) {
    const FlowIndex::Source& from = idx->sources.at(src);
    v1::DataFlow* f = out->Add();
    f->set_from_call_id(from.call_id);
    f->set_from_tool(from.tool);
    f->set_from_server_id(from.server_id);
    f->set_from_session_id(from.session_id);
    f->set_shared_fingerprints(n);
  }
  if (!linked.empty()) ++counters_.data_flows;
}

void McpTracker::LinkFlows(uint32_t agent, const std::string& arguments,
                           v1::McpCall* c) {
  auto idx = flows_.find(agent);
  if (agent == 0 || idx == flows_.end()) return;
  AddFlows({&idx->second}, arguments, c->mutable_flows());
}

void McpTracker::FlowsInto(std::string_view bytes,
                           google::protobuf::RepeatedPtrField<v1::DataFlow>* out) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<const FlowIndex*> all;
  for (const auto& [agent, idx] : flows_) all.push_back(&idx);
  AddFlows(all, bytes, out);
}

void McpTracker::IndexResult(uint32_t agent, const Pending& p,
                             const v1::McpCall& c) {
  if (agent == 0) return;
  if (!flows_.count(agent) && flows_.size() >= opts_.max_flow_agents) {
    auto oldest = flows_.begin();
    for (auto it = flows_.begin(); it != flows_.end(); ++it) {
      if (it->second.last_used < oldest->second.last_used) oldest = it;
    }
    flows_.erase(oldest);
  }
  FlowIndex& idx = flows_[agent];
  idx.last_used = c.started_unix_ns();
  const uint32_t src = idx.next_source++;
  idx.sources[src] = {c.call_id(), c.tool(), c.server_id(), c.session_id()};
  for (uint64_t fp : p.result_fps) {
    idx.by_fp[fp] = src;  // the latest result that carried it
    idx.order.emplace_back(fp, src);
  }
  while (idx.order.size() > opts_.max_flow_fingerprints) {
    auto [fp, old] = idx.order.front();
    idx.order.pop_front();
    auto it = idx.by_fp.find(fp);
    if (it != idx.by_fp.end() && it->second == old) idx.by_fp.erase(it);
  }
  // Sources no fingerprint can name any more.
  const uint32_t first = idx.order.empty() ? src : idx.order.front().second;
  idx.sources.erase(idx.sources.begin(), idx.sources.lower_bound(first));
}

namespace {

std::vector<std::string> NamesOf(const v1::McpServer& s) {
  std::vector<std::string> out;
  for (const std::string* n : {&s.name(), &s.package()})
    if (!n->empty()) out.push_back(*n);
  if (!s.exe().empty()) out.push_back(Basename(s.exe()));
  return out;
}

std::string LabelOf(const v1::McpServer& s) {
  return !s.name().empty() ? s.name() : !s.package().empty() ? s.package() : s.exe();
}

}  // namespace

std::string McpTracker::ServerLabel(uint32_t pid) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = servers_.find(pid);
  if (it == servers_.end() || !it->second.info.alive()) return "";
  return LabelOf(it->second.info);
}

void McpTracker::LoadInventories(const std::vector<v1::McpToolInventory>& invs) {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& inv : invs) {
    if (inv.server_identity().empty() || inventories_.count(inv.server_identity())) continue;
    ToolBook& b = inventories_[inv.server_identity()];
    b.inv = inv;
    b.listed = true;  // a baseline to compare the next listing with
  }
}

std::vector<std::string> McpTracker::ServerRoots(uint32_t pid) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = servers_.find(pid);
  if (it == servers_.end()) return {};
  return {it->second.info.roots().begin(), it->second.info.roots().end()};
}

std::vector<std::string> McpTracker::ServerNames(uint32_t pid) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = servers_.find(pid);
  return it == servers_.end() ? std::vector<std::string>{} : NamesOf(it->second.info);
}

bool McpTracker::ServerFacts(uint32_t pid, std::string* label, std::string* identity,
                             std::vector<std::string>* roots,
                             std::vector<std::string>* names) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = servers_.find(pid);
  if (it == servers_.end()) return false;
  const v1::McpServer& s = it->second.info;
  if (s.alive()) *label = LabelOf(s);
  *identity = s.identity();
  roots->assign(s.roots().begin(), s.roots().end());
  *names = NamesOf(s);
  return true;
}

std::string McpTracker::ServerIdentity(uint32_t pid) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = servers_.find(pid);
  return it == servers_.end() ? "" : it->second.info.identity();
}

uint32_t McpTracker::SessionClient(const std::string& session_id,
                                   uint32_t server_pid) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (auto s = sessions_.find(session_id); s != sessions_.end() &&
                                           s->second.info.client_pid() != 0)
    return s->second.info.client_pid();
  auto sv = servers_.find(server_pid);
  return sv != servers_.end() ? sv->second.info.client_pid() : 0;
}

McpTracker::Counters McpTracker::counters() const {
  std::lock_guard<std::mutex> lock(mu_);
  return counters_;
}

}  // namespace agentwatch
