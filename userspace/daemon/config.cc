#include "daemon/config.h"

#include <sys/stat.h>

#include <fstream>
#include <limits>
#include <set>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "common/text.h"

namespace agentwatch {
namespace {

template <typename T>
std::string ReadUint(const YAML::Node& n, const std::string& key, T* out) {
  try {
    if (!n.IsScalar()) return fmt::format("{}: expected a number", key);
    const std::string& s = n.Scalar();
    size_t pos = 0;
    unsigned long long v = std::stoull(s, &pos, 0);
    if (pos != s.size() || s[0] == '-') {
      return fmt::format("{}: '{}' is not a non-negative integer", key, s);
    }
    if (v > std::numeric_limits<T>::max()) {
      return fmt::format("{}: {} is too large", key, s);
    }
    *out = static_cast<T>(v);
    return "";
  } catch (const std::exception&) {
    return fmt::format("{}: '{}' is not a number", key, n.Scalar());
  }
}

std::string ReadString(const YAML::Node& n, const std::string& key,
                       std::string* out) {
  if (!n.IsScalar()) return fmt::format("{}: expected a string", key);
  *out = n.Scalar();
  return "";
}

std::string ReadBool(const YAML::Node& n, const std::string& key, bool* out) {
  if (!n.IsScalar()) return fmt::format("{}: expected true or false", key);
  const std::string& s = n.Scalar();
  if (s == "true" || s == "yes" || s == "on") {
    *out = true;
  } else if (s == "false" || s == "no" || s == "off") {
    *out = false;
  } else {
    return fmt::format("{}: '{}' is not a boolean", key, s);
  }
  return "";
}

std::string ReadDurationMs(const YAML::Node& n, const std::string& key,
                           uint64_t* ms) {
  if (!n.IsScalar()) return fmt::format("{}: expected a duration like 30s or 7d", key);
  std::string err = ParseDurationMs(n.Scalar(), ms);
  return err.empty() ? "" : fmt::format("{}: {}", key, err);
}

std::string ReadSize(const YAML::Node& n, const std::string& key,
                     uint64_t* bytes) {
  if (!n.IsScalar()) return fmt::format("{}: expected a size like 512MiB", key);
  std::string err = ParseSize(n.Scalar(), bytes);
  return err.empty() ? "" : fmt::format("{}: {}", key, err);
}

std::string ApplyWatch(const YAML::Node& w, Config* cfg) {
  if (!w.IsMap()) return "watch: expected a mapping";
  for (const auto& kv : w) {
    const std::string key = kv.first.as<std::string>();
    const YAML::Node& v = kv.second;
    if (key == "builtin_rules") {
      if (auto e = ReadBool(v, "watch.builtin_rules", &cfg->builtin_watch_rules);
          !e.empty())
        return e;
    } else if (key == "pids") {
      if (!v.IsSequence()) return "watch.pids: expected a list";
      for (size_t i = 0; i < v.size(); ++i) {
        uint32_t pid = 0;
        if (auto e = ReadUint(v[i], fmt::format("watch.pids[{}]", i), &pid);
            !e.empty())
          return e;
        cfg->watch_pids.push_back(pid);
      }
    } else if (key == "exe") {
      if (!v.IsSequence()) return "watch.exe: expected a list of globs";
      for (size_t i = 0; i < v.size(); ++i) {
        WatchRule r;
        if (auto e = ReadString(v[i], fmt::format("watch.exe[{}]", i), &r.exe);
            !e.empty())
          return e;
        r.name = "exe:" + r.exe;
        cfg->watch_rules.push_back(r);
      }
    } else if (key == "rules") {
      if (!v.IsSequence()) return "watch.rules: expected a list";
      for (size_t i = 0; i < v.size(); ++i) {
        const YAML::Node& rn = v[i];
        std::string where = fmt::format("watch.rules[{}]", i);
        if (!rn.IsMap()) return where + ": expected a mapping";
        WatchRule r;
        for (const auto& f : rn) {
          const std::string fk = f.first.as<std::string>();
          std::string* dst = fk == "name"            ? &r.name
                             : fk == "exe"           ? &r.exe
                             : fk == "argv_contains" ? &r.argv_contains
                             : fk == "comm"          ? &r.comm
                                                     : nullptr;
          if (dst == nullptr) {
            return fmt::format("{}: unknown key '{}' (name, exe, "
                               "argv_contains, comm)",
                               where, fk);
          }
          if (auto e = ReadString(f.second, where + "." + fk, dst); !e.empty())
            return e;
        }
        if (r.exe.empty() && r.argv_contains.empty() && r.comm.empty()) {
          return where + ": a rule needs at least one of exe, argv_contains, comm";
        }
        if (r.name.empty()) r.name = where;
        cfg->watch_rules.push_back(r);
      }
    } else {
      return fmt::format("watch: unknown key '{}' (builtin_rules, pids, exe, "
                         "rules)",
                         key);
    }
  }
  return "";
}

}  // namespace

std::vector<WatchRule> Config::EffectiveWatchRules() const {
  std::vector<WatchRule> out;
  if (builtin_watch_rules) out = BuiltinWatchRules();
  out.insert(out.end(), watch_rules.begin(), watch_rules.end());
  return out;
}

namespace {
std::string ApplyConfigYamlOrThrow(const std::string& text, Config* cfg);
}  // namespace

std::string ApplyChains(const YAML::Node& n, Config* cfg) {
  if (!n.IsMap()) return "chains: expected a map";
  for (const auto& kv : n) {
    const std::string key = kv.first.as<std::string>();
    std::string err;
    if (key == "idle_gap") {
      err = ReadDurationMs(kv.second, "chains.idle_gap", &cfg->chain_idle_gap_ms);
      if (err.empty() && cfg->chain_idle_gap_ms < 1000) err = "chains.idle_gap: at least 1s";
    } else {
      err = fmt::format("chains: unknown key '{}'", key);
    }
    if (!err.empty()) return err;
  }
  return "";
}

std::string ApplyBaseline(const YAML::Node& n, Config* cfg) {
  if (!n.IsMap()) return "baseline: expected a map";
  for (const auto& kv : n) {
    const std::string key = kv.first.as<std::string>();
    const std::string name = "baseline." + key;
    std::string err;
    if (key == "enabled") {
      err = ReadBool(kv.second, name, &cfg->baseline_enabled);
    } else if (key == "learning_period") {
      err = ReadDurationMs(kv.second, name, &cfg->baseline_learning_ms);
    } else if (key == "min_observations") {
      err = ReadUint(kv.second, name, &cfg->baseline_min_observations);
    } else {
      err = fmt::format("baseline: unknown key '{}'", key);
    }
    if (!err.empty()) return err;
  }
  return "";
}

std::string ApplySinks(const YAML::Node& n, Config* cfg) {
  if (!n.IsSequence()) return "sinks: expected a list";
  std::vector<SinkConfig> sinks;
  for (size_t i = 0; i < n.size(); ++i) {
    const YAML::Node& s = n[i];
    if (!s.IsMap()) return fmt::format("sinks[{}]: expected a map", i);
    SinkConfig c;
    for (const auto& kv : s) {
      const std::string key = kv.first.as<std::string>();
      const std::string name = fmt::format("sinks[{}].{}", i, key);
      const YAML::Node& v = kv.second;
      std::string err;
      auto strings = [&](std::vector<std::string>* out) {
        if (v.IsScalar()) {
          out->push_back(v.as<std::string>());
        } else if (v.IsSequence()) {
          for (const auto& x : v) out->push_back(x.as<std::string>());
        } else {
          err = name + ": expected a string or a list";
        }
      };
      if (key == "name") {
        err = ReadString(v, name, &c.name);
      } else if (key == "type") {
        err = ReadString(v, name, &c.type);
      } else if (key == "min_severity") {
        err = ReadString(v, name, &c.min_severity);
      } else if (key == "rules") {
        strings(&c.rules);
      } else if (key == "agents") {
        strings(&c.agents);
      } else if (key == "format") {
        err = ReadString(v, name, &c.format);
      } else if (key == "path") {
        err = ReadString(v, name, &c.path);
      } else if (key == "max_size") {
        err = ReadSize(v, name, &c.max_size);
      } else if (key == "backups") {
        err = ReadUint(v, name, &c.backups);
      } else if (key == "compress") {
        err = ReadBool(v, name, &c.compress);
      } else if (key == "address") {
        err = ReadString(v, name, &c.address);
      } else if (key == "protocol") {
        err = ReadString(v, name, &c.protocol);
      } else if (key == "facility") {
        uint32_t f = 0;
        err = ReadUint(v, name, &f);
        c.facility = static_cast<int>(f);
      } else if (key == "ca") {
        err = ReadString(v, name, &c.ca_file);
      } else if (key == "cert") {
        err = ReadString(v, name, &c.cert_file);
      } else if (key == "key") {
        err = ReadString(v, name, &c.key_file);
      } else if (key == "server_name") {
        err = ReadString(v, name, &c.server_name);
      } else if (key == "url") {
        err = ReadString(v, name, &c.url);
      } else if (key == "flavor") {
        err = ReadString(v, name, &c.flavor);
      } else if (key == "token") {
        err = ReadString(v, name, &c.token);
      } else if (key == "index") {
        err = ReadString(v, name, &c.index);
      } else if (key == "sourcetype") {
        err = ReadString(v, name, &c.sourcetype);
      } else if (key == "hmac_secret") {
        err = ReadString(v, name, &c.hmac_secret);
      } else if (key == "token_file" || key == "hmac_secret_file" || key == "password_file") {
        // Secrets kept out of the config file.
        std::string path;
        err = ReadString(v, name, &path);
        if (err.empty()) {
          std::ifstream in(path);
          std::string secret;
          if (!in || !std::getline(in, secret) || secret.empty()) {
            err = name + ": cannot read a secret from " + path;
          } else {
            (key == "token_file"         ? c.token
             : key == "password_file"    ? c.password
                                         : c.hmac_secret) = secret;
          }
        }
      } else if (key == "database") {
        err = ReadString(v, name, &c.database);
      } else if (key == "user") {
        err = ReadString(v, name, &c.user);
      } else if (key == "password") {
        err = ReadString(v, name, &c.password);
      } else if (key == "headers") {
        strings(&c.headers);
      } else if (key == "gzip") {
        err = ReadBool(v, name, &c.gzip);
      } else if (key == "timeout") {
        uint64_t ms = 0;
        err = ReadDurationMs(v, name, &ms);
        c.timeout_ms = static_cast<uint32_t>(std::min<uint64_t>(ms, 600000));
      } else {
        err = fmt::format("sinks[{}]: unknown key '{}'", i, key);
      }
      if (!err.empty()) return err;
    }
    if (std::string e = ValidateSink(c); !e.empty()) return e;
    for (const auto& other : sinks)
      if (other.name == c.name) return fmt::format("sinks: two sinks named '{}'", c.name);
    sinks.push_back(std::move(c));
  }
  cfg->sinks = std::move(sinks);
  return "";
}

std::string ApplyStore(const YAML::Node& n, Config* cfg) {
  if (!n.IsMap()) return "store: expected a map";
  for (const auto& kv : n) {
    const std::string key = kv.first.as<std::string>();
    const std::string name = "store." + key;
    std::string err;
    uint64_t v = 0;
    if (key == "enabled") {
      err = ReadBool(kv.second, name, &cfg->store_enabled);
    } else if (key == "path") {
      err = ReadString(kv.second, name, &cfg->store_path);
    } else if (key == "flush_interval") {
      err = ReadDurationMs(kv.second, name, &v);
      if (err.empty() && v > 60000) err = name + ": at most 60s";
      cfg->store_flush_ms = static_cast<uint32_t>(v);
    } else if (key == "max_age") {
      err = ReadDurationMs(kv.second, name, &v);
      cfg->store_max_age_s = v / 1000;
    } else if (key == "max_size") {
      err = ReadSize(kv.second, name, &cfg->store_max_bytes);
    } else if (key == "retention_interval") {
      err = ReadDurationMs(kv.second, name, &v);
      if (err.empty() && v > 86400000) err = name + ": at most 1d";
      cfg->store_retention_ms = static_cast<uint32_t>(v);
    } else if (key == "outbox_max") {
      err = ReadUint(kv.second, name, &cfg->outbox_max);
    } else if (key == "full_content") {
      err = ReadBool(kv.second, name, &cfg->full_content);
    } else {
      err = fmt::format("store: unknown key '{}'", key);
    }
    if (!err.empty()) return err;
  }
  return "";
}

// A section whose keys are all strings.
std::string ApplyStrings(const YAML::Node& n, const std::string& section,
                         std::initializer_list<std::pair<const char*, std::string*>> fields) {
  if (!n.IsMap()) return section + ": expected a map";
  for (const auto& kv : n) {
    const std::string key = kv.first.as<std::string>();
    std::string* out = nullptr;
    for (const auto& [name, field] : fields) {
      if (key == name) out = field;
    }
    if (out == nullptr) return fmt::format("{}: unknown key '{}'", section, key);
    if (std::string err = ReadString(kv.second, section + "." + key, out); !err.empty()) return err;
  }
  return "";
}

std::string ApplyKubernetes(const YAML::Node& n, Config* cfg) {
  if (!n.IsMap()) return "kubernetes: expected a map";
  for (const auto& kv : n) {
    const std::string key = kv.first.as<std::string>();
    const std::string name = "kubernetes." + key;
    std::string err;
    if (key == "enabled") {
      err = ReadString(kv.second, name, &cfg->kubernetes);
      if (cfg->kubernetes == "true" || cfg->kubernetes == "yes") cfg->kubernetes = "on";
      if (cfg->kubernetes == "false" || cfg->kubernetes == "no") cfg->kubernetes = "off";
    } else if (key == "api_server") {
      err = ReadString(kv.second, name, &cfg->kube_api_server);
    } else if (key == "token_file") {
      err = ReadString(kv.second, name, &cfg->kube_token_file);
    } else if (key == "ca_file") {
      err = ReadString(kv.second, name, &cfg->kube_ca_file);
    } else if (key == "node_name") {
      err = ReadString(kv.second, name, &cfg->kube_node_name);
    } else if (key == "resync") {
      err = ReadDurationMs(kv.second, name, &cfg->kube_resync_ms);
      if (err.empty() && cfg->kube_resync_ms < 1000) err = name + ": at least 1s";
    } else {
      err = fmt::format("kubernetes: unknown key '{}'", key);
    }
    if (!err.empty()) return err;
  }
  return "";
}

std::string ApplyDiscovery(const YAML::Node& n, Config* cfg) {
  if (!n.IsMap()) return "discovery: expected a map";
  for (const auto& kv : n) {
    const std::string key = kv.first.as<std::string>();
    std::string err;
    if (key == "stdio") {
      err = ReadBool(kv.second, "discovery.stdio", &cfg->discover_stdio);
    } else if (key == "http") {
      err = ReadBool(kv.second, "discovery.http", &cfg->discover_http);
    } else if (key == "probe_bytes") {
      err = ReadUint(kv.second, "discovery.probe_bytes", &cfg->probe_bytes);
    } else {
      err = fmt::format("discovery: unknown key '{}'", key);
    }
    if (!err.empty()) return err;
  }
  return "";
}

std::string ApplyConfigYaml(const std::string& text, Config* cfg) {
  // yaml-cpp reports odd shapes (a sequence as a key, say) by throwing;
  // nothing crosses this function but an error string.
  try {
    return ApplyConfigYamlOrThrow(text, cfg);
  } catch (const YAML::Exception& e) {
    return fmt::format("line {}, column {}: {}", e.mark.line + 1,
                       e.mark.column + 1, e.msg);
  } catch (const std::exception& e) {
    return e.what();
  }
}

namespace {
std::string ApplyConfigYamlOrThrow(const std::string& text, Config* cfg) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return fmt::format("YAML syntax error at line {}, column {}: {}",
                       e.mark.line + 1, e.mark.column + 1, e.msg);
  }
  if (root.IsNull()) return "";
  if (!root.IsMap()) return "top level: expected a mapping";
  for (const auto& kv : root) {
    const std::string key = kv.first.as<std::string>();
    const YAML::Node& v = kv.second;
    std::string err;
    if (key == "endpoint") {
      err = ReadString(v, key, &cfg->endpoint);
    } else if (key == "state_dir") {
      err = ReadString(v, key, &cfg->state_dir);
    } else if (key == "log_level") {
      err = ReadString(v, key, &cfg->log_level);
    } else if (key == "ringbuf_size") {
      err = ReadUint(v, key, &cfg->ringbuf_bytes);
    } else if (key == "argv_max") {
      err = ReadUint(v, key, &cfg->argv_max);
    } else if (key == "dns_port") {
      err = ReadUint(v, key, &cfg->dns_port);
    } else if (key == "payload_max") {
      err = ReadUint(v, key, &cfg->payload_max);
    } else if (key == "queue_size") {
      err = ReadUint(v, key, &cfg->queue_size);
    } else if (key == "process_table_max") {
      err = ReadUint(v, key, &cfg->process_table_max);
    } else if (key == "backlog_events") {
      err = ReadUint(v, key, &cfg->backlog_events);
    } else if (key == "record") {
      err = ReadString(v, key, &cfg->record_file);
    } else if (key == "hooks") {
      err = ReadString(v, key, &cfg->hooks);
    } else if (key == "watch") {
      err = ApplyWatch(v, cfg);
    } else if (key == "discovery") {
      err = ApplyDiscovery(v, cfg);
    } else if (key == "store") {
      err = ApplyStore(v, cfg);
    } else if (key == "cgroup_root") {
      err = ReadString(v, key, &cfg->cgroup_root);
    } else if (key == "rules_dir") {
      err = ReadString(v, key, &cfg->rules_dir);
    } else if (key == "chains") {
      err = ApplyChains(v, cfg);
    } else if (key == "baseline") {
      err = ApplyBaseline(v, cfg);
    } else if (key == "sinks") {
      err = ApplySinks(v, cfg);
    } else if (key == "api") {
      err = ApplyStrings(v, key, {{"tcp_listen", &cfg->api_tcp_listen}});
    } else if (key == "metrics") {
      err = ApplyStrings(v, key, {{"listen", &cfg->metrics_listen},
                                  {"tls_listen", &cfg->metrics_tls_listen}});
    } else if (key == "tls") {
      err = ApplyStrings(v, key, {{"cert", &cfg->tls_cert_file},
                                  {"key", &cfg->tls_key_file},
                                  {"client_ca", &cfg->tls_client_ca_file}});
    } else if (key == "kubernetes") {
      err = ApplyKubernetes(v, cfg);
    } else {
      err = fmt::format("unknown key '{}'", key);
    }
    if (!err.empty()) return err;
  }
  return "";
}
}  // namespace

