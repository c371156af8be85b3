// A bounded multi-producer queue that never blocks its producers: a push
// into a full queue fails and is counted by the caller. Items of the bulk
// lane may fill only a share of it (by count and by weight, e.g. bytes), so
// the rest is always there for the priority lane, and one owner's bulk items
// at most a quarter of that share, so one flooding owner cannot fill it for
// the others; both lanes stay in one order.
#ifndef AGENTWATCH_PIPELINE_BOUNDED_QUEUE_H_
#define AGENTWATCH_PIPELINE_BOUNDED_QUEUE_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
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

  bool TryPush(T&& v, Lane lane = Lane::kPriority, uint64_t weight = 0, uint32_t owner = 0) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (closed_ || q_.size() >= capacity_) return false;
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
      q_.push_back(Item{std::move(v), bulk ? weight : 0, owner, bulk});
      if (q_.size() > peak_) peak_ = q_.size();
    }
    cv_.notify_one();
    return true;
  }

  // Waits up to timeout for an item; false on timeout or when closed and
  // drained.
  bool Pop(T* out, std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    if (!cv_.wait_for(lock, timeout, [&] { return !q_.empty() || closed_; }))
      return false;
    if (q_.empty()) return false;
    Item& it = q_.front();
    *out = std::move(it.v);
    if (it.bulk) {
      --bulk_count_;
      bulk_weight_ -= it.weight;
      auto o = by_owner_.find(it.owner);
      if (o != by_owner_.end() && --o->second == 0) by_owner_.erase(o);
    }
    q_.pop_front();
    // A deque keeps the blocks it grew to; give them back once it drains
    // (a burst's peak is not kept for good).
    if (q_.empty() && peak_ > 4096) {
      std::deque<Item>().swap(q_);
      peak_ = 0;
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
    return q_.size();
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
    uint32_t owner;
    bool bulk;
  };

  const size_t capacity_;
  const size_t bulk_capacity_;
  const uint64_t bulk_weight_max_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> q_;
  size_t bulk_count_ = 0;
  uint64_t bulk_weight_ = 0;
  std::unordered_map<uint32_t, size_t> by_owner_;  // bulk items queued per owner
  size_t peak_ = 0;
  bool closed_ = false;
};

}  // namespace agentwatch

#endif  // AGENTWATCH_PIPELINE_BOUNDED_QUEUE_H_
