// The tracker's core: a message's side, session and server worked out
// once, then dispatched by kind (tracker_pairing.cc); process exit; the
// queries over calls, servers and sessions.
#include "session/mcp_tracker.h"

#include <algorithm>

#include <fmt/format.h>

#include "mcp/mcp_json.h"
#include "session/tracker_internal.h"

namespace agentwatch {
namespace {

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

// A request that makes the process reading it an MCP server.
bool DiscoversServer(const JsonRpcMessage& m, bool out) {
  return m.kind == JsonRpcKind::kRequest && !out && IsClientToServerMethod(m.method) &&
         // Other JSON-RPC protocols have an "initialize" too (LSP, ACP):
         // MCP's names a dated protocol version.
         (m.method != "initialize" ||
          !ReadRequestParams(m.method, m.params).protocol_version.empty());
}

}  // namespace

// Which side of the conversation the process is: true when it is the
// server. False for a stdio client's side, which is not tracked. A stdio
// server reads on fd 0 and writes on fd 1, unless it moved its pipes
// (dup2): then the fd it reads a client-to-server request on marks it, and
// its other pipes' output is its side too.
bool McpTracker::TrackedSide(const McpObservation& w, const DecodedMessage& d, bool stdio,
                             bool* server_side) {
  if (stdio) {
    if (!((w.fd == 0 && !w.out) || (w.fd == 1 && w.out))) {
      if (!w.out && w.fd > 2 && DiscoversServer(d.msg, false)) {
        if (moved_stdio_.size() < opts_.max_sessions) moved_stdio_.insert(w.pid);
      } else if (!(w.fd > 2 && moved_stdio_.count(w.pid))) {
        return false;
      }
    }
    *server_side = true;
  } else if (d.endpoint) {
    *server_side = w.out;
  } else if (!d.http_method.empty()) {
    *server_side = !w.out;  // it reads HTTP requests
  } else {
    *server_side = w.out;   // it writes HTTP responses
  }
  return true;
}

std::string McpTracker::Inbound::SessionKey() const {
  if (stdio) return fmt::format("{}/stdio", w.pid);
  if (!sid.empty() && sid.size() <= 16) return fmt::format("{}/{}", w.pid, sid);
  if (!sid.empty()) {
    // A session's messages all carry its id: the last one's hash is kept.
    thread_local std::string last_sid, last_hash;
    if (sid != last_sid) {
      last_hash = Sha256Hex(sid).substr(0, 6);
      last_sid = sid;
    }
    return fmt::format("{}/{}~{}", w.pid, sid.substr(0, 8), last_hash);
  }
  return server_side ? fmt::format("{}/http", w.pid)
                     : fmt::format("{}/c{}", w.pid, w.inode);
}

McpTracker::Result McpTracker::OnMessage(const McpObservation& w,
                                         const DecodedMessage& d,
                                         std::vector<v1::Event>* out) {
  std::lock_guard<std::mutex> lock(mu_);
  Result res;
  Inbound in(w, d);
  if (!Classify(&in, &res)) return res;
  switch (in.m.kind) {
    case JsonRpcKind::kRequest:
      OnRequest(in, &res, out);
      break;
    case JsonRpcKind::kNotification:
      OnNotification(in, &res, out);
      break;
    case JsonRpcKind::kResult:
    case JsonRpcKind::kError:
      OnResponse(in, &res, out);
      break;
  }
  return res;
}

bool McpTracker::Classify(Inbound* in, Result* res) {
  const McpObservation& w = in->w;
  if (!TrackedSide(w, in->d, in->stdio, &in->server_side)) {
    ++counters_.skipped_client_stdio;
    return false;
  }
  in->channel = in->stdio ? "stdio" : "sock:" + std::to_string(w.inode);
  if (!in->stdio) NoteHttpSession(in);
  if (in->d.endpoint) {
    // The legacy HTTP+SSE transport announces where to POST.
    legacy_sse_.insert(w.pid);
    if (in->server_side) {
      if (auto it = servers_.find(w.pid); it != servers_.end())
        it->second.info.set_transport("sse");
    }
    return false;
  }
  if (!FindOrDiscoverServer(in, res)) return false;
  in->transport = in->server != nullptr ? in->server->info.transport()
                  : in->stdio           ? "stdio"
                  : legacy_sse_.count(w.pid) ? "sse"
                                             : "http";
  return true;
}

void McpTracker::NoteHttpSession(Inbound* in) {
  // The HTTP session: Mcp-Session-Id, or the legacy transport's sessionId
  // in the POST URI, or what this connection carried before.
  const DecodedMessage& d = in->d;
  std::string& sid = in->sid;
  sid = d.http_session_id;
  if (sid.empty() && d.endpoint) sid = QueryParam(d.sse_endpoint, "sessionId");
  if (sid.empty()) sid = QueryParam(d.http_target, "sessionId");
  const auto sock = std::make_tuple(in->w.pid, in->w.inode);
  if (!sid.empty()) {
    socket_session_[sock] = sid;
  } else if (auto it = socket_session_.find(sock); it != socket_session_.end()) {
    sid = it->second;
  }
}

bool McpTracker::FindOrDiscoverServer(Inbound* in, Result* res) {
  if (!in->server_side) return true;  // the client's side: no local server
  const McpObservation& w = in->w;
  if (auto it = servers_.find(w.pid); it != servers_.end()) {
    in->server = &it->second;
  } else if (DiscoversServer(in->m, w.out)) {
    bool created = false;
    in->server = EnsureServer(w,
                              in->stdio                  ? "stdio"
                              : legacy_sse_.count(w.pid) ? "sse"
                                                         : "http",
                              in->stdio ? "stdio" : "http", &created);
    if (created) res->new_server_pid = w.pid;
  }
  if (in->server == nullptr) return false;  // not (yet) an MCP server
  in->server->info.set_last_seen_unix_ns(w.time_unix_ns);
  return true;
}

void McpTracker::OnExit(uint32_t pid, int64_t time_unix_ns, uint64_t ktime_ns,
                        std::vector<v1::Event>* out) {
  std::lock_guard<std::mutex> lock(mu_);
  moved_stdio_.erase(pid);
  FinishPendingOf(pid, time_unix_ns, ktime_ns, out);
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

std::vector<v1::McpCall> McpTracker::Calls(const v1::CallFilter& f, size_t limit,
                                           uint64_t before_call_id) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<v1::McpCall> out;
  if (limit == 0) limit = 1000;
  calls_.ForEachNewest([&](const v1::McpCall& c) {
    if (before_call_id != 0 && c.call_id() >= before_call_id) return true;
    if (MatchesLocked(f, c)) out.push_back(c);
    return out.size() < limit;
  });
  // Requests still waiting, when asked for (or not filtered by status).
  if (before_call_id == 0 && (f.status().empty() || f.status() == "pending")) {
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

McpTracker::Counters McpTracker::counters() const {
  std::lock_guard<std::mutex> lock(mu_);
  return counters_;
}

}  // namespace agentwatch
