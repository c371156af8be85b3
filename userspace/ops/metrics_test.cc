#include "ops/metrics.h"

#include <map>
#include <sstream>

#include <gtest/gtest.h>

namespace agentwatch {
namespace {

// A small parser of the text format: every sample line, and the TYPE each
// family declared before its samples.
struct Parsed {
  std::map<std::string, double> samples;  // "name{labels}" -> value
  std::map<std::string, std::string> types;
  std::string error;
};

Parsed Parse(const std::string& text) {
  Parsed p;
  std::istringstream in(text);
  std::string line, family;
  while (std::getline(in, line)) {
    if (line.rfind("# TYPE ", 0) == 0) {
      std::istringstream w(line.substr(7));
      std::string name, type;
      w >> name >> type;
      if (p.types.count(name)) p.error = "family declared twice: " + name;
      p.types[name] = type;
      family = name;
      continue;
    }
    if (line.rfind("#", 0) == 0 || line.empty()) continue;
    const size_t sp = line.rfind(' ');
    const std::string key = line.substr(0, sp);
    const std::string name = key.substr(0, key.find('{'));
    // A sample belongs to the family declared last (histograms: _bucket,
    // _sum, _count).
    if (name != family && name != family + "_bucket" && name != family + "_sum" &&
        name != family + "_count")
      p.error = "sample " + name + " outside its family (" + family + ")";
    p.samples[key] = std::stod(line.substr(sp + 1));
  }
  return p;
}

MetricsSnapshot Sample() {
  MetricsSnapshot m;
  v1::Status& s = m.status;
  s.set_version("1.2.3");
  s.set_kernel("6.1.0");
  s.set_ready(true);
  s.set_process_table_size(42);
  auto* p = s.add_probes();
  p->set_capability("file.open");
  p->set_program("sx_openat");
  p->set_hook_type("tracepoint");
  p->set_attached(false);
  p->set_detached(true);
  auto* q = s.add_probes();
  q->set_program("fallback_unused");
  q->set_detail("not needed: x is used");
  for (auto [n, v] : {std::pair<const char*, uint64_t>{"kernel_events_file", 10},
                      {"kernel_ringbuf_drops_file", 3},
                      {"pipeline_queue_drops", 2},
                      {"process_table_evictions", 5},
                      {"mcp_calls", 7},
                      {"weird-name.x", 1}}) {
    auto* c = s.add_counters();
    c->set_name(n);
    c->set_value(v);
  }
  auto* k = s.add_sinks();
  k->set_name("siem \"a\"");
  k->set_type("syslog");
  k->set_sent(100);
  k->set_last_error("connection refused");
  m.events_by_type = {{"exec", 4}, {"file_open", 9}};
  s.mutable_kubernetes()->set_pods_known(12);
  s.mutable_kubernetes()->set_unresolved(2);
  s.mutable_kubernetes()->set_last_error("HTTP 403");
  m.rule_matches[{"sensitive-read-then-egress", "high"}] = 2;
  m.sessions_open = 3;
  return m;
}

TEST(MetricsTest, FamiliesAndLabels) {
  const Parsed p = Parse(RenderPrometheus(Sample()));
  ASSERT_EQ(p.error, "");
  EXPECT_EQ(p.samples.at(R"(agentwatch_build_info{version="1.2.3",kernel="6.1.0"})"), 1);
  EXPECT_EQ(p.samples.at("agentwatch_ready"), 1);
  EXPECT_EQ(p.samples.at(R"(agentwatch_events_total{type="file_open"})"), 9);
  EXPECT_EQ(p.samples.at(R"(agentwatch_kernel_events_total{category="file"})"), 10);
  EXPECT_EQ(p.samples.at(
                R"(agentwatch_events_dropped_total{stage="ringbuf",reason="ringbuf_full",category="file"})"),
            3);
  EXPECT_EQ(p.samples.at(R"(agentwatch_events_dropped_total{stage="pipeline_queue",reason="queue_full"})"),
            2);
  EXPECT_EQ(p.samples.at("agentwatch_process_table_size"), 42);
  EXPECT_EQ(p.samples.at("agentwatch_process_table_evictions_total"), 5);
  EXPECT_EQ(p.samples.at("agentwatch_mcp_sessions"), 3);
  EXPECT_EQ(p.samples.at("agentwatch_mcp_calls_total"), 7);
  EXPECT_EQ(p.samples.at(
                R"(agentwatch_rule_matches_total{rule="sensitive-read-then-egress",severity="high"})"),
            2);
  // Quotes in label values are escaped.
  EXPECT_EQ(p.samples.at(R"(agentwatch_sink_sent_total{sink="siem \"a\"",type="syslog"})"), 100);
  EXPECT_EQ(p.samples.at(R"(agentwatch_sink_up{sink="siem \"a\"",type="syslog"})"), 0);
  // A detached probe shows as 0; one never meant to attach is left out.
  EXPECT_EQ(p.samples.at(
                R"(agentwatch_probe_attached{capability="file.open",program="sx_openat",hook="tracepoint"})"),
            0);
  for (const auto& [k, v] : p.samples) EXPECT_EQ(k.find("fallback_unused"), std::string::npos);
  // A counter with no family of its own keeps its name, made legal.
  EXPECT_EQ(p.samples.at("agentwatch_weird_name_x_total"), 1);
  // Labelled counters are not repeated under their raw names.
  EXPECT_EQ(p.samples.count("agentwatch_kernel_events_file_total"), 0u);
  EXPECT_EQ(p.samples.at("agentwatch_kubernetes_pods"), 12);
  EXPECT_EQ(p.samples.at("agentwatch_kubernetes_unresolved_pods_total"), 2);
  EXPECT_EQ(p.samples.at("agentwatch_kubernetes_up"), 0);
  EXPECT_EQ(p.types.at("agentwatch_pipeline_latency_seconds"), "histogram");
  EXPECT_EQ(p.types.at("agentwatch_sink_queued"), "gauge");
}

TEST(MetricsTest, HistogramIsCumulative) {
  LatencyHistogram h;
  h.Observe(50'000);          // 50 us
  h.Observe(2'000'000);       // 2 ms
  h.Observe(2'000'000);
  h.Observe(30'000'000'000);  // 30 s: only +Inf
  MetricsSnapshot m;
  m.latency = h.Get();
  const Parsed p = Parse(RenderPrometheus(m));
  ASSERT_EQ(p.error, "");
  EXPECT_EQ(p.samples.at(R"(agentwatch_pipeline_latency_seconds_bucket{le="0.0001"})"), 1);
  EXPECT_EQ(p.samples.at(R"(agentwatch_pipeline_latency_seconds_bucket{le="0.001"})"), 1);
  EXPECT_EQ(p.samples.at(R"(agentwatch_pipeline_latency_seconds_bucket{le="0.0025"})"), 3);
  EXPECT_EQ(p.samples.at(R"(agentwatch_pipeline_latency_seconds_bucket{le="5"})"), 3);
  EXPECT_EQ(p.samples.at(R"(agentwatch_pipeline_latency_seconds_bucket{le="+Inf"})"), 4);
  EXPECT_EQ(p.samples.at("agentwatch_pipeline_latency_seconds_count"), 4);
  EXPECT_NEAR(p.samples.at("agentwatch_pipeline_latency_seconds_sum"), 30.00405, 1e-9);
}

TEST(MetricsTest, EscapesLabelValues) {
  EXPECT_EQ(EscapeLabelValue("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
}

}  // namespace
}  // namespace agentwatch
