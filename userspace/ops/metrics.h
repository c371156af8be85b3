// Prometheus metrics: the text exposition format (version 0.0.4) of the
// daemon's status, built by a pure function so that every family can be
// tested without a daemon.
#ifndef AGENTWATCH_OPS_METRICS_H_
#define AGENTWATCH_OPS_METRICS_H_

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "agentwatch/v1/agentwatch.pb.h"
#include "common/latency_histogram.h"

namespace agentwatch {

// What one scrape shows, gathered by the daemon.
struct MetricsSnapshot {
  v1::Status status;  // probes, counters, store, sinks, readiness
  std::vector<std::pair<std::string, uint64_t>> events_by_type;  // "exec", n
  std::map<std::pair<std::string, std::string>, uint64_t> rule_matches;  // (rule, severity)
  LatencyHistogram::Snapshot latency;
  uint64_t servers_live = 0;
  uint64_t sessions_open = 0;
  uint64_t agents_live = 0;
};

// The exposition text. Status counters with a family of their own
// (kernel events, drops, sinks...) appear only there, with labels; every
// other counter is agentwatch_<name>_total.
std::string RenderPrometheus(const MetricsSnapshot& m);

// Label value escaping of the text format: \ " and newline.
std::string EscapeLabelValue(const std::string& v);

}  // namespace agentwatch

#endif  // AGENTWATCH_OPS_METRICS_H_
