// Delivery of alerts from the store's outbox to the sinks: one thread per
// sink reads the versions after its cursor (those the store holds in
// memory while it cannot write included), sends those its filters take,
// and moves its cursor only after the sink took them (at-least-once, the
// key in each lets receivers drop repeats). A failing sink is retried with
// exponential backoff and jitter; it holds back only itself. What every
// sink has passed is trimmed from the outbox.
#ifndef AGENTWATCH_EXPORT_DELIVERY_H_
#define AGENTWATCH_EXPORT_DELIVERY_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "agentwatch/v1/agentwatch.pb.h"
#include "export/format.h"
#include "export/sinks.h"
#include "store/store.h"

namespace agentwatch {

class Delivery {
 public:
  struct Options {
    size_t batch = 500;
    uint32_t poll_ms = 200;          // looks for new versions this often
    uint32_t backoff_min_ms = 500;
    uint32_t backoff_max_ms = 60000;
  };
  struct SinkStats {
    std::string name;
    uint64_t sent = 0;       // alert versions the sink took
    uint64_t skipped = 0;    // not for this sink (its filters)
    uint64_t failed = 0;     // batches that failed
    uint64_t retried = 0;    // batches sent again after a failure
    uint64_t queued = 0;     // versions after its cursor
    uint64_t rows = 0;       // chains, calls and effects (clickhouse)
    std::string last_error;
  };

  // Sinks are made from their configs (invalid ones are reported by
  // Start). store must outlive this.
  Delivery(Store* store, std::vector<SinkConfig> sinks, FormatContext ctx, Options opts);
  Delivery(Store* store, std::vector<SinkConfig> sinks, FormatContext ctx)
      : Delivery(store, std::move(sinks), std::move(ctx), Options{}) {}
  ~Delivery();
  Delivery(const Delivery&) = delete;
  Delivery& operator=(const Delivery&) = delete;

  // Starts a thread per sink. "" or the first sink that cannot be made.
  std::string Start();
  void Stop();

  std::vector<SinkStats> Stats() const;

 private:
  struct Worker {
    SinkConfig config;
    std::unique_ptr<Sink> sink;
    std::thread thread;
    mutable std::mutex mu;
    SinkStats stats;
    int64_t cursor = 0;
    uint64_t generation = 0;  // the store's, when cursor was read from it
  };
  void Run(Worker* w);
  bool Wanted(const SinkConfig& c, const v1::Alert& a) const;
  void Trim();

  Store* const store_;
  const FormatContext ctx_;
  const Options opts_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
};

}  // namespace agentwatch

#endif  // AGENTWATCH_EXPORT_DELIVERY_H_
