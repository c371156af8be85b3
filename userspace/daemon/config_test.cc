#include "daemon/config.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "daemon/settings.h"

namespace agentwatch {
namespace {

TEST(ConfigTest, DefaultsAreValid) {
  Config c;
  EXPECT_EQ(ValidateConfig(c), "");
  EXPECT_EQ(c.endpoint, "unix:///run/agentwatch/agentwatch.sock");
  EXPECT_EQ(c.EffectiveWatchRules().size(), BuiltinWatchRules().size());
}

TEST(ConfigTest, YamlOverridesAndRules) {
  Config c;
  ASSERT_EQ(ApplyConfigYaml(R"(
endpoint: unix:///tmp/aw.sock
ringbuf_size: 0x100000
argv_max: 2048
watch:
  builtin_rules: false
  pids: [10, 20]
  exe: ["/opt/mcp/*"]
  rules:
    - name: node-servers
      exe: "/usr/bin/node"
      argv_contains: "server.js"
)",
                            &c),
            "");
  EXPECT_EQ(ValidateConfig(c), "");
  EXPECT_EQ(c.endpoint, "unix:///tmp/aw.sock");
  EXPECT_EQ(c.ringbuf_bytes, 1u << 20);
  EXPECT_EQ(c.argv_max, 2048u);
  EXPECT_EQ(c.watch_pids, (std::vector<uint32_t>{10, 20}));
  auto rules = c.EffectiveWatchRules();
  ASSERT_EQ(rules.size(), 2u);
  EXPECT_EQ(rules[0].exe, "/opt/mcp/*");
  EXPECT_EQ(rules[1].name, "node-servers");
  EXPECT_EQ(rules[1].argv_contains, "server.js");
}

TEST(ConfigTest, ClearErrors) {
  struct Case {
    const char* yaml;
    const char* want;  // substring of the error
  };
  const Case cases[] = {
      {"ringbuf_sise: 4096", "unknown key 'ringbuf_sise'"},
      {"argv_max: lots", "argv_max: 'lots' is not a number"},
      {"argv_max: -5", "argv_max"},
      {"watch: {pids: [abc]}", "watch.pids[0]"},
      {"watch: {rules: [{name: x}]}", "needs at least one of"},
      {"watch: {rules: [{exe: a, cmd: b}]}", "unknown key 'cmd'"},
      {"watch: [1]", "watch: expected a mapping"},
      {"endpoint: [a]", "endpoint: expected a string"},
      {"a: b: c", "YAML syntax error at line 1"},
  };
  for (const auto& tc : cases) {
    Config c;
    std::string err = ApplyConfigYaml(tc.yaml, &c);
    EXPECT_NE(err.find(tc.want), std::string::npos)
        << tc.yaml << " gave: " << err;
  }
}

TEST(ConfigTest, ValidationNamesTheValue) {
  Config c;
  c.ringbuf_bytes = 5000;
  EXPECT_NE(ValidateConfig(c).find("ringbuf_size: 5000 must be a power of two"),
            std::string::npos);
  c = Config{};
  c.argv_max = 10;
  EXPECT_NE(ValidateConfig(c).find("argv_max"), std::string::npos);
  c = Config{};
  c.endpoint = "tcp://0.0.0.0:1";
  EXPECT_NE(ValidateConfig(c).find("mTLS"), std::string::npos);
  c = Config{};
  c.log_level = "loud";
  EXPECT_NE(ValidateConfig(c).find("log_level"), std::string::npos);
}

TEST(ConfigTest, Discovery) {
  Config c;
  EXPECT_TRUE(c.discover_stdio && c.discover_http);
  ASSERT_EQ(ApplyConfigYaml("discovery:\n  stdio: false\n  probe_bytes: 4096\n", &c), "");
  EXPECT_FALSE(c.discover_stdio);
  EXPECT_TRUE(c.discover_http);
  EXPECT_EQ(c.probe_bytes, 4096u);
  EXPECT_EQ(ValidateConfig(c), "");
  c.probe_bytes = 100;
  EXPECT_NE(ValidateConfig(c).find("discovery.probe_bytes: 100"), std::string::npos);
  Config d;
  EXPECT_NE(ApplyConfigYaml("discovery:\n  stdoi: true\n", &d).find("unknown key 'stdoi'"),
            std::string::npos);
  EXPECT_NE(ApplyConfigYaml("discovery: yes\n", &d).find("expected a map"),
            std::string::npos);
}

TEST(ConfigTest, Store) {
  Config c;
  EXPECT_TRUE(c.store_enabled);
  EXPECT_EQ(c.StorePath(), "/var/lib/agentwatch/agentwatch.db");
  ASSERT_EQ(ApplyConfigYaml("store:\n  flush_interval: 250ms\n  max_age: 2d\n"
                            "  max_size: 512MiB\n  retention_interval: 30s\n"
                            "  full_content: true\n",
                            &c),
            "");
  EXPECT_EQ(c.store_flush_ms, 250u);
  EXPECT_EQ(c.store_max_age_s, 2u * 86400);
  EXPECT_EQ(c.store_max_bytes, 512ull << 20);
  EXPECT_EQ(c.store_retention_ms, 30000u);
  EXPECT_TRUE(c.full_content);
  EXPECT_EQ(ValidateConfig(c), "");
  ASSERT_EQ(ApplyConfigYaml("state_dir: /srv/aw\nstore:\n  max_size: 0\n", &c), "");
  EXPECT_EQ(c.StorePath(), "/srv/aw/agentwatch.db");
  EXPECT_EQ(c.store_max_bytes, 0u);
  EXPECT_NE(ApplyConfigYaml("store:\n  max_age: 7 fortnights\n", &c).find(
                "store.max_age: '7 fortnights': unknown unit 'fortnights'"),
            std::string::npos);
  EXPECT_NE(ApplyConfigYaml("store:\n  max_size: lots\n", &c).find("store.max_size"),
            std::string::npos);
  EXPECT_NE(ApplyConfigYaml("store:\n  flush_interval: 2m\n", &c).find("at most 60s"),
            std::string::npos);
  EXPECT_NE(ApplyConfigYaml("store:\n  pth: /x\n", &c).find("unknown key 'pth'"),
            std::string::npos);
  ASSERT_EQ(ApplyConfigYaml("chains:\n  idle_gap: 30m\n", &c), "");
  EXPECT_EQ(c.chain_idle_gap_ms, 30u * 60 * 1000);
  EXPECT_NE(ApplyConfigYaml("chains:\n  idle_gap: 10ms\n", &c).find("at least 1s"),
            std::string::npos);
  ASSERT_EQ(ApplyConfigYaml("sinks:\n  - name: siem\n    type: syslog\n    address: 10.0.0.5:6514\n"
                            "    protocol: tls\n    ca: /etc/ca.pem\n    min_severity: high\n"
                            "    rules: [\"sensitive-*\"]\n  - name: local\n    type: file\n"
                            "    path: /var/log/aw.jsonl\n    max_size: 10MiB\n    backups: 3\n"
                            "store:\n  outbox_max: 5000\n",
                            &c),
            "");
  ASSERT_EQ(c.sinks.size(), 2u);
  EXPECT_EQ(c.sinks[0].protocol, "tls");
  EXPECT_EQ(c.sinks[0].rules, (std::vector<std::string>{"sensitive-*"}));
  EXPECT_EQ(c.sinks[1].max_size, 10u << 20);
  EXPECT_EQ(c.outbox_max, 5000u);
  EXPECT_NE(ApplyConfigYaml("sinks:\n  - name: a\n    type: file\n    path: /x\n"
                            "  - name: a\n    type: file\n    path: /y\n", &c)
                .find("two sinks named 'a'"),
            std::string::npos);
  EXPECT_NE(ApplyConfigYaml("sinks:\n  - name: a\n    type: syslog\n    adress: x:1\n", &c)
                .find("sinks[0]: unknown key 'adress'"),
            std::string::npos);
  ASSERT_EQ(ApplyConfigYaml("baseline:\n  learning_period: 2h\n  min_observations: 7\n"
                            "  enabled: false\n", &c),
            "");
  EXPECT_EQ(c.baseline_learning_ms, 2u * 3600 * 1000);
  EXPECT_EQ(c.baseline_min_observations, 7u);
  EXPECT_FALSE(c.baseline_enabled);
  EXPECT_NE(ApplyConfigYaml("baseline:\n  learn: 2h\n", &c).find("unknown key 'learn'"),
            std::string::npos);
  EXPECT_NE(ApplyConfigYaml("baseline:\n  learning_period: soon\n", &c).find("baseline.learning_period"),
            std::string::npos);
  Config d;
  d.store_max_bytes = 1000;
  EXPECT_NE(ValidateConfig(d).find("at least 1MiB"), std::string::npos);
  d.store_max_bytes = 0;
  d.store_path = "relative.db";
  EXPECT_NE(ValidateConfig(d).find("must be absolute"), std::string::npos);
}

TEST(ConfigTest, ListenersAndTls) {
  Config c;
  EXPECT_EQ(c.metrics_listen, "127.0.0.1:9590");
  ASSERT_EQ(ApplyConfigYaml(R"(
metrics:
  listen: "[::1]:9590"
  tls_listen: 0.0.0.0:9592
api:
  tcp_listen: 0.0.0.0:9443
tls:
  cert: /etc/agentwatch/tls/tls.crt
  key: /etc/agentwatch/tls/tls.key
  client_ca: /etc/agentwatch/tls/ca.crt
kubernetes:
  enabled: true
  node_name: node-a
  resync: 30s
)",
                            &c),
            "");
  EXPECT_EQ(ValidateConfig(c), "");
  EXPECT_EQ(c.api_tcp_listen, "0.0.0.0:9443");
  EXPECT_EQ(c.kubernetes, "on");
  EXPECT_EQ(c.kube_resync_ms, 30000u);
  // Plain HTTP off loopback is refused, and so is TCP without client CAs.
  Config d;
  ASSERT_EQ(ApplyConfigYaml("metrics: {listen: 0.0.0.0:9590}", &d), "");
  EXPECT_NE(ValidateConfig(d).find("not a loopback address"), std::string::npos);
  Config e;
  ASSERT_EQ(ApplyConfigYaml("api: {tcp_listen: 0.0.0.0:9443}\ntls: {cert: a, key: b}", &e), "");
  EXPECT_NE(ValidateConfig(e).find("api.tcp_listen: needs tls.cert, tls.key and tls.client_ca"),
            std::string::npos);
  // The console: on by default on loopback; elsewhere only with mTLS.
  EXPECT_EQ(Config().console_listen, "127.0.0.1:9591");
  EXPECT_EQ(ValidateConfig(Config()), "");
  Config cg;
  ASSERT_EQ(ApplyConfigYaml("console: {listen: \"0.0.0.0:9591\"}", &cg), "");
  EXPECT_NE(ValidateConfig(cg).find("console.listen: needs tls.cert, tls.key and tls.client_ca"),
            std::string::npos)
      << ValidateConfig(cg);
  ASSERT_EQ(ApplyConfigYaml("tls: {cert: a, key: b, client_ca: c}", &cg), "");
  EXPECT_EQ(ValidateConfig(cg), "");
  // Two listeners on one port (the DaemonSet once had metrics over mTLS on
  // 0.0.0.0:9591, the console's default).
  ASSERT_EQ(ApplyConfigYaml("console: {listen: \"127.0.0.1:9591\"}\n"
                            "metrics: {tls_listen: \"0.0.0.0:9591\"}",
                            &cg),
            "");
  EXPECT_NE(ValidateConfig(cg).find("metrics.tls_listen (0.0.0.0:9591) and console.listen "
                                   "(127.0.0.1:9591) cannot both listen on port 9591"),
            std::string::npos)
      << ValidateConfig(cg);
  Config ch;
  ASSERT_EQ(ApplyConfigYaml("console: {listen: \"[::1]:9591\"}", &ch), "");
  EXPECT_EQ(ValidateConfig(ch), "");
  ASSERT_EQ(ApplyConfigYaml("console: {listen: \"9591\"}", &ch), "");
  EXPECT_NE(ValidateConfig(ch).find("is not host:port"), std::string::npos);
  ASSERT_EQ(ApplyConfigYaml("console: {listen: \"\"}", &ch), "");
  EXPECT_EQ(ch.console_listen, "");
  Config f;
  EXPECT_NE(ApplyConfigYaml("metrics: {port: 1}", &f).find("metrics: unknown key 'port'"),
            std::string::npos);
  EXPECT_NE(ApplyConfigYaml("kubernetes: {resync: 10ms}", &f).find("at least 1s"),
            std::string::npos);
  Config g;
  ASSERT_EQ(ApplyConfigYaml("kubernetes: {api_server: 'http://10.0.0.1:6443'}", &g), "");
  EXPECT_NE(ValidateConfig(g).find("clear text"), std::string::npos);
  ASSERT_EQ(ApplyConfigYaml("kubernetes: {api_server: 'http://127.0.0.1:8080'}", &g), "");
  EXPECT_EQ(ValidateConfig(g), "");
  ASSERT_EQ(ApplyConfigYaml("kubernetes: {api_server: 'https://10.0.0.1:6443'}", &g), "");
  EXPECT_EQ(ValidateConfig(g), "");
  ASSERT_EQ(ApplyConfigYaml("kubernetes: {enabled: maybe}", &f), "");
  EXPECT_NE(ValidateConfig(f).find("kubernetes.enabled"), std::string::npos);
}

