#include "store/store.h"

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/clock.h"
#include "common/text.h"

namespace agentwatch {
namespace {

// Schema migrations, applied in order; PRAGMA user_version is the number
// applied. Never edit a shipped step: append one.
const char* const kMigrations[] = {
    // 1: the first schema.
    R"sql(
CREATE TABLE chains(
  id INTEGER PRIMARY KEY,
  agent_id TEXT NOT NULL,
  agent_pid INTEGER NOT NULL,
  agent_exe TEXT NOT NULL,
  start_ns INTEGER NOT NULL,
  end_ns INTEGER NOT NULL,
  calls INTEGER NOT NULL,
  effects INTEGER NOT NULL,
  open INTEGER NOT NULL);
CREATE INDEX chains_agent ON chains(agent_id, id);
CREATE INDEX chains_end ON chains(end_ns);
-- chain_id 0: a call with no known agent. ord orders a chain's calls and
-- agent effects; record is the McpCall as protobuf.
CREATE TABLE calls(
  call_id INTEGER PRIMARY KEY,
  chain_id INTEGER NOT NULL,
  ord INTEGER NOT NULL,
  session_id TEXT NOT NULL,
  server_id TEXT NOT NULL,
  server_identity TEXT NOT NULL,
  method TEXT NOT NULL,
  tool TEXT NOT NULL,
  status TEXT NOT NULL,
  started_ns INTEGER NOT NULL,
  latency_ns INTEGER NOT NULL,
  record BLOB NOT NULL);
CREATE INDEX calls_chain ON calls(chain_id, ord);
CREATE INDEX calls_started ON calls(started_ns);
-- call_id 0: the agent's own activity (ord in the chain); else an effect
-- of that call (ord within the call).
CREATE TABLE effects(
  id INTEGER PRIMARY KEY,
  chain_id INTEGER NOT NULL,
  call_id INTEGER NOT NULL,
  ord INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  ktime_ns INTEGER NOT NULL,
  time_ns INTEGER NOT NULL,
  pid INTEGER NOT NULL,
  comm TEXT NOT NULL,
  type INTEGER NOT NULL,
  summary TEXT NOT NULL,
  confidence REAL NOT NULL,
  candidates INTEGER NOT NULL);
CREATE INDEX effects_agent ON effects(chain_id, ord) WHERE call_id = 0;
CREATE INDEX effects_call ON effects(call_id, ord);
CREATE TABLE data_flows(
  to_call INTEGER NOT NULL,
  from_call INTEGER NOT NULL,
  from_tool TEXT NOT NULL,
  from_server_id TEXT NOT NULL,
  from_session_id TEXT NOT NULL,
  shared INTEGER NOT NULL,
  PRIMARY KEY(to_call, from_call)) WITHOUT ROWID;
CREATE INDEX data_flows_from ON data_flows(from_call);
CREATE TABLE agents(
  id TEXT PRIMARY KEY,
  pid INTEGER NOT NULL,
  exe TEXT NOT NULL,
  uid INTEGER NOT NULL,
  client_name TEXT NOT NULL,
  first_seen_ns INTEGER NOT NULL,
  last_seen_ns INTEGER NOT NULL,
  record BLOB NOT NULL);
CREATE TABLE servers(
  id TEXT PRIMARY KEY,
  identity TEXT NOT NULL,
  pid INTEGER NOT NULL,
  exe TEXT NOT NULL,
  name TEXT NOT NULL,
  transport TEXT NOT NULL,
  first_seen_ns INTEGER NOT NULL,
  last_seen_ns INTEGER NOT NULL,
  record BLOB NOT NULL);
CREATE INDEX servers_identity ON servers(identity);
CREATE TABLE sessions(
  id TEXT NOT NULL,
  started_ns INTEGER NOT NULL,
  server_id TEXT NOT NULL,
  client_pid INTEGER NOT NULL,
  last_ns INTEGER NOT NULL,
  record BLOB NOT NULL,
  PRIMARY KEY(id, started_ns));
CREATE TABLE tool_versions(
  server_identity TEXT NOT NULL,
  name TEXT NOT NULL,
  hash TEXT NOT NULL,
  version INTEGER NOT NULL,
  first_seen_ns INTEGER NOT NULL,
  last_seen_ns INTEGER NOT NULL,
  record BLOB NOT NULL,
  PRIMARY KEY(server_identity, name, hash));
CREATE TABLE tool_changes(
  server_identity TEXT NOT NULL,
  time_ns INTEGER NOT NULL,
  tool TEXT NOT NULL,
  change TEXT NOT NULL,
  old_hash TEXT NOT NULL,
  new_hash TEXT NOT NULL,
  server_pid INTEGER NOT NULL,
  PRIMARY KEY(server_identity, time_ns, tool, change));
)sql",
    // 2: alerts of the anomaly engine (record: the Alert as protobuf).
    R"sql(
CREATE TABLE alerts(
  id INTEGER PRIMARY KEY,
  time_ns INTEGER NOT NULL,
  last_ns INTEGER NOT NULL,
  rule_id TEXT NOT NULL,
  severity INTEGER NOT NULL,
  agent_pid INTEGER NOT NULL,
  agent_id TEXT NOT NULL,
  chain_id INTEGER NOT NULL,
  server_pid INTEGER NOT NULL,
  summary TEXT NOT NULL,
  count INTEGER NOT NULL,
  record BLOB NOT NULL);
CREATE INDEX alerts_last ON alerts(last_ns);
CREATE INDEX alerts_chain ON alerts(chain_id);
)sql",
    // 3: learned per-server baselines (record: the Baseline as protobuf).
    R"sql(
CREATE TABLE baselines(
  identity TEXT PRIMARY KEY,
  updated_ns INTEGER NOT NULL,
  record BLOB NOT NULL);
)sql",
    // 4: the outbox of alerts for the sinks (each version of an alert, in
    // commit order), and each sink's cursor into it.
    R"sql(
CREATE TABLE outbox(
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  alert_id INTEGER NOT NULL,
  severity INTEGER NOT NULL,
  record BLOB NOT NULL);
CREATE INDEX outbox_shed ON outbox(severity, seq);
CREATE TABLE sink_cursors(
  sink TEXT PRIMARY KEY,
  seq INTEGER NOT NULL);
)sql",
    // 5: the agent's pod (a v1.Kubernetes as protobuf; NULL outside one).
    R"sql(
