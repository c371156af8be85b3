// Store: the outbox of alerts for the sinks. Each alert version is written
// with the alert in one transaction (WriteAlerts, from the writer's
// CommitAlerts), under the sequence number it got when it came, shed over
// outbox_max lowest severity first; the sinks read it after a sequence
// number (the versions held in memory while writes fail included) and keep
// their cursors here. The rest of the store: see store.cc.
#include "store/store.h"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "common/text.h"
#include "store/sqlite.h"

namespace agentwatch {
namespace {

using store_internal::InTransaction;
using store_internal::Parse;
using store_internal::QueryInt;
using store_internal::Stmt;

constexpr char kPutAlert[] =
    "INSERT OR REPLACE INTO alerts(id, time_ns, last_ns, rule_id, severity, agent_pid, "
    "agent_id, chain_id, server_pid, summary, count, record) "
    "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12)";
constexpr char kPutOutbox[] =
    "INSERT OR REPLACE INTO outbox(seq, alert_id, severity, record) VALUES(?1,?2,?3,?4)";
constexpr char kUnavailable[] = "store not open";

int64_t Severity(const v1::Alert& a) {
  return static_cast<int64_t>(std::max(0, SeverityRank(a.severity())));
}

std::string PutAlertRow(Stmt& s, const v1::Alert& a, const std::string& record) {
  s.Bind(1, static_cast<int64_t>(a.id()))
      .Bind(2, a.time_unix_ns())
      .Bind(3, a.last_unix_ns())
      .Bind(4, a.rule_id())
      .Bind(5, Severity(a))
      .Bind(6, static_cast<int64_t>(a.agent_pid()))
      .Bind(7, a.agent_id())
      .Bind(8, static_cast<int64_t>(a.chain_id()))
      .Bind(9, static_cast<int64_t>(a.server_pid()))
      .Bind(10, a.summary())
      .Bind(11, static_cast<int64_t>(a.count()))
      .BindBlob(12, record);
  return s.Run();
}

}  // namespace

std::string Store::WriteAlerts(const std::vector<const Held*>& alerts) {
  // Its own transaction, apart from the batch of chains.
  return InTransaction(db_, [&] {
    Stmt& s = Prepared(kPutAlert);
    if (!s.ok()) return s.error();
    for (const Held* h : alerts) {
      const v1::Alert& a = h->alert;
      const std::string record = a.SerializeAsString();
      if (std::string e = PutAlertRow(s, a, record); !e.empty()) return e;
      // The same version, for the sinks: committed with the alert, so an
      // alert any sink may see is one the store has.
      Stmt& o = Prepared(kPutOutbox);
      if (!o.ok()) return o.error();
      o.Bind(1, h->seq)
          .Bind(2, static_cast<int64_t>(a.id()))
          .Bind(3, Severity(a))
          .BindBlob(4, record);
      if (std::string e = o.Run(); !e.empty()) return e;
    }
    return opts_.outbox_max > 0 ? ShedOutbox() : std::string();
  });
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
  // The database's versions, then those held in memory (numbered after
  // them): under held_mu_, so none moves from one to the other meanwhile.
  std::lock_guard<std::mutex> hlock(held_mu_);
  std::vector<OutboxEntry> out;
  int64_t last = after_seq;
  {
    std::lock_guard<std::mutex> lock(read_mu_);
    if (reader_ != nullptr) {
      Stmt s(reader_, "SELECT seq, record FROM outbox WHERE seq > ?1 ORDER BY seq LIMIT ?2");
      if (!s.ok()) {
        *err = s.error();
        return out;
      }
      s.Bind(1, after_seq).Bind(2, static_cast<int64_t>(limit));
      while (s.Step() == SQLITE_ROW) {
        OutboxEntry e;
        e.seq = s.Int(0);
        last = e.seq;
        if (Parse(s.Blob(1), &e.alert)) out.push_back(std::move(e));
      }
    }
  }
  for (const Held& h : held_) {
    if (out.size() >= limit) break;
    if (h.seq <= last) continue;
    out.push_back({h.seq, h.alert});
  }
  return out;
}

int64_t Store::Cursor(const std::string& sink, std::string* err) const {
  std::lock_guard<std::mutex> lock(read_mu_);
  if (reader_ == nullptr) {
    *err = kUnavailable;
    return 0;
  }
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
  if (db_ == nullptr) return kUnavailable;
  Stmt& s = Prepared(
      "INSERT INTO sink_cursors(sink, seq) VALUES(?1, ?2) "
      "ON CONFLICT(sink) DO UPDATE SET seq = MAX(seq, excluded.seq)");
  if (!s.ok()) return s.error();
  s.Bind(1, sink).Bind(2, seq);
  return s.Run();
}

std::string Store::TrimOutbox(int64_t upto_seq) {
  std::lock_guard<std::mutex> lock(write_mu_);
  if (db_ == nullptr) return kUnavailable;
  Stmt& s = Prepared("DELETE FROM outbox WHERE seq <= ?1");
  if (!s.ok()) return s.error();
  s.Bind(1, upto_seq);
  return s.Run();
}

int64_t Store::OutboxEnd() const {
  {
    std::lock_guard<std::mutex> hlock(held_mu_);
    if (!held_.empty()) return held_.back().seq;
  }
  std::lock_guard<std::mutex> lock(read_mu_);
  if (reader_ == nullptr) return 0;
  Stmt s(reader_, "SELECT COALESCE(MAX(seq), 0) FROM outbox");
  return s.ok() && s.Step() == SQLITE_ROW ? s.Int(0) : 0;
}

}  // namespace agentwatch
