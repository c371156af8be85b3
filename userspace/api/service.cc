#include "api/service.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <spdlog/spdlog.h>

#include "common/clock.h"
#include "common/text.h"
#include "redact/redactor.h"

namespace agentwatch {
namespace {

// The redaction stage at the API's edge: what the tracker, correlator,
// engine and store hold (argv, tool definitions, stored rows of older
// versions) is masked like what is published.
template <typename M>
grpc::Status Done(M* out) {
  DefaultRedactor()->RedactMessage(out);
  return grpc::Status::OK;
}

// A gRPC stream as a StreamSink.
template <typename M>
AgentWatchService::StreamSink<M> GrpcSink(grpc::ServerContext* ctx, grpc::ServerWriter<M>* w) {
  return {[w](const M& m) { return w->Write(m); }, [ctx] { return ctx->IsCancelled(); }};
}

template <typename M>
M Redacted(M m) {
  DefaultRedactor()->RedactMessage(&m);
  return m;
}

// The items of one page of a list answer, each redacted as it is taken
// (a mask can be longer than what it hides), until the answer would pass
// the page's bytes. The first item always goes in: one is far below the
// transport's limit (arguments and results are bounded).
class Page {
 public:
  explicit Page(size_t bytes) : bytes_(bytes) {}
  template <typename M>
  bool Take(M* item) {
    DefaultRedactor()->RedactMessage(item);
    const size_t n = item->ByteSizeLong() + 8;  // and its tag and length
    if (used_ != 0 && used_ + n > bytes_) return false;
    used_ += n;
    return true;
  }

 private:
  size_t bytes_;
  size_t used_ = 0;
};

}  // namespace

grpc::Status AgentWatchService::GetStatus(grpc::ServerContext*,
                                          const v1::GetStatusRequest*,
                                          v1::Status* out) {
  *out = status_();
  return Done(out);
}

grpc::Status AgentWatchService::StreamEvents(
    grpc::ServerContext* ctx, const v1::StreamEventsRequest* req,
    grpc::ServerWriter<v1::Event>* w) {
  return EventStream(req, GrpcSink(ctx, w));
}

grpc::Status AgentWatchService::EventStream(const v1::StreamEventsRequest* req,
                                            const StreamSink<v1::Event>& w) {
  EventFilter f;
  f.pids.insert(req->pids().begin(), req->pids().end());
  for (int t : req->types()) {
    if (!v1::EventType_IsValid(t) || t == 0) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          fmt::format("unknown event type {}", t));
    }
    f.types.insert(t);
  }
  f.watched_only = req->watched_only();
  constexpr uint32_t kMaxBacklog = 100000;
  if (req->backlog() > kMaxBacklog) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        fmt::format("backlog {} exceeds {}", req->backlog(),
                                    kMaxBacklog));
  }
  auto sub = hub_->Subscribe(std::move(f), req->backlog(), req->follow());
  v1::Event ev;
  while (!w.cancelled()) {
    if (!sub->Next(&ev, std::chrono::milliseconds(200))) {
      if (!req->follow()) break;
      continue;
    }
    if (!w.write(ev)) break;  // published, so redacted by the pipeline
  }
  hub_->Unsubscribe(sub);
  return grpc::Status::OK;
}

namespace {

grpc::Status NoTracker() {
  return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                      "this daemon does not track MCP traffic");
}

constexpr uint32_t kMaxCalls = 100000;
constexpr size_t kMaxStored = 10000;  // agents, servers from the store

grpc::Status StoreError(const std::string& err) {
  return grpc::Status(grpc::StatusCode::INTERNAL, "store: " + err);
}

}  // namespace

grpc::Status AgentWatchService::ListServers(grpc::ServerContext*,
                                            const v1::ListServersRequest* req,
                                            v1::ListServersResponse* out) {
  if (tracker_ == nullptr) return NoTracker();
  std::set<std::string> seen;
  for (auto& s : tracker_->Servers(req->include_ended())) {
    seen.insert(s.id());
    *out->add_servers() = std::move(s);
  }
  if (req->include_ended() && Stored() != nullptr) {
    // Servers of earlier runs of the daemon (or gone from memory).
    std::string err;
    for (auto& s : store_->Servers(kMaxStored, &err)) {
      if (!seen.insert(s.id()).second) continue;
      s.set_alive(false);
      *out->add_servers() = std::move(s);
    }
    if (!err.empty()) return StoreError(err);
  }
  for (auto& s : *out->mutable_servers())
    if (s.has_kubernetes()) Fill(s.mutable_kubernetes());
  return Done(out);
}

