#include "daemon/wiring.h"

#include <sys/utsname.h>

#include <cstdlib>
#include <filesystem>
#include <set>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/text.h"
#include "detect/rules.h"
#include "redact/redactor.h"

namespace agentwatch {

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
  o.held_max = cfg.held_max;
  return o;
}

SensorOptions SensorOptionsFrom(const Config& cfg) {
  SensorOptions o;
  o.ringbuf_bytes = cfg.ringbuf_bytes;
  o.argv_max = cfg.argv_max;
  o.dns_port = static_cast<uint16_t>(cfg.dns_port);
  o.fallback_only = cfg.hooks == "fallback";
  o.payload_max = cfg.payload_max;
  o.payload_rate = cfg.payload_rate;
  o.payload_burst = cfg.payload_burst;
  o.record_rate = cfg.record_rate;
  o.record_burst = cfg.record_burst;
  o.discover_stdio = cfg.discover_stdio;
  o.discover_http = cfg.discover_http;
  o.probe_bytes = cfg.probe_bytes;
  return o;
}

std::string LoadDetectionRules(const std::string& dir, Pipeline* pipeline, size_t* rules_loaded) {
  RuleSet rules;
  std::string e = LoadRules(dir, &rules);
  if (e.empty()) e = pipeline->SetDetectionRules(rules);
  if (e.empty() && rules_loaded != nullptr) *rules_loaded = rules.rules.size();
  return e;
}

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
  // The tracker keeps argv and tool definitions as seen; the store gets
  // them through the redaction stage like everything else.
  const auto r = DefaultRedactor();
  for (auto& v : out->agents) r->RedactMessage(&v);
  for (auto& v : out->servers) r->RedactMessage(&v);
  for (auto& v : out->sessions) r->RedactMessage(&v);
  for (auto& v : out->inventories) r->RedactMessage(&v);
}

std::vector<CapabilityNeed> OwnMissingCapabilities() {
  std::string text;
  uint64_t caps = 0;
  if (!ReadFileText("/proc/self/status", &text)) text.clear();
  if (!ParseCapEff(text, &caps)) return {};
  return MissingCapabilities(caps, KernelRelease());
}

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

std::string InstallRedactor(const Config& cfg, bool create_key, size_t* formats) {
  SecretCatalogue cat;
  if (std::string e = LoadSecretCatalogue(cfg.secrets_dir, &cat); !e.empty()) return e;
  std::string key, err;
  if (create_key) {
    key = LoadOrCreateRedactionKey(cfg.state_dir, &err);
    if (key.empty()) return "redaction key: " + err;
  } else {
    // A replay reads the install's key (masks read as they did live);
    // without one, fingerprints of this run only.
    key = ReadRedactionKey(cfg.state_dir);
    if (key.empty()) key = RandomRedactionKey();
  }
  auto r = Redactor::Compile(cat, std::move(key), &err);
  if (!r) return err;
  if (formats != nullptr) *formats = r->rule_count();
  SetDefaultRedactor(std::move(r));
  return "";
}

}  // namespace agentwatch