std::string LoadConfigFile(const std::string& path, bool required,
                           Config* cfg) {
  std::string text;
  if (!ReadFileText(path, &text)) {
    struct stat st {};
    if (!required && stat(path.c_str(), &st) != 0) return "";
    return fmt::format("{}: cannot read", path);
  }
  std::string err = ApplyConfigYaml(text, cfg);
  if (!err.empty()) return fmt::format("{}: {}", path, err);
  return "";
}

std::string ValidateConfig(const Config& c) {
  static const std::set<std::string> kLevels = {"trace", "debug", "info",
                                                "warn", "error", "off"};
  if (!kLevels.count(c.log_level)) {
    return fmt::format("log_level: '{}' is not one of trace, debug, info, "
                       "warn, error, off",
                       c.log_level);
  }
  const uint32_t rb = c.ringbuf_bytes;
  if (rb < 4096 || (rb & (rb - 1)) != 0 || rb > (1u << 30)) {
    return fmt::format("ringbuf_size: {} must be a power of two between 4096 "
                       "and 1073741824 bytes",
                       rb);
  }
  if (c.hooks != "auto" && c.hooks != "fallback") {
    return fmt::format("hooks: '{}' is not auto or fallback", c.hooks);
  }
  if (c.argv_max < 64 || c.argv_max > 4096) {
    return fmt::format("argv_max: {} must be between 64 and 4096", c.argv_max);
  }
  if (c.probe_bytes < 256 || c.probe_bytes > 65536) {
    return fmt::format("discovery.probe_bytes: {} must be between 256 and 65536",
                       c.probe_bytes);
  }
  if (c.payload_max != 0 &&
      (c.payload_max < 64 || c.payload_max > 256 * 1024)) {
    return fmt::format("payload_max: {} must be 0 (off) or between 64 and "
                       "262144 bytes",
                       c.payload_max);
  }
  if (c.dns_port == 0 || c.dns_port > 65535) {
    return fmt::format("dns_port: {} is not a port", c.dns_port);
  }
  if (c.queue_size < 16) {
    return fmt::format("queue_size: {} must be at least 16", c.queue_size);
  }
  if (c.process_table_max < 128) {
    return fmt::format("process_table_max: {} must be at least 128",
                       c.process_table_max);
  }
  if (c.endpoint.rfind("unix://", 0) != 0) {
    return fmt::format("endpoint: '{}' must be unix:///path (TCP needs mTLS, "
                       "which this build does not offer yet)",
                       c.endpoint);
  }
  if (c.endpoint.size() <= 7 || c.endpoint[7] != '/') {
    return fmt::format("endpoint: '{}' needs an absolute socket path",
                       c.endpoint);
  }
  for (uint32_t pid : c.watch_pids) {
    if (pid == 0) return "watch.pids: 0 is not a process id";
  }
  if (!c.sinks.empty() && !c.store_enabled)
    return "sinks: delivery needs the store (its outbox); enable store";
  if (c.store_enabled) {
    if (c.store_flush_ms < 10) {
      return fmt::format("store.flush_interval: {}ms must be at least 10ms",
                         c.store_flush_ms);
    }
    if (c.store_retention_ms < 100) {
      return fmt::format("store.retention_interval: {}ms must be at least 100ms",
                         c.store_retention_ms);
    }
    if (c.store_max_bytes != 0 && c.store_max_bytes < (1u << 20)) {
      return fmt::format("store.max_size: {} bytes must be 0 (no limit) or at "
                         "least 1MiB",
                         c.store_max_bytes);
    }
    if (!c.store_path.empty() && c.store_path[0] != '/') {
      return fmt::format("store.path: '{}' must be absolute", c.store_path);
    }
  }
  // Listen addresses: host:port. Plain HTTP only on loopback; anything
  // else on TCP is TLS with client certificates.
  std::string host, port;
  if (!c.metrics_listen.empty()) {
    if (!SplitHostPort(c.metrics_listen, &host, &port))
      return fmt::format("metrics.listen: '{}' is not host:port", c.metrics_listen);
    if (!IsLoopbackHost(host))
      return fmt::format("metrics.listen: '{}' is not a loopback address; serve other "
                         "addresses with metrics.tls_listen (TLS with client certificates)",
                         c.metrics_listen);
  }
  for (const auto& [name, addr] : {std::pair<const char*, const std::string&>{
                                       "metrics.tls_listen", c.metrics_tls_listen},
                                   {"api.tcp_listen", c.api_tcp_listen}}) {
    if (addr.empty()) continue;
    if (!SplitHostPort(addr, &host, &port))
      return fmt::format("{}: '{}' is not host:port", name, addr);
    if (c.tls_cert_file.empty() || c.tls_key_file.empty() || c.tls_client_ca_file.empty())
      return fmt::format("{}: needs tls.cert, tls.key and tls.client_ca (clients must present "
                         "a certificate)",
                         name);
  }
  if (!c.kube_api_server.empty()) {
    // The service account token goes with every request: never in clear
    // text off this host.
    const bool https = c.kube_api_server.rfind("https://", 0) == 0;
    const bool http = c.kube_api_server.rfind("http://", 0) == 0;
    std::string rest = c.kube_api_server.substr(https ? 8 : http ? 7 : 0);
    rest = rest.substr(0, rest.find('/'));
    if (!https && !http)
      return fmt::format("kubernetes.api_server: '{}' is not an https:// URL", c.kube_api_server);
    if (http && (!SplitHostPort(rest, &host, &port) || !IsLoopbackHost(host)))
      return fmt::format("kubernetes.api_server: '{}': plain http only to a loopback address "
                         "(the token would travel in clear text)",
                         c.kube_api_server);
  }
  if (c.kubernetes != "auto" && c.kubernetes != "on" && c.kubernetes != "off")
    return fmt::format("kubernetes.enabled: '{}' is not auto, true or false", c.kubernetes);
  return "";
}

std::string Config::StorePath() const {
  return store_path.empty() ? state_dir + "/agentwatch.db" : store_path;
}

}  // namespace agentwatch