grpc::Status AgentWatchService::ListSessions(grpc::ServerContext*,
                                             const v1::ListSessionsRequest* req,
                                             v1::ListSessionsResponse* out) {
  if (tracker_ == nullptr) return NoTracker();
  for (auto& s : tracker_->Sessions(req->server(), req->include_ended()))
    *out->add_sessions() = std::move(s);
  return Done(out);
}

grpc::Status AgentWatchService::ListCalls(grpc::ServerContext*,
                                          const v1::ListCallsRequest* req,
                                          v1::ListCallsResponse* out) {
  if (tracker_ == nullptr) return NoTracker();
  if (req->limit() > kMaxCalls) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        fmt::format("limit {} exceeds {}", req->limit(), kMaxCalls));
  }
  const size_t limit = req->limit() == 0 ? 1000 : req->limit();
  // One more than asked, to know whether there is a further page; newest
  // first: pending (no call id yet), then by call id.
  auto calls = tracker_->Calls(req->filter(), limit + 1, req->before_call_id());
  std::stable_sort(calls.begin(), calls.end(), [](const v1::McpCall& a, const v1::McpCall& b) {
    return (a.call_id() == 0 ? UINT64_MAX : a.call_id()) >
           (b.call_id() == 0 ? UINT64_MAX : b.call_id());
  });
  Page page(page_bytes_);
  size_t taken = 0;
  uint64_t oldest = UINT64_MAX;  // the smallest call id taken
  for (; taken < calls.size() && taken < limit; ++taken) {
    v1::McpCall& c = calls[taken];
    if (c.has_server_kubernetes()) Fill(c.mutable_server_kubernetes());
    if (!page.Take(&c)) break;
    if (c.call_id() != 0) oldest = c.call_id();
  }
  // (Pending calls that did not fit the first page are not listed.)
  if (taken < calls.size()) out->set_next_before_call_id(oldest);
  calls.resize(taken);
  std::stable_sort(calls.begin(), calls.end(), [](const v1::McpCall& a, const v1::McpCall& b) {
    return a.started_ktime_ns() < b.started_ktime_ns();
  });
  for (auto& c : calls) *out->add_calls() = std::move(c);
  return grpc::Status::OK;  // redacted as taken
}

grpc::Status AgentWatchService::StreamCalls(grpc::ServerContext* ctx,
                                            const v1::StreamCallsRequest* req,
                                            grpc::ServerWriter<v1::McpCall>* w) {
  if (tracker_ == nullptr) return NoTracker();
  if (req->backlog() > kMaxCalls) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        fmt::format("backlog {} exceeds {}", req->backlog(), kMaxCalls));
  }
  // Subscribe first, then send the backlog: a call that finishes in between
  // is in both and sent once (call ids increase).
  EventFilter f;
  f.types.insert(v1::EVENT_TYPE_MCP_CALL);
  auto sub = hub_->Subscribe(std::move(f), 0, true);
  uint64_t last = 0;
  if (req->backlog() > 0) {
    v1::CallFilter backlog_filter = req->filter();
    for (auto& c : tracker_->Calls(backlog_filter, req->backlog())) {
      if (c.status() == "pending") continue;
      last = std::max<uint64_t>(last, c.call_id());
      if (!w->Write(Redacted(c))) {
        hub_->Unsubscribe(sub);
        return grpc::Status::OK;
      }
    }
  }
  v1::Event ev;
  while (!ctx->IsCancelled()) {
    if (!sub->Next(&ev, std::chrono::milliseconds(200))) continue;
    const v1::McpCall& c = ev.call();
    if (c.call_id() <= last || !tracker_->Matches(req->filter(), c)) continue;
    if (!w->Write(Redacted(c))) break;
  }
  hub_->Unsubscribe(sub);
  return grpc::Status::OK;
}

grpc::Status AgentWatchService::GetToolInventory(
    grpc::ServerContext*, const v1::GetToolInventoryRequest* req,
    v1::McpToolInventory* out) {
  if (tracker_ == nullptr) return NoTracker();
  if (!tracker_->Inventory(req->server(), out)) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND,
                        fmt::format("no tool inventory for server '{}'", req->server()));
  }
  return Done(out);
}

