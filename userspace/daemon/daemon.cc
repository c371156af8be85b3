#include "daemon/daemon.h"

#include <malloc.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <google/protobuf/util/json_util.h>
#include <spdlog/spdlog.h>

#include "api/service.h"
#include "common/clock.h"
#include "common/text.h"
#include "daemon/caps.h"
#include "events.h"
#include "export/delivery.h"
#include "kube/kube.h"
#include "ops/http_server.h"
#include "ops/metrics.h"
#include "pipeline/hub.h"
#include "pipeline/pipeline.h"
#include "pipeline/trace_file.h"
#include "proc/cgroup.h"
#include "proc/proc_scan.h"
#include "sensor/decode.h"
#include "sensor/sensor.h"
#include "store/store.h"

namespace agentwatch {
namespace {

// TLS libraries whose plaintext is not captured (only OpenSSL's API is
// hooked): a process using one is named in status.
const std::pair<const char*, const char*> kUnhookable[] = {
    {"libgnutls.so", "gnutls"},   {"libnss3.so", "nss"},
    {"libmbedtls.so", "mbedtls"}, {"libwolfssl.so", "wolfssl"},
    {"libboringssl", "boringssl"}, {"librustls", "rustls"}};

class SensorWatchSink : public WatchSink {
 public:
  SensorWatchSink(Sensor* s, bool discover_stdio, bool tls)
      : s_(s), discover_stdio_(discover_stdio), tls_(tls) {}
  bool Watch(uint32_t pid, uint32_t flags) override {
    return s_->Watch(pid, flags);
  }
  bool WatchExecutables(const std::vector<std::string>& paths,
                        uint32_t flags) override {
    return s_->SetWatchedExecutables(paths, flags);
  }
  bool ProbeRunning(uint32_t pid) override {
    if (!discover_stdio_) return false;
    auto ipc = [pid](int fd) {
      char target[64];
      std::string link = fmt::format("/proc/{}/fd/{}", pid, fd);
      ssize_t n = readlink(link.c_str(), target, sizeof target - 1);
      if (n <= 0) return false;
      std::string_view t(target, static_cast<size_t>(n));
      return t.rfind("pipe:", 0) == 0 || t.rfind("socket:", 0) == 0;
    };
    return ipc(0) && ipc(1) && s_->Probe(pid, {0, 1});
  }
  void CheckTls(uint32_t pid, bool at_exec) override {
    if (!tls_) return;
    const std::string root = fmt::format("/proc/{}/root", pid);
    if (at_exec) {
      // Binaries that carry OpenSSL themselves (node); libraries are not
      // mapped yet at exec.
      char exe[4096];
      ssize_t n = readlink(fmt::format("/proc/{}/exe", pid).c_str(), exe,
                           sizeof exe - 1);
      if (n > 0) {
        std::string path(exe, static_cast<size_t>(n));
        const std::string base = Basename(path);
        if (base == "node" || base == "nodejs" || base == "bun")
          s_->HookTls(root + path, pid);
      }
      return;
    }
    std::ifstream maps(fmt::format("/proc/{}/maps", pid));
    std::string line;
    std::set<std::string> seen;
    bool openssl = false;
    std::vector<std::pair<std::string, std::string>> others;
    while (std::getline(maps, line)) {
      size_t slash = line.find('/');
      if (slash == std::string::npos) continue;
      std::string path = line.substr(slash);
      if (!seen.insert(path).second) continue;
      const std::string base = Basename(path);
      if (base.rfind("libssl.so", 0) == 0) {
        openssl |= s_->HookTls(root + path, pid);
        continue;
      }
      for (const auto& [prefix, lib] : kUnhookable) {
        if (base.rfind(prefix, 0) == 0) others.emplace_back(root + path, lib);
      }
    }
    // Another TLS library next to a hooked OpenSSL is most likely a
    // dependency that is not used for this process's connections.
    if (openssl) return;
    for (const auto& [path, lib] : others) {
      s_->NoteUnhookableTls(path, lib, pid,
                            "no uprobes for this TLS library: its plaintext "
                            "is not captured");
    }
  }

