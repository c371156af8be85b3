#include "pipeline/hub.h"

#include <algorithm>

namespace agentwatch {

constexpr size_t kSubscriberQueue = 8192;

bool EventFilter::Matches(const v1::Event& ev,
                          const std::vector<uint32_t>& lineage) const {
  if (ev.type() == v1::EVENT_TYPE_LOSS) return true;  // always tell
  if (!types.empty() && !types.count(ev.type())) return false;
  if (watched_only && !ev.process().watched()) return false;
  if (!pids.empty()) {
    bool hit = false;
    for (uint32_t p : lineage) {
      if (pids.count(p)) {
        hit = true;
        break;
      }
    }
    if (!hit) return false;
  }
  return true;
}

bool Hub::Subscription::Next(v1::Event* out, std::chrono::milliseconds timeout) {
  uint64_t lost = unreported_.exchange(0);
  if (lost > 0) {
    out->Clear();
    out->set_type(v1::EVENT_TYPE_LOSS);
    out->set_lost(lost);
    out->set_lost_reason("subscriber queue full");
    return true;
  }
  return q_.Pop(out, timeout);
}

std::shared_ptr<Hub::Subscription> Hub::Subscribe(EventFilter f,
                                                  size_t backlog_n,
                                                  bool follow) {
  auto s = std::make_shared<Subscription>(
      std::move(f), std::max(kSubscriberQueue, backlog_n + 1));
  std::lock_guard<std::mutex> lock(mu_);
  if (backlog_n > 0) {
    std::vector<const Entry*> picked;
    for (auto it = backlog_.rbegin(); it != backlog_.rend(); ++it) {
      if (picked.size() >= backlog_n) break;
      if (s->filter_.Matches(it->ev, it->lineage)) picked.push_back(&*it);
    }
    for (auto it = picked.rbegin(); it != picked.rend(); ++it) {
      v1::Event copy = (*it)->ev;
      s->q_.TryPush(std::move(copy));
    }
  }
  if (follow) {
    subs_.push_back(s);
  } else {
    s->q_.Close();
  }
  return s;
}

void Hub::Unsubscribe(const std::shared_ptr<Subscription>& s) {
  std::lock_guard<std::mutex> lock(mu_);
  subs_.erase(std::remove(subs_.begin(), subs_.end(), s), subs_.end());
  s->q_.Close();
}

void Hub::Publish(const v1::Event& ev, std::vector<uint32_t> lineage) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& s : subs_) {
    if (!s->filter_.Matches(ev, lineage)) continue;
    v1::Event copy = ev;
    if (!s->q_.TryPush(std::move(copy))) {
      ++s->dropped_;
      ++s->unreported_;
      ++subscriber_drops_;
    }
  }
  if (backlog_capacity_ == 0) return;
  if (backlog_.size() >= backlog_capacity_) backlog_.pop_front();
  backlog_.push_back(Entry{ev, std::move(lineage)});
}

size_t Hub::subscribers() const {
  std::lock_guard<std::mutex> lock(mu_);
  return subs_.size();
}

}  // namespace agentwatch