grpc::Status AgentWatchService::ListAgents(grpc::ServerContext*,
                                           const v1::ListAgentsRequest* req,
                                           v1::ListAgentsResponse* out) {
  if (tracker_ == nullptr) return NoTracker();
  std::set<std::string> seen;
  for (auto& a : tracker_->Agents(req->include_ended())) {
    seen.insert(a.id());
    *out->add_agents() = std::move(a);
  }
  if (req->include_ended() && Stored() != nullptr) {
    std::string err;
    for (auto& a : store_->Agents(kMaxStored, &err)) {
      if (!seen.insert(a.id()).second) continue;
      a.set_alive(false);
      *out->add_agents() = std::move(a);
    }
    if (!err.empty()) return StoreError(err);
  }
  for (auto& a : *out->mutable_agents())
    if (a.has_kubernetes()) Fill(a.mutable_kubernetes());
  return Done(out);
}

grpc::Status AgentWatchService::ListChains(grpc::ServerContext*,
                                           const v1::ListChainsRequest* req,
                                           v1::ListChainsResponse* out) {
  if (correlator_ == nullptr) return NoTracker();
  if (req->limit() > kMaxCalls) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        fmt::format("limit {} exceeds {}", req->limit(), kMaxCalls));
  }
  const size_t limit = req->limit() == 0 ? 100 : req->limit();
  // Chains an alert points to (in memory and stored).
  std::set<uint64_t> alerted;
  if (req->has_alerts()) {
    v1::ListAlertsRequest q;
    q.set_limit(10000);
    if (engine_ != nullptr)
      for (const auto& a : engine_->Alerts(q)) alerted.insert(a.chain_id());
    if (Stored() != nullptr) {
      std::string err;
      for (const auto& a : store_->Alerts(q, &err)) alerted.insert(a.chain_id());
      if (!err.empty()) return StoreError(err);
    }
  }
  auto keep = [&](const v1::Chain& c) {
    return !req->has_alerts() || alerted.count(c.id()) > 0;
  };
  // In memory (the freshest state of open chains) over the store (older
  // chains, earlier runs), newest first.
  std::map<uint64_t, v1::Chain, std::greater<>> merged;
  Page page(page_bytes_);
  for (auto& c : correlator_->Chains(req->agent_pid(), req->since_unix_ns(), SIZE_MAX)) {
    if (!req->agent_id().empty() && c.agent_id() != req->agent_id()) continue;
    if (req->before_id() != 0 && c.id() >= req->before_id()) continue;
    if (!keep(c)) continue;
    merged.emplace(c.id(), std::move(c));
  }
  if (Stored() != nullptr) {
    v1::ListChainsRequest q = *req;
    q.set_limit(req->has_alerts() ? 100000u : static_cast<uint32_t>(limit + 1));
    std::string err;
    for (auto& c : store_->Chains(q, &err))
      if (keep(c)) merged.emplace(c.id(), std::move(c));
    if (!err.empty()) return StoreError(err);
  }
  for (auto& [id, c] : merged) {
    if (c.has_agent_kubernetes()) Fill(c.mutable_agent_kubernetes());
    if (static_cast<size_t>(out->chains_size()) == limit || !page.Take(&c)) {
      if (out->chains_size() > 0) out->set_next_before_id(out->chains(out->chains_size() - 1).id());
      break;
    }
    *out->add_chains() = std::move(c);
  }
  return grpc::Status::OK;  // redacted as taken
}

namespace {
// Keeps the entries of the window a GetChain asked for, and says where it lies.
void KeepEntries(const v1::GetChainRequest& req, v1::Chain* c) {
  auto* e = c->mutable_entries();
  const uint32_t total = static_cast<uint32_t>(e->size());
  const uint32_t from = std::min(req.entry_offset(), total);
  const uint32_t to =
      req.entry_limit() == 0 ? total : std::min<uint64_t>(total, uint64_t{from} + req.entry_limit());
  e->DeleteSubrange(static_cast<int>(to), static_cast<int>(total - to));
  e->DeleteSubrange(0, static_cast<int>(from));
  c->set_entries_total(total);
  c->set_entries_offset(from);
}
}  // namespace

