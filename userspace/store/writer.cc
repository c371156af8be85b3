// Store: the writer. Put queues into the batch being gathered (the
// pipeline thread never waits on the database); the store's thread (Loop)
// commits a batch every flush interval: chain entries and headers, then
// what the tracker reports changed (the snapshot). PutAlert wakes the
// thread at once: alerts are committed with their outbox rows (outbox.cc)
// before what runs after them, or held in memory while that fails. The
// thread also opens a store that could not open (every retry interval).
// Retention runs from the same thread (retention.cc). The connection is in
// store.cc.
#include "store/store.h"

#include <algorithm>
#include <chrono>
#include <map>

#include <spdlog/spdlog.h>

#include "common/clock.h"
#include "common/text.h"
#include "store/sqlite.h"

namespace agentwatch {
namespace {

using store_internal::InTransaction;
using store_internal::Stmt;

constexpr char kPutChain[] =
    "INSERT INTO chains(id, agent_id, agent_pid, agent_exe, start_ns, end_ns, "
    "calls, effects, open, kubernetes) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10) "
    "ON CONFLICT(id) DO UPDATE SET end_ns = excluded.end_ns, "
    "calls = excluded.calls, effects = excluded.effects, open = excluded.open, "
    "kubernetes = COALESCE(excluded.kubernetes, chains.kubernetes)";
constexpr char kPutEffect[] =
    "INSERT INTO effects(chain_id, call_id, ord, seq, ktime_ns, time_ns, pid, comm, "
    "type, summary, confidence, candidates) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12)";
constexpr char kPutCrossAgentRead[] =
    "INSERT INTO cross_agent_reads(chain_id, ord, time_ns, record) "
    "SELECT ?1, ?2, ?3, ?4 WHERE EXISTS (SELECT 1 FROM chains WHERE id = ?1)";
constexpr char kPutCall[] =
    "INSERT OR REPLACE INTO calls(call_id, chain_id, ord, session_id, server_id, "
    "server_identity, method, tool, status, started_ns, latency_ns, record) "
    "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12)";
constexpr char kPutFlow[] =
    "INSERT OR REPLACE INTO data_flows(to_call, from_call, from_tool, "
    "from_server_id, from_session_id, shared) VALUES(?1,?2,?3,?4,?5,?6)";
constexpr char kPutAgent[] =
    "INSERT OR REPLACE INTO agents(id, pid, exe, uid, client_name, first_seen_ns, "
    "last_seen_ns, record) VALUES(?1,?2,?3,?4,?5,?6,?7,?8)";
constexpr char kPutServer[] =
    "INSERT OR REPLACE INTO servers(id, identity, pid, exe, name, transport, "
    "first_seen_ns, last_seen_ns, record) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9)";
constexpr char kPutSession[] =
    "INSERT OR REPLACE INTO sessions(id, started_ns, server_id, client_pid, last_ns, "
    "record) VALUES(?1,?2,?3,?4,?5,?6)";
constexpr char kPutToolVersion[] =
    "INSERT INTO tool_versions(server_identity, name, hash, version, first_seen_ns, "
    "last_seen_ns, record) VALUES(?1,?2,?3,?4,?5,?6,?7) "
    "ON CONFLICT(server_identity, name, hash) DO UPDATE SET "
    "last_seen_ns = MAX(last_seen_ns, excluded.last_seen_ns)";
constexpr char kPutToolChange[] =
    "INSERT OR IGNORE INTO tool_changes(server_identity, time_ns, tool, change, "
    "old_hash, new_hash, server_pid) VALUES(?1,?2,?3,?4,?5,?6,?7)";
constexpr char kPutBaseline[] =
    "INSERT OR REPLACE INTO baselines(identity, updated_ns, record) VALUES(?1,?2,?3)";

// One row each, with s prepared from the statement above of its name.

std::string PutEffect(Stmt& s, uint64_t chain_id, const v1::ChainEffect& x, uint64_t call_id,
                      uint64_t ord) {
  s.Bind(1, static_cast<int64_t>(chain_id))
      .Bind(2, static_cast<int64_t>(call_id))
      .Bind(3, static_cast<int64_t>(ord))
      .Bind(4, static_cast<int64_t>(x.seq()))
      .Bind(5, static_cast<int64_t>(x.ktime_ns()))
      .Bind(6, x.time_unix_ns())
      .Bind(7, static_cast<int64_t>(x.pid()))
      .Bind(8, x.comm())
      .Bind(9, static_cast<int64_t>(x.type()))
      .Bind(10, x.summary())
      .Bind(11, x.confidence())
      .Bind(12, static_cast<int64_t>(x.candidates()));
  return s.Run();
}

std::string PutCall(Stmt& s, uint64_t chain_id, uint64_t ord, const v1::McpCall& call) {
  const std::string record = call.SerializeAsString();
  s.Bind(1, static_cast<int64_t>(call.call_id()))
      .Bind(2, static_cast<int64_t>(chain_id))
      .Bind(3, static_cast<int64_t>(ord))
      .Bind(4, call.session_id())
      .Bind(5, call.server_id())
      .Bind(6, call.server_identity())
      .Bind(7, call.method())
      .Bind(8, call.tool())
      .Bind(9, call.status())
      .Bind(10, call.started_unix_ns())
      .Bind(11, static_cast<int64_t>(call.latency_ns()))
      .BindBlob(12, record);
  return s.Run();
}

// The call's data-flow links (all of them).
std::string PutFlows(Stmt& s, const v1::McpCall& call) {
  for (const auto& fl : call.flows()) {
    s.Bind(1, static_cast<int64_t>(call.call_id()))
        .Bind(2, static_cast<int64_t>(fl.from_call_id()))
        .Bind(3, fl.from_tool())
        .Bind(4, fl.from_server_id())
        .Bind(5, fl.from_session_id())
        .Bind(6, static_cast<int64_t>(fl.shared_fingerprints()));
    if (std::string e = s.Run(); !e.empty()) return e;
  }
  return "";
}

// The snapshot's record kinds: s (or t and h) checked, then each record.

std::string PutAgents(Stmt& s, const std::vector<v1::McpAgent>& agents) {
  if (!s.ok()) return s.error();
  for (const auto& a : agents) {
    const std::string record = a.SerializeAsString();
    s.Bind(1, a.id())
        .Bind(2, static_cast<int64_t>(a.pid()))
        .Bind(3, a.exe())
        .Bind(4, static_cast<int64_t>(a.uid()))
        .Bind(5, a.client_name())
        .Bind(6, a.first_seen_unix_ns())
        .Bind(7, a.last_seen_unix_ns())
        .BindBlob(8, record);
    if (std::string e = s.Run(); !e.empty()) return e;
  }
  return "";
}

std::string PutServers(Stmt& s, const std::vector<v1::McpServer>& servers) {
  if (!s.ok()) return s.error();
  for (const auto& v : servers) {
    const std::string record = v.SerializeAsString();
    s.Bind(1, v.id())
        .Bind(2, v.identity())
        .Bind(3, static_cast<int64_t>(v.pid()))
        .Bind(4, v.exe())
        .Bind(5, v.name())
        .Bind(6, v.transport())
        .Bind(7, v.first_seen_unix_ns())
        .Bind(8, v.last_seen_unix_ns())
        .BindBlob(9, record);
    if (std::string e = s.Run(); !e.empty()) return e;
  }
  return "";
}

std::string PutSessions(Stmt& s, const std::vector<v1::McpSession>& sessions) {
  if (!s.ok()) return s.error();
  for (const auto& v : sessions) {
    const std::string record = v.SerializeAsString();
    s.Bind(1, v.id())
        .Bind(2, v.started_unix_ns())
        .Bind(3, v.server_id())
        .Bind(4, static_cast<int64_t>(v.client_pid()))
        .Bind(5, v.last_unix_ns())
        .BindBlob(6, record);
    if (std::string e = s.Run(); !e.empty()) return e;
  }
  return "";
}

std::string PutTool(Stmt& t, const std::string& identity, const v1::McpTool& tool) {
  const std::string record = tool.SerializeAsString();
  t.Bind(1, identity)
      .Bind(2, tool.name())
      .Bind(3, tool.hash())
      .Bind(4, static_cast<int64_t>(tool.version()))
      .Bind(5, tool.first_seen_unix_ns())
      .Bind(6, tool.last_seen_unix_ns())
      .BindBlob(7, record);
  return t.Run();
}

std::string PutToolChange(Stmt& h, const std::string& identity, const v1::McpToolChange& c) {
  h.Bind(1, identity)
      .Bind(2, c.time_unix_ns())
      .Bind(3, c.tool())
      .Bind(4, c.change())
      .Bind(5, c.old_hash())
      .Bind(6, c.new_hash())
      .Bind(7, static_cast<int64_t>(c.server_pid()));
  return h.Run();
}

// Each inventory's tools (current and previous versions) into t, its
// change history into h.
std::string PutInventories(Stmt& t, Stmt& h, const std::vector<v1::McpToolInventory>& invs) {
  if (!t.ok()) return t.error();
  if (!h.ok()) return h.error();
  for (const auto& inv : invs) {
    for (const auto& tool : inv.tools())
      if (std::string e = PutTool(t, inv.server_identity(), tool); !e.empty()) return e;
    for (const auto& tool : inv.previous())
      if (std::string e = PutTool(t, inv.server_identity(), tool); !e.empty()) return e;
    for (const auto& c : inv.history())
      if (std::string e = PutToolChange(h, inv.server_identity(), c); !e.empty()) return e;
  }
  return "";
}

std::string PutBaselines(Stmt& s, const std::vector<v1::Baseline>& baselines) {
  if (!s.ok()) return s.error();
  for (const auto& b : baselines) {
    const std::string record = b.SerializeAsString();
    s.Bind(1, b.identity()).Bind(2, b.updated_unix_ns()).BindBlob(3, record);
    if (std::string e = s.Run(); !e.empty()) return e;
  }
  return "";
}

}  // namespace

void Store::Start(SnapshotFn snapshot) {
  snapshot_ = std::move(snapshot);
  thread_ = std::thread([this] { Loop(); });
}

void Store::Stop() {
  {
    std::lock_guard<std::mutex> lock(q_mu_);
    stop_ = true;
  }
  q_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Store::Loop() {
  using Clock = std::chrono::steady_clock;
  const auto retry_every = std::chrono::milliseconds(opts_.retry_interval_ms);
  auto next_flush = Clock::now() + std::chrono::milliseconds(opts_.flush_interval_ms);
  auto next_retention = Clock::now();  // once at start, then every interval
  auto next_retry = Clock::now() + retry_every;
  while (true) {
    bool stopping;
    {
      std::unique_lock<std::mutex> lock(q_mu_);
      q_cv_.wait_until(lock, std::min({next_flush, next_retention, next_retry}),
                       [this] { return stop_ || !alerts_.empty(); });
      stopping = stop_;
    }
    const bool retry = Clock::now() >= next_retry || stopping;
    if (retry) {
      next_retry = Clock::now() + retry_every;
      if (!available_) {
        {
          std::lock_guard<std::mutex> slock(stats_mu_);
          ++counters_.open_retries;
        }
        if (std::string e = TryOpen(); e.empty()) {
          spdlog::info("msg=\"store open; held alerts are written now\" path={}", opts_.path);
        }
      }
    }
    CommitAlerts(retry);
    if (Clock::now() >= next_flush || stopping) {
      if (std::string e = FlushBatch(); !e.empty())
        spdlog::error("msg=\"store write failed; batch lost\" error=\"{}\"", e);
      next_flush = Clock::now() + std::chrono::milliseconds(opts_.flush_interval_ms);
    }
    if (stopping) break;
    if (available_ && Clock::now() >= next_retention) {
      if (std::string e = EnforceRetention(NowUnixNs()); !e.empty())
        spdlog::error("msg=\"store retention failed\" error=\"{}\"", e);
      next_retention = Clock::now() + std::chrono::milliseconds(opts_.retention_interval_ms);
    }
  }
}

void Store::Put(const v1::ChainUpdate& u) {
  if (!available_) {
    std::lock_guard<std::mutex> slock(stats_mu_);
    ++counters_.updates_unavailable;
    return;
  }
  std::lock_guard<std::mutex> lock(q_mu_);
  if (queue_.updates.size() >= opts_.queue_max) {
    std::lock_guard<std::mutex> slock(stats_mu_);
    ++counters_.queue_drops;
    return;
  }
  // Copied into the batch's arena: one bump allocation per field, and the
  // whole batch freed at once after its commit.
  if (!queue_.arena) queue_.arena = std::make_unique<google::protobuf::Arena>();
  auto* m = google::protobuf::Arena::CreateMessage<v1::ChainUpdate>(queue_.arena.get());
  *m = u;
  queue_.updates.push_back(m);
}

void Store::PutAlert(const v1::Alert& a, std::function<void()> then) {
  {
    std::lock_guard<std::mutex> lock(q_mu_);
    Incoming in;
    in.held.seq = next_seq_++;
    in.held.alert = a;
    in.then = std::move(then);
    alerts_.push_back(std::move(in));
  }
  q_cv_.notify_all();
}

void Store::CommitAlerts(bool retry_held) {
  // One commit at a time (the store's thread, or Flush on a caller's), so
  // alerts are written, and their `then` run, in the order they came.
  std::lock_guard<std::mutex> clock(commit_mu_);
  std::vector<Incoming> fresh;
  {
    std::lock_guard<std::mutex> lock(q_mu_);
    std::swap(fresh, alerts_);
  }
  {
    std::lock_guard<std::mutex> hlock(held_mu_);
    for (auto& f : fresh) held_.push_back(f.held);
    bool failing;
    {
      std::lock_guard<std::mutex> slock(stats_mu_);
      failing = !write_error_.empty();
    }
    // A failing store is tried again every retry interval, not for each
    // alert that comes meanwhile.
    if (available_ && !held_.empty() && (!failing || retry_held)) {
      std::vector<const Held*> all;
      all.reserve(held_.size());
      for (const Held& h : held_) all.push_back(&h);
      std::string e;
      {
        std::lock_guard<std::mutex> wlock(write_mu_);
        e = WriteAlerts(all);
      }
      std::lock_guard<std::mutex> slock(stats_mu_);
      if (e.empty()) {
        counters_.alerts_committed += held_.size();
        if (failing)
          spdlog::info("msg=\"store writes again; held alerts written\" alerts={}", held_.size());
        write_error_.clear();
        held_.clear();
      } else {
        if (!failing)
          spdlog::error("msg=\"store cannot write alerts; holding them in memory\" error=\"{}\" "
                        "held_max={}",
                        e, opts_.held_max);
        write_error_ = e;
      }
    }
    ShedHeld();
  }
  // Committed, or held where the sinks read them: now they may be seen.
  for (auto& f : fresh) {
    if (f.then) f.then();
  }
}

void Store::ShedHeld() {
  if (opts_.held_max == 0 || held_.size() <= opts_.held_max) return;
  const size_t over = held_.size() - opts_.held_max;
  // The lowest severity goes first, the oldest first within it (the
  // outbox's own policy); the rest keep their order.
  std::vector<size_t> order(held_.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return SeverityRank(held_[a].alert.severity()) < SeverityRank(held_[b].alert.severity());
  });
  std::vector<bool> drop(held_.size(), false);
  for (size_t i = 0; i < over; ++i) drop[order[i]] = true;
  std::vector<Held> kept;
  kept.reserve(opts_.held_max);
  for (size_t i = 0; i < held_.size(); ++i) {
    if (!drop[i]) kept.push_back(std::move(held_[i]));
  }
  held_ = std::move(kept);
  std::lock_guard<std::mutex> slock(stats_mu_);
  counters_.alerts_shed += over;
  spdlog::warn("msg=\"alerts held in memory over the bound; shed, lowest severity and oldest "
               "first\" shed={} held_max={}",
               over, opts_.held_max);
}

std::string Store::Flush() {
  // Alerts first (their own transactions), then the batch.
  CommitAlerts(true);
  return FlushBatch();
}

std::string Store::FlushBatch() {
  if (!available_) return "";
  std::lock_guard<std::mutex> wlock(write_mu_);
  Batch batch;
  {
    std::lock_guard<std::mutex> lock(q_mu_);
    std::swap(batch, queue_);
  }
  Snapshot snap;
  const int64_t now = NowUnixNs();
  if (snapshot_) {
    // A little overlap: a record touched while the last snapshot was taken
    // is written again rather than missed.
    snapshot_(snapshot_since_ - 2000000000ll, &snap);
    snapshot_since_ = now;
  }
  if (batch.updates.empty() && snap.agents.empty() && snap.servers.empty() &&
      snap.sessions.empty() && snap.inventories.empty() && snap.baselines.empty()) {
    // Nothing to write: a failed batch no longer says anything about the
    // store (the alert lane's own error stays until an alert write works).
    std::lock_guard<std::mutex> slock(stats_mu_);
    batch_error_.clear();
    return "";
  }
  std::string e = WriteBatch(batch.updates, snap);
  std::lock_guard<std::mutex> slock(stats_mu_);
  if (!e.empty()) {
    ++counters_.write_errors;
    counters_.updates_lost += batch.updates.size();
    last_error_ = e;
    batch_error_ = e;
    return e;
  }
  batch_error_.clear();
  ++counters_.batches;
  counters_.updates_written += batch.updates.size();
  last_flush_unix_ns_ = now;
  return "";
}

std::string Store::WriteBatch(const std::vector<const v1::ChainUpdate*>& batch,
                              const Snapshot& snap) {
  const uint64_t ord_before = next_ord_;
  std::string e = InTransaction(db_, [&] {
    // Entries in order; each chain's header once, as of its last update.
    // A cross-agent read goes to a chain that may have ended long ago (or
    // been deleted by retention): after the headers, only into a chain
    // the store has, and its header is not written again.
    std::map<uint64_t, const v1::Chain*> headers;
    std::vector<std::pair<const v1::ChainUpdate*, uint64_t>> reads;
    for (const v1::ChainUpdate* u : batch) {
      if (u->entry().has_read_by_agent()) {
        reads.emplace_back(u, next_ord_++);
        continue;
      }
      if (u->chain().id() != 0) headers[u->chain().id()] = &u->chain();
      if (std::string err = WriteUpdate(*u); !err.empty()) return err;
    }
    for (const auto& [id, h] : headers) {
      if (std::string err = WriteChain(*h); !err.empty()) return err;
    }
    for (const auto& [u, ord] : reads) {
      if (std::string err = WriteCrossAgentRead(*u, ord); !err.empty()) return err;
    }
    return WriteSnapshot(snap);
  });
  // A batch rolled back hands its ords out again.
  if (!e.empty()) next_ord_ = ord_before;
  return e;
}

std::string Store::WriteChain(const v1::Chain& c) {
  Stmt& s = Prepared(kPutChain);
  if (!s.ok()) return s.error();
  s.Bind(1, static_cast<int64_t>(c.id()))
      .Bind(2, c.agent_id())
      .Bind(3, static_cast<int64_t>(c.agent_pid()))
      .Bind(4, c.agent_exe())
      .Bind(5, c.start_unix_ns())
      .Bind(6, c.end_unix_ns())
      .Bind(7, static_cast<int64_t>(c.calls()))
      .Bind(8, static_cast<int64_t>(c.effects()))
      .Bind(9, static_cast<int64_t>(c.open()));
  // The pod, with the names known by now (NULL binds: none).
  const std::string kube =
      c.has_agent_kubernetes() ? c.agent_kubernetes().SerializeAsString() : std::string();
  if (c.has_agent_kubernetes()) s.BindBlob(10, kube);
  return s.Run();
}

// An agent effect, or a call with its effects and data-flow links.
std::string Store::WriteUpdate(const v1::ChainUpdate& u) {
  if (!u.has_entry()) return "";
  const uint64_t chain_id = u.chain().id();
  Stmt& eff = Prepared(kPutEffect);
  if (!eff.ok()) return eff.error();
  const uint64_t ord = next_ord_++;
  if (u.entry().has_agent_effect()) {
    std::string e = PutEffect(eff, chain_id, u.entry().agent_effect(), 0, ord);
    if (e.empty()) ++rows_effects_;
    return e;
  }
  if (!u.entry().has_call()) return "";
  const v1::McpCall& call = u.entry().call();
  Stmt& s = Prepared(kPutCall);
  if (!s.ok()) return s.error();
  if (std::string e = PutCall(s, chain_id, ord, call); !e.empty()) return e;
  ++rows_calls_;
  for (int i = 0; i < u.entry().effects_size(); ++i) {
    std::string e = PutEffect(eff, chain_id, u.entry().effects(i), call.call_id(),
                              static_cast<uint64_t>(i));
    if (!e.empty()) return e;
    ++rows_effects_;
  }
  if (call.flows_size() == 0) return "";
  Stmt& f = Prepared(kPutFlow);
  if (!f.ok()) return f.error();
  return PutFlows(f, call);
}

std::string Store::WriteCrossAgentRead(const v1::ChainUpdate& u, uint64_t ord) {
  const v1::CrossAgentRead& r = u.entry().read_by_agent();
  Stmt& x = Prepared(kPutCrossAgentRead);
  if (!x.ok()) return x.error();
  const std::string record = r.SerializeAsString();
  x.Bind(1, static_cast<int64_t>(u.chain().id()))
      .Bind(2, static_cast<int64_t>(ord))
      .Bind(3, r.time_unix_ns())
      .BindBlob(4, record);
  return x.Run();
}

// The tracker's and the engine's records, each kind prepared only when
// the snapshot has some.
std::string Store::WriteSnapshot(const Snapshot& snap) {
  std::string e;
  if (!snap.agents.empty()) e = PutAgents(Prepared(kPutAgent), snap.agents);
  if (e.empty() && !snap.servers.empty()) e = PutServers(Prepared(kPutServer), snap.servers);
  if (e.empty() && !snap.sessions.empty()) e = PutSessions(Prepared(kPutSession), snap.sessions);
  if (e.empty() && !snap.inventories.empty()) {
    Stmt& t = Prepared(kPutToolVersion);
    Stmt& h = Prepared(kPutToolChange);
    e = PutInventories(t, h, snap.inventories);
  }
  if (e.empty() && !snap.baselines.empty())
    e = PutBaselines(Prepared(kPutBaseline), snap.baselines);
  return e;
}

}  // namespace agentwatch
