// The finished calls kept for ListCalls, bounded in all, shared fairly: when
// it is full, the oldest call of the user with the most calls goes, and of
// that user's processes (a call belongs to the process it was seen in, the
// server or its client), the one with the most. A neighbour's flood of
// calls evicts its own history, never a quiet server's few calls: a user
// keeps its calls while it has no more than the others, and within a user
// a process while it has no more than the user's other processes.
#ifndef AGENTWATCH_SESSION_CALL_HISTORY_H_
#define AGENTWATCH_SESSION_CALL_HISTORY_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <set>
#include <utility>

#include "agentwatch/v1/agentwatch.pb.h"

namespace agentwatch {

class CallHistory {
 public:
  explicit CallHistory(size_t max_calls) : max_(max_calls) {}

  // A finished call seen in process pid, run by uid (a pid reused by
  // another user is another process).
  void Add(uint32_t uid, uint32_t pid, v1::McpCall call);

  // The calls, newest first (in the order they were added) until fn
  // returns false.
  void ForEachNewest(const std::function<bool(const v1::McpCall&)>& fn) const;

  size_t size() const { return size_; }
  // Calls kept of one process (of any user).
  size_t CallsOf(uint32_t pid) const;

 private:
  struct Entry {
    uint64_t seq;
    v1::McpCall call;
  };
  struct Proc {
    std::deque<Entry> calls;  // oldest first
  };
  struct User {
    size_t calls = 0;
    std::set<std::pair<size_t, uint32_t>> procs;  // (calls, pid)
  };
  void EvictOne();
  void Resize(uint32_t uid, uint32_t pid, size_t from, size_t to);

  const size_t max_;
  size_t size_ = 0;
  uint64_t seq_ = 0;
  std::map<std::pair<uint32_t, uint32_t>, Proc> procs_;  // by (uid, pid)
  std::map<uint32_t, User> users_;                       // by uid
  std::set<std::pair<size_t, uint32_t>> users_by_size_;  // (calls, uid)
};

}  // namespace agentwatch

#endif  // AGENTWATCH_SESSION_CALL_HISTORY_H_
