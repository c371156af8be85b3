// Store: the reads behind the API, on the reader connection (any thread,
// under read_mu_; they see the last committed batch): chains, agents,
// servers, alerts, tool inventories, baselines, the tails for a fleet-wide
// store, and QueryText. The outbox reads are in outbox.cc; the rest of the
// store: see store.cc.
#include "store/store.h"

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "common/text.h"
#include "store/sqlite.h"

namespace agentwatch {
namespace {

using store_internal::Parse;
using store_internal::ReadTransaction;
using store_internal::Stmt;

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
  ReadTransaction txn(reader_);
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
  // What other agents read of what this one wrote (few): by ord.
  std::vector<std::pair<int64_t, v1::CrossAgentRead>> reads;
  {
    Stmt x(reader_,
           "SELECT ord, record FROM cross_agent_reads WHERE chain_id = ?1 ORDER BY ord");
    if (!x.ok()) {
      *err = x.error();
      return false;
    }
    x.Bind(1, static_cast<int64_t>(id));
    while (x.Step() == SQLITE_ROW) {
      auto& [ord, r] = reads.emplace_back(x.Int(0), v1::CrossAgentRead());
      if (!Parse(x.Blob(1), &r)) {
        *err = fmt::format("chain {}: a cross-agent read does not parse", id);
        return false;
      }
    }
  }
  size_t next_read = 0;
  // Merge the chain's calls, its agent's own effects and the cross-agent
  // reads by ord.
  int rc_call = calls.Step(), rc_agent = agent.Step();
  while (rc_call == SQLITE_ROW || rc_agent == SQLITE_ROW || next_read < reads.size()) {
    int64_t first = INT64_MAX;
    if (rc_call == SQLITE_ROW) first = calls.Int(0);
    if (rc_agent == SQLITE_ROW) first = std::min(first, agent.Int(0));
    if (next_read < reads.size() && reads[next_read].first < first) {
      *out->add_entries()->mutable_read_by_agent() = std::move(reads[next_read++].second);
      continue;
    }
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

std::vector<v1::Alert> Store::Alerts(const v1::ListAlertsRequest& req, std::string* err) const {
  std::lock_guard<std::mutex> lock(read_mu_);
  std::vector<v1::Alert> out;
  const size_t limit = req.limit() == 0 ? 100 : req.limit();
  // The rules asked for, each between unit separators ("" = all).
  std::string rules;
  for (const std::string& r : req.rule_ids()) {
    if (r.empty()) continue;
    if (rules.empty()) rules = "\x1f";
    rules += r + "\x1f";
  }
  Stmt s(reader_,
         "SELECT record FROM alerts WHERE last_ns >= ?1 AND severity >= ?2 AND "
         "(?3 = 0 OR agent_pid = ?3) AND (?4 = 0 OR chain_id = ?4) AND "
         "(?6 = '' OR instr(?6, char(31) || rule_id || char(31)) > 0) AND "
         "(?7 = 0 OR id < ?7) AND (?8 = '' OR agent_id = ?8) ORDER BY id DESC LIMIT ?5");
  if (!s.ok()) {
    *err = s.error();
    return out;
  }
  s.Bind(1, req.since_unix_ns())
      .Bind(2, static_cast<int64_t>(
                   std::max(0, SeverityRank(req.min_severity()))))
      .Bind(3, static_cast<int64_t>(req.agent_pid()))
      .Bind(4, static_cast<int64_t>(req.chain_id()))
      .Bind(5, req.server().empty() ? static_cast<int64_t>(limit) : int64_t{-1})
      .Bind(6, rules)
      .Bind(7, static_cast<int64_t>(req.before_id()))
      .Bind(8, req.agent_id());
  // The server is inside the record: rows are read newest first until
  // enough match.
  while (out.size() < limit && s.Step() == SQLITE_ROW) {
    v1::Alert a;
    if (!Parse(s.Blob(0), &a)) continue;
    if (!req.server().empty() && a.server_id() != req.server() && a.server_name() != req.server())
      continue;
    out.push_back(std::move(a));
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

}  // namespace agentwatch