// The number of members of an aggregate (Config and SinkConfig are): the
// most initializers T{...} takes.
struct AnyMember {
  template <typename T>
  operator T() const;  // NOLINT: never defined, only in unevaluated operands
};
template <typename T, typename... Members>
constexpr size_t CountMembers() {
  if constexpr (requires { T{Members{}..., AnyMember{}}; }) {
    return CountMembers<T, Members..., AnyMember>();
  } else {
    return sizeof...(Members);
  }
}

// For every setting, a YAML document that sets it (and nothing else) to
// a value other than its default.
const std::map<std::string, std::string>& Samples() {
  static const auto* samples = new std::map<std::string, std::string>{
      {"log_level", "log_level: debug"},
      {"rules_dir", "rules_dir: /srv/rules.d"},
      {"secrets_dir", "secrets_dir: /srv/secrets.d"},
      {"ringbuf_size", "ringbuf_size: 65536"},
      {"hooks", "hooks: fallback"},
      {"argv_max", "argv_max: 64"},
      {"discovery.stdio", "discovery: {stdio: false}"},
      {"discovery.http", "discovery: {http: false}"},
      {"discovery.probe_bytes", "discovery: {probe_bytes: 256}"},
      {"payload_max", "payload_max: 0"},
      {"payload_rate", "payload_rate: 0"},
      {"payload_burst", "payload_burst: 65536"},
      {"record_rate", "record_rate: 0"},
      {"record_burst", "record_burst: 1000"},
      {"dns_port", "dns_port: 5353"},
      {"queue_size", "queue_size: 16"},
      {"process_table_max", "process_table_max: 128"},
      {"backlog_events", "backlog_events: 5"},
      {"endpoint", "endpoint: unix:///tmp/aw.sock"},
      {"state_dir", "state_dir: /srv/aw"},
      {"record", "record: /tmp/aw.trace"},
      {"cgroup_root", "cgroup_root: /host/sys/fs/cgroup"},
      {"watch.builtin_rules", "watch: {builtin_rules: false}"},
      {"watch.pids", "watch: {pids: [42]}"},
      {"watch.exe", "watch: {exe: [/opt/mcp/*]}"},
      {"watch.rules", "watch: {rules: [{comm: node}]}"},
      {"sinks", "sinks: [{name: a, type: file, path: /var/log/aw.jsonl}]"},
      {"store.enabled", "store: {enabled: false}"},
      {"store.flush_interval", "store: {flush_interval: 250ms}"},
      {"store.retention_interval", "store: {retention_interval: 30s}"},
      {"store.max_size", "store: {max_size: 0}"},
      {"store.path", "store: {path: /srv/aw.db}"},
      {"store.max_age", "store: {max_age: 1d}"},
      {"store.outbox_max", "store: {outbox_max: 7000}"},
      {"store.held_max", "store: {held_max: 9}"},
      {"store.full_content", "store: {full_content: true}"},
      {"chains.idle_gap", "chains: {idle_gap: 30m}"},
      {"baseline.enabled", "baseline: {enabled: false}"},
      {"baseline.learning_period", "baseline: {learning_period: 2h}"},
      {"baseline.min_observations", "baseline: {min_observations: 7}"},
      {"metrics.listen", "metrics: {listen: ''}"},
      {"metrics.tls_listen", "metrics: {tls_listen: '0.0.0.0:9592'}"},
      {"console.listen", "console: {listen: '127.0.0.1:9600'}"},
      {"api.tcp_listen", "api: {tcp_listen: '0.0.0.0:9443'}"},
      {"tls.cert", "tls: {cert: /etc/tls.crt}"},
      {"tls.key", "tls: {key: /etc/tls.key}"},
      {"tls.client_ca", "tls: {client_ca: /etc/ca.crt}"},
      {"kubernetes.api_server", "kubernetes: {api_server: 'https://10.0.0.1:6443'}"},
      {"kubernetes.enabled", "kubernetes: {enabled: false}"},
      {"kubernetes.token_file", "kubernetes: {token_file: /run/token}"},
      {"kubernetes.ca_file", "kubernetes: {ca_file: /run/ca.crt}"},
      {"kubernetes.node_name", "kubernetes: {node_name: node-a}"},
      {"kubernetes.resync", "kubernetes: {resync: 5m}"},
  };
  return *samples;
}