grpc::Status AgentWatchService::GetChain(grpc::ServerContext*,
                                         const v1::GetChainRequest* req,
                                         v1::Chain* out) {
  if (correlator_ == nullptr) return NoTracker();
  auto found = [&] {
    if (out->has_agent_kubernetes()) Fill(out->mutable_agent_kubernetes());
    if (req->entry_offset() != 0 || req->entry_limit() != 0) KeepEntries(*req, out);
    // The entries that fit one page (the header is small); the rest is
    // asked for by offset.
    google::protobuf::RepeatedPtrField<v1::ChainEntry> entries;
    entries.Swap(out->mutable_entries());
    DefaultRedactor()->RedactMessage(out);
    Page page(page_bytes_);
    int fit = 0;
    while (fit < entries.size() && page.Take(&entries[fit])) ++fit;
    if (fit < entries.size()) {
      if (out->entries_total() == 0) out->set_entries_total(static_cast<uint32_t>(entries.size()));
      entries.DeleteSubrange(fit, entries.size() - fit);
    }
    entries.Swap(out->mutable_entries());
    return grpc::Status::OK;
  };
  if (correlator_->Chain(req->id(), out)) return found();
  if (Stored() != nullptr) {
    std::string err;
    if (store_->Chain(req->id(), out, &err)) return found();
    if (!err.empty()) return StoreError(err);
  }
  return grpc::Status(grpc::StatusCode::NOT_FOUND, fmt::format("no chain {}", req->id()));
}

grpc::Status AgentWatchService::StreamChainUpdates(
    grpc::ServerContext* ctx, const v1::StreamChainUpdatesRequest* req,
    grpc::ServerWriter<v1::ChainUpdate>* w) {
  return ChainUpdateStream(req, GrpcSink(ctx, w));
}

grpc::Status AgentWatchService::ChainUpdateStream(const v1::StreamChainUpdatesRequest* req,
                                                  const StreamSink<v1::ChainUpdate>& w) {
  if (correlator_ == nullptr) return NoTracker();
  EventFilter f;
  f.types.insert(v1::EVENT_TYPE_CHAIN_UPDATE);
  auto sub = hub_->Subscribe(std::move(f), 0, true);
  v1::Event ev;
  while (!w.cancelled()) {
    if (!sub->Next(&ev, std::chrono::milliseconds(200))) continue;
    const v1::Chain& c = ev.chain_update().chain();
    if (c.id() == 0 && !req->include_unchained()) continue;
    if (req->agent_pid() != 0 && c.agent_pid() != req->agent_pid()) continue;
    if (req->chain_id() != 0 && c.id() != req->chain_id()) continue;
    if (!w.write(ev.chain_update())) break;  // published: redacted
  }
  hub_->Unsubscribe(sub);
  return grpc::Status::OK;
}

namespace {
grpc::Status NoEngine() {
  return grpc::Status(grpc::StatusCode::UNAVAILABLE, "this daemon runs no detection");
}
int Rank(const std::string& s) { return s.empty() ? 0 : SeverityRank(s); }
}  // namespace

grpc::Status AgentWatchService::ListAlerts(grpc::ServerContext*,
                                           const v1::ListAlertsRequest* req,
                                           v1::ListAlertsResponse* out) {
  if (engine_ == nullptr) return NoEngine();
  if (Rank(req->min_severity()) < 0) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "min_severity: not info, low, medium, high or critical");
  }
  if (req->limit() > kMaxCalls) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        fmt::format("limit {} exceeds {}", req->limit(), kMaxCalls));
  }
  const size_t limit = req->limit() == 0 ? 100 : req->limit();
  // One more than asked from each, to know whether there is a further page.
  v1::ListAlertsRequest q = *req;
  q.set_limit(static_cast<uint32_t>(limit + 1));
  std::map<uint64_t, v1::Alert, std::greater<>> merged;
  for (auto& a : engine_->Alerts(q)) merged.emplace(a.id(), std::move(a));
  if (Stored() != nullptr) {
    std::string err;
    for (auto& a : store_->Alerts(q, &err)) merged.emplace(a.id(), std::move(a));
    if (!err.empty()) return StoreError(err);
  }
  Page page(page_bytes_);
  for (auto& [id, a] : merged) {
    if (a.has_agent_kubernetes()) Fill(a.mutable_agent_kubernetes());
    if (a.has_server_kubernetes()) Fill(a.mutable_server_kubernetes());
    if (static_cast<size_t>(out->alerts_size()) == limit || !page.Take(&a)) {
      if (out->alerts_size() > 0) out->set_next_before_id(out->alerts(out->alerts_size() - 1).id());
      break;
    }
    *out->add_alerts() = std::move(a);
  }
  return grpc::Status::OK;  // redacted as taken
}

grpc::Status AgentWatchService::StreamAlerts(grpc::ServerContext* ctx,
                                             const v1::StreamAlertsRequest* req,
                                             grpc::ServerWriter<v1::Alert>* w) {
  return AlertStream(req, GrpcSink(ctx, w));
}