ALTER TABLE chains ADD COLUMN kubernetes BLOB;
)sql",
};
constexpr uint32_t kMigrationCount = sizeof(kMigrations) / sizeof(kMigrations[0]);
static_assert(kMigrationCount == Store::kSchemaVersion);

}  // namespace

namespace store_internal {

// A prepared statement.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) : db_(db) {
    rc_ = sqlite3_prepare_v2(db, sql, -1, &s_, nullptr);
  }
  ~Stmt() { sqlite3_finalize(s_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  bool ok() const { return rc_ == SQLITE_OK; }
  std::string error() const { return sqlite3_errmsg(db_); }
  Stmt& Bind(int i, int64_t v) {
    sqlite3_bind_int64(s_, i, v);
    return *this;
  }
  Stmt& Bind(int i, double v) {
    sqlite3_bind_double(s_, i, v);
    return *this;
  }
  // Text and blobs are not copied: they must outlive the Step/Run that
  // uses them (Run clears the bindings).
  Stmt& Bind(int i, const std::string& v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
    return *this;
  }
  Stmt& BindBlob(int i, const std::string& v) {
    sqlite3_bind_blob(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
    return *this;
  }
  // SQLITE_ROW, SQLITE_DONE or an error code.
  int Step() { return sqlite3_step(s_); }
  // Runs one step and resets; "" or the error.
  std::string Run() {
    int rc = Step();
    std::string err = rc == SQLITE_DONE || rc == SQLITE_ROW ? "" : error();
    Reset();
    return err;
  }
  void Reset() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
  int64_t Int(int col) const { return sqlite3_column_int64(s_, col); }
  double Double(int col) const { return sqlite3_column_double(s_, col); }
  std::string Text(int col) const {
    const auto* p = sqlite3_column_text(s_, col);
    return p ? std::string(reinterpret_cast<const char*>(p),
                           static_cast<size_t>(sqlite3_column_bytes(s_, col)))
             : std::string();
  }
  std::string Blob(int col) const {
    const void* p = sqlite3_column_blob(s_, col);
    return p ? std::string(static_cast<const char*>(p),
                           static_cast<size_t>(sqlite3_column_bytes(s_, col)))
             : std::string();
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* s_ = nullptr;
  int rc_;
};

}  // namespace store_internal

namespace {

using store_internal::Stmt;

std::string Exec(sqlite3* db, const char* sql) {
  char* msg = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &msg) == SQLITE_OK) return "";
  std::string e = msg ? msg : sqlite3_errmsg(db);
  sqlite3_free(msg);
  return e;
}

int64_t QueryInt(sqlite3* db, const char* sql) {
  Stmt s(db, sql);
  if (!s.ok() || s.Step() != SQLITE_ROW) return 0;
  return s.Int(0);
}

std::string OpenConnection(const std::string& path, int flags, sqlite3** db) {
  int rc = sqlite3_open_v2(path.c_str(), db, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string e = *db ? sqlite3_errmsg(*db) : sqlite3_errstr(rc);
    sqlite3_close(*db);
    *db = nullptr;
    return fmt::format("{}: {}", path, e);
  }
  sqlite3_busy_timeout(*db, 5000);
  sqlite3_extended_result_codes(*db, 1);
  return "";
}

template <typename M>
bool Parse(const std::string& blob, M* m) {
  return m->ParseFromString(blob);
}


}  // namespace

Store::Store(Options opts) : opts_(std::move(opts)) {}

std::unique_ptr<Store> Store::Open(const Options& opts, std::string* err) {
  std::unique_ptr<Store> s(new Store(opts));
  *err = s->Init();
  if (!err->empty()) return nullptr;
  return s;
}

std::string Store::Init() {
  std::error_code ec;
  std::filesystem::path dir = std::filesystem::path(opts_.path).parent_path();
  if (!dir.empty()) {
    std::filesystem::create_directories(dir, ec);
    if (ec) return fmt::format("create {}: {}", dir.string(), ec.message());
  }
  // The file holds redacted previews of what agents did: owner only. The
  // WAL and shared-memory files take the database file's mode.
  const mode_t old = umask(077);
  std::string e = OpenConnection(opts_.path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, &db_);
  umask(old);
  if (!e.empty()) return e;
  chmod(opts_.path.c_str(), 0600);
  // auto_vacuum only takes on an empty database (before the first table).
  for (const char* p : {"PRAGMA auto_vacuum=INCREMENTAL", "PRAGMA journal_mode=WAL",
                        "PRAGMA synchronous=NORMAL", "PRAGMA foreign_keys=OFF",
                        "PRAGMA journal_size_limit=67108864",
                        "PRAGMA temp_store=MEMORY"}) {
    if (e = Exec(db_, p); !e.empty()) return fmt::format("{}: {}: {}", opts_.path, p, e);
  }
  if (e = Migrate(); !e.empty()) return fmt::format("{}: {}", opts_.path, e);
  // A previous run that ended (or crashed) left its chains open: nothing
  // will add to them now.
  if (e = Exec(db_, "UPDATE chains SET open = 0 WHERE open != 0"); !e.empty()) return e;
  max_chain_id_ = static_cast<uint64_t>(QueryInt(db_, "SELECT COALESCE(MAX(id), 0) FROM chains"));
  max_call_id_ =
      static_cast<uint64_t>(QueryInt(db_, "SELECT COALESCE(MAX(call_id), 0) FROM calls"));
  max_alert_id_ =
      static_cast<uint64_t>(QueryInt(db_, "SELECT COALESCE(MAX(id), 0) FROM alerts"));
  next_ord_ = static_cast<uint64_t>(QueryInt(
                  db_, "SELECT MAX(COALESCE((SELECT MAX(ord) FROM calls), 0), "
                       "COALESCE((SELECT MAX(ord) FROM effects WHERE call_id = 0), 0))")) +
              1;
  rows_chains_ = static_cast<uint64_t>(QueryInt(db_, "SELECT COUNT(*) FROM chains"));
  rows_calls_ = static_cast<uint64_t>(QueryInt(db_, "SELECT COUNT(*) FROM calls"));
  rows_effects_ = static_cast<uint64_t>(QueryInt(db_, "SELECT COUNT(*) FROM effects"));
  return OpenConnection(opts_.path, SQLITE_OPEN_READONLY, &reader_);
}