TEST(SettingsTest, EveryConfigMemberHasASetting) {
  std::set<std::string> fields, keys;
  for (const Setting& s : Settings()) {
    fields.insert(s.field);
    EXPECT_TRUE(keys.insert(s.key).second) << "two entries for " << s.key;
    EXPECT_FALSE(s.kind.empty()) << s.key;
    EXPECT_FALSE(s.help.empty()) << s.key;
    EXPECT_TRUE(s.parse && s.same && s.copy) << s.key;
  }
  // A new Config member needs an entry in settings.cc (and a sample above).
  EXPECT_EQ(fields.size(), CountMembers<Config>());
  EXPECT_EQ(SinkFields().size(), CountMembers<SinkConfig>());
  EXPECT_EQ(Samples().size(), Settings().size());
  ASSERT_EQ(SettingsTable().size(), Settings().size());
  std::set<std::string> reloadable;
  for (size_t i = 0; i < Settings().size(); ++i) {
    const SettingInfo& info = SettingsTable()[i];
    EXPECT_EQ(info.key, Settings()[i].key);
    EXPECT_EQ(info.kind, Settings()[i].kind);
    EXPECT_EQ(info.help, Settings()[i].help);
    if (info.reloadable) reloadable.insert(info.key);
  }
  EXPECT_EQ(reloadable,
            (std::set<std::string>{"log_level", "rules_dir", "secrets_dir", "watch.builtin_rules",
                                   "watch.pids", "watch.exe", "watch.rules"}));
}

