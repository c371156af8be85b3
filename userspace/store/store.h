// The embedded store: SQLite in WAL mode, by default at
// /var/lib/agentwatch/agentwatch.db. It keeps what the daemon learned
// (agents, servers, tool versions and changes, sessions, calls with their
// effects, chains, data-flow links) beyond the in-memory windows and across
// restarts.
//
// Writes: the pipeline thread queues chain updates (Put never blocks; over
// the bound they are dropped and counted), and the store's thread commits
// them in one transaction per interval, together with what the tracker
// knows of agents, servers, sessions and tools that changed since the last
// batch. A crash or kill -9 loses at most the batch being gathered; WAL with
// synchronous=NORMAL keeps the file consistent (a power cut may also lose
// the last committed batches, never the file).
//
// Alerts do not wait for the batch: the store's thread commits each alert
// (and its outbox version) as soon as it comes, and only then runs what
// the caller gave to run after it (publishing it), so an alert anyone saw
// is one the store has. When a write fails (a full disk) or the database
// cannot be opened, alerts are held in memory (bounded: over held_max the
// lowest severity, then the oldest, is shed and counted), served to the
// sinks from there (OutboxAfter), and written when the store takes writes
// again; Trouble() says why it does not meanwhile.
//
// Reads (API threads) use their own connection and see the last committed
// batch. Retention (by age of the newest activity, then by size, oldest
// chains first) runs on the store's thread.
#ifndef AGENTWATCH_STORE_STORE_H_
#define AGENTWATCH_STORE_STORE_H_

#include <sqlite3.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <google/protobuf/arena.h>

#include "agentwatch/v1/agentwatch.pb.h"

namespace agentwatch {

namespace store_internal {
class Stmt;
}  // namespace store_internal

class Store {
 public:
  static constexpr uint32_t kSchemaVersion = 6;

  struct Options {
    std::string path;
    uint32_t flush_interval_ms = 1000;
    int64_t max_age_ns = 7ll * 86400 * 1000000000;  // 0 = no age limit
    uint64_t max_bytes = 1ull << 30;                  // 0 = no size limit
    uint32_t retention_interval_ms = 60000;
    size_t queue_max = 200000;  // updates waiting for the next batch
    size_t outbox_max = 100000; // alert versions waiting for sinks; 0 = no bound
    size_t held_max = 20000;    // alert versions held in memory while writes fail
    uint32_t retry_interval_ms = 2000;  // opening again, writing held alerts again
  };
  // An alert version in the outbox, by its commit order.
  struct OutboxEntry {
    int64_t seq = 0;
    v1::Alert alert;
  };
  struct Counters {
    uint64_t batches = 0;
    uint64_t updates_written = 0;
    uint64_t queue_drops = 0;      // over queue_max, never written
    uint64_t write_errors = 0;     // batches rolled back
    uint64_t updates_lost = 0;     // in those batches
    uint64_t retention_runs = 0;
    uint64_t chains_deleted = 0;   // by retention
    uint64_t calls_deleted = 0;
    uint64_t outbox_shed = 0;      // alert versions dropped over outbox_max
    uint64_t alerts_committed = 0; // alert versions written with their outbox rows
    uint64_t alerts_held = 0;      // held in memory now (not written yet)
    uint64_t alerts_shed = 0;      // held and then shed over held_max: never written
    uint64_t open_retries = 0;     // attempts to open a store that could not open
    uint64_t updates_unavailable = 0;  // chain updates dropped while it could not open
  };
  // The tracker's records that changed at or after `since` (unix ns).
  struct Snapshot {
    std::vector<v1::McpAgent> agents;
    std::vector<v1::McpServer> servers;
    std::vector<v1::McpSession> sessions;
    std::vector<v1::McpToolInventory> inventories;
    std::vector<v1::Baseline> baselines;  // the engine's, changed
  };
  using SnapshotFn = std::function<void(int64_t since_unix_ns, Snapshot* out)>;