std::string Store::Migrate() {
  const int64_t have = QueryInt(db_, "PRAGMA user_version");
  if (have > static_cast<int64_t>(kMigrationCount)) {
    return fmt::format("schema version {} is newer than this agentwatchd knows ({}); "
                       "use a newer agentwatchd or another store.path",
                       have, kMigrationCount);
  }
  for (uint32_t v = static_cast<uint32_t>(have); v < kMigrationCount; ++v) {
    std::string e = Exec(db_, "BEGIN IMMEDIATE");
    if (e.empty()) e = Exec(db_, kMigrations[v]);
    if (e.empty())
      e = Exec(db_, fmt::format("PRAGMA user_version = {}", v + 1).c_str());
    if (e.empty()) e = Exec(db_, "COMMIT");
    if (!e.empty()) {
      Exec(db_, "ROLLBACK");
      return fmt::format("migration to schema {}: {}", v + 1, e);
    }
    spdlog::info("msg=\"store schema migrated\" version={}", v + 1);
  }
  return "";
}

Store::~Store() {
  Stop();
  cache_.clear();
  sqlite3_close(reader_);
  sqlite3_close(db_);
}

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
  auto next_flush = Clock::now() + std::chrono::milliseconds(opts_.flush_interval_ms);
  auto next_retention = Clock::now();  // once at start, then every interval
  while (true) {
    bool stopping;
    {
      std::unique_lock<std::mutex> lock(q_mu_);
      q_cv_.wait_until(lock, std::min(next_flush, next_retention), [this] { return stop_; });
      stopping = stop_;
    }
    if (Clock::now() >= next_flush || stopping) {
      if (std::string e = Flush(); !e.empty())
        spdlog::error("msg=\"store write failed; batch lost\" error=\"{}\"", e);
      next_flush = Clock::now() + std::chrono::milliseconds(opts_.flush_interval_ms);
    }
    if (stopping) break;
    if (Clock::now() >= next_retention) {
      if (std::string e = EnforceRetention(NowUnixNs()); !e.empty())
        spdlog::error("msg=\"store retention failed\" error=\"{}\"", e);
      next_retention = Clock::now() + std::chrono::milliseconds(opts_.retention_interval_ms);
    }
  }
}

