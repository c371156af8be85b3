// Prometheus metrics: a lock-free latency histogram, and the text
// exposition format (version 0.0.4) of the daemon's status, built by a pure
// function so that every family can be tested without a daemon.
#ifndef AGENTWATCH_DAEMON_METRICS_H_
#define AGENTWATCH_DAEMON_METRICS_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "agentwatch/v1/agentwatch.pb.h"

namespace agentwatch {

class LatencyHistogram {
 public:
  // Upper bounds in seconds, as the exposition gives them (le="...").
  static constexpr std::array<double, 14> kBounds = {
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
      0.025,  0.05,    0.1,    0.25,  0.5,    1.0,   5.0};
  struct Snapshot {
    std::array<uint64_t, kBounds.size() + 1> buckets{};  // not cumulative; last = +Inf
    uint64_t count = 0;
    uint64_t sum_ns = 0;
  };

  void Observe(uint64_t ns);
  Snapshot Get() const;

 private:
  std::array<std::atomic<uint64_t>, kBounds.size() + 1> buckets_{};
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> sum_ns_{0};
};

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

#endif  // AGENTWATCH_DAEMON_METRICS_H_
