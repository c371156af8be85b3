// A lock-free latency histogram with the bucket bounds the metrics
// exposition uses: observed on the pipeline thread, read by scrapes.
#ifndef AGENTWATCH_COMMON_LATENCY_HISTOGRAM_H_
#define AGENTWATCH_COMMON_LATENCY_HISTOGRAM_H_

#include <array>
#include <atomic>
#include <cstdint>

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

}  // namespace agentwatch

#endif  // AGENTWATCH_COMMON_LATENCY_HISTOGRAM_H_
