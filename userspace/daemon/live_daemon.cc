#include "daemon/live_daemon.h"

#include <malloc.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <set>
#include <span>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/clock.h"
#include "common/text.h"
#include "daemon/daemon.h"
#include "daemon/wiring.h"
#include "events.h"
#include "ops/metrics.h"
#include "proc/proc_scan.h"
#include "redact/redactor.h"
#include "sensor/decode.h"

namespace agentwatch {

LiveDaemon::LiveDaemon(Config cfg, ReloadFn reload)
    : cfg_(std::move(cfg)),
      reload_(std::move(reload)),
      hub_(cfg_.backlog_events),
      sink_(&sensor_, cfg_.discover_stdio && cfg_.payload_max > 0, cfg_.payload_max > 0),
      cgroups_(cfg_.cgroup_root) {}

LiveDaemon::~LiveDaemon() {
  StopThreads();
  // Delivery reads the store's outbox, and the store's thread reads the
  // tracker: both end before the pipeline goes.
  delivery_.reset();
  if (store_) store_->Stop();
}

int LiveDaemon::Run() {
  // Signals are taken by sigwait on this thread only.
  sigemptyset(&signals_);
  for (int s : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&signals_, s);
  pthread_sigmask(SIG_BLOCK, &signals_, nullptr);
  if (int rc = PrepareStateDir()) return rc;
  if (int rc = InstallRedaction()) return rc;
  started_unix_ns_ = NowUnixNs();
  boot_to_unix_ns_ = BootToUnixOffsetNs();
  OpenStore();
  MakePipeline();
  if (int rc = LoadRules()) return rc;
  RestoreFromStore();
  if (int rc = StartDelivery()) return rc;
  if (int rc = StartRecorder()) return rc;
  if (int rc = StartSensor()) return rc;
  // TLS plaintext: the host's OpenSSL and node are hooked up front, so a
  // process's first handshake is seen; libraries elsewhere (containers,
  // other prefixes) when a watched process is seen using them.
  if (cfg_.payload_max > 0) HookHostTls(&sensor_);
  StartKubernetes();
  StartPipeline();
  StartPoller();
  if (int rc = ServeApi()) return rc;
  if (int rc = ServeHttp()) return rc;
  LogReady();
  SignalLoop();
  Shutdown();
  return 0;
}

int LiveDaemon::PrepareStateDir() {
  std::error_code ec;
  std::filesystem::create_directories(cfg_.state_dir, ec);
  if (ec) {
    spdlog::error("msg=\"cannot create state directory\" path={} error=\"{}\"", cfg_.state_dir,
                  ec.message());
    return 1;
  }
  chmod(cfg_.state_dir.c_str(), 0750);
  missing_caps_ = OwnMissingCapabilities();
  if (!missing_caps_.empty()) {
    spdlog::warn("msg=\"running without capabilities agentwatchd uses; add them to the "
                 "service or container\" missing=\"{}\"",
                 DescribeMissing(missing_caps_));
  }
  return 0;
}

// Before anything is captured: every string that leaves the daemon passes
// the redactor (catalogue from secrets_dir, key per install).
int LiveDaemon::InstallRedaction() {
  size_t formats = 0;
  if (std::string e = InstallRedactor(cfg_, true, &formats); !e.empty()) {
    spdlog::error("msg=\"cannot set up redaction\" error=\"{}\"", e);
    return 2;
  }
  spdlog::info("msg=\"redaction ready\" catalogue_rules={} dir={}", formats, cfg_.secrets_dir);
  return 0;
}

// The store opens first, so ids go on past the stored ones. A store that
// cannot open is retried in the background (not ready meanwhile): alerts
// are held in memory and reach the sinks from there.
void LiveDaemon::OpenStore() {
  if (!cfg_.store_enabled) return;
  store_ = Store::OpenOrDefer(StoreOptions(cfg_), &store_error_);
  if (!store_error_.empty()) {
    spdlog::error("msg=\"store cannot open; retrying in the background, alerts held in memory "
                  "and delivered from there\" error=\"{}\"",
                  store_error_);
    return;
  }
  spdlog::info("msg=\"store open\" path={} chains={} calls={}", store_->path(),
               store_->max_chain_id(), store_->max_call_id());
}

// Published events go to the hub (API subscribers) and, for chain steps
// and alerts, to the store. An alert reaches the hub (alerts --follow)
// only once the store committed it (or holds it, when it cannot write):
// one that anyone saw survives a kill -9.
void LiveDaemon::MakePipeline() {
  Pipeline::Options popts = PipelineOptions(cfg_);
  popts.live_peer_lookup = true;
  popts.sweep = true;
  Store* store = store_.get();
  Hub* hub = &hub_;
  pipeline_ = std::make_unique<Pipeline>(
      popts, &sink_, [hub, store](const v1::Event& ev, const std::vector<uint32_t>& lineage) {
        if (store != nullptr && ev.type() == v1::EVENT_TYPE_ALERT) {
          store->PutAlert(ev.alert(), [hub, ev, lineage] { hub->Publish(ev, lineage); });
          return;
        }
        hub->Publish(ev, lineage);
        if (store != nullptr && ev.type() == v1::EVENT_TYPE_CHAIN_UPDATE)
          store->Put(ev.chain_update());
      });
}

int LiveDaemon::LoadRules() {
  if (std::string e = LoadDetectionRules(cfg_.rules_dir, pipeline_.get(), &rules_loaded_);
      !e.empty()) {
    spdlog::error("msg=\"cannot load detection rules\" error=\"{}\"", e);
    return 2;
  }
  spdlog::info("msg=\"detection rules loaded\" rules={} dir={}", rules_loaded_, cfg_.rules_dir);
  return 0;
}

// Ids, known servers, tool inventories and baselines go on from the
// store; then its writer thread starts.
void LiveDaemon::RestoreFromStore() {
  if (!store_) return;
  Pipeline& p = *pipeline_;
  p.SetNextIds(store_->max_call_id() + 1, store_->max_chain_id() + 1);
  p.SetNextAlertId(store_->max_alert_id() + 1);
  std::string serr;
  std::set<std::string> known;
  for (const auto& v : store_->Servers(10000, &serr)) known.insert(v.id());
  p.SetKnownServers(std::move(known));
  p.LoadInventories(store_->Inventories(&serr));
  p.engine().LoadBaselines(store_->Baselines(&serr));
  if (!serr.empty()) spdlog::warn("msg=\"cannot read stored data\" error=\"{}\"", serr);
  store_->Start([&p](int64_t since, Store::Snapshot* out) {
    TrackerSnapshot(p.mcp_tracker(), since, out);
    p.engine().ChangedBaselines(since, &out->baselines);
  });
}

// Alerts to the sinks, from the store's outbox (stopped before the store).
int LiveDaemon::StartDelivery() {
  if (!store_ || cfg_.sinks.empty()) return 0;
  delivery_ = std::make_unique<Delivery>(
      store_.get(), cfg_.sinks, FormatContext{HostName(), kVersion, static_cast<uint32_t>(getpid())});
  if (std::string e = delivery_->Start(); !e.empty()) {
    spdlog::error("msg=\"cannot start alert delivery\" error=\"{}\"", e);
    return 2;
  }
  for (const auto& s : cfg_.sinks) {
    spdlog::info("msg=\"alert sink\" name={} type={} min_severity={} format={}", s.name, s.type,
                 s.min_severity, s.format);
    for (const auto& w : SinkWarnings(s)) spdlog::warn("msg=\"{}\"", w);
  }
  return 0;
}

int LiveDaemon::StartRecorder() {
  if (cfg_.record_file.empty()) return 0;
  if (std::string e = recorder_.Open(cfg_.record_file); !e.empty()) {
    spdlog::error("msg=\"cannot record\" error=\"{}\"", e);
    return 1;
  }
  pipeline_->SetRecorder(&recorder_);
  spdlog::info("msg=\"recording events\" file={}", cfg_.record_file);
  return 0;
}

void LiveDaemon::OnRecord(std::span<const uint8_t> rec) {
  ++records_;
  v1::Event ev;
  std::string derr;
  if (DecodeRecord(rec, boot_to_unix_ns_, &ev, &derr) != DecodeStatus::kOk) {
    ++decode_errors_;
    const int64_t now = NowUnixNs();
    if (now - last_decode_log_ns_ > 1000000000) {
      last_decode_log_ns_ = now;
      spdlog::warn("msg=\"undecodable kernel record\" error=\"{}\"", derr);
    }
    v1::Event loss;
    loss.set_type(v1::EVENT_TYPE_LOSS);
    loss.set_lost(1);
    loss.set_lost_reason("undecodable record: " + derr);
    pipeline_->Push(std::move(loss));
    return;
  }
  auto* p = ev.mutable_process();
  p->set_cgroup_path(cgroups_.Resolve(p->cgroup_id(), p->pid()));
  pipeline_->Push(std::move(ev));
}

int LiveDaemon::StartSensor() {
  std::string err;
  if (!sensor_.Start(SensorOptionsFrom(cfg_), [this](std::span<const uint8_t> rec) { OnRecord(rec); },
                     &err)) {
    if (!missing_caps_.empty()) {
      spdlog::error("msg=\"kernel sensors unavailable: capabilities missing\" error=\"{}\" "
                    "missing=\"{}\"",
                    err, DescribeMissing(missing_caps_));
    } else {
      spdlog::error("msg=\"kernel sensors unavailable\" error=\"{}\" hint=\"run "
                    "as root (CAP_BPF, CAP_PERFMON, CAP_SYS_RESOURCE) on Linux "
                    ">= 5.8 with BTF\"",
                    err);
    }
    return 1;
  }
  for (const auto& p : sensor_.probes()) {
    if (p.attached()) {
      spdlog::info("msg=\"probe attached\" capability={} program={} hook={} target={}",
                   p.capability(), p.program(), p.hook_type(), p.target());
    } else if (!p.detail().empty()) {
      spdlog::info("msg=\"probe not attached\" capability={} program={} hook={} reason=\"{}\"",
                   p.capability(), p.program(), p.hook_type(), p.detail());
    }
  }
  return 0;
}

void LiveDaemon::StartKubernetes() {
  kube_ = MakeKubeClient(cfg_, &pods_);
  if (!kube_) return;
  pipeline_->SetPodDirectory(&pods_);
  kube_->Start();
}

// After the sensor is up: exact-path rules go into its kernel map; then
// the processes that already run, so nothing falls between.
void LiveDaemon::StartPipeline() {
  pipeline_->SetWatchRules(cfg_.EffectiveWatchRules(), cfg_.watch_pids);
  pipeline_thread_ = std::thread([this] { pipeline_->Run(); });
  for (auto& ev : ScanProc("/proc")) {
    ev.mutable_process()->set_cgroup_path(
        cgroups_.Resolve(ev.process().cgroup_id(), ev.process().pid()));
    pipeline_->Push(std::move(ev));
  }
}

void LiveDaemon::StartPoller() {
  last_poll_ns_ = NowUnixNs();
  poll_thread_ = std::thread([this] { Poll(); });
}

void LiveDaemon::Poll() {
  std::vector<uint64_t> last = sensor_.KernelCounters();
  int64_t last_check = NowUnixNs();
  uint64_t seconds = 0;
  while (!stop_) {
    // Watched payload does not wake us: this bounds how late it is read.
    const int n = sensor_.Poll(20);
    if (n < 0 && n != -EINTR) {
      spdlog::error("msg=\"ring buffer poll failed\" error={}", n);
      break;
    }
    const int64_t now = NowUnixNs();
    last_poll_ns_.store(now, std::memory_order_relaxed);
    if (now - last_check < 1000000000) continue;
    last_check = now;
    // Memory freed after a burst (sessions that ended, evicted state) goes
    // back to the system instead of staying in the allocator.
    if (++seconds % 30 == 0) malloc_trim(0);
    std::vector<uint64_t> cur = sensor_.KernelCounters();
    uint64_t dropped = 0;
    for (int c = 0; c < AW_CAT_MAX; ++c) dropped += cur[AW_CTR_DROPPED + c] - last[AW_CTR_DROPPED + c];
    if (dropped > 0) {
      v1::Event loss;
      loss.set_type(v1::EVENT_TYPE_LOSS);
      loss.set_time_unix_ns(now);
      loss.set_ktime_ns(NowBoottimeNs());
      loss.set_lost(dropped);
      loss.set_lost_reason("kernel ring buffer full");
      pipeline_->Push(std::move(loss));
      spdlog::warn("msg=\"ring buffer overflow\" lost={}", dropped);
    }
    last = std::move(cur);
  }
}

bool LiveDaemon::Ready(std::string* why) const {
  ReadinessInputs in;
  in.probes_attached = sensor_.AllAttached(&in.probes_detail);
  in.now_unix_ns = NowUnixNs();
  in.last_poll_unix_ns = last_poll_ns_.load(std::memory_order_relaxed);
  in.store_enabled = cfg_.store_enabled;
  in.store_open = store_ != nullptr;
  in.store_error = store_ ? store_->Trouble() : store_error_;
  return Readiness(in, why);
}

StatusInputs LiveDaemon::GatherStatus() const {
  StatusInputs in;
  in.ready = Ready(&in.not_ready_reason);
  in.version = kVersion;
  in.kernel = KernelRelease();
  in.node = NodeName();
  in.started_unix_ns = started_unix_ns_;
  for (const auto& c : missing_caps_) in.missing_capabilities.push_back(c.name);
  if (kube_) in.kubernetes = kube_->Status();
  in.hook_types = sensor_.hook_types();
  in.probes = sensor_.probes();
  in.tls = sensor_.tls_hooks();
  in.kernel_counters = sensor_.KernelCounters();
  in.ringbuf_bytes = cfg_.ringbuf_bytes;
  in.records_received = records_;
  in.records_undecodable = decode_errors_;
  in.cgroup_lookup_misses = cgroups_.misses();
  Pipeline& p = *pipeline_;  // its getters read atomics and locked state
  in.watched_processes = p.watched();
  in.process_table_size = p.table_size();
  in.pipeline_queue_drops = p.queue_drops();
  in.pipeline_payload_drops = p.payload_drops();
  in.events_processed = p.processed();
  in.process_table_evictions = p.table_evictions();
  in.subscriber_drops = hub_.subscriber_drops();
  in.mcp_messages = p.mcp_messages();
  in.stream_gaps = p.stream_gaps();
  in.stream_gap_bytes = p.stream_gap_bytes();
  in.processes_swept = p.swept_exits();
  in.streams_evicted_for_memory = p.streams_evicted_for_memory();
  in.mcp_frames_invalid = p.mcp_invalid();
  in.servers_discovered = p.servers_discovered();
  in.probes_not_mcp = p.probes_not_mcp();
  in.tracker = p.mcp_tracker().counters();
  in.correlator = p.correlator().counters();
  in.engine = p.engine().counters();
  in.store_open = store_ != nullptr;
  in.store_error = store_ ? store_->Trouble() : store_error_;
  if (store_) {
    store_->FillStatus(&in.store);
    in.store_counters = store_->counters();
  }
  if (delivery_) in.sinks = delivery_->Stats();
  for (const auto& s : cfg_.sinks) in.sink_types.push_back(s.type);
  in.record_file = cfg_.record_file;
  in.trace_events_written = recorder_.written();
  in.trace_events_dropped = recorder_.dropped();
  return in;
}

v1::Status LiveDaemon::Status() const {
  v1::Status s = BuildStatus(GatherStatus());
  DefaultRedactor()->RedactMessage(&s);  // sink errors, paths, probe details
  return s;
}

int LiveDaemon::ServeApi() {
  service_ = std::make_unique<AgentWatchService>(
      &hub_, [this] { return Status(); }, &pipeline_->mcp_tracker(), &pipeline_->correlator(),
      store_.get(), &pipeline_->engine());
  service_->SetProbeControl([this](const v1::SetProbeRequest& req, v1::SetProbeResponse* out) {
    std::string e;
    for (auto& p : sensor_.SetAttached(req.program(), req.attach(), &e)) *out->add_probes() = p;
    return e;
  });
  if (kube_) service_->SetKubernetesFill([this](v1::Kubernetes* k) { pods_.Fill(k); });
  ApiTls tls;
  if (!cfg_.api_tcp_listen.empty()) {
    std::string e;
    for (const auto& [path, out] : {std::pair{&cfg_.tls_cert_file, &tls.cert_pem},
                                    {&cfg_.tls_key_file, &tls.key_pem},
                                    {&cfg_.tls_client_ca_file, &tls.client_ca_pem}}) {
      if (!ReadFileText(*path, out)) e = fmt::format("cannot read {}", *path);
    }
    if (!e.empty()) return AbortStart("cannot serve the API over TCP", e);
  }
  if (std::string e = api_.Start(cfg_.endpoint, service_.get(), cfg_.api_tcp_listen, &tls);
      !e.empty())
    return AbortStart("cannot serve the API", e);
  if (!cfg_.api_tcp_listen.empty())
    spdlog::info("msg=\"API on TCP (TLS, client certificates required)\" address={}",
                 api_.tcp_address());
  return 0;
}

HttpServer::Response LiveDaemon::ServeHttpPath(const std::string& path) const {
  HttpServer::Response r;
  if (path == "/healthz") {
    r.body = "ok\n";
  } else if (path == "/readyz") {
    std::string why;
    const bool ready = Ready(&why);
    r.status = ready ? 200 : 503;
    r.body = ready ? "ready\n" : why + "\n";
  } else if (path == "/metrics") {
    MetricsSnapshot m;
    m.status = Status();
    for (const auto& [t, n] : pipeline_->EventsByType())
      m.events_by_type.emplace_back(EventTypeLabel(t), n);
    // Label values pass the redaction stage (status is redacted already).
    for (const auto& [key, n] : pipeline_->engine().RuleMatches())
      m.rule_matches[{DefaultRedactor()->Redact(key.first), key.second}] += n;
    m.latency = pipeline_->latency().Get();
    const McpTracker::Live live = pipeline_->mcp_tracker().LiveCounts();
    m.servers_live = live.servers;
    m.sessions_open = live.sessions;
    m.agents_live = live.agents;
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    r.body = RenderPrometheus(m);
  } else {
    r.status = 404;
    r.body = "not found: /metrics, /healthz and /readyz are served here\n";
  }
  return r;
}

int LiveDaemon::ServeHttp() {
  const TlsServerFiles tls{cfg_.tls_cert_file, cfg_.tls_key_file, cfg_.tls_client_ca_file};
  for (const auto& [addr, files] : {std::pair<std::string, const TlsServerFiles*>{
                                        cfg_.metrics_listen, nullptr},
                                    {cfg_.metrics_tls_listen, &tls}}) {
    if (addr.empty()) continue;
    if (std::string e = http_.Listen(addr, files); !e.empty()) {
      api_.Shutdown();
      return AbortStart("cannot serve metrics", e);
    }
  }
  http_.Start([this](const HttpRequest& req) { return ServeHttpPath(req.path); });
  for (const auto& a : http_.addresses())
    spdlog::info("msg=\"metrics and health\" address={} paths=\"/metrics /healthz /readyz\"", a);
  if (!cfg_.console_listen.empty()) {
    std::string host, port;
    SplitHostPort(cfg_.console_listen, &host, &port);
    const bool plain = IsLoopbackHost(host);
    if (std::string e = console_http_.Listen(cfg_.console_listen, plain ? nullptr : &tls);
        !e.empty()) {
      http_.Stop();
      api_.Shutdown();
      return AbortStart("cannot serve the console (console.listen)", e);
    }
    console_ = std::make_unique<ConsoleApi>(service_.get());
    console_->SetBound(console_http_.addresses());
    console_http_.Start([this](const HttpRequest& req) { return console_->Handle(req); });
    for (const auto& a : console_http_.addresses())
      spdlog::info("msg=\"web console\" url={}://{}/ tls={}", plain ? "http" : "https", a,
                   plain ? "off" : "client certificates required");
  }
  return 0;
}

void LiveDaemon::LogReady() {
  int attached = 0;
  for (const auto& p : sensor_.probes()) attached += p.attached();
  spdlog::info("msg=\"agentwatchd ready\" endpoint={} probes_attached={}", cfg_.endpoint, attached);
}

void LiveDaemon::SignalLoop() {
  while (true) {
    // Wakes at least once a second to keep the gRPC health service in step
    // with readiness.
    timespec tick{1, 0};
    const int sig = sigtimedwait(&signals_, nullptr, &tick);
    if (sig < 0) {
      FollowReadiness();
    } else if (sig == SIGHUP) {
      Reload();
    } else {
      spdlog::info("msg=\"stopping\" signal={}", strsignal(sig));
      return;
    }
  }
}

void LiveDaemon::FollowReadiness() {
  std::string why;
  const bool ready = Ready(&why);
  if (ready == serving_) return;
  api_.SetServing(ready);
  serving_ = ready;
  if (ready) {
    spdlog::info("msg=\"ready again\"");
  } else {
    spdlog::warn("msg=\"not ready\" reason=\"{}\"", why);
  }
}

// SIGHUP: the settings the table marks reloadable take effect; a changed
// restart-only setting is named and keeps its running value.
void LiveDaemon::Reload() {
  Config next = cfg_;
  if (std::string e = reload_ ? reload_(&next) : ""; !e.empty()) {
    spdlog::error("msg=\"reload failed; keeping the running config\" error=\"{}\"", e);
    return;
  }
  for (const auto& key : RestartOnlyChanges(cfg_, next))
    spdlog::warn("msg=\"setting changes only on restart; the running value stays\" key={}", key);
  spdlog::set_level(spdlog::level::from_str(next.log_level));
  pipeline_->SetWatchRules(next.EffectiveWatchRules(), next.watch_pids);
  if (std::string e = LoadDetectionRules(next.rules_dir, pipeline_.get(), &rules_loaded_);
      !e.empty()) {
    spdlog::error("msg=\"detection rules not reloaded; keeping the running ones\" error=\"{}\"",
                  e);
    next.rules_dir = cfg_.rules_dir;
  } else {
    spdlog::info("msg=\"detection rules reloaded\" rules={}", rules_loaded_);
  }
  size_t formats = 0;
  if (std::string e = InstallRedactor(next, true, &formats); !e.empty()) {
    spdlog::error("msg=\"credential formats not reloaded; keeping the running ones\" error=\"{}\"",
                  e);
    next.secrets_dir = cfg_.secrets_dir;
  } else {
    spdlog::info("msg=\"credential formats reloaded\" formats={}", formats);
  }
  ApplyReloadable(next, &cfg_);
  spdlog::info("msg=\"configuration reloaded\" watch_rules={}", cfg_.EffectiveWatchRules().size());
}

int LiveDaemon::AbortStart(const std::string& what, const std::string& error) {
  spdlog::error("msg=\"{}\" error=\"{}\"", what, error);
  StopThreads();
  return 1;
}

void LiveDaemon::StopThreads() {
  if (kube_) kube_->Stop();
  stop_ = true;
  if (poll_thread_.joinable()) poll_thread_.join();
  if (pipeline_thread_.joinable()) {
    pipeline_->Stop();
    pipeline_thread_.join();
  }
}

void LiveDaemon::Shutdown() {
  // Bounded: each step ends in its own time, and what the pipeline could
  // not process within kDrain is cut and said (a stop under load must not
  // take as long as the backlog, and the kubelet kills after its grace
  // period anyway).
  constexpr std::chrono::milliseconds kDrain{2000};
  const auto began = std::chrono::steady_clock::now();
  auto ms = [&] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now() - began)
        .count();
  };
  console_http_.Stop();
  http_.Stop();
  api_.Shutdown();
  if (kube_) kube_->Stop();
  const auto listeners_ms = ms();
  stop_ = true;
  if (poll_thread_.joinable()) poll_thread_.join();
  sensor_.Stop();  // links detached, maps freed
  const auto probes_ms = ms();
  const size_t queued = pipeline_->queue_depth();
  if (pipeline_thread_.joinable()) {
    pipeline_->Stop(kDrain);
    pipeline_thread_.join();
  }
  const auto drained_ms = ms();
  // Delivery reads the store's outbox: it ends first (a sink in the middle
  // of a send, within its timeout; alerts are committed as they come, so
  // none waits for the last batch).
  delivery_.reset();
  if (store_) store_->Stop();  // the last batch, with the chains' last steps
  recorder_.Close();
  const uint64_t cut = pipeline_->cut_at_stop();
  spdlog::log(cut > 0 ? spdlog::level::warn : spdlog::level::info,
              "msg=\"stopped\" events_processed={} queued_at_stop={} drained={} cut={} "
              "listeners_ms={} probes_ms={} drain_ms={} total_ms={}",
              pipeline_->processed(), queued, queued >= cut ? queued - cut : 0, cut,
              listeners_ms, probes_ms - listeners_ms, drained_ms - probes_ms, ms());
}

}  // namespace agentwatch