void Store::Put(const v1::ChainUpdate& u) {
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

void Store::PutAlert(const v1::Alert& a) {
  std::lock_guard<std::mutex> lock(q_mu_);
  if (queue_.alerts.size() >= opts_.queue_max) {
    std::lock_guard<std::mutex> slock(stats_mu_);
    ++counters_.queue_drops;
    return;
  }
  if (!queue_.arena) queue_.arena = std::make_unique<google::protobuf::Arena>();
  auto* m = google::protobuf::Arena::CreateMessage<v1::Alert>(queue_.arena.get());
  *m = a;
  queue_.alerts.push_back(m);
}

std::string Store::Flush() {
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
  if (batch.updates.empty() && batch.alerts.empty() && snap.agents.empty() && snap.servers.empty() &&
      snap.sessions.empty() && snap.inventories.empty() && snap.baselines.empty())
    return "";
  std::string e = WriteBatch(batch.updates, snap);
  if (e.empty() && !batch.alerts.empty()) e = WriteAlerts(batch.alerts);
  std::lock_guard<std::mutex> slock(stats_mu_);
  if (!e.empty()) {
    ++counters_.write_errors;
    counters_.updates_lost += batch.updates.size();
    last_error_ = e;
    return e;
  }
  ++counters_.batches;
  counters_.updates_written += batch.updates.size();
  last_flush_unix_ns_ = now;
  return "";
}

std::string Store::WriteBatch(const std::vector<const v1::ChainUpdate*>& batch,
                              const Snapshot& snap) {
  std::string e = Exec(db_, "BEGIN IMMEDIATE");
  if (!e.empty()) return e;
  const uint64_t ord_before = next_ord_;
  // Entries in order; each chain's header once, as of its last update.
  std::map<uint64_t, const v1::Chain*> headers;
  for (const v1::ChainUpdate* u : batch) {
    if (u->chain().id() != 0) headers[u->chain().id()] = &u->chain();
    if (e = WriteUpdate(*u); !e.empty()) break;
  }
  for (const auto& [id, h] : headers) {
    if (!e.empty()) break;
    e = WriteChain(*h);
  }
  if (e.empty()) e = WriteSnapshot(snap);
  if (e.empty()) e = Exec(db_, "COMMIT");
  if (!e.empty()) {
    Exec(db_, "ROLLBACK");
    next_ord_ = ord_before;
  }
  return e;
}

Stmt& Store::Prepared(const char* sql) {
  auto& p = cache_[sql];
  if (!p) p = std::make_unique<Stmt>(db_, sql);
  return *p;
}

std::string Store::WriteChain(const v1::Chain& c) {
  {
    Stmt& s = Prepared(
        "INSERT INTO chains(id, agent_id, agent_pid, agent_exe, start_ns, end_ns, "
        "calls, effects, open, kubernetes) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10) "
        "ON CONFLICT(id) DO UPDATE SET end_ns = excluded.end_ns, "
        "calls = excluded.calls, effects = excluded.effects, open = excluded.open, "
        "kubernetes = COALESCE(excluded.kubernetes, chains.kubernetes)");
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
}

std::string Store::WriteUpdate(const v1::ChainUpdate& u) {
  const v1::Chain& c = u.chain();
  if (!u.has_entry()) return "";
  Stmt& eff = Prepared(
           "INSERT INTO effects(chain_id, call_id, ord, seq, ktime_ns, time_ns, pid, comm, "
           "type, summary, confidence, candidates) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12)");
  if (!eff.ok()) return eff.error();
  auto put_effect = [&](const v1::ChainEffect& x, uint64_t call_id, uint64_t ord) {
    eff.Bind(1, static_cast<int64_t>(c.id()))
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
    return eff.Run();
  };
  const uint64_t ord = next_ord_++;
  if (u.entry().has_agent_effect()) {
    std::string e = put_effect(u.entry().agent_effect(), 0, ord);
    if (e.empty()) ++rows_effects_;
    return e;
  }
  if (!u.entry().has_call()) return "";
  const v1::McpCall& call = u.entry().call();
  Stmt& s = Prepared(
         "INSERT OR REPLACE INTO calls(call_id, chain_id, ord, session_id, server_id, "
         "server_identity, method, tool, status, started_ns, latency_ns, record) "
         "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12)");
  if (!s.ok()) return s.error();
  const std::string record = call.SerializeAsString();
  s.Bind(1, static_cast<int64_t>(call.call_id()))
      .Bind(2, static_cast<int64_t>(c.id()))
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
  if (std::string e = s.Run(); !e.empty()) return e;
  ++rows_calls_;
  for (int i = 0; i < u.entry().effects_size(); ++i) {
    if (std::string e = put_effect(u.entry().effects(i), call.call_id(), i); !e.empty())
      return e;
    ++rows_effects_;
  }
  if (call.flows_size() > 0) {
    Stmt& f = Prepared(
           "INSERT OR REPLACE INTO data_flows(to_call, from_call, from_tool, "
           "from_server_id, from_session_id, shared) VALUES(?1,?2,?3,?4,?5,?6)");
    if (!f.ok()) return f.error();
    for (const auto& fl : call.flows()) {
      f.Bind(1, static_cast<int64_t>(call.call_id()))
          .Bind(2, static_cast<int64_t>(fl.from_call_id()))
          .Bind(3, fl.from_tool())
          .Bind(4, fl.from_server_id())
          .Bind(5, fl.from_session_id())
          .Bind(6, static_cast<int64_t>(fl.shared_fingerprints()));
      if (std::string e = f.Run(); !e.empty()) return e;
    }
  }
  return "";
}

std::string Store::WriteAlerts(const std::vector<const v1::Alert*>& alerts) {
  // Its own transaction: the batch's chains are committed already.
  std::string e = Exec(db_, "BEGIN IMMEDIATE");
  if (!e.empty()) return e;
  Stmt& s = Prepared(
      "INSERT OR REPLACE INTO alerts(id, time_ns, last_ns, rule_id, severity, agent_pid, "
      "agent_id, chain_id, server_pid, summary, count, record) "
      "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12)");
  if (!s.ok()) e = s.error();
  for (const v1::Alert* a : alerts) {
    if (!e.empty()) break;
    const std::string record = a->SerializeAsString();
    s.Bind(1, static_cast<int64_t>(a->id()))
        .Bind(2, a->time_unix_ns())
        .Bind(3, a->last_unix_ns())
        .Bind(4, a->rule_id())
        .Bind(5, static_cast<int64_t>(std::max(0, SeverityRank(a->severity()))))
        .Bind(6, static_cast<int64_t>(a->agent_pid()))
        .Bind(7, a->agent_id())
        .Bind(8, static_cast<int64_t>(a->chain_id()))
        .Bind(9, static_cast<int64_t>(a->server_pid()))
        .Bind(10, a->summary())
        .Bind(11, static_cast<int64_t>(a->count()))
        .BindBlob(12, record);
    e = s.Run();
    if (!e.empty()) break;
    // The same version, for the sinks: committed with the alert, so an
    // alert any sink may see is one the store has.
    Stmt& o = Prepared("INSERT INTO outbox(alert_id, severity, record) VALUES(?1,?2,?3)");
    if (!o.ok()) {
      e = o.error();
      break;
    }
    o.Bind(1, static_cast<int64_t>(a->id()))
        .Bind(2, static_cast<int64_t>(std::max(0, SeverityRank(a->severity()))))
        .BindBlob(3, record);
    e = o.Run();
  }
  if (e.empty() && opts_.outbox_max > 0) e = ShedOutbox();
  if (e.empty()) e = Exec(db_, "COMMIT");
  if (!e.empty()) Exec(db_, "ROLLBACK");
  return e;
}

std::string Store::ShedOutbox() {
  // Sequence numbers bound the row count from above (the primary key
  // answers at once); only near the bound are rows counted.
  if (QueryInt(db_, "SELECT COALESCE(MAX(seq) - MIN(seq) + 1, 0) FROM outbox") <=
      static_cast<int64_t>(opts_.outbox_max))
    return "";
  const int64_t rows = QueryInt(db_, "SELECT COUNT(*) FROM outbox");
  const int64_t over = rows - static_cast<int64_t>(opts_.outbox_max);
  if (over <= 0) return "";
  // The lowest severity goes first, oldest first within it.
  Stmt& d = Prepared(
      "DELETE FROM outbox WHERE seq IN (SELECT seq FROM outbox ORDER BY severity, seq LIMIT ?1)");
  if (!d.ok()) return d.error();
  d.Bind(1, over);
  if (std::string e = d.Run(); !e.empty()) return e;
  {
    std::lock_guard<std::mutex> slock(stats_mu_);
    counters_.outbox_shed += static_cast<uint64_t>(over);
  }
  spdlog::warn("msg=\"outbox full; alerts shed, lowest severity and oldest first\" shed={} "
               "outbox_max={}",
               over, opts_.outbox_max);
  return "";
}

std::vector<Store::OutboxEntry> Store::OutboxAfter(int64_t after_seq, size_t limit,
                                                   std::string* err) const {
  std::lock_guard<std::mutex> lock(read_mu_);
  std::vector<OutboxEntry> out;
  Stmt s(reader_, "SELECT seq, record FROM outbox WHERE seq > ?1 ORDER BY seq LIMIT ?2");
  if (!s.ok()) {
    *err = s.error();
    return out;
  }
  s.Bind(1, after_seq).Bind(2, static_cast<int64_t>(limit));
  while (s.Step() == SQLITE_ROW) {
    OutboxEntry e;
    e.seq = s.Int(0);
    if (Parse(s.Blob(1), &e.alert)) out.push_back(std::move(e));
  }
  return out;
}

int64_t Store::Cursor(const std::string& sink, std::string* err) const {
  std::lock_guard<std::mutex> lock(read_mu_);
  Stmt s(reader_, "SELECT seq FROM sink_cursors WHERE sink = ?1");
  if (!s.ok()) {
    *err = s.error();
    return 0;
  }
  s.Bind(1, sink);
  return s.Step() == SQLITE_ROW ? s.Int(0) : 0;
}

std::string Store::SetCursor(const std::string& sink, int64_t seq) {
  std::lock_guard<std::mutex> lock(write_mu_);
  Stmt& s = Prepared(
      "INSERT INTO sink_cursors(sink, seq) VALUES(?1, ?2) "
      "ON CONFLICT(sink) DO UPDATE SET seq = MAX(seq, excluded.seq)");
  if (!s.ok()) return s.error();
  s.Bind(1, sink).Bind(2, seq);
  return s.Run();
}

std::string Store::TrimOutbox(int64_t upto_seq) {
  std::lock_guard<std::mutex> lock(write_mu_);
  Stmt& s = Prepared("DELETE FROM outbox WHERE seq <= ?1");
  if (!s.ok()) return s.error();
  s.Bind(1, upto_seq);
  return s.Run();
}

int64_t Store::OutboxEnd() const {
  std::lock_guard<std::mutex> lock(read_mu_);
  Stmt s(reader_, "SELECT COALESCE(MAX(seq), 0) FROM outbox");
  return s.ok() && s.Step() == SQLITE_ROW ? s.Int(0) : 0;
}

std::vector<v1::Alert> Store::Alerts(const v1::ListAlertsRequest& req, std::string* err) const {
  std::lock_guard<std::mutex> lock(read_mu_);
  std::vector<v1::Alert> out;
  Stmt s(reader_,
         "SELECT record FROM alerts WHERE last_ns >= ?1 AND severity >= ?2 AND "
         "(?3 = 0 OR agent_pid = ?3) AND (?4 = 0 OR chain_id = ?4) ORDER BY id DESC LIMIT ?5");
  if (!s.ok()) {
    *err = s.error();
    return out;
  }
  s.Bind(1, req.since_unix_ns())
      .Bind(2, static_cast<int64_t>(
                   std::max(0, SeverityRank(req.min_severity()))))
      .Bind(3, static_cast<int64_t>(req.agent_pid()))
      .Bind(4, static_cast<int64_t>(req.chain_id()))
      .Bind(5, static_cast<int64_t>(req.limit() == 0 ? 100 : req.limit()));
  while (s.Step() == SQLITE_ROW) {
    v1::Alert a;
    if (Parse(s.Blob(0), &a)) out.push_back(std::move(a));
  }
  return out;
}

bool Store::Alert(uint64_t id, v1::Alert* out, std::string* err) const {
  std::lock_guard<std::mutex> lock(read_mu_);
  Stmt s(reader_, "SELECT record FROM alerts WHERE id = ?1");
  if (!s.ok()) {
    *err = s.error();
    return false;
  }
  s.Bind(1, static_cast<int64_t>(id));
  return s.Step() == SQLITE_ROW && Parse(s.Blob(0), out);
}

std::string Store::WriteSnapshot(const Snapshot& snap) {
  if (!snap.agents.empty()) {
    Stmt& s = Prepared(
           "INSERT OR REPLACE INTO agents(id, pid, exe, uid, client_name, first_seen_ns, "
           "last_seen_ns, record) VALUES(?1,?2,?3,?4,?5,?6,?7,?8)");
    if (!s.ok()) return s.error();
    for (const auto& a : snap.agents) {
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
  }
  if (!snap.servers.empty()) {
    Stmt& s = Prepared(
           "INSERT OR REPLACE INTO servers(id, identity, pid, exe, name, transport, "
           "first_seen_ns, last_seen_ns, record) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9)");
    if (!s.ok()) return s.error();
    for (const auto& v : snap.servers) {
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
  }
  if (!snap.sessions.empty()) {
    Stmt& s = Prepared(
           "INSERT OR REPLACE INTO sessions(id, started_ns, server_id, client_pid, last_ns, "
           "record) VALUES(?1,?2,?3,?4,?5,?6)");
    if (!s.ok()) return s.error();
    for (const auto& v : snap.sessions) {
      const std::string record = v.SerializeAsString();
      s.Bind(1, v.id())
          .Bind(2, v.started_unix_ns())
          .Bind(3, v.server_id())
          .Bind(4, static_cast<int64_t>(v.client_pid()))
          .Bind(5, v.last_unix_ns())
          .BindBlob(6, record);
      if (std::string e = s.Run(); !e.empty()) return e;
    }
  }
  if (!snap.inventories.empty()) {
    Stmt& t = Prepared(
           "INSERT INTO tool_versions(server_identity, name, hash, version, first_seen_ns, "
           "last_seen_ns, record) VALUES(?1,?2,?3,?4,?5,?6,?7) "
           "ON CONFLICT(server_identity, name, hash) DO UPDATE SET "
           "last_seen_ns = MAX(last_seen_ns, excluded.last_seen_ns)");
    Stmt& h = Prepared(
           "INSERT OR IGNORE INTO tool_changes(server_identity, time_ns, tool, change, "
           "old_hash, new_hash, server_pid) VALUES(?1,?2,?3,?4,?5,?6,?7)");
    if (!t.ok()) return t.error();
    if (!h.ok()) return h.error();
    for (const auto& inv : snap.inventories) {
      auto put_tool = [&](const v1::McpTool& tool) {
        const std::string record = tool.SerializeAsString();
        t.Bind(1, inv.server_identity())
            .Bind(2, tool.name())
            .Bind(3, tool.hash())
            .Bind(4, static_cast<int64_t>(tool.version()))
            .Bind(5, tool.first_seen_unix_ns())
            .Bind(6, tool.last_seen_unix_ns())
            .BindBlob(7, record);
        return t.Run();
      };
      for (const auto& tool : inv.tools())
        if (std::string e = put_tool(tool); !e.empty()) return e;
      for (const auto& tool : inv.previous())
        if (std::string e = put_tool(tool); !e.empty()) return e;
      for (const auto& c : inv.history()) {
        h.Bind(1, inv.server_identity())
            .Bind(2, c.time_unix_ns())
            .Bind(3, c.tool())
            .Bind(4, c.change())
            .Bind(5, c.old_hash())
            .Bind(6, c.new_hash())
            .Bind(7, static_cast<int64_t>(c.server_pid()));
        if (std::string e = h.Run(); !e.empty()) return e;
      }
    }
  }
  if (!snap.baselines.empty()) {
    Stmt& s = Prepared(
           "INSERT OR REPLACE INTO baselines(identity, updated_ns, record) VALUES(?1,?2,?3)");
    if (!s.ok()) return s.error();
    for (const auto& b : snap.baselines) {
      const std::string record = b.SerializeAsString();
      s.Bind(1, b.identity()).Bind(2, b.updated_unix_ns()).BindBlob(3, record);
      if (std::string e = s.Run(); !e.empty()) return e;
    }
  }
  return "";
}

uint64_t Store::UsedBytes() {
  const int64_t pages = QueryInt(db_, "PRAGMA page_count");
  const int64_t free_pages = QueryInt(db_, "PRAGMA freelist_count");
  const int64_t page = QueryInt(db_, "PRAGMA page_size");
  return static_cast<uint64_t>(std::max<int64_t>(0, pages - free_pages) * page);
}

std::string Store::DeleteDoomed(uint64_t* chains, uint64_t* calls) {
  // doomed_chains / doomed_calls hold what goes; both are emptied here.
  static const char* const kSteps[] = {
      "INSERT OR IGNORE INTO temp.doomed_calls SELECT call_id FROM calls "
      "WHERE chain_id IN (SELECT id FROM temp.doomed_chains)",
      "DELETE FROM effects WHERE call_id = 0 AND chain_id IN "
      "(SELECT id FROM temp.doomed_chains)",
      "DELETE FROM effects WHERE call_id IN (SELECT id FROM temp.doomed_calls)",
      "DELETE FROM data_flows WHERE to_call IN (SELECT id FROM temp.doomed_calls)",
      "DELETE FROM calls WHERE call_id IN (SELECT id FROM temp.doomed_calls)",
      "DELETE FROM chains WHERE id IN (SELECT id FROM temp.doomed_chains)",
      "DELETE FROM alerts WHERE chain_id IN (SELECT id FROM temp.doomed_chains)",
  };
  *chains = static_cast<uint64_t>(QueryInt(db_, "SELECT COUNT(*) FROM temp.doomed_chains"));
  for (const char* sql : kSteps) {
    if (std::string e = Exec(db_, sql); !e.empty()) return e;
  }
  *calls = static_cast<uint64_t>(QueryInt(db_, "SELECT COUNT(*) FROM temp.doomed_calls"));
  if (std::string e = Exec(db_, "DELETE FROM temp.doomed_chains; DELETE FROM temp.doomed_calls");
      !e.empty())
    return e;
  return "";
}

std::string Store::EnforceRetention(int64_t now_unix_ns) {
  std::lock_guard<std::mutex> wlock(write_mu_);
  std::string e = Exec(db_,
                       "CREATE TEMP TABLE IF NOT EXISTS doomed_chains(id INTEGER PRIMARY KEY);"
                       "CREATE TEMP TABLE IF NOT EXISTS doomed_calls(id INTEGER PRIMARY KEY)");
  uint64_t chains_deleted = 0, calls_deleted = 0;
  auto run = [&](const std::function<std::string()>& pick) -> std::string {
    std::string err = Exec(db_, "BEGIN IMMEDIATE");
    if (!err.empty()) return err;
    uint64_t ch = 0, ca = 0;
    err = pick();
    if (err.empty()) err = DeleteDoomed(&ch, &ca);
    if (err.empty()) err = Exec(db_, "COMMIT");
    if (!err.empty()) {
      Exec(db_, "ROLLBACK");
      Exec(db_, "DELETE FROM temp.doomed_chains; DELETE FROM temp.doomed_calls");
      return err;
    }
    chains_deleted += ch;
    calls_deleted += ca;
    return "";
  };
  // By age: whatever has not been active for max_age.
  if (e.empty() && opts_.max_age_ns > 0) {
    const int64_t cutoff = now_unix_ns - opts_.max_age_ns;
    e = run([&] {
      Stmt a(db_, "INSERT INTO temp.doomed_chains SELECT id FROM chains WHERE end_ns < ?1");
      Stmt b(db_,
             "INSERT INTO temp.doomed_calls SELECT call_id FROM calls "
             "WHERE chain_id = 0 AND started_ns < ?1");
      if (!a.ok()) return a.error();
      if (!b.ok()) return b.error();
      std::string err = a.Bind(1, cutoff).Run();
      if (err.empty()) err = b.Bind(1, cutoff).Run();
      for (const char* sql :
           {"DELETE FROM agents WHERE last_seen_ns < ?1",
            "DELETE FROM servers WHERE last_seen_ns < ?1",
            "DELETE FROM sessions WHERE last_ns < ?1",
            "DELETE FROM tool_versions WHERE last_seen_ns < ?1",
            "DELETE FROM tool_changes WHERE time_ns < ?1",
            "DELETE FROM alerts WHERE last_ns < ?1"}) {
        if (!err.empty()) break;
        Stmt d(db_, sql);
        err = d.ok() ? d.Bind(1, cutoff).Run() : d.error();
      }
      return err;
    });
  }
  // By size: the oldest chains (and the unchained calls before them) go,
  // a twentieth at a time, until the live pages fit.
  for (int round = 0; e.empty() && opts_.max_bytes > 0 && round < 200; ++round) {
    if (UsedBytes() <= opts_.max_bytes) break;
    const int64_t total = QueryInt(db_, "SELECT COUNT(*) FROM chains");
    const int64_t unchained = QueryInt(db_, "SELECT COUNT(*) FROM calls WHERE chain_id = 0");
    if (total == 0 && unchained == 0) break;
    const uint64_t before = chains_deleted + calls_deleted;
    e = run([&] {
      Stmt a(db_,
             "INSERT INTO temp.doomed_chains SELECT id FROM chains ORDER BY id LIMIT ?1");
      if (!a.ok()) return a.error();
      std::string err = a.Bind(1, std::max<int64_t>(1, total / 20)).Run();
      if (!err.empty()) return err;
      // Unchained calls up to the end of the newest doomed chain, or the
      // oldest twentieth of them when no chain is left.
      Stmt b(db_,
             "INSERT INTO temp.doomed_calls SELECT call_id FROM calls WHERE chain_id = 0 "
             "AND (started_ns <= (SELECT MAX(end_ns) FROM chains WHERE id IN "
             "(SELECT id FROM temp.doomed_chains)) OR call_id IN (SELECT call_id FROM calls "
             "WHERE chain_id = 0 ORDER BY call_id LIMIT ?1))");
      if (!b.ok()) return b.error();
      return b.Bind(1, total == 0 ? std::max<int64_t>(1, unchained / 20) : 0).Run();
    });
    if (chains_deleted + calls_deleted == before) break;
  }
  if (e.empty() && chains_deleted + calls_deleted > 0) {
    // Give the freed pages back to the file system, and keep the log short.
    e = Exec(db_, "PRAGMA incremental_vacuum");
    if (e.empty()) e = Exec(db_, "PRAGMA wal_checkpoint(TRUNCATE)");
  }
  const uint64_t chains = static_cast<uint64_t>(QueryInt(db_, "SELECT COUNT(*) FROM chains"));
  const uint64_t calls = static_cast<uint64_t>(QueryInt(db_, "SELECT COUNT(*) FROM calls"));
  const uint64_t effects = static_cast<uint64_t>(QueryInt(db_, "SELECT COUNT(*) FROM effects"));
  std::lock_guard<std::mutex> slock(stats_mu_);
  ++counters_.retention_runs;
  counters_.chains_deleted += chains_deleted;
  counters_.calls_deleted += calls_deleted;
  rows_chains_ = chains;
  rows_calls_ = calls;
  rows_effects_ = effects;
  if (!e.empty()) last_error_ = e;
  if (chains_deleted + calls_deleted > 0) {
    spdlog::info("msg=\"store retention\" chains_deleted={} calls_deleted={} bytes={}",
                 chains_deleted, calls_deleted, UsedBytes());
  }
  return e;
}

namespace {

v1::Chain ChainHeader(const Stmt& s) {
  v1::Chain c;
  c.set_id(static_cast<uint64_t>(s.Int(0)));
  c.set_agent_id(s.Text(1));
  c.set_agent_pid(static_cast<uint32_t>(s.Int(2)));
  c.set_agent_exe(s.Text(3));
  c.set_start_unix_ns(s.Int(4));
  c.set_end_unix_ns(s.Int(5));
  c.set_calls(static_cast<uint32_t>(s.Int(6)));
  c.set_effects(static_cast<uint32_t>(s.Int(7)));
  c.set_open(s.Int(8) != 0);
  if (const std::string k = s.Blob(9); !k.empty()) c.mutable_agent_kubernetes()->ParseFromString(k);
  return c;
}

constexpr char kChainColumns[] =
    "id, agent_id, agent_pid, agent_exe, start_ns, end_ns, calls, effects, open, kubernetes";
constexpr char kEffectColumns[] =
    "ord, seq, ktime_ns, time_ns, pid, comm, type, summary, confidence, candidates";

void ReadEffect(const Stmt& s, v1::ChainEffect* x) {
  x->set_seq(static_cast<uint64_t>(s.Int(1)));
  x->set_ktime_ns(static_cast<uint64_t>(s.Int(2)));
  x->set_time_unix_ns(s.Int(3));
  x->set_pid(static_cast<uint32_t>(s.Int(4)));
  x->set_comm(s.Text(5));
  x->set_type(static_cast<v1::EventType>(s.Int(6)));
  x->set_summary(s.Text(7));
  x->set_confidence(s.Double(8));
  x->set_candidates(static_cast<uint32_t>(s.Int(9)));
}

}  // namespace

std::vector<v1::Chain> Store::Chains(const v1::ListChainsRequest& req,
                                     std::string* err) const {
  std::lock_guard<std::mutex> lock(read_mu_);
  std::vector<v1::Chain> out;
  Stmt s(reader_, fmt::format("SELECT {} FROM chains WHERE (?1 = 0 OR agent_pid = ?1) "
                              "AND (?2 = '' OR agent_id = ?2) AND end_ns >= ?3 "
                              "AND (?4 = 0 OR id < ?4) ORDER BY id DESC LIMIT ?5",
                              kChainColumns)
                      .c_str());
  if (!s.ok()) {
    *err = s.error();
    return out;
  }
  s.Bind(1, static_cast<int64_t>(req.agent_pid()))
      .Bind(2, req.agent_id())
      .Bind(3, req.since_unix_ns())
      .Bind(4, static_cast<int64_t>(req.before_id()))
      .Bind(5, static_cast<int64_t>(req.limit() == 0 ? 100 : req.limit()));
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) out.push_back(ChainHeader(s));
  if (rc != SQLITE_DONE) *err = s.error();
  return out;
}

bool Store::Chain(uint64_t id, v1::Chain* out, std::string* err) const {
  std::lock_guard<std::mutex> lock(read_mu_);
  // One read transaction, so the header and the entries agree.
  Exec(reader_, "BEGIN");
  struct End {
    sqlite3* db;
    ~End() { Exec(db, "COMMIT"); }
  } end{reader_};
  {
    Stmt h(reader_, fmt::format("SELECT {} FROM chains WHERE id = ?1", kChainColumns).c_str());
    if (!h.ok()) {
      *err = h.error();
      return false;
    }
    h.Bind(1, static_cast<int64_t>(id));
    const int rc = h.Step();
    if (rc == SQLITE_DONE) return false;
    if (rc != SQLITE_ROW) {
      *err = h.error();
      return false;
    }
    *out = ChainHeader(h);
  }
  Stmt calls(reader_, "SELECT ord, record FROM calls WHERE chain_id = ?1 ORDER BY ord");
  Stmt agent(reader_, fmt::format("SELECT {} FROM effects WHERE chain_id = ?1 AND "
                                  "call_id = 0 ORDER BY ord",
                                  kEffectColumns)
                          .c_str());
  Stmt effects(reader_, fmt::format("SELECT {} FROM effects WHERE call_id = ?1 ORDER BY ord",
                                    kEffectColumns)
                            .c_str());
  if (!calls.ok() || !agent.ok() || !effects.ok()) {
    *err = !calls.ok() ? calls.error() : !agent.ok() ? agent.error() : effects.error();
    return false;
  }
  calls.Bind(1, static_cast<int64_t>(id));
  agent.Bind(1, static_cast<int64_t>(id));
  // Merge the chain's calls and its agent's own effects by ord.
  int rc_call = calls.Step(), rc_agent = agent.Step();
  while (rc_call == SQLITE_ROW || rc_agent == SQLITE_ROW) {
    const bool take_call =
        rc_call == SQLITE_ROW && (rc_agent != SQLITE_ROW || calls.Int(0) < agent.Int(0));
    v1::ChainEntry* e = out->add_entries();
    if (take_call) {
      if (!Parse(calls.Blob(1), e->mutable_call())) {
        *err = fmt::format("chain {}: a call record does not parse", id);
        return false;
      }
      effects.Bind(1, static_cast<int64_t>(e->call().call_id()));
      while (effects.Step() == SQLITE_ROW) ReadEffect(effects, e->add_effects());
      effects.Reset();
      rc_call = calls.Step();
    } else {
      ReadEffect(agent, e->mutable_agent_effect());
      rc_agent = agent.Step();
    }
  }
  if (rc_call != SQLITE_DONE || rc_agent != SQLITE_DONE) {
    *err = rc_call != SQLITE_DONE ? calls.error() : agent.error();
    return false;
  }
  return true;
}

std::vector<v1::McpAgent> Store::Agents(size_t limit, std::string* err) const {
  std::lock_guard<std::mutex> lock(read_mu_);
  std::vector<v1::McpAgent> out;
  Stmt s(reader_, "SELECT record FROM agents ORDER BY last_seen_ns DESC LIMIT ?1");
  if (!s.ok()) {
    *err = s.error();
    return out;
  }
  s.Bind(1, static_cast<int64_t>(limit));
  while (s.Step() == SQLITE_ROW) {
    v1::McpAgent a;
    if (Parse(s.Blob(0), &a)) out.push_back(std::move(a));
  }
  return out;
}

std::vector<Store::CallRow> Store::CallsAfter(int64_t ord, size_t limit,
                                              std::string* err) const {
  std::lock_guard<std::mutex> lock(read_mu_);
  std::vector<CallRow> out;
  Stmt s(reader_, "SELECT ord, chain_id, record FROM calls WHERE ord > ?1 ORDER BY ord LIMIT ?2");
  if (!s.ok()) {
    *err = s.error();
    return out;
  }
  s.Bind(1, ord).Bind(2, static_cast<int64_t>(limit));
  while (s.Step() == SQLITE_ROW) {
    CallRow r;
    r.ord = s.Int(0);
    r.chain_id = static_cast<uint64_t>(s.Int(1));
    if (Parse(s.Blob(2), &r.call)) out.push_back(std::move(r));
  }
  return out;
}

std::vector<Store::EffectRow> Store::EffectsAfter(int64_t id, size_t limit,
                                                  std::string* err) const {
  std::lock_guard<std::mutex> lock(read_mu_);
  std::vector<EffectRow> out;
  Stmt s(reader_,
         "SELECT id, chain_id, call_id, time_ns, pid, comm, type, summary FROM effects "
         "WHERE id > ?1 ORDER BY id LIMIT ?2");
  if (!s.ok()) {
    *err = s.error();
    return out;
  }
  s.Bind(1, id).Bind(2, static_cast<int64_t>(limit));
  while (s.Step() == SQLITE_ROW) {
    EffectRow r;
    r.id = s.Int(0);
    r.chain_id = static_cast<uint64_t>(s.Int(1));
    r.call_id = static_cast<uint64_t>(s.Int(2));
    r.time_ns = s.Int(3);
    r.pid = static_cast<uint32_t>(s.Int(4));
    r.comm = s.Text(5);
    r.type = static_cast<int>(s.Int(6));
    r.summary = s.Text(7);
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<v1::Chain> Store::ChainsEndingSince(int64_t end_ns, size_t limit,
                                                std::string* err) const {
  std::lock_guard<std::mutex> lock(read_mu_);
  std::vector<v1::Chain> out;
  Stmt s(reader_, fmt::format("SELECT {} FROM chains WHERE end_ns >= ?1 ORDER BY end_ns LIMIT ?2",
                              kChainColumns)
                      .c_str());
  if (!s.ok()) {
    *err = s.error();
    return out;
  }
  s.Bind(1, end_ns).Bind(2, static_cast<int64_t>(limit));
  while (s.Step() == SQLITE_ROW) out.push_back(ChainHeader(s));
  return out;
}

std::vector<v1::McpServer> Store::Servers(size_t limit, std::string* err) const {
  std::lock_guard<std::mutex> lock(read_mu_);
  std::vector<v1::McpServer> out;
  Stmt s(reader_, "SELECT record FROM servers ORDER BY last_seen_ns DESC LIMIT ?1");
  if (!s.ok()) {
    *err = s.error();
    return out;
  }
  s.Bind(1, static_cast<int64_t>(limit));
  while (s.Step() == SQLITE_ROW) {
    v1::McpServer v;
    if (Parse(s.Blob(0), &v)) out.push_back(std::move(v));
  }
  return out;
}

std::vector<v1::McpToolInventory> Store::Inventories(std::string* err) const {
  std::lock_guard<std::mutex> lock(read_mu_);
  std::vector<v1::McpToolInventory> out;
  Stmt s(reader_,
         "SELECT v.server_identity, v.record FROM tool_versions v JOIN "
         "(SELECT server_identity, MAX(last_seen_ns) AS m FROM tool_versions GROUP BY "
         "server_identity) l ON v.server_identity = l.server_identity AND v.last_seen_ns = l.m "
         "ORDER BY v.server_identity, v.name");
  if (!s.ok()) {
    *err = s.error();
    return out;
  }
  while (s.Step() == SQLITE_ROW) {
    const std::string identity = s.Text(0);
    if (out.empty() || out.back().server_identity() != identity) {
      out.emplace_back().set_server_identity(identity);
    }
    v1::McpTool t;
    if (Parse(s.Blob(1), &t)) {
      out.back().set_updated_unix_ns(std::max(out.back().updated_unix_ns(), t.last_seen_unix_ns()));
      *out.back().add_tools() = std::move(t);
    }
  }
  return out;
}

std::vector<v1::Baseline> Store::Baselines(std::string* err) const {
  std::lock_guard<std::mutex> lock(read_mu_);
  std::vector<v1::Baseline> out;
  Stmt s(reader_, "SELECT record FROM baselines ORDER BY identity");
  if (!s.ok()) {
    *err = s.error();
    return out;
  }
  while (s.Step() == SQLITE_ROW) {
    v1::Baseline b;
    if (Parse(s.Blob(0), &b)) out.push_back(std::move(b));
  }
  return out;
}

std::string Store::QueryText(const std::string& sql, std::string* err) const {
  std::lock_guard<std::mutex> lock(read_mu_);
  Stmt s(reader_, sql.c_str());
  if (!s.ok()) {
    *err = s.error();
    return "";
  }
  const int rc = s.Step();
  if (rc == SQLITE_ROW) return s.Text(0);
  if (rc != SQLITE_DONE) *err = s.error();
  return "";
}

void Store::FillStatus(v1::StoreStatus* out) const {
  out->set_path(opts_.path);
  std::error_code ec;
  uint64_t size = std::filesystem::file_size(opts_.path, ec);
  if (ec) size = 0;
  const uint64_t wal = std::filesystem::file_size(opts_.path + "-wal", ec);
  if (!ec) size += wal;
  out->set_size_bytes(size);
  out->set_schema_version(kSchemaVersion);
  std::lock_guard<std::mutex> lock(stats_mu_);
  out->set_chains(rows_chains_);
  out->set_calls(rows_calls_);
  out->set_effects(rows_effects_);
  out->set_last_flush_unix_ns(last_flush_unix_ns_);
  out->set_last_error(last_error_);
}

Store::Counters Store::counters() const {
  std::lock_guard<std::mutex> lock(stats_mu_);
  return counters_;
}

}  // namespace agentwatch
