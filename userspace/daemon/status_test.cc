#include "daemon/status.h"

#include <map>

#include <gtest/gtest.h>

#include "events.h"

namespace agentwatch {
namespace {

std::map<std::string, uint64_t> Counters(const v1::Status& s) {
  std::map<std::string, uint64_t> m;
  for (const auto& c : s.counters()) {
    EXPECT_TRUE(m.emplace(c.name(), c.value()).second) << "counter twice: " << c.name();
  }
  return m;
}

TEST(Readiness, EachReasonInTurn) {
  ReadinessInputs in;
  in.now_unix_ns = 100'000'000'000;
  in.last_poll_unix_ns = in.now_unix_ns - 1'000'000'000;
  std::string why;
  EXPECT_TRUE(Readiness(in, &why));
  EXPECT_EQ(why, "");

  ReadinessInputs detached = in;
  detached.probes_attached = false;
  detached.probes_detail = "probe sx_openat is detached";
  EXPECT_FALSE(Readiness(detached, &why));
  EXPECT_EQ(why, "probe sx_openat is detached");

  ReadinessInputs stale = in;
  stale.last_poll_unix_ns = in.now_unix_ns - kMaxPollGapNs - 1;
  EXPECT_FALSE(Readiness(stale, &why));
  EXPECT_EQ(why, "the ring buffer has not been read for over 5 s");
  stale.last_poll_unix_ns = in.now_unix_ns - kMaxPollGapNs;
  EXPECT_TRUE(Readiness(stale, &why));

  ReadinessInputs no_store = in;
  no_store.store_enabled = true;
  no_store.store_error = "disk I/O error";
  EXPECT_FALSE(Readiness(no_store, &why));
  EXPECT_EQ(why, "store unavailable: disk I/O error");
  no_store.store_enabled = false;  // a store that is off is not missing
  EXPECT_TRUE(Readiness(no_store, &why));
}

StatusInputs Sample() {
  StatusInputs in;
  in.version = "9.9.9";
  in.kernel = "6.18.0";
  in.node = "node-a";
  in.started_unix_ns = 42;
  in.ready = false;
  in.not_ready_reason = "why not";
  in.missing_capabilities = {"CAP_BPF", "CAP_PERFMON"};
  in.kernel_counters.assign(AW_CTR_MAX, 0);
  in.kernel_counters[static_cast<int>(AW_CTR_EMITTED) + static_cast<int>(AW_CAT_FILE)] = 7;
  in.kernel_counters[static_cast<int>(AW_CTR_DROPPED) + static_cast<int>(AW_CAT_PAYLOAD)] = 3;
  in.kernel_counters[AW_CTR_SCRATCH_BUSY] = 2;
  in.records_received = 11;
  in.watched_processes = 5;
  in.process_table_size = 6;
  in.pipeline_queue_drops = 13;
  in.tracker.calls = 17;
  in.correlator.chains = 19;
  in.engine.alerts = 23;
  in.ringbuf_bytes = 1 << 20;
  return in;
}

TEST(BuildStatus, IdentityAndCounters) {
  const v1::Status s = BuildStatus(Sample());
  EXPECT_EQ(s.version(), "9.9.9");
  EXPECT_EQ(s.kernel(), "6.18.0");
  EXPECT_EQ(s.node(), "node-a");
  EXPECT_EQ(s.mode(), "live");
  EXPECT_EQ(s.started_unix_ns(), 42);
  EXPECT_FALSE(s.ready());
  EXPECT_EQ(s.not_ready_reason(), "why not");
  ASSERT_EQ(s.missing_capabilities_size(), 2);
  EXPECT_EQ(s.missing_capabilities(1), "CAP_PERFMON");
  EXPECT_EQ(s.watched_processes(), 5u);
  EXPECT_EQ(s.process_table_size(), 6u);
  EXPECT_EQ(s.ringbuf_bytes(), 1u << 20);
  EXPECT_FALSE(s.has_kubernetes());
  const auto c = Counters(s);
  EXPECT_EQ(c.at("kernel_events_file"), 7u);
  EXPECT_EQ(c.at("kernel_events_proc"), 0u);
  EXPECT_EQ(c.at("kernel_ringbuf_drops_payload"), 3u);
  EXPECT_EQ(c.at("kernel_scratch_busy"), 2u);
  EXPECT_EQ(c.at("records_received"), 11u);
  EXPECT_EQ(c.at("pipeline_queue_drops"), 13u);
  EXPECT_EQ(c.at("mcp_calls"), 17u);
  EXPECT_EQ(c.at("chains"), 19u);
  EXPECT_EQ(c.at("detect_alerts"), 23u);
  // No store, no recorder: neither's counters.
  EXPECT_EQ(c.count("store_batches"), 0u);
  EXPECT_EQ(c.count("trace_events_written"), 0u);
  EXPECT_FALSE(s.has_store());
}

TEST(BuildStatus, MissingKernelCountersReadAsZero) {
  StatusInputs in = Sample();
  in.kernel_counters.clear();  // the sensor gave none
  const auto c = Counters(BuildStatus(in));
  EXPECT_EQ(c.at("kernel_events_file"), 0u);
  EXPECT_EQ(c.at("kernel_scratch_busy"), 0u);
}

TEST(BuildStatus, StoreSinksAndRecorder) {
  StatusInputs in = Sample();
  in.store_open = true;
  in.store.set_path("/var/lib/agentwatch/agentwatch.db");
  in.store_counters.batches = 29;
  in.store_counters.outbox_shed = 31;
  Delivery::SinkStats a;
  a.name = "siem";
  a.sent = 37;
  a.last_error = "refused";
  Delivery::SinkStats b;
  b.name = "fleet";
  b.rows = 41;
  in.sinks = {a, b};
  in.sink_types = {"syslog", "clickhouse"};
  in.record_file = "/tmp/t.awtrace";
  in.trace_events_written = 43;
  in.trace_events_dropped = 1;
  v1::KubernetesStatus k;
  k.set_enabled(true);
  k.set_pods_known(3);
  in.kubernetes = k;
  const v1::Status s = BuildStatus(in);
  EXPECT_EQ(s.store().path(), "/var/lib/agentwatch/agentwatch.db");
  ASSERT_EQ(s.sinks_size(), 2);
  EXPECT_EQ(s.sinks(0).name(), "siem");
  EXPECT_EQ(s.sinks(0).type(), "syslog");
  EXPECT_EQ(s.sinks(0).sent(), 37u);
  EXPECT_EQ(s.sinks(0).last_error(), "refused");
  EXPECT_EQ(s.sinks(1).type(), "clickhouse");
  EXPECT_EQ(s.sinks(1).rows(), 41u);
  EXPECT_EQ(s.record_file(), "/tmp/t.awtrace");
  EXPECT_EQ(s.kubernetes().pods_known(), 3u);
  const auto c = Counters(s);
  EXPECT_EQ(c.at("store_batches"), 29u);
  EXPECT_EQ(c.at("store_outbox_shed"), 31u);
  EXPECT_EQ(c.at("trace_events_written"), 43u);
  EXPECT_EQ(c.at("trace_events_dropped"), 1u);
}

TEST(BuildStatus, StoreThatFailedToOpenSaysWhy) {
  StatusInputs in = Sample();
  in.store_open = false;
  in.store_error = "unable to open database file";
  Delivery::SinkStats a;
  a.name = "ignored";  // no store, no delivery
  in.sinks = {a};
  const v1::Status s = BuildStatus(in);
  EXPECT_EQ(s.store().last_error(), "unable to open database file");
  EXPECT_EQ(s.sinks_size(), 0);
  EXPECT_EQ(Counters(s).count("store_batches"), 0u);
}

TEST(EventTypeLabel, LowerCaseWithoutPrefix) {
  EXPECT_EQ(EventTypeLabel(v1::EVENT_TYPE_EXEC), "exec");
  EXPECT_EQ(EventTypeLabel(v1::EVENT_TYPE_MCP_MESSAGE), "mcp_message");
  EXPECT_EQ(EventTypeLabel(v1::EVENT_TYPE_CHAIN_UPDATE), "chain_update");
}

}  // namespace
}  // namespace agentwatch