  // Opens (creating it, mode 0600, and its directory) and migrates the
  // schema. Chains left open by a previous run are closed. Null and *err
  // set on failure.
  static std::unique_ptr<Store> Open(const Options& opts, std::string* err);
  // The same, but a store that cannot open now is returned all the same,
  // not available: its thread tries again every retry interval; alerts are
  // held in memory meanwhile, chain updates dropped and counted, reads
  // fail. *err says why it is not open ("" when it is).
  static std::unique_ptr<Store> OpenOrDefer(const Options& opts, std::string* err);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // The writer thread: a batch every flush interval, retention every
  // retention interval. snapshot may be empty.
  void Start(SnapshotFn snapshot);
  // Commits what is queued, then ends the thread.
  void Stop();

  // Pipeline thread; never blocks on the database.
  void Put(const v1::ChainUpdate& u);
  // An alert, new or with a higher count (stored by id). then (may be
  // empty) runs on the store's thread once the alert is committed, or held
  // in memory because it cannot be; in the order alerts came. Before Start,
  // alerts wait for it.
  void PutAlert(const v1::Alert& a, std::function<void()> then = nullptr);

  // Whether the database is open.
  bool available() const;
  // "" while the store takes writes; else why it does not (it could not
  // open, or the last write failed) and how many alerts it holds.
  std::string Trouble() const;
  // Bumped each time the database opens (1 after an Open that worked):
  // cursors read before are to be read again.
  uint64_t generation() const;
  // Commits what is queued now (on the caller's thread; tests, Stop).
  // Returns "" or the error (the batch is then lost and counted).
  std::string Flush();
  // One retention pass as of now_unix_ns. Returns "" or the error.
  std::string EnforceRetention(int64_t now_unix_ns);

  // Ids in use when the store was opened (0 if none), so a restarted
  // daemon goes on past them.
  uint64_t max_chain_id() const { return max_chain_id_; }
  uint64_t max_call_id() const { return max_call_id_; }
  uint64_t max_alert_id() const { return max_alert_id_; }

  // Reads; any thread. Chains are headers without entries, newest first.
  std::vector<v1::Chain> Chains(const v1::ListChainsRequest& req,
                                std::string* err) const;
  // false and err "" when there is no such chain.
  bool Chain(uint64_t id, v1::Chain* out, std::string* err) const;
  std::vector<v1::McpAgent> Agents(size_t limit, std::string* err) const;
  // Newest first.
  std::vector<v1::Alert> Alerts(const v1::ListAlertsRequest& req, std::string* err) const;
  bool Alert(uint64_t id, v1::Alert* out, std::string* err) const;
  std::vector<v1::McpServer> Servers(size_t limit, std::string* err) const;
  // Each server identity's tools as last listed (the newest last-seen
  // time of its stored tool versions), for the tracker at start.
  std::vector<v1::McpToolInventory> Inventories(std::string* err) const;
  // Every learned baseline (loaded into the engine at start).
  std::vector<v1::Baseline> Baselines(std::string* err) const;
  // Tails for a fleet-wide store (any thread): calls by their write order
  // (ord), effects of calls and agents by row id, chains whose end is at or
  // after end_ns (open ones change; receivers keep the newest).
  struct CallRow {
    int64_t ord = 0;
    uint64_t chain_id = 0;
    v1::McpCall call;
  };
  struct EffectRow {
    int64_t id = 0;
    uint64_t chain_id = 0, call_id = 0;
    int64_t time_ns = 0;
    uint32_t pid = 0;
    std::string comm, summary;
    int type = 0;  // v1::EventType
  };
  std::vector<CallRow> CallsAfter(int64_t ord, size_t limit, std::string* err) const;
  std::vector<EffectRow> EffectsAfter(int64_t id, size_t limit, std::string* err) const;
  std::vector<v1::Chain> ChainsEndingSince(int64_t end_ns, size_t limit, std::string* err) const;

  // The outbox (any thread): versions after a sequence number, oldest
  // first; the newest sequence number; a sink's cursor (0: none yet), and
  // moving it on (never back); dropping what every sink has passed.
  std::vector<OutboxEntry> OutboxAfter(int64_t after_seq, size_t limit, std::string* err) const;
  int64_t OutboxEnd() const;
  int64_t Cursor(const std::string& sink, std::string* err) const;
  std::string SetCursor(const std::string& sink, int64_t seq);
  std::string TrimOutbox(int64_t upto_seq);

