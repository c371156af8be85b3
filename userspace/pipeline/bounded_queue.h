// A bounded multi-producer queue that never blocks its producers: a push
// into a full queue fails and is counted by the caller. Items of the bulk
// lane may fill only a share of it (by count and by weight, e.g. bytes), so
// the rest is always there for the priority lane, and one owner's bulk items
// at most a quarter of that share, so one flooding owner cannot fill it for
// the others.
//
// Items belong to flows (the pipeline's: one per user and cgroup). Each
// flow is one FIFO of both lanes; Pop serves the flows with items in turn,
// each up to a quantum of weight (bytes) per turn: deficit round robin, so
// a flow of big items gets no more than one of small ones, and a flow's
// backlog delays that flow only. Order across flows is not kept: only
// within one.
#ifndef AGENTWATCH_PIPELINE_BOUNDED_QUEUE_H_
#define AGENTWATCH_PIPELINE_BOUNDED_QUEUE_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <algorithm>
#include <deque>
#include <limits>
#include <mutex>
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

  // With mark: v is queued after *mark (a priority item), both or neither.
  bool TryPush(T&& v, Lane lane = Lane::kPriority, uint64_t weight = 0, uint32_t owner = 0,
               uint64_t flow = 0, T* mark = nullptr) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (closed_ || size_ + (mark != nullptr ? 1 : 0) >= capacity_) return false;
      const bool bulk = lane == Lane::kBulk;
      if (bulk) {
        if (bulk_count_ >= bulk_capacity_ || weight > bulk_weight_max_ - bulk_weight_)
          return false;
        size_t& mine = by_owner_[owner];
        if (mine >= bulk_capacity_ / 4 + 1) return false;
        ++mine;
        ++bulk_count_;
        bulk_weight_ += weight;
      }
      Flow& f = flows_[flow];
      if (f.items.empty()) ready_.push_back(flow);
      if (mark != nullptr) {
        f.items.push_back(Item{std::move(*mark), 0, ++pushed_, 0, false});
        ++size_;
      }
      f.items.push_back(Item{std::move(v), bulk ? weight : 0, ++pushed_, owner, bulk});
      ++size_;
    }
    cv_.notify_one();
    return true;
  }

  // Waits up to timeout for an item; false on timeout or when closed and
  // drained.
  bool Pop(T* out, std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    if (!cv_.wait_for(lock, timeout, [&] { return size_ > 0 || closed_; })) return false;
    if (size_ == 0) return false;
    // Deficit round robin: each flow in turn may take kQuantum of weight
    // (an item's bytes, kItemCost at least), so a flow of big items gets
    // no more of the pipeline than one of small ones.
    auto f = flows_.find(ready_.front());
    while (true) {
      Flow& fl = f->second;
      if (!fl.in_turn) {
        fl.deficit += kQuantum;
        fl.in_turn = true;
      }
      const uint64_t cost = std::max<uint64_t>(fl.items.front().weight, kItemCost);
      if (cost <= fl.deficit) {
        fl.deficit -= cost;
        break;
      }
      fl.in_turn = false;  // its turn is over
      ready_.push_back(ready_.front());
      ready_.pop_front();
      f = flows_.find(ready_.front());
    }
    Item& it = f->second.items.front();
    *out = std::move(it.v);
    if (it.bulk) {
      --bulk_count_;
      bulk_weight_ -= it.weight;
      auto o = by_owner_.find(it.owner);
      if (o != by_owner_.end() && --o->second == 0) by_owner_.erase(o);
    }
    f->second.items.pop_front();
    --size_;
    // A drained flow gives its blocks back (a burst's peak is not kept)
    // and its deficit up.
    if (f->second.items.empty()) {
      flows_.erase(f);
      ready_.pop_front();
    }
    return true;
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

  // Flows with items queued.
  size_t flows() const {
    std::lock_guard<std::mutex> lock(mu_);
    return flows_.size();
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
  };

  struct Flow {
    std::deque<Item> items;
    uint64_t deficit = 0;
    bool in_turn = false;
  };
  static constexpr uint64_t kQuantum = 4096;
  static constexpr uint64_t kItemCost = 1024;

  const size_t capacity_;
  const size_t bulk_capacity_;
  const uint64_t bulk_weight_max_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::unordered_map<uint64_t, Flow> flows_;  // only flows with items
  std::deque<uint64_t> ready_;  // flows with items, in turn
  size_t size_ = 0;
  uint64_t pushed_ = 0;
  size_t bulk_count_ = 0;
  uint64_t bulk_weight_ = 0;
  std::unordered_map<uint32_t, size_t> by_owner_;  // bulk items queued per owner
  bool closed_ = false;
};

}  // namespace agentwatch

#endif  // AGENTWATCH_PIPELINE_BOUNDED_QUEUE_H_
