#include "console/console_api.h"

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <limits>

#include <fmt/format.h>
#include <google/protobuf/util/json_util.h>

#include "common/text.h"
#include "console/assets.h"

namespace agentwatch {
namespace {

using Query = std::multimap<std::string, std::string>;
using Response = HttpServer::Response;

// Scripts, styles, data and connections from the console itself only;
// never framed (clickjacking), no plugins, no forms.
constexpr std::string_view kCsp =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'";

void Secure(Response* r) {
  r->headers.emplace_back("Content-Security-Policy", std::string(kCsp));
  r->headers.emplace_back("X-Content-Type-Options", "nosniff");
  r->headers.emplace_back("X-Frame-Options", "DENY");
  r->headers.emplace_back("Referrer-Policy", "no-referrer");
  r->headers.emplace_back("Cross-Origin-Resource-Policy", "same-origin");
  r->headers.emplace_back("Cross-Origin-Opener-Policy", "same-origin");
}

Response Error(int http, std::string_view code, std::string_view message) {
  Response r;
  r.status = http;
  r.content_type = "application/json";
  r.body = "{\"error\":" + JsonString(message) + ",\"code\":" + JsonString(code) + "}\n";
  return r;
}

Response FromStatus(const grpc::Status& st) {
  static const std::map<grpc::StatusCode, std::pair<int, const char*>> kMap = {
      {grpc::StatusCode::INVALID_ARGUMENT, {400, "INVALID_ARGUMENT"}},
      {grpc::StatusCode::NOT_FOUND, {404, "NOT_FOUND"}},
      {grpc::StatusCode::FAILED_PRECONDITION, {400, "FAILED_PRECONDITION"}},
      {grpc::StatusCode::UNAVAILABLE, {503, "UNAVAILABLE"}},
      {grpc::StatusCode::PERMISSION_DENIED, {403, "PERMISSION_DENIED"}},
  };
  auto it = kMap.find(st.error_code());
  if (it == kMap.end()) return Error(500, "INTERNAL", st.error_message());
  return Error(it->second.first, it->second.second, st.error_message());
}

// The CLI's --json form: field names as in the .proto.
std::string ToJson(const google::protobuf::Message& m) {
  google::protobuf::util::JsonPrintOptions o;
  o.preserve_proto_field_names = true;
  std::string out;
  if (!google::protobuf::util::MessageToJsonString(m, &out, o).ok()) out = "{}";
  return out;
}

Response Json(const grpc::Status& st, const google::protobuf::Message& m) {
  if (!st.ok()) return FromStatus(st);
  Response r;
  r.content_type = "application/json";
  r.body = ToJson(m);
  return r;
}

// Typed reading of a query; the first error is kept.
class Params {
 public:
  explicit Params(const Query& q) : q_(q) {}
  std::string Str(const std::string& name) const {
    auto it = q_.find(name);
    return it == q_.end() ? "" : it->second;
  }
  std::vector<std::string> All(const std::string& name) const {
    std::vector<std::string> out;
    for (auto [it, end] = q_.equal_range(name); it != end; ++it) out.push_back(it->second);
    return out;
  }
  uint64_t Uint(const std::string& name, uint64_t fallback, uint64_t max) {
    const std::string v = Str(name);
    if (v.empty()) return fallback;
    // Digits only: strtoull alone takes " -1" (as 2^64-1), "+5" and " 5".
    char* end = nullptr;
    errno = 0;
    const unsigned long long n = std::strtoull(v.c_str(), &end, 10);
    if (v.find_first_not_of("0123456789") != std::string::npos || *end != '\0' || errno != 0) {
      Fail(fmt::format("{}: not a number: {}", name, v));
      return fallback;
    }
    if (n > max) {
      Fail(fmt::format("{}: {} exceeds {}", name, n, max));
      return fallback;
    }
    return n;
  }
  bool Flag(const std::string& name) const {
    const std::string v = Str(name);
    return v == "1" || v == "true" || v == "yes";
  }
  const std::string& error() const { return error_; }

 private:
  void Fail(std::string e) {
    if (error_.empty()) error_ = std::move(e);
  }
  const Query& q_;
  std::string error_;
};

// "/api/chains/12" with prefix "/api/chains/" -> "12".
bool After(std::string_view path, std::string_view prefix, std::string* rest) {
  if (path.substr(0, prefix.size()) != prefix || path.size() == prefix.size()) return false;
  *rest = std::string(path.substr(prefix.size()));
  return true;
}

bool ParseId(const std::string& s, uint64_t* id) {
  if (s.empty() || s.size() > 20 || s.find_first_not_of("0123456789") != std::string::npos)
    return false;
  *id = std::strtoull(s.c_str(), nullptr, 10);
  return true;
}

constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();

}  // namespace

bool PercentDecode(std::string_view s, std::string* out) {
  out->clear();
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out->push_back(s[i]);
      continue;
    }
    if (i + 2 >= s.size()) return false;
    const int hi = hex(s[i + 1]), lo = hex(s[i + 2]);
    if (hi < 0 || lo < 0) return false;
    const char c = static_cast<char>(hi * 16 + lo);
    if (c == '\0') return false;
    out->push_back(c);
    i += 2;
  }
  return true;
}