// Each sample changes its entry's member and no other; a restart-only one
// is named by RestartOnlyChanges, a reloadable one is copied by
// ApplyReloadable (and nothing else is).
TEST(SettingsTest, EachSettingChangesExactlyItsMember) {
  const Config defaults;
  for (const Setting& s : Settings()) {
    SCOPED_TRACE(s.key);
    auto sample = Samples().find(s.key);
    ASSERT_NE(sample, Samples().end()) << "no sample for " << s.key;
    Config next;
    ASSERT_EQ(ApplyConfigYaml(sample->second, &next), "");
    for (const Setting& t : Settings()) {
      EXPECT_EQ(t.same(defaults, next), t.field != s.field) << t.key;
    }
    const std::vector<std::string> want =
        s.reloadable ? std::vector<std::string>{} : std::vector<std::string>{s.key};
    EXPECT_EQ(RestartOnlyChanges(defaults, next), want);
    EXPECT_EQ(RestartOnlyChanges(next, next), std::vector<std::string>{});
    Config running;
    ApplyReloadable(next, &running);
    for (const Setting& t : Settings()) {
      const bool copied = s.reloadable && t.field == s.field;
      EXPECT_EQ(t.same(running, next), copied || t.field != s.field) << t.key;
      EXPECT_EQ(t.same(running, defaults), !copied) << t.key;
    }
  }
}

