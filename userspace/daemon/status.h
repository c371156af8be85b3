// What `agentwatch status` and /metrics show, built from the components'
// figures by pure functions: the daemon gathers a StatusInputs (each part
// from the component that owns it) and BuildStatus turns it into the
// v1::Status served; Readiness decides /readyz and the gRPC health.
#ifndef AGENTWATCH_DAEMON_STATUS_H_
#define AGENTWATCH_DAEMON_STATUS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "agentwatch/v1/agentwatch.pb.h"
#include "chain/correlator.h"
#include "detect/engine.h"
#include "export/delivery.h"
#include "session/mcp_tracker.h"
#include "store/store.h"

namespace agentwatch {

// Ready: the probes that attached at start still are, the ring buffer is
// being read, and the store (if enabled) is open.
struct ReadinessInputs {
  bool probes_attached = true;
  std::string probes_detail;  // which probe is detached, when not attached
  int64_t now_unix_ns = 0;
  int64_t last_poll_unix_ns = 0;
  bool store_enabled = false;
  bool store_open = false;   // a store exists (it may not be open yet)
  std::string store_error;   // why it cannot open or write ("" when it works)
};
// The longest the ring buffer may go unread before the daemon is not ready.
inline constexpr int64_t kMaxPollGapNs = 5000000000LL;
bool Readiness(const ReadinessInputs& in, std::string* why);

struct StatusInputs {
  // The daemon.
  std::string version;
  std::string kernel;
  std::string node;
  int64_t started_unix_ns = 0;
  std::string mode = "live";
  bool ready = false;
  std::string not_ready_reason;
  std::vector<std::string> missing_capabilities;
  std::optional<v1::KubernetesStatus> kubernetes;  // when a client runs
  // The sensor.
  std::vector<v1::HookTypeStatus> hook_types;
  std::vector<v1::ProbeStatus> probes;
  std::vector<v1::TlsHook> tls;
  std::vector<uint64_t> kernel_counters;  // AW_CTR_* (bpf/events.h)
  uint64_t ringbuf_bytes = 0;
  uint64_t records_received = 0;
  uint64_t records_undecodable = 0;
  uint64_t cgroup_lookup_misses = 0;
  // The pipeline and its stages.
  uint64_t watched_processes = 0;
  uint64_t process_table_size = 0;
  uint64_t pipeline_queue_drops = 0;    // lifecycle events: queue full
  uint64_t pipeline_payload_drops = 0;  // payload over its share
  uint64_t events_processed = 0;
  uint64_t process_table_evictions = 0;
  uint64_t subscriber_drops = 0;
  uint64_t mcp_messages = 0;
  uint64_t stream_gaps = 0;
  uint64_t stream_gap_bytes = 0;
  uint64_t processes_swept = 0;
  uint64_t streams_evicted_for_memory = 0;
  uint64_t mcp_frames_invalid = 0;
  uint64_t servers_discovered = 0;
  uint64_t probes_not_mcp = 0;
  McpTracker::Counters tracker;
  Correlator::Counters correlator;
  Engine::Counters engine;
  // The store and delivery (store_open false: no store; store_error says
  // why when it failed to open).
  bool store_open = false;
  v1::StoreStatus store;
  Store::Counters store_counters;
  std::string store_error;
  std::vector<Delivery::SinkStats> sinks;
  std::vector<std::string> sink_types;  // by index, as configured
  // The recorder ("" = not recording).
  std::string record_file;
  uint64_t trace_events_written = 0;
  uint64_t trace_events_dropped = 0;
};

v1::Status BuildStatus(const StatusInputs& in);

// "exec" for EVENT_TYPE_EXEC: the label metrics use for an event type.
std::string EventTypeLabel(v1::EventType t);

}  // namespace agentwatch

#endif  // AGENTWATCH_DAEMON_STATUS_H_
