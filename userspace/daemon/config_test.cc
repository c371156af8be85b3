#include "daemon/config.h"

#include <gtest/gtest.h>

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
  tls_listen: 0.0.0.0:9591
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

TEST(ConfigTest, MissingFile) {
  Config c;
  EXPECT_EQ(LoadConfigFile("/nonexistent/agentwatch.yaml", false, &c), "");
  EXPECT_NE(LoadConfigFile("/nonexistent/agentwatch.yaml", true, &c), "");
}

}  // namespace
}  // namespace agentwatch