grpc::Status AgentWatchService::AlertStream(const v1::StreamAlertsRequest* req,
                                            const StreamSink<v1::Alert>& w) {
  if (engine_ == nullptr) return NoEngine();
  const int min = Rank(req->min_severity());
  if (min < 0) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "min_severity: not info, low, medium, high or critical");
  }
  if (req->durable()) {
    if (store_ == nullptr)
      return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                          "durable alert streams need the store");
    int64_t cursor = req->after_seq();
    while (!w.cancelled()) {
      std::string err;
      auto batch = store_->OutboxAfter(cursor, 500, &err);
      if (!err.empty()) return grpc::Status(grpc::StatusCode::INTERNAL, err);
      for (auto& e : batch) {
        cursor = e.seq;
        if (SeverityRank(e.alert.severity()) < min) continue;
        e.alert.set_outbox_seq(e.seq);
        if (!w.write(Redacted(e.alert))) return grpc::Status::OK;
      }
      if (batch.size() < 500) std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return grpc::Status::OK;
  }
  EventFilter f;
  f.types.insert(v1::EVENT_TYPE_ALERT);
  auto sub = hub_->Subscribe(std::move(f), 0, true);
  if (req->backlog() > 0) {
    v1::ListAlertsRequest q;
    q.set_limit(req->backlog());
    q.set_min_severity(req->min_severity());
    auto recent = engine_->Alerts(q);
    for (auto it = recent.rbegin(); it != recent.rend(); ++it) {
      if (!w.write(Redacted(*it))) {
        hub_->Unsubscribe(sub);
        return grpc::Status::OK;
      }
    }
  }
  v1::Event ev;
  while (!w.cancelled()) {
    if (!sub->Next(&ev, std::chrono::milliseconds(200))) continue;
    if (SeverityRank(ev.alert().severity()) < min) continue;
    if (!w.write(Redacted(ev.alert()))) break;
  }
  hub_->Unsubscribe(sub);
  return grpc::Status::OK;
}

grpc::Status AgentWatchService::GetAlert(grpc::ServerContext*, const v1::GetAlertRequest* req,
                                         v1::Alert* out) {
  if (engine_ == nullptr) return NoEngine();
  auto filled = [&] {
    if (out->has_agent_kubernetes()) Fill(out->mutable_agent_kubernetes());
    if (out->has_server_kubernetes()) Fill(out->mutable_server_kubernetes());
    return Done(out);
  };
  if (engine_->Alert(req->id(), out)) return filled();
  if (Stored() != nullptr) {
    std::string err;
    if (store_->Alert(req->id(), out, &err)) return filled();
    if (!err.empty()) return StoreError(err);
  }
  return grpc::Status(grpc::StatusCode::NOT_FOUND, fmt::format("no alert {}", req->id()));
}

grpc::Status AgentWatchService::ListRules(grpc::ServerContext*, const v1::ListRulesRequest*,
                                          v1::ListRulesResponse* out) {
  if (engine_ == nullptr) return NoEngine();
  for (auto& r : engine_->Rules()) *out->add_rules() = std::move(r);
  for (auto& f : engine_->RuleFiles()) out->add_files(f);
  for (auto& s : engine_->Suppressions()) *out->add_suppressions() = std::move(s);
  return Done(out);
}

grpc::Status AgentWatchService::ListBaselines(grpc::ServerContext*,
                                             const v1::ListBaselinesRequest* req,
                                             v1::ListBaselinesResponse* out) {
  if (engine_ == nullptr) return NoEngine();
  for (auto& b : engine_->ListBaselines(req->server())) *out->add_baselines() = std::move(b);
  return Done(out);
}

namespace {
// What changes the daemon (detaching probes, forgetting baselines) is taken
// only over the unix socket: a certificate that may read over TCP (a
// Prometheus or fleet CLI one) must not be able to blind a node.
grpc::Status LocalOnly(const grpc::ServerContext* ctx) {
  if (ctx == nullptr || ctx->peer().rfind("unix:", 0) == 0) return grpc::Status::OK;
  return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                      "this changes the daemon: only over its unix socket, on the node");
}
}  // namespace

