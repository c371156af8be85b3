// Store: the connections (opening, mode, pragmas, WAL, the ids in use),
// the writer's statement cache, status and counters. The schema is in
// schema.cc, the writer in writer.cc, the outbox in outbox.cc, retention in
// retention.cc and the reads in reads.cc; the SQLite helpers in sqlite.h.
#include "store/store.h"

#include <sys/stat.h>

#include <filesystem>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/clock.h"
#include "store/sqlite.h"

namespace agentwatch {
namespace {

using store_internal::Exec;
using store_internal::OpenConnection;
using store_internal::QueryInt;
using store_internal::Stmt;

}  // namespace

Store::Store(Options opts) : opts_(std::move(opts)) {}

std::unique_ptr<Store> Store::Open(const Options& opts, std::string* err) {
  std::unique_ptr<Store> s(new Store(opts));
  *err = s->TryOpen();
  if (!err->empty()) return nullptr;
  return s;
}

std::unique_ptr<Store> Store::OpenOrDefer(const Options& opts, std::string* err) {
  std::unique_ptr<Store> s(new Store(opts));
  *err = s->TryOpen();
  if (!err->empty()) {
    // Ids and sequence numbers from the clock (microseconds): past any a
    // store's earlier runs handed out, so nothing written once it opens
    // takes the place of what it has.
    const uint64_t base = static_cast<uint64_t>(NowUnixNs() / 1000);
    s->max_chain_id_ = s->max_call_id_ = s->max_alert_id_ = base;
    s->next_seq_ = static_cast<int64_t>(base);
  }
  return s;
}

std::string Store::TryOpen() {
  // Lock order, everywhere: commit_mu_, held_mu_, write_mu_, read_mu_,
  // q_mu_, stats_mu_.
  std::lock_guard<std::mutex> hlock(held_mu_);
  std::lock_guard<std::mutex> wlock(write_mu_);
  std::string e = Init();
  if (!e.empty()) {
    cache_.clear();
    {
      std::lock_guard<std::mutex> rlock(read_mu_);
      sqlite3_close(reader_);
      reader_ = nullptr;
    }
    sqlite3_close(db_);
    db_ = nullptr;
    std::lock_guard<std::mutex> slock(stats_mu_);
    open_error_ = e;
    return e;
  }
  // The outbox goes on past every sequence number it ever had (trimmed
  // rows' too); alerts that came before it opened are numbered past them.
  const int64_t last = std::max(
      QueryInt(db_, "SELECT COALESCE(MAX(seq), 0) FROM outbox"),
      QueryInt(db_, "SELECT COALESCE(MAX(seq), 0) FROM sqlite_sequence WHERE name = 'outbox'"));
  {
    std::lock_guard<std::mutex> qlock(q_mu_);
    if (next_seq_ <= last) {
      next_seq_ = last + 1;
      for (auto& h : held_) h.seq = next_seq_++;
      for (auto& a : alerts_) a.held.seq = next_seq_++;
    }
  }
  {
    std::lock_guard<std::mutex> slock(stats_mu_);
    open_error_.clear();
  }
  available_ = true;
  ++generation_;
  return "";
}

bool Store::available() const { return available_; }

uint64_t Store::generation() const { return generation_; }

std::string Store::Trouble() const {
  size_t held;
  {
    std::lock_guard<std::mutex> hlock(held_mu_);
    held = held_.size();
  }
  std::lock_guard<std::mutex> slock(stats_mu_);
  std::string why;
  if (!open_error_.empty()) {
    why = "store cannot open: " + open_error_;
  } else if (!write_error_.empty()) {
    why = "store cannot write alerts: " + write_error_;
  } else if (!batch_error_.empty()) {
    why = "store cannot write: " + batch_error_;
  } else {
    return "";
  }
  return fmt::format("{} ({} alert versions held in memory, {} shed)", why, held,
                     counters_.alerts_shed);
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
                       "COALESCE((SELECT MAX(ord) FROM effects WHERE call_id = 0), 0), "
                       "COALESCE((SELECT MAX(ord) FROM cross_agent_reads), 0))")) +
              1;
  rows_chains_ = static_cast<uint64_t>(QueryInt(db_, "SELECT COUNT(*) FROM chains"));
  rows_calls_ = static_cast<uint64_t>(QueryInt(db_, "SELECT COUNT(*) FROM calls"));
  rows_effects_ = static_cast<uint64_t>(QueryInt(db_, "SELECT COUNT(*) FROM effects"));
  std::lock_guard<std::mutex> rlock(read_mu_);
  return OpenConnection(opts_.path, SQLITE_OPEN_READONLY, &reader_);
}

Store::~Store() {
  Stop();
  cache_.clear();
  sqlite3_close(reader_);
  sqlite3_close(db_);
}

Stmt& Store::Prepared(const char* sql) {
  auto& p = cache_[sql];
  if (!p) p = std::make_unique<Stmt>(db_, sql);
  return *p;
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
  out->set_last_error(!open_error_.empty() ? open_error_
                      : !write_error_.empty() ? write_error_
                                              : last_error_);
}

Store::Counters Store::counters() const {
  size_t held;
  {
    std::lock_guard<std::mutex> hlock(held_mu_);
    held = held_.size();
  }
  std::lock_guard<std::mutex> lock(stats_mu_);
  Counters c = counters_;
  c.alerts_held = held;
  return c;
}

}  // namespace agentwatch
