// Store: the schema and its migrations (Store::Migrate). The connection
// is in store.cc, the writer in writer.cc, the outbox in outbox.cc,
// retention in retention.cc and the reads in reads.cc.
#include "store/store.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "store/sqlite.h"

namespace agentwatch {
namespace {

using store_internal::Exec;
using store_internal::InTransaction;
using store_internal::QueryInt;

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
    // 6: the writer's side of cross-agent flows (record: the CrossAgentRead
    // as protobuf); ord orders them with the chain's calls and agent
    // effects.
    R"sql(
CREATE TABLE cross_agent_reads(
  id INTEGER PRIMARY KEY,
  chain_id INTEGER NOT NULL,
  ord INTEGER NOT NULL,
  time_ns INTEGER NOT NULL,
  record BLOB NOT NULL);
CREATE INDEX cross_agent_reads_chain ON cross_agent_reads(chain_id, ord);
)sql",
};
constexpr uint32_t kMigrationCount = sizeof(kMigrations) / sizeof(kMigrations[0]);
static_assert(kMigrationCount == Store::kSchemaVersion);

}  // namespace

std::string Store::Migrate() {
  const int64_t have = QueryInt(db_, "PRAGMA user_version");
  if (have > static_cast<int64_t>(kMigrationCount)) {
    return fmt::format("schema version {} is newer than this agentwatchd knows ({}); "
                       "use a newer agentwatchd or another store.path",
                       have, kMigrationCount);
  }
  for (uint32_t v = static_cast<uint32_t>(have); v < kMigrationCount; ++v) {
    // One transaction per step: the tables and the version that names them.
    std::string e = InTransaction(db_, [&] {
      std::string err = Exec(db_, kMigrations[v]);
      if (err.empty()) err = Exec(db_, fmt::format("PRAGMA user_version = {}", v + 1).c_str());
      return err;
    });
    if (!e.empty()) return fmt::format("migration to schema {}: {}", v + 1, e);
    spdlog::info("msg=\"store schema migrated\" version={}", v + 1);
  }
  return "";
}

}  // namespace agentwatch
