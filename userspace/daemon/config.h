// agentwatchd configuration: embedded defaults, then the YAML file, then
// command-line flags. Every value is validated with an error that names it.
#ifndef AGENTWATCH_DAEMON_CONFIG_H_
#define AGENTWATCH_DAEMON_CONFIG_H_

#include <cstdint>
#include <string>
#include <vector>

#include "export/sinks.h"
#include "pipeline/watch_rules.h"

namespace agentwatch {

struct Config {
  std::string endpoint = "unix:///run/agentwatch/agentwatch.sock";
  std::string state_dir = "/var/lib/agentwatch";
  std::string log_level = "info";
  uint32_t ringbuf_bytes = 16u << 20;
  uint32_t argv_max = 1024;
  uint32_t dns_port = 53;
  uint32_t payload_max = 16384;  // 0 = no payload capture
  // Per watched process: payload captured at this many bytes a second at
  // most, in bursts up to payload_burst (0 = no budget).
  uint32_t payload_rate = 4u << 20;
  uint32_t payload_burst = 16u << 20;
  // Per watched process: file, connection and DNS records a second at
  // most, in bursts up to record_burst (0 = no budget).
  uint32_t record_rate = 20000;
  uint32_t record_burst = 40000;
  // MCP discovery without rules (see SensorOptions).
  bool discover_stdio = true;
  bool discover_http = true;
  uint32_t probe_bytes = 16384;
  uint32_t queue_size = 65536;
  uint32_t process_table_max = 65536;
  uint32_t backlog_events = 10000;
  std::vector<uint32_t> watch_pids;
  std::vector<WatchRule> watch_rules;
  bool builtin_watch_rules = true;
  std::string record_file;
  std::string hooks = "auto";  // auto | fallback (see SensorOptions)
  // The embedded store (SQLite): where, how often batches are committed,
  // and what is kept.
  bool store_enabled = true;
  std::string store_path;  // "" = <state_dir>/agentwatch.db
  uint32_t store_flush_ms = 1000;
  uint64_t store_max_age_s = 7 * 86400;  // 0 = no age limit
  uint64_t store_max_bytes = 1ull << 30;  // 0 = no size limit
  uint32_t store_retention_ms = 60000;  // how often retention runs
  // Keep whole (redacted) arguments and results, up to 1 MiB each, instead
  // of bounded previews.
  bool full_content = false;
  // Local detection rules (*.yaml), applied over the built-in pack.
  std::string rules_dir = "/etc/agentwatch/rules.d";
  // Local credential formats (*.yaml), over the built-in catalogue.
  std::string secrets_dir = "/etc/agentwatch/secrets.d";
  // A chain ends after this long without activity of its agent.
  uint64_t chain_idle_gap_ms = 10 * 60 * 1000;
  // Learned per-server baselines (detection family 10): learning lasts
  // this long from a server identity's first sighting, and at least this
  // many of its effects and calls.
  bool baseline_enabled = true;
  // Where alerts are delivered (from the store's outbox), and its bound.
  std::vector<SinkConfig> sinks;
  uint64_t outbox_max = 100000;
  uint64_t held_max = 20000;
  uint64_t baseline_learning_ms = 24ull * 3600 * 1000;
  uint64_t baseline_min_observations = 50;
  // The gRPC API on TCP as well as the unix socket: TLS, client
  // certificates required (tls_*). "" = unix socket only.
  std::string api_tcp_listen;
  // /metrics, /healthz and /readyz: plain HTTP on loopback, and over TLS
  // with client certificates on any address. "" = off.
  std::string metrics_listen = "127.0.0.1:9590";
  std::string metrics_tls_listen;
  // The read-only web console (JSON API, event streams, page): plain HTTP
  // on loopback; any other address with TLS and client certificates
  // (tls_*). "" = off.
  std::string console_listen = "127.0.0.1:9591";
  // The daemon's certificate and key, and the CA client certificates must
  // chain to (api_tcp_listen and metrics_tls_listen).
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string tls_client_ca_file;
  // Pod metadata from the API server: "auto" = when a service account
  // token is mounted and KUBERNETES_SERVICE_HOST is set.
  std::string kubernetes = "auto";  // auto | on | off
  std::string kube_api_server;      // "" = https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT
  std::string kube_token_file = "/var/run/secrets/kubernetes.io/serviceaccount/token";
  std::string kube_ca_file = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt";
  std::string kube_node_name;  // "" = $NODE_NAME, else the host name
  // Where the host's cgroup v2 hierarchy is mounted ("" = /sys/fs/cgroup):
  // in a container with its own cgroup namespace, the host's mounted
  // elsewhere (the DaemonSet mounts it at /host/sys/fs/cgroup).
  std::string cgroup_root;
  uint64_t kube_resync_ms = 60000;

  // The rules in force: built-in (unless disabled) plus configured.
  std::vector<WatchRule> EffectiveWatchRules() const;
  std::string StorePath() const;
};

// Applies a YAML document on top of cfg. Unknown keys are errors (a typo
// must not silently fall back to a default). Returns "" or the error.
std::string ApplyConfigYaml(const std::string& yaml_text, Config* cfg);

// Reads and applies a file; a missing file is an error only if required.
std::string LoadConfigFile(const std::string& path, bool required,
                           Config* cfg);

// Checks ranges and shapes. Returns "" or the first error.
std::string ValidateConfig(const Config& cfg);

// What a SIGHUP does with a newly loaded config. Reloadable: log_level,
// watch.* (builtin_rules, pids, exe, rules) and rules_dir; every other
// setting changes only on restart.
//
// The YAML keys ("store.flush_interval", "sinks") of the restart-only
// settings whose value differs between running and next, in the order of
// SettingsTable(). Sinks are compared member by member.
std::vector<std::string> RestartOnlyChanges(const Config& running, const Config& next);
// Copies exactly the reloadable settings from next into *running.
void ApplyReloadable(const Config& next, Config* running);

// One setting, for docs and messages.
struct SettingInfo {
  std::string key;   // its YAML key: "log_level", "store.flush_interval", "sinks"
  std::string kind;  // uint, bool, string, duration, size, enum (...), list of ...
  bool reloadable;   // applied by SIGHUP; else a change needs a restart
  std::string help;
};
// Every setting of Config, in the order ValidateConfig checks them.
const std::vector<SettingInfo>& SettingsTable();

}  // namespace agentwatch

#endif  // AGENTWATCH_DAEMON_CONFIG_H_
