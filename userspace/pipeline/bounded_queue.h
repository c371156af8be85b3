// A bounded multi-producer queue that never blocks its producers: a push
// into a full queue fails and is counted by the caller. Items of the bulk
// lane may fill only a share of it (by count and by weight, e.g. bytes), so
// the rest is always there for the priority lane, and one owner's bulk
// items at most a quarter of that share (by count and by weight), so one
// flooding owner cannot fill it for the others.
//
// Items belong to flows (the pipeline's: one per user and cgroup). Each
// flow is one FIFO of both lanes. The consumer says what each item cost it
// (Charge, e.g. the nanoseconds it took), and Pop serves the flow that has
// been charged least since it had items (start-time fair queuing): a flow
// of expensive items gets no more of the consumer than one of cheap ones,
// and a flow's backlog delays that flow only. A flow that comes back after
// its queue drained starts where its charges had brought it, or level with
// the flow being served if that is later, so it waits for at most the item
// in hand and cannot jump the line by draining. Order across flows is not
// kept, only within one, unless an item says so: an item pushed with a
// barrier (a flow and a push number) waits until that flow's items up to
// that number are taken (a process whose events move to another flow, as
// after setuid, keeps its order).
#ifndef AGENTWATCH_PIPELINE_BOUNDED_QUEUE_H_
#define AGENTWATCH_PIPELINE_BOUNDED_QUEUE_H_

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <limits>
#include <mutex>
#include <set>
#include <tuple>
#include <unordered_map>

namespace agentwatch {

template <typename T>
class BoundedQueue {
 public:
  enum class Lane { kPriority, kBulk };

  // capacity items in all; bulk items at most bulk_capacity of them,
  // weighing bulk_weight in all.
  explicit BoundedQueue(size_t capacity,
                        size_t bulk_capacity = std::numeric_limits<size_t>::max(),
                        uint64_t bulk_weight = std::numeric_limits<uint64_t>::max())
      : capacity_(capacity), bulk_capacity_(bulk_capacity), bulk_weight_max_(bulk_weight) {}

  // An item that waits for the items of flow up to push number n.
  struct Barrier {
    uint64_t flow = 0;
    uint64_t n = 0;  // 0: none
  };