grpc::Status AgentWatchService::ResetBaseline(grpc::ServerContext* ctx,
                                             const v1::ResetBaselineRequest* req,
                                             v1::ResetBaselineResponse* out) {
  if (grpc::Status s = LocalOnly(ctx); !s.ok()) return s;
  if (engine_ == nullptr) return NoEngine();
  if (!req->all() && req->server().empty())
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "name a server, or all");
  out->set_reset(engine_->ResetBaselines(req->server(), req->all(), NowUnixNs()));
  if (out->reset() == 0 && !req->all())
    return grpc::Status(grpc::StatusCode::NOT_FOUND, "no baseline for " + req->server());
  return Done(out);
}

grpc::Status AgentWatchService::LintRules(grpc::ServerContext*, const v1::LintRulesRequest* req,
                                          v1::LintRulesResponse* out) {
  // Over the built-in pack (overrides of built-in ids are checked too),
  // nothing loaded.
  RuleSet set;
  const std::string e =
      Engine::Lint(req->yaml(), req->name().empty() ? "rules" : req->name(), &set);
  out->set_error(e);
  if (e.empty()) {
    for (const auto& r : set.rules) *out->add_rules() = Engine::RuleInfo(r);
  }
  return Done(out);
}

std::string ApiServer::Start(const std::string& endpoint, AgentWatchService* service,
                             const std::string& tcp_listen, const ApiTls* tls) {
  constexpr std::string_view kUnix = "unix://";
  if (endpoint.rfind(kUnix, 0) != 0) {
    return fmt::format("endpoint {}: only unix:// is supported", endpoint);
  }
  socket_path_ = endpoint.substr(kUnix.size());
  std::error_code ec;
  std::filesystem::path dir = std::filesystem::path(socket_path_).parent_path();
  if (!dir.empty() && !std::filesystem::exists(dir)) {
    std::filesystem::create_directories(dir, ec);
    if (ec) return fmt::format("create {}: {}", dir.string(), ec.message());
    chmod(dir.c_str(), 0750);
  }
  unlink(socket_path_.c_str());  // a stale socket from a crash

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder b;
  b.AddListeningPort(endpoint, grpc::InsecureServerCredentials());
  int tcp_port = 0;
  if (!tcp_listen.empty()) {
    // Over TCP only with TLS, and only for clients whose certificate
    // chains to the configured CA.
    if (tls == nullptr || tls->cert_pem.empty() || tls->key_pem.empty() ||
        tls->client_ca_pem.empty())
      return fmt::format("{}: TCP needs a certificate, a key and a client CA", tcp_listen);
    grpc::SslServerCredentialsOptions o(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
    o.pem_root_certs = tls->client_ca_pem;
    o.pem_key_cert_pairs.push_back({tls->key_pem, tls->cert_pem});
    b.AddListeningPort(tcp_listen, grpc::SslServerCredentials(o), &tcp_port);
  }
  b.RegisterService(service);
  // The socket must never exist with a looser mode, not even briefly.
  mode_t old = umask(0117);
  server_ = b.BuildAndStart();
  umask(old);
  if (!server_) return fmt::format("cannot listen on {}", endpoint);
  if (!tcp_listen.empty()) {
    if (tcp_port == 0) return fmt::format("cannot listen on {}", tcp_listen);
    std::string host, port;
    SplitHostPort(tcp_listen, &host, &port);
    tcp_address_ = JoinHostPort(host, std::to_string(tcp_port));
  }
  if (chmod(socket_path_.c_str(), 0660) != 0) {
    return fmt::format("chmod {}: {}", socket_path_, std::strerror(errno));
  }
  SetServing(true);
  return "";
}

void ApiServer::SetServing(bool serving) {
  if (!server_) return;
  if (auto* h = server_->GetHealthCheckService()) {
    h->SetServingStatus(serving);
    h->SetServingStatus("agentwatch.v1.AgentWatch", serving);
  }
}

void ApiServer::Shutdown() {
  if (!server_) return;
  SetServing(false);
  server_->Shutdown(std::chrono::system_clock::now() +
                    std::chrono::milliseconds(500));
  server_->Wait();
  server_.reset();
  unlink(socket_path_.c_str());
}

grpc::Status AgentWatchService::SetProbe(grpc::ServerContext* ctx, const v1::SetProbeRequest* req,
                                         v1::SetProbeResponse* out) {
  if (grpc::Status s = LocalOnly(ctx); !s.ok()) return s;
  if (!set_probe_) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "no kernel probes here");
  if (req->program().empty())
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "program: name a probe");
  if (std::string e = set_probe_(*req, out); !e.empty())
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, e);
  return Done(out);
}

}  // namespace agentwatch
