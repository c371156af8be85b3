// Store: retention, on the writer's thread. First by age (whatever has not
// been active for max_age), then by size (the oldest chains, a twentieth
// at a time, until the live pages fit); each pass picks what goes into
// temp tables and deletes it with what hangs on it in one transaction.
// The rest of the store: see store.cc.
#include "store/store.h"

#include <algorithm>
#include <functional>

#include <spdlog/spdlog.h>

#include "store/sqlite.h"

namespace agentwatch {
namespace {

using store_internal::Exec;
using store_internal::InTransaction;
using store_internal::QueryInt;
using store_internal::Stmt;

constexpr char kClearDoomed[] = "DELETE FROM temp.doomed_chains; DELETE FROM temp.doomed_calls";

// By age: the chains and unchained calls that ended before cutoff are
// doomed; the tracker's records and the alerts go at once.
std::string PickByAge(sqlite3* db, int64_t cutoff) {
  Stmt a(db, "INSERT INTO temp.doomed_chains SELECT id FROM chains WHERE end_ns < ?1");
  Stmt b(db,
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
    Stmt d(db, sql);
    err = d.ok() ? d.Bind(1, cutoff).Run() : d.error();
  }
  return err;
}

// By size: the oldest twentieth of the total chains, and the unchained
// calls up to the end of the newest of them, or the oldest twentieth of
// the unchained calls when no chain is left.
std::string PickOldest(sqlite3* db, int64_t total, int64_t unchained) {
  Stmt a(db, "INSERT INTO temp.doomed_chains SELECT id FROM chains ORDER BY id LIMIT ?1");
  if (!a.ok()) return a.error();
  std::string err = a.Bind(1, std::max<int64_t>(1, total / 20)).Run();
  if (!err.empty()) return err;
  Stmt b(db,
         "INSERT INTO temp.doomed_calls SELECT call_id FROM calls WHERE chain_id = 0 "
         "AND (started_ns <= (SELECT MAX(end_ns) FROM chains WHERE id IN "
         "(SELECT id FROM temp.doomed_chains)) OR call_id IN (SELECT call_id FROM calls "
         "WHERE chain_id = 0 ORDER BY call_id LIMIT ?1))");
  if (!b.ok()) return b.error();
  return b.Bind(1, total == 0 ? std::max<int64_t>(1, unchained / 20) : 0).Run();
}

}  // namespace

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
      "DELETE FROM cross_agent_reads WHERE chain_id IN (SELECT id FROM temp.doomed_chains)",
      "DELETE FROM calls WHERE call_id IN (SELECT id FROM temp.doomed_calls)",
      "DELETE FROM chains WHERE id IN (SELECT id FROM temp.doomed_chains)",
      "DELETE FROM alerts WHERE chain_id IN (SELECT id FROM temp.doomed_chains)",
  };
  *chains = static_cast<uint64_t>(QueryInt(db_, "SELECT COUNT(*) FROM temp.doomed_chains"));
  for (const char* sql : kSteps) {
    if (std::string e = Exec(db_, sql); !e.empty()) return e;
  }
  *calls = static_cast<uint64_t>(QueryInt(db_, "SELECT COUNT(*) FROM temp.doomed_calls"));
  return Exec(db_, kClearDoomed);
}

std::string Store::EnforceRetention(int64_t now_unix_ns) {
  std::lock_guard<std::mutex> wlock(write_mu_);
  std::string e = Exec(db_,
                       "CREATE TEMP TABLE IF NOT EXISTS doomed_chains(id INTEGER PRIMARY KEY);"
                       "CREATE TEMP TABLE IF NOT EXISTS doomed_calls(id INTEGER PRIMARY KEY)");
  uint64_t chains_deleted = 0, calls_deleted = 0;
  // One pass: pick, then delete, in one transaction; nothing doomed is
  // left behind when it fails.
  auto run = [&](const std::function<std::string()>& pick) -> std::string {
    uint64_t ch = 0, ca = 0;
    std::string err = InTransaction(db_, [&] {
      std::string picked = pick();
      return picked.empty() ? DeleteDoomed(&ch, &ca) : picked;
    });
    if (!err.empty()) {
      Exec(db_, kClearDoomed);
      return err;
    }
    chains_deleted += ch;
    calls_deleted += ca;
    return "";
  };
  // By age: whatever has not been active for max_age.
  if (e.empty() && opts_.max_age_ns > 0) {
    const int64_t cutoff = now_unix_ns - opts_.max_age_ns;
    e = run([&] { return PickByAge(db_, cutoff); });
  }
  // By size: the oldest chains (and the unchained calls before them) go,
  // a twentieth at a time, until the live pages fit.
  for (int round = 0; e.empty() && opts_.max_bytes > 0 && round < 200; ++round) {
    if (UsedBytes() <= opts_.max_bytes) break;
    const int64_t total = QueryInt(db_, "SELECT COUNT(*) FROM chains");
    const int64_t unchained = QueryInt(db_, "SELECT COUNT(*) FROM calls WHERE chain_id = 0");
    if (total == 0 && unchained == 0) break;
    const uint64_t before = chains_deleted + calls_deleted;
    e = run([&] { return PickOldest(db_, total, unchained); });
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

}  // namespace agentwatch
