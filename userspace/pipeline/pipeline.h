// The pipeline thread: consumes decoded events in order, keeps the process
// table, applies the watch rules (marking processes in the kernel), numbers
// the events and publishes them. Deterministic: the same input gives the same
// output, which is what --replay relies on.
#ifndef AGENTWATCH_PIPELINE_PIPELINE_H_
#define AGENTWATCH_PIPELINE_PIPELINE_H_

#include <array>
#include <chrono>
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <unordered_map>

#include "agentwatch/v1/agentwatch.pb.h"
#include "chain/correlator.h"
#include "common/latency_histogram.h"
#include "detect/engine.h"
#include "kube/kube.h"
#include "pipeline/bounded_queue.h"
#include "pipeline/hub.h"
#include "pipeline/trace_file.h"
#include "pipeline/watch_rules.h"
#include "proc/process_table.h"
#include "session/mcp_stage.h"

namespace agentwatch {

// Where watch decisions go: the kernel's watched map (live) or nowhere
// (replay).
class WatchSink {
 public:
  virtual ~WatchSink() = default;
  virtual bool Watch(uint32_t pid, uint32_t flags) = 0;
  // Executables the kernel itself marks at exec (exact paths), so a server
  // is watched from its first syscall rather than from when userspace
  // hears of its exec.
  virtual bool WatchExecutables(const std::vector<std::string>& paths,
                                uint32_t flags) = 0;
  // Discovery for a process that already ran when the daemon started: if
  // its stdin and stdout are pipes or sockets, capture their next bytes.
  virtual bool ProbeRunning(uint32_t pid) { return false; }
  // A watched process exec'd or opened its first connection: hook the TLS
  // libraries it uses (live only).
  virtual void CheckTls(uint32_t pid, bool at_exec) {}
  // A server was discovered: the static credentials it (subject "server")
  // and its agent (agent_pid, 0 for none) hold, as EVENT_TYPE_POSTURE
  // events naming the process (live only: read from /proc and the
  // agent's MCP configuration files). start_ns: each one's start time
  // (CLOCK_BOOTTIME, 0 unknown), so that a pid reused since is not read.
  virtual std::vector<v1::Event> Posture(uint32_t pid, uint64_t start_ns, uint32_t agent_pid,
                                         uint64_t agent_start_ns) {
    return {};
  }
};

class Pipeline {
 public:
  struct Options {
    // Events queued between the sensor and the pipeline. Payload may take
    // three quarters of the places and queue_payload_bytes, one process's
    // a quarter of that; the rest is kept for lifecycle and security
    // events (exec, exit, files, connections, DNS, evasions, LOSS), which
    // payload never crowds out.
    size_t queue_size = 65536;
    uint64_t queue_payload_bytes = 64ull << 20;
    ProcessTable::Options table;
    // Find the client of an HTTP server in /proc (live mode only; a replay
    // has no processes to look at).
    bool live_peer_lookup = false;
    // Live only: every sweep_interval_ms, processes the table holds as
    // running that are gone (missed at two sweeps in a row, once the queue
    // has passed the first miss: their exit may still be queued) get an
    // exit event marked swept, which ends their servers, sessions and
    // pending calls. Whether a pid (or tid) is there: sweep_alive, by
    // default kill(pid, 0) when the daemon is in the host's pid namespace
    // (elsewhere the sweep is off). false = no sweep (replay, tests).
    bool sweep = false;
    std::function<bool(uint32_t)> sweep_alive;
    uint32_t sweep_interval_ms = 10000;
    McpTracker::Options tracker;
    Correlator::Options correlator;
    Engine::Options engine;
  };
  // Output of every processed event; runs on the pipeline thread.
  using OutputFn = std::function<void(const v1::Event&,
                                      const std::vector<uint32_t>& lineage)>;

  Pipeline(Options opts, WatchSink* sink, OutputFn out);

