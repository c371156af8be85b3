// Fan-out of pipeline output to API subscribers, with a backlog of recent
// events. Publishing never blocks: a slow subscriber loses events, which is
// counted and marked with an EVENT_TYPE_LOSS event in its own stream.
#ifndef AGENTWATCH_PIPELINE_HUB_H_
#define AGENTWATCH_PIPELINE_HUB_H_

#include <atomic>
#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <unordered_set>
#include <vector>

#include "agentwatch/v1/agentwatch.pb.h"
#include "pipeline/bounded_queue.h"

namespace agentwatch {

struct EventFilter {
  std::unordered_set<uint32_t> pids;  // the event's pid or an ancestor
  std::unordered_set<int> types;      // v1::EventType values; empty = all
  bool watched_only = false;

  // lineage: the event's pid, then its ancestors.
  bool Matches(const v1::Event& ev, const std::vector<uint32_t>& lineage) const;
};

class Hub {
 public:
  class Subscription {
   public:
    Subscription(EventFilter f, size_t capacity)
        : filter_(std::move(f)), q_(capacity) {}
    // Next event (or a LOSS marker), waiting up to timeout.
    bool Next(v1::Event* out, std::chrono::milliseconds timeout);
    uint64_t dropped() const { return dropped_; }

   private:
    friend class Hub;
    EventFilter filter_;
    BoundedQueue<v1::Event> q_;
    std::atomic<uint64_t> dropped_{0};
    std::atomic<uint64_t> unreported_{0};
  };

  explicit Hub(size_t backlog_capacity) : backlog_capacity_(backlog_capacity) {}

  // Registers a subscriber; backlog_n recent matching events are queued
  // first (oldest first).
  std::shared_ptr<Subscription> Subscribe(EventFilter f, size_t backlog_n,
                                          bool follow);
  void Unsubscribe(const std::shared_ptr<Subscription>& s);

  void Publish(const v1::Event& ev, std::vector<uint32_t> lineage);

  size_t subscribers() const;
  uint64_t subscriber_drops() const { return subscriber_drops_; }

 private:
  struct Entry {
    v1::Event ev;
    std::vector<uint32_t> lineage;
  };
  const size_t backlog_capacity_;
  mutable std::mutex mu_;
  std::deque<Entry> backlog_;
  std::vector<std::shared_ptr<Subscription>> subs_;
  std::atomic<uint64_t> subscriber_drops_{0};
};

}  // namespace agentwatch

#endif  // AGENTWATCH_PIPELINE_HUB_H_