TEST(SettingsTest, AChangedSinkMemberIsARestart) {
  // A ClickHouse sink with a path: every member below can change alone and
  // the sink stays valid.
  const std::string base =
      "sinks:\n  - name: a\n    type: clickhouse\n    url: 'http://127.0.0.1:8123/'\n    path: /x\n";
  const std::map<std::string, std::string> samples = {
      {"name", "b"},          {"type", "file"},          {"min_severity", "high"},
      {"rules", "[r1]"},      {"agents", "[node]"},      {"format", "native"},
      {"path", "/y"},         {"max_size", "1MiB"},      {"backups", "1"},
      {"compress", "false"},  {"address", "h:514"},      {"protocol", "udp"},
      {"facility", "3"},      {"ca", "/ca.pem"},         {"cert", "/c.pem"},
      {"key", "/k.pem"},      {"server_name", "siem"},   {"url", "'https://h2/'"},
      {"flavor", "hec"},      {"token", "t"},            {"index", "i"},
      {"sourcetype", "s"},    {"hmac_secret", "h"},      {"headers", "['X-A: 1']"},
      {"gzip", "true"},       {"timeout", "3s"},         {"database", "db2"},
      {"user", "u"},          {"password", "p"},         {"allow_insecure", "true"},
  };
  Config running;
  ASSERT_EQ(ApplyConfigYaml(base, &running), "");
  ASSERT_EQ(samples.size(), SinkFields().size());
  for (const SinkField& f : SinkFields()) {
    SCOPED_TRACE(f.key);
    auto sample = samples.find(f.key);
    ASSERT_NE(sample, samples.end());
    std::string yaml = base;
    if (f.key == "name" || f.key == "type" || f.key == "url" || f.key == "path") {
      const std::string line = " " + f.key + ": ";
      const size_t at = yaml.find(line) + line.size();
      yaml.replace(at, yaml.find('\n', at) - at, sample->second);
    } else {
      yaml += "    " + f.key + ": " + sample->second + "\n";
    }
    Config next;
    ASSERT_EQ(ApplyConfigYaml(yaml, &next), "") << yaml;
    ASSERT_EQ(next.sinks.size(), 1u);
    for (const SinkField& g : SinkFields()) {
      EXPECT_EQ(g.same(running.sinks[0], next.sinks[0]), g.field != f.field) << g.key;
    }
    EXPECT_EQ(RestartOnlyChanges(running, next), std::vector<std::string>{"sinks"});
  }
  // Same count, one path and one severity changed; and a sink more.
  Config next = running;
  next.sinks[0].path = "/z";
  EXPECT_EQ(RestartOnlyChanges(running, next), std::vector<std::string>{"sinks"});
  next = running;
  next.sinks[0].min_severity = "critical";
  EXPECT_EQ(RestartOnlyChanges(running, next), std::vector<std::string>{"sinks"});
  next.sinks.push_back(next.sinks[0]);
  EXPECT_EQ(RestartOnlyChanges(running, next), std::vector<std::string>{"sinks"});
  EXPECT_EQ(RestartOnlyChanges(running, running), std::vector<std::string>{});
}