Query ParseQuery(std::string_view query, std::string* error) {
  Query out;
  size_t pos = 0;
  while (pos <= query.size()) {
    size_t amp = query.find('&', pos);
    if (amp == std::string_view::npos) amp = query.size();
    std::string part(query.substr(pos, amp - pos));
    pos = amp + 1;
    if (part.empty()) continue;
    for (char& c : part)
      if (c == '+') c = ' ';
    const size_t eq = part.find('=');
    std::string name, value;
    if (!PercentDecode(part.substr(0, eq), &name) ||
        (eq != std::string::npos && !PercentDecode(part.substr(eq + 1), &value))) {
      *error = "bad percent escape in the query";
      return out;
    }
    out.emplace(std::move(name), std::move(value));
  }
  return out;
}

bool ConsoleHostAllowed(std::string_view host_header, const std::vector<std::string>& bound) {
  const std::string h(host_header);
  for (const auto& b : bound)
    if (h == b) return true;
  std::string host = h, port;
  if (!SplitHostPort(h, &host, &port)) {
    host = h;  // no port
    if (host.size() > 2 && host.front() == '[' && host.back() == ']')
      host = host.substr(1, host.size() - 2);
  } else if (port.find_first_not_of("0123456789") != std::string::npos) {
    return false;
  }
  return !host.empty() && IsLoopbackHost(host);
}

Response ConsoleApi::Handle(const HttpRequest& req) const {
  Response r;
  if (!req.tls && !ConsoleHostAllowed(req.host, bound_)) {
    r = Error(403, "PERMISSION_DENIED",
              "the console answers requests for loopback or its own address only");
  } else {
    std::string err;
    const Query q = ParseQuery(req.query, &err);
    r = err.empty() ? Route(req, q) : Error(400, "INVALID_ARGUMENT", err);
  }
  Secure(&r);
  return r;
}