  // Runs a read-only statement and returns the first column of the first
  // row as text (tests, status). "" when there is no row.
  std::string QueryText(const std::string& sql, std::string* err) const;

  void FillStatus(v1::StoreStatus* out) const;
  Counters counters() const;
  const std::string& path() const { return opts_.path; }

 private:
  explicit Store(Options opts);
  std::string Init();
  std::string Migrate();
  std::string WriteBatch(const std::vector<const v1::ChainUpdate*>& batch,
                         const Snapshot& snap);
  // The writer's side of a cross-agent flow, into a chain the store has.
  std::string WriteCrossAgentRead(const v1::ChainUpdate& u, uint64_t ord);
  std::string WriteUpdate(const v1::ChainUpdate& u);
  std::string WriteChain(const v1::Chain& c);
  // Alert versions with their outbox sequence numbers.
  struct Held {
    int64_t seq = 0;
    v1::Alert alert;
  };
  std::string WriteAlerts(const std::vector<const Held*>& alerts);
  // The alerts that came, and those held: written (or held) on the store's
  // thread, their `then` run after.
  void CommitAlerts(bool retry_held);
  // The batch of chain updates and tracker records (Flush without the
  // alerts: the store's thread commits those on its own schedule).
  std::string FlushBatch();
  // Opens the connections (the store's thread when deferred); "" or why not.
  std::string TryOpen();
  // Held over held_max: lowest severity, then oldest, shed (held_mu_ held).
  void ShedHeld();
  std::string ShedOutbox();
  std::string WriteSnapshot(const Snapshot& snap);
  std::string DeleteDoomed(uint64_t* chains, uint64_t* calls);
  uint64_t UsedBytes();
  // The writer connection's statement for sql (a string literal), cached.
  store_internal::Stmt& Prepared(const char* sql);
  void Loop();

  const Options opts_;
  sqlite3* db_ = nullptr;         // writer connection
  sqlite3* reader_ = nullptr;     // API reads
  mutable std::mutex write_mu_;   // db_
  mutable std::mutex read_mu_;    // reader_
  std::map<const char*, std::unique_ptr<store_internal::Stmt>> cache_;  // db_

  mutable std::mutex q_mu_;
  std::condition_variable q_cv_;
  struct Batch {
    std::unique_ptr<google::protobuf::Arena> arena;  // owns the updates
    std::vector<const v1::ChainUpdate*> updates;
  };
  Batch queue_;
  struct Incoming {
    Held held;
    std::function<void()> then;
  };
  std::vector<Incoming> alerts_;  // q_mu_: come, not yet written or held
  int64_t next_seq_ = 1;          // q_mu_: the next alert version's outbox seq
  bool stop_ = false;
  std::thread thread_;
  SnapshotFn snapshot_;
  int64_t snapshot_since_ = 0;

  uint64_t max_chain_id_ = 0;
  uint64_t max_call_id_ = 0;
  uint64_t max_alert_id_ = 0;
  uint64_t next_ord_ = 1;
  mutable std::mutex stats_mu_;
  Counters counters_;
  int64_t last_flush_unix_ns_ = 0;
  std::string last_error_;
  std::string open_error_;   // stats_mu_: why the database is not open ("" once it is)
  std::string write_error_;  // stats_mu_: the last failed alert write ("" after one works)
  std::string batch_error_;  // stats_mu_: the last failed batch ("" after one works)
  // Alert versions not written yet, in seq order. OutboxAfter reads the
  // database and these under held_mu_, and the store's thread writes and
  // drops them under it, so a version is always in one or the other.
  mutable std::mutex held_mu_;
  std::vector<Held> held_;
  std::mutex commit_mu_;  // one CommitAlerts at a time (taken before held_mu_)
  std::atomic<bool> available_{false};
  std::atomic<uint64_t> generation_{0};
  std::atomic<uint64_t> rows_chains_{0}, rows_calls_{0}, rows_effects_{0};
};

}  // namespace agentwatch

#endif  // AGENTWATCH_STORE_STORE_H_
