-- agentwatch's fleet-wide store in ClickHouse. Every node's agentwatchd
-- (a `clickhouse` sink) inserts its alerts, chains, calls and effects over
-- the HTTP interface as JSONEachRow. Rows carry the node's host name;
-- delivery is at-least-once, and ReplacingMergeTree keeps one row per key
-- (use FINAL, or argMax, where a repeat would matter).
--
-- Runs on ClickHouse 18.16 (Debian 12's) and later. Retention: partitions
-- are days (ALTER TABLE ... DROP PARTITION 'YYYY-MM-DD'), or, on
-- ClickHouse 19.6 and later, the TTL clauses in ttl.sql.
--
--   clickhouse-client --multiquery < deploy/clickhouse/schema.sql
--
-- Tables made by agentwatch 0.1.0 before the Kubernetes columns existed
-- take them with:
--   ALTER TABLE agentwatch.alerts ADD COLUMN node String, ADD COLUMN agent_namespace String,
--     ADD COLUMN agent_pod String, ADD COLUMN agent_workload String,
--     ADD COLUMN server_namespace String, ADD COLUMN server_pod String;
--   ALTER TABLE agentwatch.chains ADD COLUMN agent_namespace String,
--     ADD COLUMN agent_pod String, ADD COLUMN agent_workload String;

CREATE DATABASE IF NOT EXISTS agentwatch;

CREATE TABLE IF NOT EXISTS agentwatch.alerts (
  host String,
  alert_id UInt64,
  version UInt32,              -- the alert's count: folded repeats raise it
  time DateTime('UTC'),        -- first occurrence
  time_ns UInt64,
  last_time DateTime('UTC'),
  last_ns UInt64,
  rule_id String,
  severity String,
  severity_rank UInt8,         -- info 0 ... critical 4
  summary String,
  agent_pid UInt32,
  agent_id String,
  agent_exe String,
  server_pid UInt32,
  server_name String,
  chain_id UInt64,
  attack Array(String),
  score Float64,
  key String,
  record String,               -- the whole alert (evidence included) as JSON
  node String,                 -- the Kubernetes node ($NODE_NAME), else the host
  agent_namespace String,      -- the agent's pod, when it runs in one
  agent_pod String,
  agent_workload String,       -- Kind/name: Deployment/research-agent
  server_namespace String,     -- the MCP server's pod
  server_pod String
) ENGINE = ReplacingMergeTree(version)
PARTITION BY toDate(time)
ORDER BY (host, alert_id);

CREATE TABLE IF NOT EXISTS agentwatch.chains (
  host String,
  chain_id UInt64,
  agent_id String,
  agent_pid UInt32,
  agent_exe String,
  start DateTime('UTC'),
  start_ns UInt64,
  end DateTime('UTC'),
  end_ns UInt64,
  calls UInt32,
  effects UInt32,
  open UInt8,
  version UInt64,
  agent_namespace String,      -- the agent's pod, when it runs in one
  agent_pod String,
  agent_workload String
) ENGINE = ReplacingMergeTree(version)
PARTITION BY toDate(start)
ORDER BY (host, chain_id);

CREATE TABLE IF NOT EXISTS agentwatch.calls (
  host String,
  call_id UInt64,
  chain_id UInt64,
  ord UInt64,
  time DateTime('UTC'),
  started_ns UInt64,
  session_id String,
  server_id String,
  server_identity String,
  server_pid UInt32,
  transport String,
  method String,
  tool String,
  status String,
  arguments String,            -- redacted, bounded
  result_summary String,
  latency_ns UInt64,
  request_bytes UInt64,
  response_bytes UInt64,
  flows_from Array(UInt64),    -- calls whose results this one's arguments carry
  content_flag String          -- injection found in its result, if any
) ENGINE = ReplacingMergeTree
PARTITION BY toDate(time)
ORDER BY (host, call_id);

CREATE TABLE IF NOT EXISTS agentwatch.effects (
  host String,
  id UInt64,
  chain_id UInt64,
  call_id UInt64,              -- 0: the agent's own activity
  time DateTime('UTC'),
  time_ns UInt64,
  pid UInt32,
  comm String,
  type String,                 -- EVENT_TYPE_FILE_OPEN, EVENT_TYPE_NET_CONNECT, ...
  summary String               -- "open /home/u/.aws/credentials O_RDONLY = 5"
) ENGINE = ReplacingMergeTree
PARTITION BY toDate(time)
ORDER BY (host, chain_id, id);
