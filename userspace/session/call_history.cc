#include "session/call_history.h"

#include <queue>
#include <vector>

namespace agentwatch {

void CallHistory::Resize(uint32_t uid, uint32_t pid, size_t from, size_t to) {
  User& u = users_[uid];
  if (from > 0) u.procs.erase({from, pid});
  if (to > 0) u.procs.insert({to, pid});
  users_by_size_.erase({u.calls, uid});
  u.calls = u.calls - from + to;
  if (u.calls > 0) {
    users_by_size_.insert({u.calls, uid});
  } else {
    users_.erase(uid);
  }
}

void CallHistory::Add(uint32_t uid, uint32_t pid, v1::McpCall call) {
  if (max_ == 0) return;
  Proc& s = procs_[{uid, pid}];
  const size_t n = s.calls.size();
  s.calls.push_back(Entry{++seq_, std::move(call)});
  ++size_;
  Resize(uid, pid, n, n + 1);
  while (size_ > max_) EvictOne();
}

void CallHistory::EvictOne() {
  const uint32_t uid = users_by_size_.rbegin()->second;
  const uint32_t pid = users_.at(uid).procs.rbegin()->second;
  auto it = procs_.find({uid, pid});
  const size_t n = it->second.calls.size();
  it->second.calls.pop_front();
  --size_;
  Resize(uid, pid, n, n - 1);
  if (n == 1) procs_.erase(it);
}

void CallHistory::ForEachNewest(const std::function<bool(const v1::McpCall&)>& fn) const {
  // Merge the processes' histories by the order they were added.
  using Cursor = std::pair<uint64_t, std::pair<const std::deque<Entry>*, size_t>>;
  std::priority_queue<Cursor> heads;
  for (const auto& [key, s] : procs_) {
    if (!s.calls.empty()) heads.push({s.calls.back().seq, {&s.calls, s.calls.size() - 1}});
  }
  while (!heads.empty()) {
    auto [seq, at] = heads.top();
    heads.pop();
    const auto& [calls, i] = at;
    if (!fn((*calls)[i].call)) return;
    if (i > 0) heads.push({(*calls)[i - 1].seq, {calls, i - 1}});
  }
}

size_t CallHistory::CallsOf(uint32_t pid) const {
  size_t n = 0;
  for (const auto& [key, s] : procs_) n += key.second == pid ? s.calls.size() : 0;
  return n;
}

}  // namespace agentwatch