TEST(SettingsTest, ApplyReloadableCopiesOnlyReloadable) {
  Config running;
  Config next;
  ASSERT_EQ(ApplyConfigYaml(R"(
log_level: debug
rules_dir: /srv/rules.d
watch: {builtin_rules: false, pids: [7], exe: [/opt/x], rules: [{comm: node}]}
queue_size: 32
state_dir: /srv/aw
store: {flush_interval: 2s, path: /srv/aw.db}
tls: {cert: /c, key: /k, client_ca: /ca}
kubernetes: {enabled: false, resync: 5m}
sinks: [{name: a, type: file, path: /var/log/aw.jsonl}]
)",
                            &next),
            "");
  EXPECT_EQ(RestartOnlyChanges(running, next),
            (std::vector<std::string>{"queue_size", "state_dir", "sinks", "store.flush_interval",
                                      "store.path", "tls.cert", "tls.key", "tls.client_ca",
                                      "kubernetes.enabled", "kubernetes.resync"}));
  ApplyReloadable(next, &running);
  EXPECT_EQ(running.log_level, "debug");
  EXPECT_EQ(running.rules_dir, "/srv/rules.d");
  EXPECT_FALSE(running.builtin_watch_rules);
  EXPECT_EQ(running.watch_pids, (std::vector<uint32_t>{7}));
  ASSERT_EQ(running.watch_rules.size(), 2u);
  EXPECT_EQ(running.watch_rules[0].exe, "/opt/x");
  EXPECT_EQ(running.watch_rules[1].comm, "node");
  // Nothing else moved.
  const Config defaults;
  EXPECT_EQ(running.queue_size, defaults.queue_size);
  EXPECT_EQ(running.state_dir, defaults.state_dir);
  EXPECT_EQ(running.store_flush_ms, defaults.store_flush_ms);
  EXPECT_EQ(running.store_path, defaults.store_path);
  EXPECT_EQ(running.tls_cert_file, "");
  EXPECT_EQ(running.kubernetes, "auto");
  EXPECT_EQ(running.kube_resync_ms, defaults.kube_resync_ms);
  EXPECT_TRUE(running.sinks.empty());
  // The restart-only changes are still there to report.
  EXPECT_EQ(RestartOnlyChanges(running, next).size(), 10u);
}

