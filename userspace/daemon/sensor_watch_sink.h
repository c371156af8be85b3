// The pipeline's decisions (watch, probe, hook TLS) carried out on the
// kernel sensor, with what /proc says about the process (proc/).
#ifndef AGENTWATCH_DAEMON_SENSOR_WATCH_SINK_H_
#define AGENTWATCH_DAEMON_SENSOR_WATCH_SINK_H_

#include <cstdint>
#include <string>
#include <vector>

#include "pipeline/pipeline.h"
#include "sensor/sensor.h"

namespace agentwatch {

class SensorWatchSink : public WatchSink {
 public:
  // discover_stdio: probe running processes whose stdio are pipes or
  // sockets; tls: hook the TLS libraries of watched processes.
  SensorWatchSink(Sensor* s, bool discover_stdio, bool tls, std::string proc_root = "/proc")
      : s_(s), discover_stdio_(discover_stdio), tls_(tls), proc_root_(std::move(proc_root)) {}

  bool Watch(uint32_t pid, uint32_t flags) override { return s_->Watch(pid, flags); }
  bool WatchExecutables(const std::vector<std::string>& paths, uint32_t flags) override {
    return s_->SetWatchedExecutables(paths, flags);
  }
  bool ProbeRunning(uint32_t pid) override;
  void CheckTls(uint32_t pid, bool at_exec) override;
  std::vector<v1::Event> Posture(uint32_t pid, uint64_t start_ns, uint32_t agent_pid,
                                 uint64_t agent_start_ns) override;

 private:
  Sensor* s_;
  bool discover_stdio_;
  bool tls_;
  std::string proc_root_;
};

// The host's OpenSSL libraries and node binaries, hooked at start so a
// process's first handshake is seen.
void HookHostTls(Sensor* sensor);

}  // namespace agentwatch

#endif  // AGENTWATCH_DAEMON_SENSOR_WATCH_SINK_H_
