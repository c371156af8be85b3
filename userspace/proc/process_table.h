// The daemon's view of every process on the host: identity, ancestry,
// container, watch state. Owned by the pipeline thread (not thread-safe).
#ifndef AGENTWATCH_PROC_PROCESS_TABLE_H_
#define AGENTWATCH_PROC_PROCESS_TABLE_H_

#include <cstdint>
#include <list>
#include <string>
#include <unordered_map>
#include <vector>

#include "agentwatch/v1/agentwatch.pb.h"
#include "proc/cgroup.h"

namespace agentwatch {

struct ProcessInfo {
  uint32_t pid = 0;
  uint32_t ppid = 0;
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint64_t start_ns = 0;  // CLOCK_BOOTTIME
  std::string comm;
  std::string exe;
  std::vector<std::string> argv;
  std::string cwd;
  uint64_t cgroup_id = 0;
  std::string cgroup_path;
  ContainerIdentity container;
  uint32_t watch_flags = 0;  // AW_WATCH_* as set in the kernel map
  bool exited = false;
  uint64_t exit_ns = 0;
};

// The pod uid and container id of a process in a Kubernetes pod, into k;
// false (k untouched) when it is in none.
inline bool PodIdentity(const ProcessInfo& p, v1::Kubernetes* k) {
  if (p.container.pod_uid.empty()) return false;
  k->set_pod_uid(p.container.pod_uid);
  k->set_container_id(p.container.container_id);
  return true;
}

// AW_WATCH_ON | AW_WATCH_INHERIT (bpf/events.h), what the daemon sets.
inline constexpr uint32_t kWatchedByKernel = 0x3;

class ProcessTable {
 public:
  struct Options {
    size_t max_entries = 65536;
    // Exited processes stay this long so late events still resolve.
    uint64_t exit_linger_ns = 10ull * 1000 * 1000 * 1000;
  };

  ProcessTable() : ProcessTable(Options{}) {}
  explicit ProcessTable(Options opts) : opts_(opts) {}

  // Updates the table from an event (exec, fork, exit, snapshot; any other
  // event refreshes the emitting process) and returns the emitting process.
  ProcessInfo* Apply(const v1::Event& ev);

  // Writes what the table knows about ev's process into ev.process.
  void Annotate(v1::Event* ev) const;

  ProcessInfo* Find(uint32_t pid);
  const ProcessInfo* Find(uint32_t pid) const;

  // Parent first, up to the root or the first unknown ancestor.
  std::vector<uint32_t> Ancestry(uint32_t pid, size_t max_depth = 64) const;

  // True if pid or one of its ancestors is ancestor_pid.
  bool IsDescendant(uint32_t pid, uint32_t ancestor_pid) const;

  // Drops exited processes whose linger time is over (now in BOOTTIME ns).
  void Expire(uint64_t now_ns);

  template <typename Fn>
  void ForEach(Fn fn) const {
    for (const auto& [pid, e] : map_) fn(e.info);
  }

  size_t size() const { return map_.size(); }
  uint64_t evictions() const { return evictions_; }
  size_t watched_count() const;

 private:
  struct Entry {
    ProcessInfo info;
    std::list<uint32_t>::iterator lru;
  };

  ProcessInfo* Upsert(uint32_t pid);
  void Touch(Entry* e);

  Options opts_;
  std::unordered_map<uint32_t, Entry> map_;
  std::list<uint32_t> lru_;  // front = most recently used
  uint64_t evictions_ = 0;
};

}  // namespace agentwatch

#endif  // AGENTWATCH_PROC_PROCESS_TABLE_H_