TEST(SettingsTest, SectionsAndDottedKeys) {
  Config c;
  // A section's key is not a top-level key, and a section is not a value.
  EXPECT_EQ(ApplyConfigYaml("store.path: /x", &c), "unknown key 'store.path'");
  EXPECT_EQ(ApplyConfigYaml("store: {path.x: /x}", &c), "store: unknown key 'path.x'");
  EXPECT_EQ(ApplyConfigYaml("stor: {path: /x}", &c), "unknown key 'stor'");
  EXPECT_EQ(ApplyConfigYaml("watch: {pid: [1]}", &c),
            "watch: unknown key 'pid' (builtin_rules, pids, exe, rules)");
  EXPECT_EQ(ApplyConfigYaml("watch: 1", &c), "watch: expected a mapping");
  EXPECT_EQ(ApplyConfigYaml("tls: 1", &c), "tls: expected a map");
  EXPECT_EQ(ApplyConfigYaml("sinks: {a: 1}", &c), "sinks: expected a list");
  // watch.* adds to what is there; sinks replace.
  ASSERT_EQ(ApplyConfigYaml("watch: {pids: [1]}", &c), "");
  ASSERT_EQ(ApplyConfigYaml("watch: {pids: [2]}", &c), "");
  EXPECT_EQ(c.watch_pids, (std::vector<uint32_t>{1, 2}));
}

// A key given twice would run with one of the two values and no word said.
TEST(SettingsTest, DuplicateKeysAreErrors) {
  const std::pair<const char*, const char*> cases[] = {
      {"log_level: info\nlog_level: debug", "log_level: given twice (line 2); keep one"},
      {"store:\n  max_age: 1d\n  max_age: 2d", "store.max_age: given twice (line 3); keep one"},
      {"sinks:\n  - {name: a, type: file, path: /a, path: /b}",
       "sinks[0].path: given twice (line 2); keep one"},
  };
  for (const auto& [yaml, want] : cases) {
    Config c;
    EXPECT_EQ(ApplyConfigYaml(yaml, &c), want) << yaml;
  }
}