  // With mark: v is queued after *mark (a priority item), both or neither.
  bool TryPush(T&& v, Lane lane = Lane::kPriority, uint64_t weight = 0, uint32_t owner = 0,
               uint64_t flow = 0, T* mark = nullptr, Barrier after = {}) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (closed_ || size_ + (mark != nullptr ? 1 : 0) >= capacity_) return false;
      const bool bulk = lane == Lane::kBulk;
      if (bulk) {
        if (bulk_count_ >= bulk_capacity_ || weight > bulk_weight_max_ - bulk_weight_)
          return false;
        const uint64_t share = bulk_weight_max_ / 4;
        Share& mine = by_owner_[owner];
        // (An owner's first item always fits its share.)
        if (mine.count >= bulk_capacity_ / 4 + 1 ||
            (mine.count > 0 && weight > share - std::min(mine.weight, share)))
          return false;
        ++mine.count;
        mine.weight += weight;
        ++bulk_count_;
        bulk_weight_ += weight;
      }
      auto [it, fresh] = flows_.try_emplace(flow);
      Flow& f = it->second;
      if (fresh) {
        f.start = vtime_;
        if (auto old = finished_.find(flow); old != finished_.end()) {
          f.start = std::max(vtime_, old->second);
          finished_.erase(old);
        }
      }
      if (f.items.empty() && !(serving_ && serving_flow_ == flow)) Ready(flow, f);
      if (mark != nullptr) {
        f.items.push_back(Item{std::move(*mark), 0, ++pushed_, 0, false, after});
        ++size_;
      }
      f.items.push_back(Item{std::move(v), bulk ? weight : 0, ++pushed_, owner, bulk, after});
      ++size_;
    }
    cv_.notify_one();
    return true;
  }

  // Waits up to timeout for an item; false on timeout or when closed and
  // drained. One consumer.
  bool Pop(T* out, std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    Settle();
    if (!cv_.wait_for(lock, timeout, [&] { return size_ > 0 || closed_; })) return false;
    if (size_ == 0) return false;
    // The least charged flow whose next item is not held by a barrier
    // (the oldest item of all never is: a barrier names older items).
    auto pick = ready_.begin();
    while (pick != ready_.end() && Held(flows_.find(std::get<2>(*pick))->second.items.front()))
      ++pick;
    if (pick == ready_.end()) return false;  // not reached: see above
    const auto [start, order, flow] = *pick;
    ready_.erase(pick);
    vtime_ = std::max(vtime_, start);
    auto f = flows_.find(flow);
    Item& it = f->second.items.front();
    *out = std::move(it.v);
    if (it.bulk) {
      --bulk_count_;
      bulk_weight_ -= it.weight;
      auto o = by_owner_.find(it.owner);
      if (o != by_owner_.end()) {
        o->second.weight -= it.weight;
        if (--o->second.count == 0) by_owner_.erase(o);
      }
    }
    f->second.items.pop_front();
    --size_;
    serving_ = true;
    serving_flow_ = flow;
    return true;
  }

  // What the item the last Pop returned cost the consumer, charged to its
  // flow.
  void Charge(uint64_t cost) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!serving_) return;
    auto f = flows_.find(serving_flow_);
    if (f != flows_.end()) f->second.start += cost;
  }

  // The number of the last item pushed (1, 2, ...; 0 before any).
  uint64_t pushed() const {
    std::lock_guard<std::mutex> lock(mu_);
    return pushed_;
  }

  // Whether every item pushed up to number n has been taken.
  bool TakenThrough(uint64_t n) const {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [id, f] : flows_) {
      if (!f.items.empty() && f.items.front().n <= n) return false;
    }
    return true;
  }

  void Close() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      closed_ = true;
    }
    cv_.notify_all();
  }

  bool closed() const {
    std::lock_guard<std::mutex> lock(mu_);
    return closed_;
  }

  size_t size() const {
    std::lock_guard<std::mutex> lock(mu_);
    return size_;
  }

  // Weight of the bulk items queued.
  uint64_t bulk_weight() const {
    std::lock_guard<std::mutex> lock(mu_);
    return bulk_weight_;
  }

 private:
  struct Item {
    T v;
    uint64_t weight;
    uint64_t n;  // push number
    uint32_t owner;
    bool bulk;
    Barrier after;
  };

  struct Flow {
    std::deque<Item> items;
    uint64_t start = 0;  // cost charged, on the queue's virtual clock
  };

  void Ready(uint64_t id, const Flow& f) { ready_.insert({f.start, ++order_, id}); }

  // Whether an item still waits for its barrier's flow.
  bool Held(const Item& it) const {
    if (it.after.n == 0) return false;
    auto f = flows_.find(it.after.flow);
    return f != flows_.end() && !f->second.items.empty() && f->second.items.front().n <= it.after.n;
  }

  // The flow served last goes back in line, or (drained) away: a burst's
  // peak is not kept.
  void Settle() {
    if (!serving_) return;
    serving_ = false;
    auto f = flows_.find(serving_flow_);
    if (f == flows_.end()) return;
    if (f->second.items.empty()) {
      // Its charges are remembered while they are ahead of the clock.
      if (f->second.start > vtime_) {
        if (finished_.size() >= kMaxFinished) {
          std::erase_if(finished_, [&](const auto& kv) { return kv.second <= vtime_; });
          if (finished_.size() >= kMaxFinished) finished_.clear();
        }
        finished_[serving_flow_] = f->second.start;
      }
      flows_.erase(f);
    } else {
      Ready(serving_flow_, f->second);
    }
  }

  const size_t capacity_;
  const size_t bulk_capacity_;
  const uint64_t bulk_weight_max_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::unordered_map<uint64_t, Flow> flows_;  // with items, or in service
  // Flows with items, not in service: (start, order, flow), least first.
  std::set<std::tuple<uint64_t, uint64_t, uint64_t>> ready_;
  uint64_t order_ = 0;
  uint64_t vtime_ = 0;  // the latest start of a flow served
  // Drained flows' starts ahead of vtime_ (a flow cannot shed its charges
  // by draining), at most kMaxFinished.
  static constexpr size_t kMaxFinished = 4096;
  std::unordered_map<uint64_t, uint64_t> finished_;
  bool serving_ = false;
  uint64_t serving_flow_ = 0;
  size_t size_ = 0;
  uint64_t pushed_ = 0;
  size_t bulk_count_ = 0;
  uint64_t bulk_weight_ = 0;
  struct Share {
    size_t count = 0;
    uint64_t weight = 0;
  };
  std::unordered_map<uint32_t, Share> by_owner_;  // bulk items queued per owner
  bool closed_ = false;
};

}  // namespace agentwatch

#endif  // AGENTWATCH_PIPELINE_BOUNDED_QUEUE_H_