Response ConsoleApi::Route(const HttpRequest& req, const Query& q) const {
  const std::string& path = req.path;
  if (path.rfind("/api/", 0) != 0) {
    if (const ConsoleAsset* a = FindConsoleAsset(path == "/index.html" ? "/" : path)) {
      Response r;
      r.content_type = std::string(a->content_type);
      r.body = std::string(a->body);
      return r;
    }
    Response r;
    r.status = 404;
    r.body = "not found\n";
    return r;
  }
  Params p(q);
  grpc::ServerContext ctx;
  std::string rest;
  auto bad = [&] { return Error(400, "INVALID_ARGUMENT", p.error()); };

  if (path == "/api/status") {
    v1::GetStatusRequest in;
    v1::Status out;
    return Json(service_->GetStatus(&ctx, &in, &out), out);
  }
  if (path == "/api/alerts") {
    v1::ListAlertsRequest in;
    in.set_min_severity(p.Str("min_severity"));
    for (const auto& rule : p.All("rule")) in.add_rule_ids(rule);
    in.set_agent_pid(static_cast<uint32_t>(p.Uint("agent_pid", 0, UINT32_MAX)));
    in.set_agent_id(p.Str("agent_id"));
    in.set_server(p.Str("server"));
    in.set_chain_id(p.Uint("chain_id", 0, UINT64_MAX));
    in.set_since_unix_ns(static_cast<int64_t>(p.Uint("since_unix_ns", 0, kInt64Max)));
    in.set_before_id(p.Uint("before_id", 0, UINT64_MAX));
    in.set_limit(static_cast<uint32_t>(p.Uint("limit", 100, kMaxAlerts)));
    if (!p.error().empty()) return bad();
    v1::ListAlertsResponse out;
    return Json(service_->ListAlerts(&ctx, &in, &out), out);
  }
  if (After(path, "/api/alerts/", &rest)) {
    v1::GetAlertRequest in;
    uint64_t id = 0;
    if (!ParseId(rest, &id)) return Error(404, "NOT_FOUND", "no such alert");
    in.set_id(id);
    v1::Alert out;
    return Json(service_->GetAlert(&ctx, &in, &out), out);
  }
  if (path == "/api/chains") {
    v1::ListChainsRequest in;
    in.set_agent_pid(static_cast<uint32_t>(p.Uint("agent_pid", 0, UINT32_MAX)));
    in.set_agent_id(p.Str("agent_id"));
    in.set_since_unix_ns(static_cast<int64_t>(p.Uint("since_unix_ns", 0, kInt64Max)));
    in.set_before_id(p.Uint("before_id", 0, UINT64_MAX));
    in.set_has_alerts(p.Flag("has_alerts"));
    in.set_limit(static_cast<uint32_t>(p.Uint("limit", 100, kMaxChains)));
    if (!p.error().empty()) return bad();
    v1::ListChainsResponse out;
    return Json(service_->ListChains(&ctx, &in, &out), out);
  }
  if (After(path, "/api/chains/", &rest)) {
    v1::GetChainRequest in;
    uint64_t id = 0;
    if (!ParseId(rest, &id)) return Error(404, "NOT_FOUND", "no such chain");
    in.set_id(id);
    in.set_entry_offset(static_cast<uint32_t>(p.Uint("offset", 0, UINT32_MAX)));
    // Always a window: a chain's entries are never sent whole.
    in.set_entry_limit(static_cast<uint32_t>(p.Uint("limit", 500, kMaxChainEntries)));
    if (in.entry_limit() == 0) in.set_entry_limit(500);
    if (!p.error().empty()) return bad();
    v1::Chain out;
    return Json(service_->GetChain(&ctx, &in, &out), out);
  }
  if (path == "/api/servers") {
    v1::ListServersRequest in;
    in.set_include_ended(p.Flag("include_ended"));
    v1::ListServersResponse out;
    return Json(service_->ListServers(&ctx, &in, &out), out);
  }
  if (After(path, "/api/servers/", &rest)) {
    const size_t slash = rest.find('/');
    std::string server;
    if (slash == std::string::npos || rest.substr(slash) != "/tools" ||
        !PercentDecode(rest.substr(0, slash), &server) || server.empty())
      return Error(404, "NOT_FOUND", "want /api/servers/SERVER/tools");
    v1::GetToolInventoryRequest in;
    in.set_server(server);
    v1::McpToolInventory out;
    return Json(service_->GetToolInventory(&ctx, &in, &out), out);
  }
  if (path == "/api/sessions") {
    v1::ListSessionsRequest in;
    in.set_server(p.Str("server"));
    in.set_include_ended(p.Flag("include_ended"));
    v1::ListSessionsResponse out;
    return Json(service_->ListSessions(&ctx, &in, &out), out);
  }
  if (path == "/api/agents") {
    v1::ListAgentsRequest in;
    in.set_include_ended(p.Flag("include_ended"));
    v1::ListAgentsResponse out;
    return Json(service_->ListAgents(&ctx, &in, &out), out);
  }
  if (path == "/api/calls") {
    v1::ListCallsRequest in;
    auto* f = in.mutable_filter();
    f->set_server(p.Str("server"));
    f->set_session(p.Str("session"));
    f->set_method(p.Str("method"));
    f->set_tool(p.Str("tool"));
    f->set_status(p.Str("status"));
    in.set_limit(static_cast<uint32_t>(p.Uint("limit", 200, kMaxCalls)));
    if (!p.error().empty()) return bad();
    v1::ListCallsResponse out;
    return Json(service_->ListCalls(&ctx, &in, &out), out);
  }
  if (path == "/api/baselines") {
    v1::ListBaselinesRequest in;
    in.set_server(p.Str("server"));
    v1::ListBaselinesResponse out;
    return Json(service_->ListBaselines(&ctx, &in, &out), out);
  }
  if (path == "/api/rules") {
    v1::ListRulesRequest in;
    v1::ListRulesResponse out;
    return Json(service_->ListRules(&ctx, &in, &out), out);
  }
  if (path == "/api/events") {
    v1::StreamEventsRequest in;
    for (const auto& pid : p.All("pid")) {
      uint64_t n = 0;
      if (!ParseId(pid, &n) || n > UINT32_MAX)
        return Error(400, "INVALID_ARGUMENT", "pid: not a process id: " + pid);
      in.add_pids(static_cast<uint32_t>(n));
    }
    for (std::string t : p.All("type")) {
      for (char& c : t) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      v1::EventType type;
      if (!v1::EventType_Parse("EVENT_TYPE_" + t, &type) || type == v1::EVENT_TYPE_UNSPECIFIED)
        return Error(400, "INVALID_ARGUMENT", "type: unknown event type " + t);
      in.add_types(type);
    }
    in.set_watched_only(p.Flag("watched"));
    in.set_backlog(static_cast<uint32_t>(p.Uint("backlog", 500, kMaxEvents)));
    if (!p.error().empty()) return bad();
    std::string body = "{\"events\":[";
    size_t n = 0;
    const grpc::Status st = service_->EventStream(
        &in, {[&](const v1::Event& ev) {
                if (n++ > 0) body += ',';
                body += ToJson(ev);
                return n < kMaxEvents;
              },
              [] { return false; }});
    if (!st.ok()) return FromStatus(st);
    Response r;
    r.content_type = "application/json";
    r.body = body + "]}";
    return r;
  }
  if (path == "/api/stream/alerts") return AlertStreamResponse(q);
  if (path == "/api/stream/chains") return ChainStreamResponse(q);
  return Error(404, "NOT_FOUND", "no such API path: " + path);
}

