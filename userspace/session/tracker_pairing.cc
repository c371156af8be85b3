// Pairing by message kind: a request opens a pending call, its response
// (result or JSON-RPC error) or a notifications/cancelled finishes it,
// notifications/progress are counted on it; responses cut at capture end
// calls as "lost", responses to no known request are counted, and a
// process's exit ends its pending calls as unanswered.
#include <fmt/format.h>

#include "detect/signals.h"
#include "mcp/mcp_json.h"
#include "redact/redact.h"
#include "session/mcp_tracker.h"
#include "session/tracker_internal.h"

namespace agentwatch {
namespace {

// A request's entry in the pending index: its id, in one direction, on
// one channel ("stdio", "sock:INODE" or "sess:SID") of one process.
// FinishPendingOf relies on the "PID|" prefix.
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

std::string ProgressKey(uint32_t pid, std::string_view token) {
  return fmt::format("{}|progress|{}", pid, token);
}

// Methods whose result is content the agent reads.
bool ReadsContent(const std::string& method) {
  return method == "tools/call" || method == "resources/read" || method == "prompts/get";
}

bool ListsDefinitions(const std::string& method) {
  return method == "prompts/list" || method == "resources/list" ||
         method == "resources/templates/list";
}

}  // namespace

void McpTracker::OnRequest(const Inbound& in, Result* res, std::vector<v1::Event>* out) {
  const McpObservation& w = in.w;
  const JsonRpcMessage& m = in.m;
  // Over a bound, the oldest request of this process goes, or (the whole
  // table full) the oldest of the process with the most: a flood evicts
  // the flooder's own state.
  if (auto own = pending_by_owner_.find(w.pid);
      own != pending_by_owner_.end() && own->second.size() >= opts_.max_pending_per_process) {
    ++counters_.pending_evicted;
    Finish(*own->second.begin(), "unanswered", out, w.ktime_ns, w.time_unix_ns);
  } else if (pending_.size() >= opts_.max_pending) {
    auto most = pending_by_owner_.begin();
    for (auto it = pending_by_owner_.begin(); it != pending_by_owner_.end(); ++it) {
      if (it->second.size() > most->second.size()) most = it;
    }
    ++counters_.pending_evicted;
    Finish(most != pending_by_owner_.end() && !most->second.empty() ? *most->second.begin()
                                                                    : pending_.begin()->first,
           "unanswered", out, w.ktime_ns, w.time_unix_ns);
  }
  const std::string key = Key(w.pid, in.channel, w.out, m.id);
  if (auto old = pending_index_.find(key); old != pending_index_.end()) {
    ++counters_.duplicate_ids;
    Finish(old->second, "unanswered", out, w.ktime_ns, w.time_unix_ns);
  }
  const McpRequestParams rp = ReadRequestParams(m.method, m.params);
  Pending p = NewPending(in, rp);
  // Streamable HTTP mints the session in the initialize response.
  if (in.stdio || !in.sid.empty() || m.method != "initialize") p.session = in.SessionKey();
  p.keys.push_back(key);
  if (!in.sid.empty()) p.keys.push_back(Key(w.pid, "sess:" + in.sid, w.out, m.id));
  if (!p.progress_token.empty()) p.keys.push_back(ProgressKey(w.pid, p.progress_token));
  const uint64_t id = next_pending_++;
  for (const auto& k : p.keys) pending_index_[k] = id;
  if (!p.session.empty()) OpenRequestSession(in, &p);
  // The agent: the session's client, or this process when it is the
  // client (seen from its side).
  p.agent = in.server_side ? AgentOf(p.session, w.pid) : w.pid;
  if (!rp.arguments.empty() && (m.method == "tools/call" || m.method == "prompts/get"))
    LinkFlows(p.agent, rp.arguments, &p);
  res->session_id = p.session;
  p.owner = w.pid;
  // (A process not in the table is nobody's: not root's.)
  p.owner_uid = w.process != nullptr ? w.process->uid : UINT32_MAX;
  pending_by_owner_[w.pid].insert(id);
  pending_.emplace(id, std::move(p));
}

McpTracker::Pending McpTracker::NewPending(const Inbound& in,
                                           const McpRequestParams& rp) const {
  const McpObservation& w = in.w;
  const JsonRpcMessage& m = in.m;
  Pending p;
  v1::McpCall& c = p.call;
  const Server* server = in.server;
  c.set_server_pid(server != nullptr ? server->info.pid() : 0);
  if (server != nullptr) {
    c.set_server_id(server->info.id());
    c.set_server_identity(server->info.identity());
    if (server->info.has_kubernetes()) *c.mutable_server_kubernetes() = server->info.kubernetes();
  }
  c.set_transport(in.transport);
  // A request the server reads, or the client writes, is the client's.
  c.set_initiator(in.server_side != w.out ? "client" : "server");
  c.set_request_id(m.id);
  c.set_method(m.method);
  c.set_tool(rp.target);
  if (!rp.arguments.empty()) {
    // Judged raw, shown redacted: an encoded run the redactor will mask
    // whole (it decodes to a secret) is still an encoded run.
    std::string blob;
    if (Detectors::EncodedBlob(rp.arguments, 48, &blob))
      c.set_arguments_encoded_excerpt(Redact(blob, 120));
    c.set_arguments(Redact(rp.arguments, opts_.arguments_max));
  }
  c.set_status("pending");
  c.set_request_bytes(in.d.frame_bytes);
  if (!in.m.note.empty()) c.set_decode_note("request " + in.m.note);
  c.set_started_unix_ns(w.time_unix_ns);
  c.set_started_ktime_ns(w.ktime_ns);
  c.set_protocol_version(!rp.protocol_version.empty() ? rp.protocol_version
                                                      : in.d.http_protocol_version);
  c.set_mcp_session_id(in.sid);
  p.progress_token = rp.progress_token;
  p.client_name = rp.client_name;
  p.client_version = rp.client_version;
  p.list_continuation =
      m.method == "tools/list" && m.params.find("\"cursor\"") != std::string::npos;
  return p;
}

void McpTracker::OpenRequestSession(const Inbound& in, Pending* p) {
  v1::McpCall& c = p->call;
  Session* s = EnsureSession(p->session, in.server, in.w, in.transport, in.sid);
  s->info.set_pending(s->info.pending() + 1);
  p->session_gaps = s->info.gaps();
  if (!p->client_name.empty()) {
    s->info.set_client_name(p->client_name);
    s->info.set_client_version(p->client_version);
  }
  if (!c.protocol_version().empty() && s->info.protocol_version().empty())
    s->info.set_protocol_version(c.protocol_version());
  c.set_session_id(p->session);
}

void McpTracker::OnNotification(const Inbound& in, Result* res,
                                std::vector<v1::Event>* out) {
  if (in.m.method == "notifications/cancelled") {
    OnCancelled(in, res, out);
  } else if (in.m.method == "notifications/progress") {
    OnProgress(in, res);
  } else {
    res->session_id = in.SessionKey();
    if (!sessions_.count(res->session_id)) res->session_id.clear();
  }
}

void McpTracker::OnCancelled(const Inbound& in, Result* res, std::vector<v1::Event>* out) {
  auto cancel = ReadCancel(in.m.params);
  if (!cancel) return;
  // The request went the same way as its cancellation.
  const uint64_t id = FindPending(in, in.w.out, cancel->request_id);
  if (id == 0) return;
  Pending& p = pending_.at(id);
  p.call.set_cancel_reason(Redact(cancel->reason, 512));
  res->session_id = p.session;
  Finish(id, "cancelled", out, in.w.ktime_ns, in.w.time_unix_ns);
}

void McpTracker::OnProgress(const Inbound& in, Result* res) {
  auto prog = ReadProgress(in.m.params);
  if (!prog) return;
  auto it = pending_index_.find(ProgressKey(in.w.pid, prog->token));
  if (it == pending_index_.end()) return;
  Pending& p = pending_.at(it->second);
  v1::McpCall& c = p.call;
  c.set_progress_count(c.progress_count() + 1);
  c.set_progress_last(Redact(FormatProgress(*prog), 256));
  res->session_id = p.session;
}

void McpTracker::OnResponse(const Inbound& in, Result* res, std::vector<v1::Event>* out) {
  const McpObservation& w = in.w;
  const JsonRpcMessage& m = in.m;
  // The request went the other way. A cut response whose id was past the
  // cut answers the one call its session has pending, if only one is.
  const uint64_t id = m.id.empty() ? OnlyPending(in) : FindPending(in, !w.out, m.id);
  if (id == 0) {
    ++counters_.unmatched_responses;
    return;
  }
  Pending& p = pending_.at(id);
  v1::McpCall& c = p.call;
  c.set_response_bytes(in.d.frame_bytes);
  c.set_latency_ns(w.ktime_ns > c.started_ktime_ns() ? w.ktime_ns - c.started_ktime_ns() : 0);
  Session* s = ResponseSession(in, &p);
  std::string status;
  if (!m.note.empty()) c.set_decode_note("response " + m.note);
  if (m.note.rfind("truncated", 0) == 0) {
    // Only its head was seen: what it said is unknown.
    ++counters_.responses_lost;
    status = "lost";
  } else if (m.kind == JsonRpcKind::kError) {
    status = "error";
    c.set_error_code(m.error_code);
    c.set_error_message(Redact(m.error_message, 1024));
  } else {
    status = OnResult(in, &p, s, out);
  }
  res->session_id = p.session;
  Finish(id, status, out, w.ktime_ns, w.time_unix_ns);
}

McpTracker::Session* McpTracker::ResponseSession(const Inbound& in, Pending* p) {
  if (p->session.empty()) {
    // An initialize over Streamable HTTP: its response names the session.
    p->session = in.SessionKey();
    p->call.set_session_id(p->session);
    p->call.set_mcp_session_id(in.sid);
    Session* s = EnsureSession(p->session, in.server, in.w, in.transport, in.sid);
    s->info.set_pending(s->info.pending() + 1);
  }
  // The session may have been evicted (over max_sessions) while its call
  // was pending: it is made again rather than looked up blindly.
  auto it = sessions_.find(p->session);
  Session* s = it != sessions_.end()
                   ? &it->second
                   : EnsureSession(p->session, in.server, in.w, in.transport, in.sid);
  if (s->info.client_name().empty() && !p->client_name.empty()) {
    s->info.set_client_name(p->client_name);
    s->info.set_client_version(p->client_version);
  }
  return s;
}

std::string McpTracker::OnResult(const Inbound& in, Pending* p, Session* s,
                                 std::vector<v1::Event>* out) {
  v1::McpCall& c = p->call;
  const McpResultInfo r = ReadResult(c.method(), in.m.result);
  c.set_is_error(r.is_error);
  c.set_result_summary(r.summary);
  c.set_result(Redact(in.m.result, opts_.result_max));
  if (ReadsContent(c.method())) NoteResultContent(in.m.result, r.is_error, p);
  if (ListsDefinitions(c.method()) && !r.is_error && definition_scanner_) {
    // Descriptions of prompts, resources and templates, scanned whole (the
    // stored result is a preview).
    std::string reason, excerpt;
    if (definition_scanner_(c.method(), in.m.result, &reason, &excerpt)) {
      c.set_content_flag(Redact(reason, 1024));
      c.set_content_excerpt(Redact(excerpt, 512));
    }
  }
  ApplyResult(p, s, r, in.w, out);
  return r.is_error ? "tool_error" : "ok";
}

uint64_t McpTracker::FindPending(const Inbound& in, bool request_out,
                                 const std::string& id) const {
  auto it = pending_index_.find(Key(in.w.pid, in.channel, request_out, id));
  if (it == pending_index_.end() && !in.sid.empty())
    it = pending_index_.find(Key(in.w.pid, "sess:" + in.sid, request_out, id));
  return it == pending_index_.end() ? 0 : it->second;
}

uint64_t McpTracker::OnlyPending(const Inbound& in) const {
  if (!in.stdio) return 0;
  const std::string session = fmt::format("{}/stdio", in.w.pid);
  uint64_t only = 0;
  for (const auto& [id, p] : pending_) {
    if (p.session != session || p.call.initiator() != "client") continue;
    if (only != 0) return 0;  // several: which one it answered is unknown
    only = id;
  }
  return only;
}

void McpTracker::Finish(uint64_t pending_id, const std::string& status,
                        std::vector<v1::Event>* out, uint64_t ktime_ns,
                        int64_t time_unix_ns) {
  auto it = pending_.find(pending_id);
  if (it == pending_.end()) return;
  Pending& p = it->second;
  for (const auto& k : p.keys) {
    auto idx = pending_index_.find(k);
    if (idx != pending_index_.end() && idx->second == pending_id) pending_index_.erase(idx);
  }
  v1::McpCall& c = p.call;
  c.set_status(status);
  c.set_call_id(next_call_++);
  const uint32_t agent = p.agent != 0 ? p.agent : AgentOf(p.session, c.server_pid());
  // Its result against what others wrote, then what it wrote (before its
  // own result: a server echoing the arguments is no quote), then its
  // result for its own later calls.
  if (!p.result_fps.empty()) LinkWrittenBy(agent, &p, &c);
  if (status == "ok" && c.method() == "tools/call") IndexWrite(agent, p, c);
  if (!p.result_fps.empty()) IndexResult(agent, p, c);
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
    if (si.gaps() > p.session_gaps) {
      std::string note = c.decode_note();
      c.set_decode_note((note.empty() ? "" : note + "; ") +
                        fmt::format("stream gap while pending ({} gaps in the session)",
                                    si.gaps() - p.session_gaps));
    }
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
  calls_.Add(p.owner_uid, p.owner, std::move(c));
  if (auto own = pending_by_owner_.find(p.owner); own != pending_by_owner_.end()) {
    own->second.erase(pending_id);
    if (own->second.empty()) pending_by_owner_.erase(own);
  }
  pending_.erase(it);
}

void McpTracker::OnResponseLost(const McpObservation& w, const std::string& why,
                                std::vector<v1::Event>* out) {
  std::lock_guard<std::mutex> lock(mu_);
  // Responses go out on the connection the request came in on (server
  // side), or come in where it went out (client side); HTTP/1.1 answers
  // in order, so the oldest request there is the one answered.
  const std::string prefix = Key(w.pid, "sock:" + std::to_string(w.inode), !w.out, "");
  uint64_t oldest = 0;
  for (auto it = pending_index_.lower_bound(prefix);
       it != pending_index_.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it) {
    if (oldest == 0 || it->second < oldest) oldest = it->second;
  }
  if (oldest == 0) return;
  auto p = pending_.find(oldest);
  if (p == pending_.end()) return;
  v1::McpCall& c = p->second.call;
  std::string note = c.decode_note();
  c.set_decode_note((note.empty() ? "" : note + "; ") + "response undecodable: " + why);
  if (w.ktime_ns > c.started_ktime_ns()) c.set_latency_ns(w.ktime_ns - c.started_ktime_ns());
  ++counters_.responses_lost;
  Finish(oldest, "lost", out, w.ktime_ns, w.time_unix_ns);
}

void McpTracker::OnStreamGap(const std::string& session, uint64_t gaps, uint64_t bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  auto s = sessions_.find(session);
  if (s == sessions_.end()) return;
  s->second.info.set_gaps(s->second.info.gaps() + gaps);
  s->second.info.set_gap_bytes(s->second.info.gap_bytes() + bytes);
}

void McpTracker::FinishPendingOf(uint32_t pid, int64_t time_unix_ns, uint64_t ktime_ns,
                                 std::vector<v1::Event>* out) {
  const std::string prefix = fmt::format("{}|", pid);
  std::vector<uint64_t> gone;
  for (const auto& [id, p] : pending_) {
    if (!p.keys.empty() && p.keys[0].rfind(prefix, 0) == 0) gone.push_back(id);
  }
  for (uint64_t id : gone) Finish(id, "unanswered", out, ktime_ns, time_unix_ns);
}

}  // namespace agentwatch