 private:
  Sensor* s_;
  bool discover_stdio_;
  bool tls_;
};

std::string KernelRelease() {
  utsname u{};
  uname(&u);
  return u.release;
}

Pipeline::Options PipelineOptions(const Config& cfg) {
  Pipeline::Options o;
  o.queue_size = cfg.queue_size;
  o.table.max_entries = cfg.process_table_max;
  o.correlator.idle_gap_ns = cfg.chain_idle_gap_ms * 1000000;
  o.engine.baseline.enabled = cfg.baseline_enabled;
  o.engine.baseline.learning_ns = static_cast<int64_t>(cfg.baseline_learning_ms) * 1000000;
  o.engine.baseline.min_observations = cfg.baseline_min_observations;
  if (cfg.full_content) {
    // Whole arguments and results; fewer of them in memory (the store
    // keeps them all).
    o.tracker.arguments_max = 1u << 20;
    o.tracker.result_max = 1u << 20;
    o.tracker.max_calls = 1000;
  }
  return o;
}

Store::Options StoreOptions(const Config& cfg) {
  Store::Options o;
  o.path = cfg.StorePath();
  o.flush_interval_ms = cfg.store_flush_ms;
  o.max_age_ns = static_cast<int64_t>(cfg.store_max_age_s) * 1000000000;
  o.max_bytes = cfg.store_max_bytes;
  o.retention_interval_ms = cfg.store_retention_ms;
  o.outbox_max = cfg.outbox_max;
  return o;
}

// The built-in rule pack and the files in dir, into the pipeline's engine.
// Returns "" or the error (the engine keeps what it had).
std::string LoadDetectionRules(const std::string& dir, Pipeline* pipeline, size_t* rules_loaded) {
  RuleSet rules;
  std::string e = LoadRules(dir, &rules);
  if (e.empty()) e = pipeline->SetDetectionRules(rules);
  if (e.empty() && rules_loaded != nullptr) *rules_loaded = rules.rules.size();
  return e;
}

// What the tracker knows that changed since `since`, for the store.
void TrackerSnapshot(const McpTracker& t, int64_t since, Store::Snapshot* out) {
  out->agents = t.Agents(true, since);
  out->servers = t.Servers(true, since);
  out->sessions = t.Sessions("", true, since);
  std::set<std::string> identities;
  for (const auto& v : out->servers) identities.insert(v.identity());
  for (const auto& id : identities) {
    v1::McpToolInventory inv;
    if (!id.empty() && t.Inventory(id, &inv) && inv.updated_unix_ns() >= since)
      out->inventories.push_back(std::move(inv));
  }
}

std::string ReadFile(const std::string& path, std::string* err) {
  std::string text;
  if (!ReadFileText(path, &text)) *err = fmt::format("cannot read {}", path);
  return text;
}

// Capabilities the daemon runs without (empty when it has all, or cannot
// tell).
std::vector<CapabilityNeed> OwnMissingCapabilities() {
  std::string err;
  uint64_t caps = 0;
  if (!ParseCapEff(ReadFile("/proc/self/status", &err), &caps)) return {};
  return MissingCapabilities(caps, KernelRelease());
}

// The pod metadata client, when configured or (auto) when this runs in a
// pod with a service account token.
std::unique_ptr<KubeClient> MakeKubeClient(const Config& cfg, PodDirectory* pods) {
  const char* host = getenv("KUBERNETES_SERVICE_HOST");
  const char* port = getenv("KUBERNETES_SERVICE_PORT");
  if (cfg.kubernetes == "off") return nullptr;
  if (cfg.kubernetes == "auto" &&
      (host == nullptr || !std::filesystem::exists(cfg.kube_token_file)))
    return nullptr;
  KubeClient::Options o;
  o.api_server = cfg.kube_api_server;
  if (o.api_server.empty() && host != nullptr) {
    o.api_server = "https://" + JoinHostPort(host, port != nullptr ? port : "443");
  }
  if (o.api_server.empty()) {
    spdlog::error("msg=\"kubernetes: no API server (set kubernetes.api_server)\"");
    return nullptr;
  }
  o.token_file = cfg.kube_token_file;
  o.ca_file = cfg.kube_ca_file;
  o.node_name = !cfg.kube_node_name.empty() ? cfg.kube_node_name : NodeName();
  o.resync_ms = cfg.kube_resync_ms;
  spdlog::info("msg=\"kubernetes pod metadata\" api_server={} node={}", o.api_server, o.node_name);
  return std::make_unique<KubeClient>(o, pods);
}

std::string EventTypeLabel(v1::EventType t) {
  std::string n = v1::EventType_Name(t);
  if (n.rfind("EVENT_TYPE_", 0) == 0) n = n.substr(11);
  for (char& c : n) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return n;
}

void AddCounter(v1::Status* s, const std::string& name, uint64_t v) {
  auto* c = s->add_counters();
  c->set_name(name);
  c->set_value(v);
}

const char* CategoryName(int c) {
  switch (c) {
    case AW_CAT_PROC: return "proc";
    case AW_CAT_FILE: return "file";
    case AW_CAT_NET: return "net";
    case AW_CAT_DNS: return "dns";
    case AW_CAT_PAYLOAD: return "payload";
    default: return "other";
  }
}

}  // namespace

int RunLive(Config cfg, std::function<std::string(Config*)> reload_fn) {
  // Signals are taken by sigwait on this thread only.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);

  std::error_code ec;
  std::filesystem::create_directories(cfg.state_dir, ec);
  if (ec) {
    spdlog::error("msg=\"cannot create state directory\" path={} error=\"{}\"",
                  cfg.state_dir, ec.message());
    return 1;
  }
  chmod(cfg.state_dir.c_str(), 0750);

  const std::vector<CapabilityNeed> missing_caps = OwnMissingCapabilities();
  if (!missing_caps.empty()) {
    spdlog::warn("msg=\"running without capabilities agentwatchd uses; add them to the "
                 "service or container\" missing=\"{}\"",
                 DescribeMissing(missing_caps));
  }
  const int64_t started = NowUnixNs();
  const int64_t boot_to_unix = BootToUnixOffsetNs();
  Hub hub(cfg.backlog_events);
  Sensor sensor;
  SensorWatchSink sink(&sensor, cfg.discover_stdio && cfg.payload_max > 0,
                       cfg.payload_max > 0);
  // The store opens first, so ids go on past the stored ones. A store that
  // cannot open is reported; the daemon runs on without it.
  std::unique_ptr<Store> store;
  std::string store_error;
  if (cfg.store_enabled) {
    store = Store::Open(StoreOptions(cfg), &store_error);
    if (!store) {
      spdlog::error("msg=\"store unavailable; chains are kept in memory only\" "
                    "error=\"{}\"",
                    store_error);
    } else {
      spdlog::info("msg=\"store open\" path={} chains={} calls={}", store->path(),
                   store->max_chain_id(), store->max_call_id());
    }
  }
  Pipeline::Options popts = PipelineOptions(cfg);
  popts.live_peer_lookup = true;
  Store* store_ptr = store.get();
  Pipeline pipeline(popts, &sink,
                    [&hub, store_ptr](const v1::Event& ev, const std::vector<uint32_t>& l) {
                      hub.Publish(ev, l);
                      if (store_ptr == nullptr) return;
                      if (ev.type() == v1::EVENT_TYPE_CHAIN_UPDATE) {
                        store_ptr->Put(ev.chain_update());
                      } else if (ev.type() == v1::EVENT_TYPE_ALERT) {
                        store_ptr->PutAlert(ev.alert());
                      }
                    });
  // Whatever way this function returns, the store's thread (which reads the
  // tracker) ends before the pipeline goes.
  struct StopStore {
    Store* s;
    ~StopStore() {
      if (s != nullptr) s->Stop();
    }
  } stop_store{store_ptr};
  size_t rules_loaded = 0;
  if (std::string e = LoadDetectionRules(cfg.rules_dir, &pipeline, &rules_loaded); !e.empty()) {
    spdlog::error("msg=\"cannot load detection rules\" error=\"{}\"", e);
    return 2;
  }
  spdlog::info("msg=\"detection rules loaded\" rules={} dir={}", rules_loaded, cfg.rules_dir);
  if (store) {
    pipeline.SetNextIds(store->max_call_id() + 1, store->max_chain_id() + 1);
    pipeline.SetNextAlertId(store->max_alert_id() + 1);
    std::string serr;
    std::set<std::string> known;
    for (const auto& v : store->Servers(10000, &serr)) known.insert(v.id());
    pipeline.SetKnownServers(std::move(known));
    pipeline.LoadInventories(store->Inventories(&serr));
    const auto baselines = store->Baselines(&serr);
    pipeline.engine().LoadBaselines(baselines);
    if (!serr.empty()) spdlog::warn("msg=\"cannot read stored data\" error=\"{}\"", serr);
    store->Start([&pipeline](int64_t since, Store::Snapshot* out) {
      TrackerSnapshot(pipeline.mcp_tracker(), since, out);
      pipeline.engine().ChangedBaselines(since, &out->baselines);
    });
  }
  // Alerts to the sinks, from the store's outbox (stopped before the store).
  std::unique_ptr<Delivery> delivery;
  if (store && !cfg.sinks.empty()) {
    delivery = std::make_unique<Delivery>(
        store.get(), cfg.sinks,
        FormatContext{HostName(), kVersion, static_cast<uint32_t>(getpid())});
    if (std::string e = delivery->Start(); !e.empty()) {
      spdlog::error("msg=\"cannot start alert delivery\" error=\"{}\"", e);
      return 2;
    }
    for (const auto& s : cfg.sinks)
      spdlog::info("msg=\"alert sink\" name={} type={} min_severity={} format={}", s.name, s.type,
                   s.min_severity, s.format);
  }
  TraceWriter recorder;
  if (!cfg.record_file.empty()) {
    if (std::string e = recorder.Open(cfg.record_file); !e.empty()) {
      spdlog::error("msg=\"cannot record\" error=\"{}\"", e);
      return 1;
    }
    pipeline.SetRecorder(&recorder);
    spdlog::info("msg=\"recording events\" file={}", cfg.record_file);
  }

  CgroupResolver cgroups(cfg.cgroup_root);
  std::atomic<uint64_t> records{0}, decode_errors{0};
  SensorOptions sopts;
  sopts.ringbuf_bytes = cfg.ringbuf_bytes;
  sopts.argv_max = cfg.argv_max;
  sopts.dns_port = static_cast<uint16_t>(cfg.dns_port);
  sopts.fallback_only = cfg.hooks == "fallback";
  sopts.payload_max = cfg.payload_max;
  sopts.discover_stdio = cfg.discover_stdio;
  sopts.discover_http = cfg.discover_http;
  sopts.probe_bytes = cfg.probe_bytes;
  std::string err;
  bool ok = sensor.Start(
      sopts,
      [&](std::span<const uint8_t> rec) {
        ++records;
        v1::Event ev;
        std::string derr;
        if (DecodeRecord(rec, boot_to_unix, &ev, &derr) != DecodeStatus::kOk) {
          ++decode_errors;
          static std::atomic<int64_t> last_log{0};
          int64_t now = NowUnixNs();
          if (now - last_log > 1000000000) {
            last_log = now;
            spdlog::warn("msg=\"undecodable kernel record\" error=\"{}\"", derr);
          }
          v1::Event loss;
          loss.set_type(v1::EVENT_TYPE_LOSS);
          loss.set_lost(1);
          loss.set_lost_reason("undecodable record: " + derr);
          pipeline.Push(std::move(loss));
          return;
        }
        auto* p = ev.mutable_process();
        p->set_cgroup_path(cgroups.Resolve(p->cgroup_id(), p->pid()));
        pipeline.Push(std::move(ev));
      },
      &err);
  if (!ok) {
    if (!missing_caps.empty()) {
      spdlog::error("msg=\"kernel sensors unavailable: capabilities missing\" error=\"{}\" "
                    "missing=\"{}\"",
                    err, DescribeMissing(missing_caps));
    } else {
      spdlog::error("msg=\"kernel sensors unavailable\" error=\"{}\" hint=\"run "
                    "as root (CAP_BPF, CAP_PERFMON, CAP_SYS_RESOURCE) on Linux "
                    ">= 5.8 with BTF\"",
                    err);
    }
    return 1;
  }
  for (const auto& p : sensor.probes()) {
    if (p.attached()) {
      spdlog::info("msg=\"probe attached\" capability={} program={} hook={} "
                   "target={}",
                   p.capability(), p.program(), p.hook_type(), p.target());
    } else if (!p.detail().empty()) {
      spdlog::info("msg=\"probe not attached\" capability={} program={} "
                   "hook={} reason=\"{}\"",
                   p.capability(), p.program(), p.hook_type(), p.detail());
    }
  }

  // TLS plaintext: the host's OpenSSL and node are hooked up front, so a
  // process's first handshake is seen; libraries elsewhere (containers,
  // other prefixes) when a watched process is seen using them.
  if (cfg.payload_max > 0) {
    for (const char* dir : {"/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu",
                            "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib"}) {
      for (const char* lib : {"libssl.so.3", "libssl.so.1.1"}) {
        std::string path = fmt::format("{}/{}", dir, lib);
        if (std::filesystem::exists(path)) sensor.HookTls(path, 0);
      }
    }
    for (const char* node : {"/usr/bin/node", "/usr/local/bin/node"}) {
      if (std::filesystem::exists(node)) sensor.HookTls(node, 0);
    }
  }

  PodDirectory pods;
  std::unique_ptr<KubeClient> kube = MakeKubeClient(cfg, &pods);
  if (kube) {
    pipeline.SetPodDirectory(&pods);
    kube->Start();
  }

  // After the sensor is up: exact-path rules go into its kernel map.
  pipeline.SetWatchRules(cfg.EffectiveWatchRules(), cfg.watch_pids);
  std::thread pipe_thread([&] { pipeline.Run(); });

  // Processes that already run, after the probes so nothing falls between.
  for (auto& ev : ScanProc("/proc")) {
    ev.mutable_process()->set_cgroup_path(
        cgroups.Resolve(ev.process().cgroup_id(), ev.process().pid()));
    pipeline.Push(std::move(ev));
  }

  std::atomic<bool> stop{false};
  std::atomic<int64_t> last_poll_ns{NowUnixNs()};
  std::thread sensor_thread([&] {
    std::vector<uint64_t> last = sensor.KernelCounters();
    int64_t last_check = NowUnixNs();
    uint64_t seconds = 0;
    while (!stop) {
      // Watched payload does not wake us: this bounds how late it is read.
      int n = sensor.Poll(20);
      if (n < 0 && n != -EINTR) {
        spdlog::error("msg=\"ring buffer poll failed\" error={}", n);
        break;
      }
      int64_t now = NowUnixNs();
      last_poll_ns.store(now, std::memory_order_relaxed);
      if (now - last_check < 1000000000) continue;
      last_check = now;
      if (++seconds % 30 == 0) {
        // Memory freed after a burst (sessions that ended, evicted state)
        // goes back to the system instead of staying in the allocator.
        malloc_trim(0);
      }
      std::vector<uint64_t> cur = sensor.KernelCounters();
      uint64_t dropped = 0;
      for (int c = 0; c < AW_CAT_MAX; ++c)
        dropped += cur[AW_CTR_DROPPED + c] - last[AW_CTR_DROPPED + c];
      if (dropped > 0) {
        v1::Event loss;
        loss.set_type(v1::EVENT_TYPE_LOSS);
        loss.set_time_unix_ns(now);
        loss.set_ktime_ns(NowBoottimeNs());
        loss.set_lost(dropped);
        loss.set_lost_reason("kernel ring buffer full");
        pipeline.Push(std::move(loss));
        spdlog::warn("msg=\"ring buffer overflow\" lost={}", dropped);
      }
      last = std::move(cur);
    }
  });

  // Ready: the probes that attached at start still are, the ring buffer is
  // being read, and the store (if enabled) is open.
  auto readiness = [&](std::string* why) {
    if (!sensor.AllAttached(why)) return false;
    if (NowUnixNs() - last_poll_ns.load(std::memory_order_relaxed) > 5000000000LL) {
      *why = "the ring buffer has not been read for over 5 s";
      return false;
    }
    if (cfg.store_enabled && !store) {
      *why = "store unavailable: " + store_error;
      return false;
    }
    return true;
  };
  auto status_fn = [&]() {
    v1::Status s;
    std::string why;
    s.set_ready(readiness(&why));
    s.set_not_ready_reason(why);
    s.set_node(NodeName());
    for (const auto& c : missing_caps) s.add_missing_capabilities(c.name);
    if (kube) *s.mutable_kubernetes() = kube->Status();
    s.set_version(kVersion);
    s.set_kernel(KernelRelease());
    s.set_started_unix_ns(started);
    s.set_mode("live");
    for (auto& h : sensor.hook_types()) *s.add_hook_types() = h;
    for (auto& p : sensor.probes()) *s.add_probes() = p;
    s.set_watched_processes(pipeline.watched());
    s.set_process_table_size(pipeline.table_size());
    s.set_ringbuf_bytes(cfg.ringbuf_bytes);
    s.set_record_file(cfg.record_file);
    for (auto& t : sensor.tls_hooks()) *s.add_tls() = std::move(t);
    if (store) {
      store->FillStatus(s.mutable_store());
      const Store::Counters sc = store->counters();
      AddCounter(&s, "store_batches", sc.batches);
      AddCounter(&s, "store_updates_written", sc.updates_written);
      AddCounter(&s, "store_queue_drops", sc.queue_drops);
      AddCounter(&s, "store_write_errors", sc.write_errors);
      AddCounter(&s, "store_updates_lost", sc.updates_lost);
      AddCounter(&s, "store_retention_chains_deleted", sc.chains_deleted);
      AddCounter(&s, "store_retention_calls_deleted", sc.calls_deleted);
      AddCounter(&s, "store_outbox_shed", sc.outbox_shed);
      if (delivery) {
        const auto stats = delivery->Stats();
        for (size_t i = 0; i < stats.size(); ++i) {
          v1::SinkStatus* ss = s.add_sinks();
          ss->set_name(stats[i].name);
          ss->set_type(cfg.sinks[i].type);
          ss->set_sent(stats[i].sent);
          ss->set_skipped(stats[i].skipped);
          ss->set_failed(stats[i].failed);
          ss->set_retried(stats[i].retried);
          ss->set_queued(stats[i].queued);
          ss->set_rows(stats[i].rows);
          ss->set_last_error(stats[i].last_error);
        }
      }
    } else if (!store_error.empty()) {
      s.mutable_store()->set_last_error(store_error);
    }
    std::vector<uint64_t> k = sensor.KernelCounters();
    for (int c = 0; c < AW_CAT_MAX; ++c) {
      AddCounter(&s, fmt::format("kernel_events_{}", CategoryName(c)),
                 k[AW_CTR_EMITTED + c]);
    }
    for (int c = 0; c < AW_CAT_MAX; ++c) {
      AddCounter(&s, fmt::format("kernel_ringbuf_drops_{}", CategoryName(c)),
                 k[AW_CTR_DROPPED + c]);
    }
    AddCounter(&s, "kernel_syscall_exit_without_enter", k[AW_CTR_PENDING_MISS]);
    AddCounter(&s, "kernel_socket_map_full", k[AW_CTR_SOCK_MAP_FULL]);
    AddCounter(&s, "kernel_scratch_busy", k[AW_CTR_SCRATCH_BUSY]);
    AddCounter(&s, "records_received", records);
    AddCounter(&s, "records_undecodable", decode_errors);
    AddCounter(&s, "pipeline_queue_drops", pipeline.queue_drops());
    AddCounter(&s, "events_processed", pipeline.processed());
    AddCounter(&s, "process_table_evictions", pipeline.table_evictions());
    AddCounter(&s, "subscriber_drops", hub.subscriber_drops());
    AddCounter(&s, "mcp_messages", pipeline.mcp_messages());
    AddCounter(&s, "mcp_frames_invalid", pipeline.mcp_invalid());
    const McpTracker::Counters tc = pipeline.mcp_tracker().counters();
    AddCounter(&s, "mcp_calls", tc.calls);
    AddCounter(&s, "mcp_responses_unmatched", tc.unmatched_responses);
    AddCounter(&s, "mcp_request_ids_reused", tc.duplicate_ids);
    AddCounter(&s, "mcp_pending_evicted", tc.pending_evicted);
    AddCounter(&s, "mcp_sessions_evicted", tc.sessions_evicted);
    AddCounter(&s, "mcp_tool_changes", tc.tool_changes);
    AddCounter(&s, "mcp_data_flows", tc.data_flows);
    AddCounter(&s, "mcp_responses_lost", tc.responses_lost);
    AddCounter(&s, "mcp_responses_lost_unpaired", tc.responses_lost_unpaired);
    const Correlator::Counters cc = pipeline.correlator().counters();
    AddCounter(&s, "chain_effects_attributed", cc.effects_attributed);
    AddCounter(&s, "chain_effects_ambiguous", cc.effects_ambiguous);
    AddCounter(&s, "chain_effects_background", cc.effects_background);
    AddCounter(&s, "chain_effects_agent", cc.effects_agent);
    AddCounter(&s, "chain_effects_dropped", cc.effects_dropped);
    AddCounter(&s, "chains", cc.chains);
    AddCounter(&s, "chain_calls_unchained", cc.unchained_calls);
    AddCounter(&s, "chain_inflight_expired", cc.inflight_expired);
    const Engine::Counters ec = pipeline.engine().counters();
    AddCounter(&s, "detect_signals", ec.signals);
    AddCounter(&s, "detect_alerts", ec.alerts);
    AddCounter(&s, "detect_alerts_folded", ec.alerts_folded);
    AddCounter(&s, "detect_alerts_excepted", ec.alerts_excepted);
    AddCounter(&s, "detect_alerts_suppressed", ec.alerts_suppressed);
    AddCounter(&s, "detect_alerts_rate_limited", ec.alerts_rate_limited);
    AddCounter(&s, "detect_states_evicted", ec.states_evicted);
    AddCounter(&s, "detect_rule_loads", ec.rule_loads);
    AddCounter(&s, "mcp_servers_discovered", pipeline.servers_discovered());
    AddCounter(&s, "mcp_probes_not_mcp", pipeline.probes_not_mcp());
    AddCounter(&s, "cgroup_lookup_misses", cgroups.misses());
    if (!cfg.record_file.empty()) {
      AddCounter(&s, "trace_events_written", recorder.written());
      AddCounter(&s, "trace_events_dropped", recorder.dropped());
    }
    return s;
  };
  AgentWatchService service(&hub, status_fn, &pipeline.mcp_tracker(),
                            &pipeline.correlator(), store.get(), &pipeline.engine());
  service.SetProbeControl([&](const v1::SetProbeRequest& req, v1::SetProbeResponse* out) {
    std::string e;
    for (auto& p : sensor.SetAttached(req.program(), req.attach(), &e)) *out->add_probes() = p;
    return e;
  });
  if (kube) service.SetKubernetesFill([&pods](v1::Kubernetes* k) { pods.Fill(k); });

  // Any failure from here on stops the threads started above.
  auto abort_start = [&](const std::string& what, const std::string& e) {
    spdlog::error("msg=\"{}\" error=\"{}\"", what, e);
    if (kube) kube->Stop();
    stop = true;
    sensor_thread.join();
    pipeline.Stop();
    pipe_thread.join();
    return 1;
  };
  ApiTls api_tls;
  TlsServerFiles tls_files{cfg.tls_cert_file, cfg.tls_key_file, cfg.tls_client_ca_file};
  if (!cfg.api_tcp_listen.empty()) {
    std::string e;
    api_tls.cert_pem = ReadFile(cfg.tls_cert_file, &e);
    api_tls.key_pem = ReadFile(cfg.tls_key_file, &e);
    api_tls.client_ca_pem = ReadFile(cfg.tls_client_ca_file, &e);
    if (!e.empty()) return abort_start("cannot serve the API over TCP", e);
  }
  ApiServer api;
  if (std::string e = api.Start(cfg.endpoint, &service, cfg.api_tcp_listen, &api_tls); !e.empty())
    return abort_start("cannot serve the API", e);
  if (!cfg.api_tcp_listen.empty())
    spdlog::info("msg=\"API on TCP (TLS, client certificates required)\" address={}",
                 api.tcp_address());

  HttpServer http;
  for (const auto& [addr, tls] : {std::pair<std::string, const TlsServerFiles*>{
                                      cfg.metrics_listen, nullptr},
                                  {cfg.metrics_tls_listen, &tls_files}}) {
    if (addr.empty()) continue;
    if (std::string e = http.Listen(addr, tls); !e.empty()) {
      api.Shutdown();
      return abort_start("cannot serve metrics", e);
    }
  }
  http.Start([&](const std::string& path) {
    HttpServer::Response r;
    if (path == "/healthz") {
      r.body = "ok\n";
    } else if (path == "/readyz") {
      std::string why;
      const bool ready = readiness(&why);
      r.status = ready ? 200 : 503;
      r.body = ready ? "ready\n" : why + "\n";
    } else if (path == "/metrics") {
      MetricsSnapshot m;
      m.status = status_fn();
      for (const auto& [t, n] : pipeline.EventsByType())
        m.events_by_type.emplace_back(EventTypeLabel(t), n);
      m.rule_matches = pipeline.engine().RuleMatches();
      m.latency = pipeline.latency().Get();
      const McpTracker::Live live = pipeline.mcp_tracker().LiveCounts();
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
  });
  for (const auto& a : http.addresses())
    spdlog::info("msg=\"metrics and health\" address={} paths=\"/metrics /healthz /readyz\"", a);
  spdlog::info("msg=\"agentwatchd ready\" endpoint={} probes_attached={}",
               cfg.endpoint, [&] {
                 int n = 0;
                 for (auto& p : sensor.probes()) n += p.attached();
                 return n;
               }());

  bool serving = true;
  while (true) {
    // Wakes at least once a second to keep the gRPC health service in step
    // with readiness.
    timespec tick{1, 0};
    int sig = sigtimedwait(&sigs, nullptr, &tick);
    if (sig < 0) {
      std::string why;
      const bool ready = readiness(&why);
      if (ready != serving) {
        api.SetServing(ready);
        serving = ready;
        if (ready) {
          spdlog::info("msg=\"ready again\"");
        } else {
          spdlog::warn("msg=\"not ready\" reason=\"{}\"", why);
        }
      }
      continue;
    }
    if (sig == SIGHUP) {
      Config next = cfg;
      std::string rerr = reload_fn ? reload_fn(&next) : "";
      if (!rerr.empty()) {
        spdlog::error("msg=\"reload failed; keeping the running config\" "
                      "error=\"{}\"",
                      rerr);
        continue;
      }
      if (next.ringbuf_bytes != cfg.ringbuf_bytes ||
          next.argv_max != cfg.argv_max || next.endpoint != cfg.endpoint ||
          next.dns_port != cfg.dns_port ||
          next.payload_max != cfg.payload_max || next.hooks != cfg.hooks ||
          next.discover_stdio != cfg.discover_stdio ||
          next.discover_http != cfg.discover_http ||
          next.probe_bytes != cfg.probe_bytes ||
          next.store_enabled != cfg.store_enabled || next.StorePath() != cfg.StorePath() ||
          next.store_flush_ms != cfg.store_flush_ms ||
          next.store_max_age_s != cfg.store_max_age_s ||
          next.store_max_bytes != cfg.store_max_bytes ||
          next.store_retention_ms != cfg.store_retention_ms ||
          next.full_content != cfg.full_content ||
          next.chain_idle_gap_ms != cfg.chain_idle_gap_ms ||
          next.baseline_enabled != cfg.baseline_enabled ||
          next.baseline_learning_ms != cfg.baseline_learning_ms ||
          next.baseline_min_observations != cfg.baseline_min_observations ||
          next.sinks.size() != cfg.sinks.size() || next.outbox_max != cfg.outbox_max ||
          next.api_tcp_listen != cfg.api_tcp_listen || next.metrics_listen != cfg.metrics_listen ||
          next.metrics_tls_listen != cfg.metrics_tls_listen ||
          next.kubernetes != cfg.kubernetes) {
        spdlog::warn("msg=\"ringbuf_size, argv_max, dns_port, payload_max, "
                     "discovery, hooks, chains, store, baseline, sinks, kubernetes, endpoints and "
                     "listen addresses change "
                     "only on restart\"");
      }
      spdlog::set_level(spdlog::level::from_str(next.log_level));
      pipeline.SetWatchRules(next.EffectiveWatchRules(), next.watch_pids);
      if (std::string e = LoadDetectionRules(next.rules_dir, &pipeline, &rules_loaded);
          !e.empty()) {
        spdlog::error("msg=\"detection rules not reloaded; keeping the running ones\" "
                      "error=\"{}\"",
                      e);
      } else {
        cfg.rules_dir = next.rules_dir;
        spdlog::info("msg=\"detection rules reloaded\" rules={}", rules_loaded);
      }
      cfg.watch_rules = next.watch_rules;
      cfg.watch_pids = next.watch_pids;
      cfg.builtin_watch_rules = next.builtin_watch_rules;
      cfg.log_level = next.log_level;
      spdlog::info("msg=\"configuration reloaded\" watch_rules={}",
                   cfg.EffectiveWatchRules().size());
      continue;
    }
    spdlog::info("msg=\"stopping\" signal={}", strsignal(sig));
    break;
  }

  http.Stop();
  api.Shutdown();
  if (kube) kube->Stop();
  stop = true;
  sensor_thread.join();
  sensor.Stop();  // links detached, maps freed
  pipeline.Stop();
  pipe_thread.join();
  if (store) store->Stop();  // the last batch, with the chains' last steps
  recorder.Close();
  spdlog::info("msg=\"stopped\" events_processed={}", pipeline.processed());
  return 0;
}

int RunReplay(const Config& cfg, const std::string& trace, std::ostream& out) {
  TraceReader reader;
  if (std::string e = reader.Open(trace); !e.empty()) {
    spdlog::error("msg=\"cannot replay\" error=\"{}\"", e);
    return 1;
  }
  google::protobuf::util::JsonPrintOptions jopts;
  jopts.preserve_proto_field_names = true;
  std::string line;
  Pipeline pipeline(PipelineOptions(cfg), nullptr,
                    [&](const v1::Event& ev, const std::vector<uint32_t>&) {
                      line.clear();
                      google::protobuf::util::MessageToJsonString(ev, &line,
                                                                  jopts);
                      out << line << '\n';
                    });
  pipeline.SetWatchRules(cfg.EffectiveWatchRules(), cfg.watch_pids);
  if (std::string e = LoadDetectionRules(cfg.rules_dir, &pipeline, nullptr); !e.empty()) {
    spdlog::error("msg=\"cannot load detection rules\" error=\"{}\"", e);
    return 1;
  }
  v1::Event ev;
  std::string err;
  uint64_t n = 0;
  while (true) {
    TraceReader::Result r = reader.Next(&ev, &err);
    if (r == TraceReader::Result::kEnd) break;
    if (r == TraceReader::Result::kCorrupt) {
      spdlog::warn("msg=\"trace damaged; replayed what came before\" "
                   "error=\"{}\" events={}",
                   err, n);
      break;
    }
    pipeline.Process(std::move(ev));
    ++n;
  }
  out.flush();
  spdlog::info("msg=\"replay done\" events={}", n);
  return 0;
}

}  // namespace agentwatch
