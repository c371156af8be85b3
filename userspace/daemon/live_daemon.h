// The live daemon, started in named steps (the composition root):
// open the store, load the rules, start delivery and the recorder, start
// the sensor, start the pipeline and the ring-buffer poller, serve the API
// and HTTP, then the signal loop. Each step logs what it did; one that
// fails says why and Run returns the exit code.
#ifndef AGENTWATCH_DAEMON_LIVE_DAEMON_H_
#define AGENTWATCH_DAEMON_LIVE_DAEMON_H_

#include <signal.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "api/service.h"
#include "console/console_api.h"
#include "daemon/caps.h"
#include "daemon/config.h"
#include "daemon/sensor_watch_sink.h"
#include "daemon/status.h"
#include "export/delivery.h"
#include "kube/kube.h"
#include "ops/http_server.h"
#include "pipeline/hub.h"
#include "pipeline/pipeline.h"
#include "pipeline/trace_file.h"
#include "proc/cgroup.h"
#include "sensor/sensor.h"
#include "store/store.h"

namespace agentwatch {

class LiveDaemon {
 public:
  using ReloadFn = std::function<std::string(Config*)>;
  LiveDaemon(Config cfg, ReloadFn reload);
  ~LiveDaemon();
  LiveDaemon(const LiveDaemon&) = delete;
  LiveDaemon& operator=(const LiveDaemon&) = delete;

  // Until SIGTERM/SIGINT; the process exit code (1: cannot start, 2: bad
  // rules or sinks).
  int Run();

 private:
  // Start-up steps; each returns 0 or the exit code.
  int PrepareStateDir();
  int InstallRedaction();
  void OpenStore();
  void MakePipeline();
  int LoadRules();
  void RestoreFromStore();
  int StartDelivery();
  int StartRecorder();
  int StartSensor();
  void StartKubernetes();
  void StartPipeline();
  void StartPoller();
  int ServeApi();
  int ServeHttp();
  void LogReady();
  // The signal loop: readiness ticks, SIGHUP reloads, SIGTERM/SIGINT end it.
  void SignalLoop();
  void Reload();
  void FollowReadiness();

  // The sensor thread's callback: one kernel record into the pipeline.
  void OnRecord(std::span<const uint8_t> rec);
  // The sensor thread: polls the ring buffer, reports kernel drops.
  void Poll();

  bool Ready(std::string* why) const;
  StatusInputs GatherStatus() const;
  v1::Status Status() const;
  HttpServer::Response ServeHttpPath(const std::string& path) const;

  // Failure after the threads started: logs, stops them, returns 1.
  int AbortStart(const std::string& what, const std::string& error);
  void StopThreads();
  void Shutdown();

  Config cfg_;
  ReloadFn reload_;
  sigset_t signals_{};
  int64_t started_unix_ns_ = 0;
  int64_t boot_to_unix_ns_ = 0;
  std::vector<CapabilityNeed> missing_caps_;

  Hub hub_;
  Sensor sensor_;
  SensorWatchSink sink_;
  std::unique_ptr<Store> store_;
  std::string store_error_;
  std::unique_ptr<Pipeline> pipeline_;
  size_t rules_loaded_ = 0;
  std::unique_ptr<Delivery> delivery_;
  TraceWriter recorder_;
  CgroupResolver cgroups_;
  PodDirectory pods_;
  std::unique_ptr<KubeClient> kube_;
  std::unique_ptr<AgentWatchService> service_;
  ApiServer api_;
  HttpServer http_;
  // The web console: its own server (long-lived event streams) over the
  // same service as the API.
  HttpServer console_http_{HttpServer::Options{.max_connections = 32,
                                               .read_timeout_s = 5,
                                               .write_timeout_s = 10,
                                               .name = "console"}};
  std::unique_ptr<ConsoleApi> console_;

  std::atomic<uint64_t> records_{0};
  std::atomic<uint64_t> decode_errors_{0};
  std::atomic<int64_t> last_decode_log_ns_{0};
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> last_poll_ns_{0};
  std::thread pipeline_thread_;
  std::thread poll_thread_;
  bool serving_ = true;
};

}  // namespace agentwatch

#endif  // AGENTWATCH_DAEMON_LIVE_DAEMON_H_