  // Producer side (sensor thread). Never blocks; false when full or when
  // payload is over its share (counted by lane, logged at most every 10 s,
  // and the next accepted event is preceded by a LOSS event).
  bool Push(v1::Event&& ev);

  // Consumer loop; returns after Stop() once the queue is drained (or the
  // drain time is up).
  void Run();
  // Run returns once the queue is empty, or once drain has passed with
  // events still queued: those are cut (cut_at_stop says how many).
  void Stop(std::chrono::milliseconds drain = std::chrono::milliseconds::max());
  uint64_t cut_at_stop() const { return cut_at_stop_; }
  size_t queue_depth() const { return q_.size(); }

  // Processes one event synchronously (replay, tests).
  void Process(v1::Event ev);

  // New rules apply to execs from now on and to every known live process
  // (SIGHUP). Thread-safe.
  void SetWatchRules(std::vector<WatchRule> rules, std::vector<uint32_t> pids);

  // Call and chain ids go on from these (after a restart, past the
  // stored ones). Before Run.
  void SetNextIds(uint64_t call, uint64_t chain) {
    mcp_.tracker().SetNextCallId(call);
    correlator_.SetNextChainId(chain);
  }

  // Instance ids ("<pid>-<start ms>") of MCP servers an earlier run knew:
  // found running at start, they are watched at once. Before Run.
  void SetKnownServers(std::set<std::string> ids) { known_servers_ = std::move(ids); }

  // Detection rules (any thread); on error the running ones stay.
  std::string SetDetectionRules(const RuleSet& rules) { return engine_.SetRules(rules); }
  void SetNextAlertId(uint64_t id) { engine_.SetNextAlertId(id); }
  // Alerts and rules (internally locked; any thread).
  const Engine& engine() const { return engine_; }
  Engine& engine() { return engine_; }

  // Pod metadata to fill into events, calls, chains and alerts (live, in
  // Kubernetes); null = pod uid and container id from cgroups only.
  void SetPodDirectory(PodDirectory* pods) { pods_ = pods; }

  // Records every input event (before processing) to w; null to stop.
  void SetRecorder(TraceWriter* w) { recorder_ = w; }

  uint64_t processed() const { return processed_; }
  // Events other than payload dropped because the queue was full.
  uint64_t queue_drops() const { return queue_drops_; }
  // Payload events dropped because payload had taken its share.
  uint64_t payload_drops() const { return payload_drops_; }
  uint64_t table_size() const { return table_size_; }
  uint64_t table_evictions() const { return table_evictions_; }
  // Live watched processes, as of the last once-a-second maintenance.
  uint64_t watched() const { return watched_; }
  uint64_t mcp_messages() const { return mcp_messages_; }
  uint64_t mcp_invalid() const { return mcp_invalid_; }
  // Holes in decoded streams and the bytes they lost.
  uint64_t stream_gaps() const { return stream_gaps_; }
  uint64_t stream_gap_bytes() const { return stream_gap_bytes_; }
  // Streams whose undecoded bytes were dropped to keep the decoders' bound.
  uint64_t streams_evicted_for_memory() const { return streams_evicted_for_memory_; }
  uint64_t servers_discovered() const { return servers_discovered_; }
  uint64_t posture_findings() const { return posture_findings_; }
  uint64_t probes_not_mcp() const { return probes_not_mcp_; }
  // Exits the /proc sweep supplied (their kernel exit record was lost).
  uint64_t swept_exits() const { return swept_exits_; }
  // Events published, by type (any thread).
  std::vector<std::pair<v1::EventType, uint64_t>> EventsByType() const;
  // Kernel timestamp to processed, for events taken by Run() (any thread).
  const LatencyHistogram& latency() const { return latency_; }
  // Servers, sessions, calls and tools (internally locked; any thread).
  const McpTracker& mcp_tracker() { return mcp_.tracker(); }
  // Before Run(): tool inventories an earlier run stored, so a definition
  // changed while the daemon was down is seen as a change.
  void LoadInventories(const std::vector<v1::McpToolInventory>& invs) {
    mcp_.tracker().LoadInventories(invs);
  }
  // Action chains (internally locked; any thread).
  const Correlator& correlator() const { return correlator_; }