namespace {

// Server-sent events over an HttpStream: one event per message, a comment
// line every keepalive_s (which also finds a client that went away).
class SseWriter {
 public:
  SseWriter(HttpStream* out, int keepalive_s) : out_(out), keepalive_(keepalive_s) {}
  bool Send(std::string_view event, uint64_t id, const google::protobuf::Message& m) {
    last_ = std::chrono::steady_clock::now();
    return ok_ = ok_ && out_->Write(fmt::format("event: {}\nid: {}\ndata: {}\n\n", event, id,
                                                ToJson(m)));
  }
  bool Cancelled() {
    if (!ok_ || out_->Closed()) return true;
    const auto now = std::chrono::steady_clock::now();
    if (now - last_ >= keepalive_) {
      last_ = now;
      ok_ = out_->Write(": keepalive\n\n");
    }
    return !ok_;
  }
  bool Open() { return ok_ = out_->Write("retry: 3000\n: connected\n\n"); }

 private:
  HttpStream* out_;
  std::chrono::seconds keepalive_;
  std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
  bool ok_ = true;
};

Response EventStreamHead() {
  Response r;
  r.content_type = "text/event-stream; charset=utf-8";
  r.headers.emplace_back("X-Accel-Buffering", "no");
  return r;
}

}  // namespace

std::shared_ptr<void> ConsoleApi::StreamSlot() const {
  if (open_streams_.fetch_add(1) >= max_streams_) {
    --open_streams_;
    return nullptr;
  }
  class Slot {
   public:
    explicit Slot(std::atomic<size_t>* n) : n_(n) {}
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;
    ~Slot() { --*n_; }

   private:
    std::atomic<size_t>* n_;
  };
  return std::make_shared<Slot>(&open_streams_);
}

namespace {
Response TooManyStreams(size_t max) {
  Response r = Error(503, "UNAVAILABLE",
                     fmt::format("{} event streams are open, the most the console serves; "
                                 "close a console tab and retry",
                                 max));
  r.headers.emplace_back("Retry-After", "5");
  return r;
}
}  // namespace

Response ConsoleApi::AlertStreamResponse(const Query& q) const {
  v1::StreamAlertsRequest in;
  in.set_min_severity(Params(q).Str("min_severity"));
  if (!in.min_severity().empty() && SeverityRank(in.min_severity()) < 0)
    return Error(400, "INVALID_ARGUMENT", "min_severity: not info, low, medium, high or critical");
  std::shared_ptr<void> slot = StreamSlot();
  if (slot == nullptr) return TooManyStreams(max_streams_);
  Response r = EventStreamHead();
  r.stream = [this, in, slot](HttpStream& out) {
    SseWriter sse(&out, keepalive_s_);
    if (sse.Open()) {
      service_->AlertStream(&in, {[&](const v1::Alert& a) { return sse.Send("alert", a.id(), a); },
                                  [&] { return sse.Cancelled(); }});
    }
  };
  return r;
}

Response ConsoleApi::ChainStreamResponse(const Query& q) const {
  Params p(q);
  v1::StreamChainUpdatesRequest in;
  in.set_chain_id(p.Uint("chain_id", 0, UINT64_MAX));
  in.set_agent_pid(static_cast<uint32_t>(p.Uint("agent_pid", 0, UINT32_MAX)));
  if (!p.error().empty()) return Error(400, "INVALID_ARGUMENT", p.error());
  std::shared_ptr<void> slot = StreamSlot();
  if (slot == nullptr) return TooManyStreams(max_streams_);
  Response r = EventStreamHead();
  r.stream = [this, in, slot](HttpStream& out) {
    SseWriter sse(&out, keepalive_s_);
    uint64_t n = 0;
    if (sse.Open()) {
      service_->ChainUpdateStream(
          &in, {[&](const v1::ChainUpdate& u) { return sse.Send("chain_update", ++n, u); },
                [&] { return sse.Cancelled(); }});
    }
  };
  return r;
}

}  // namespace agentwatch
