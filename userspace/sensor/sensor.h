// The kernel side's lifecycle: feature probing, load with fallback, attach,
// ring-buffer polling, the watched map and the kernel counters.
#ifndef AGENTWATCH_SENSOR_SENSOR_H_
#define AGENTWATCH_SENSOR_SENSOR_H_

#include <cstdint>
#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "agentwatch/v1/agentwatch.pb.h"

struct agentwatch_bpf;
struct ring_buffer;
struct bpf_link;

namespace agentwatch {

struct SensorOptions {
  uint32_t ringbuf_bytes = 16u << 20;  // power of two, >= page size
  uint32_t argv_max = 1024;            // bytes of argv captured per exec
  uint16_t dns_port = 53;
  // Bytes captured per read/write of a watched pipe or socket; 0 disables
  // payload capture (its probes are not loaded).
  uint32_t payload_max = 16384;
  // Each watched process's payload budget: a token bucket refilled at
  // payload_rate bytes a second up to payload_burst; a capture costs its
  // bytes plus 1024. A process past its budget loses its own payload (stream
  // gaps, counted), not other processes'. 0 = no budget.
  uint32_t payload_rate = 4u << 20;
  uint32_t payload_burst = 16u << 20;
  // Each watched process's file, connection and DNS records: a token bucket
  // refilled at record_rate records a second up to record_burst. A process
  // past it loses its own records (counted, reported as a capture-evaded
  // record), not the ring's room for everyone's exec and exit. 0 = no
  // budget. A user's watched processes in one cgroup together get four
  // times both.
  uint32_t record_rate = 20000;
  uint32_t record_burst = 40000;
  // Discovery (needs payload capture): probe the stdio of every exec whose
  // stdin and stdout are pipes or sockets, and accepted TCP connections,
  // capturing their first probe_bytes per fd and direction.
  bool discover_stdio = true;
  bool discover_http = true;
  uint32_t probe_bytes = 16384;
  std::string tracefs = "/sys/kernel/tracing";
  // Use the fallback variant of every capability that has one (classic
  // tracepoints with enter/exit pairs), even where the preferred loads.
  bool fallback_only = false;
};

class Sensor {
 public:
  using RecordFn = std::function<void(std::span<const uint8_t>)>;

  Sensor() = default;
  ~Sensor();
  Sensor(const Sensor&) = delete;
  Sensor& operator=(const Sensor&) = delete;

  // Probes hook types, loads the object with the best variant per
  // capability, attaches every program it can. False (with error) only when
  // nothing usable could be loaded; optional hooks failing is not an error.
  bool Start(const SensorOptions& opts, RecordFn on_record, std::string* error);

  // Waits up to timeout_ms for records and hands each to on_record; then
  // also takes records that were submitted without waking the reader
  // (watched payload), so call it at least every few tens of ms.
  // Returns the number consumed, or a negative errno.
  int Poll(int timeout_ms);

  // Detaches every link and frees maps; safe to call twice.
  void Stop();

  bool Watch(uint32_t pid, uint32_t flags);
  // Puts a running process that is not watched on probation: the first
  // probe_bytes of each fd in fds are captured (discovery).
  bool Probe(uint32_t pid, const std::vector<int32_t>& fds);
  // Replaces the set of executable paths the kernel marks watched at exec.
  bool SetWatchedExecutables(const std::vector<std::string>& paths,
                             uint32_t flags);

  // Captures TLS plaintext in the binary or library at path (uprobes on
  // SSL_read/SSL_write and their _ex forms) for watched processes. Once per
  // file (by device and inode); pid is recorded as a user. Returns whether
  // the file is hooked.
  bool HookTls(const std::string& path, uint32_t pid);
  // A watched process uses a TLS library that cannot be hooked: recorded
  // for status.
  void NoteUnhookableTls(const std::string& path, const std::string& library,
                         uint32_t pid, const std::string& why);
  std::vector<v1::TlsHook> tls_hooks() const;

  // Kernel counters summed over CPUs, AW_CTR_* order.
  std::vector<uint64_t> KernelCounters() const;

  std::vector<v1::HookTypeStatus> hook_types() const;
  std::vector<v1::ProbeStatus> probes() const;
  bool healthy() const { return attached_ > 0; }

  // Detaches (attach false) or attaches again the probes whose program or
  // capability is `name`. Returns the statuses changed; none (with error)
  // when nothing matched or an attach failed.
  std::vector<v1::ProbeStatus> SetAttached(const std::string& name, bool attach,
                                           std::string* error);
  // False (with the probes named) while a probe that attached at start is
  // detached.
  bool AllAttached(std::string* why) const;

 private:
  void ProbeHookTypes();
  bool HookTypeAvailable(const std::string& type) const;
  // The steps of Start: open the object and set its load-time settings;
  // plan, load (again with the fallback plan if the load fails) and attach;
  // attach what the plan enabled; read the ring buffer.
  bool OpenAndConfigure(const SensorOptions& opts, std::string* error);
  bool LoadAndAttach(const SensorOptions& opts, std::string* error);
  void AttachPlanned(std::vector<v1::ProbeStatus>* plan);
  bool OpenRingBuffer(std::string* error);

  agentwatch_bpf* skel_ = nullptr;
  ring_buffer* rb_ = nullptr;
  RecordFn on_record_;
  std::atomic<int> attached_{0};
  uint32_t probe_bytes_ = 0;
  mutable std::mutex mu_;  // guards the status vectors
  std::vector<v1::HookTypeStatus> hook_types_;
  std::vector<v1::ProbeStatus> probes_;
  struct TlsFile {
    v1::TlsHook status;
    std::vector<bpf_link*> links;
  };
  std::map<std::pair<uint64_t, uint64_t>, TlsFile> tls_;  // by (dev, inode)
};

// Mounts tracefs at path if it is not there. Returns "" or an error.
std::string EnsureTracefs(const std::string& path);

}  // namespace agentwatch

#endif  // AGENTWATCH_SENSOR_SENSOR_H_