TEST(SettingsTest, ValidationErrorsKeepTheirTexts) {
  struct Case {
    const char* yaml;
    const char* want;
  };
  const Case cases[] = {
      {"log_level: loud", "log_level: 'loud' is not one of trace, debug, info, warn, error, off"},
      {"ringbuf_size: 5000",
       "ringbuf_size: 5000 must be a power of two between 65536 and 1073741824 bytes (a record "
       "carries up to 16 KiB; a smaller ring loses most of them)"},
      {"ringbuf_size: 4096",
       "ringbuf_size: 4096 must be a power of two between 65536 and 1073741824 bytes (a record "
       "carries up to 16 KiB; a smaller ring loses most of them)"},
      {"state_dir: var/lib/aw",
       "state_dir: 'var/lib/aw' must be an absolute path (a relative one depends on the "
       "directory the daemon was started in)"},
      {"store: {outbox_max: 0}",
       "store.outbox_max: 0 must be between 1000 and 100000000 alert versions"},
      {"hooks: kprobe", "hooks: 'kprobe' is not auto or fallback"},
      {"argv_max: 10", "argv_max: 10 must be between 64 and 4096"},
      {"discovery: {probe_bytes: 100}", "discovery.probe_bytes: 100 must be between 256 and 65536"},
      {"payload_max: 10", "payload_max: 10 must be 0 (off) or between 64 and 262144 bytes"},
      {"payload_burst: 4096",
       "payload_burst: 4096 is below 65536 bytes (a burst must hold the largest capture, "
       "payload_max + 1024)"},
      {"{payload_max: 262144, payload_burst: 262144}",
       "payload_burst: 262144 is below 263168 bytes (a burst must hold the largest capture, "
       "payload_max + 1024)"},
      {"payload_rate: 2000000000", "payload_rate: 2000000000 is over 1073741824 bytes a second"},
      {"record_rate: 20000000", "record_rate: 20000000 is over 10000000 records a second"},
      {"record_burst: 10", "record_burst: 10 must be between 1000 and 100000000 records"},
      {"{record_rate: 5000000, record_burst: 2000}",
       "record_burst: 2000 is below record_rate / 1000 (5000): the rate could not be reached"},
      {"{payload_rate: 1000000000, payload_burst: 65536}",
       "payload_burst: 65536 is below payload_rate / 1000 (1000000): the rate could not be "
       "reached (the kernel refills at most once a millisecond)"},
      {"dns_port: 70000", "dns_port: 70000 is not a port"},
      {"queue_size: 8", "queue_size: 8 must be at least 16"},
      {"process_table_max: 8", "process_table_max: 8 must be at least 128"},
      {"endpoint: unix://rel", "endpoint: 'unix://rel' needs an absolute socket path"},
      {"watch: {pids: [0]}", "watch.pids: 0 is not a process id"},
      {"store: {enabled: false}\nsinks: [{name: a, type: file, path: /x}]",
       "sinks: delivery needs the store (its outbox); enable store"},
      {"store: {flush_interval: 5ms}", "store.flush_interval: 5ms must be at least 10ms"},
      {"store: {retention_interval: 50ms}",
       "store.retention_interval: 50ms must be at least 100ms"},
      {"metrics: {listen: nowhere}", "metrics.listen: 'nowhere' is not host:port"},
      {"metrics: {tls_listen: nowhere}", "metrics.tls_listen: 'nowhere' is not host:port"},
      {"metrics: {tls_listen: '0.0.0.0:1'}",
       "metrics.tls_listen: needs tls.cert, tls.key and tls.client_ca (clients must present a "
       "certificate)"},
      {"kubernetes: {api_server: 'ftp://x'}",
       "kubernetes.api_server: 'ftp://x' is not an https:// URL"},
      {"kubernetes: {enabled: maybe}", "kubernetes.enabled: 'maybe' is not auto, true or false"},
  };
  for (const auto& tc : cases) {
    Config c;
    ASSERT_EQ(ApplyConfigYaml(tc.yaml, &c), "") << tc.yaml;
    EXPECT_EQ(ValidateConfig(c), tc.want) << tc.yaml;
  }
  // Store checks only with the store on.
  Config c;
  ASSERT_EQ(ApplyConfigYaml("store: {enabled: false, flush_interval: 5ms, path: rel}", &c), "");
  EXPECT_EQ(ValidateConfig(c), "");
}

TEST(ConfigTest, MissingFile) {
  Config c;
  EXPECT_EQ(LoadConfigFile("/nonexistent/agentwatch.yaml", false, &c), "");
  EXPECT_NE(LoadConfigFile("/nonexistent/agentwatch.yaml", true, &c), "");
}

}  // namespace
}  // namespace agentwatch