 private:
  void Handle(v1::Event& ev, std::vector<v1::Event>* derived);
  void Publish(v1::Event& ev);
  void MaybeWatch(ProcessInfo* p, const char* why);
  void RewatchAll();
  // The sweep for lost exits (see Options::sweep).
  void Sweep();
  void OnMcpServer(ProcessInfo* p, std::vector<v1::Event>* derived);
  // The posture events of a server just discovered and of its agent
  // (each process instance once), with a rotated credential marked.
  void PostureOf(const ProcessInfo& p, std::vector<v1::Event>* derived);

  WatchSink* sink_;
  OutputFn out_;
  using Queue = BoundedQueue<v1::Event>;
  uint64_t FlowFor(const v1::Event& ev, Queue::Barrier* after);
  void Pushed(uint32_t pid, v1::EventType type, uint32_t child, uint64_t flow);
  Queue q_;
  // The flow of each process's last event queued (Push's side).
  static constexpr size_t kMaxPidFlows = 1 << 17;
  std::mutex flows_mu_;
  std::unordered_map<uint32_t, uint64_t> pid_flows_;
  ProcessTable table_;
  McpStage mcp_;
  Correlator correlator_;
  Engine engine_;
  TraceWriter* recorder_ = nullptr;
  PodDirectory* pods_ = nullptr;
  // The pod of pid, from its cgroup and the pod directory; false when it
  // is in no pod.
  bool KubernetesOf(uint32_t pid, v1::Kubernetes* k);

  std::set<uint32_t> tls_checked_;
  std::set<std::string> known_servers_;  // watched pids whose libraries were seen
  // Posture: the process instances looked at, and the fingerprint each
  // credential (exe, subject, source, name) had when last seen.
  std::set<std::string> posture_seen_;
  std::map<std::string, std::string> posture_fingerprints_;
  std::mutex rules_mu_;
  std::shared_ptr<WatchMatcher> pending_matcher_;  // set by SetWatchRules
  std::shared_ptr<WatchMatcher> matcher_;

  uint64_t seq_ = 0;
  uint64_t next_maintenance_ns_ = 0;  // kernel time of the next Expire()
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> drain_until_ns_{INT64_MAX};  // steady clock
  std::atomic<uint64_t> cut_at_stop_{0};
  std::atomic<uint64_t> processed_{0};
  std::atomic<uint64_t> queue_drops_{0};
  std::atomic<uint64_t> payload_drops_{0};
  int64_t last_drop_log_ns_ = 0;  // producer side
  uint64_t drops_logged_ = 0;
  std::atomic<uint64_t> unreported_drops_{0};
  std::atomic<uint64_t> table_size_{0};
  std::atomic<uint64_t> table_evictions_{0};
  std::atomic<uint64_t> watched_{0};
  std::atomic<uint64_t> mcp_messages_{0};
  std::atomic<uint64_t> mcp_invalid_{0};
  std::atomic<uint64_t> stream_gaps_{0};
  std::atomic<uint64_t> stream_gap_bytes_{0};
  std::atomic<uint64_t> streams_evicted_for_memory_{0};
  std::atomic<uint64_t> servers_discovered_{0};
  std::atomic<uint64_t> posture_findings_{0};
  std::atomic<uint64_t> probes_not_mcp_{0};
  std::atomic<uint64_t> swept_exits_{0};
  bool sweep_;
  std::function<bool(uint32_t)> sweep_alive_;
  std::chrono::milliseconds sweep_interval_;
  // Gone at the last sweep, with the number of the last event queued then.
  std::map<uint32_t, uint64_t> sweep_suspects_;
  std::array<std::atomic<uint64_t>, 64> by_type_{};
  LatencyHistogram latency_;
};

}  // namespace agentwatch

#endif  // AGENTWATCH_PIPELINE_PIPELINE_H_
