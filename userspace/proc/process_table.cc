#include "proc/process_table.h"

namespace agentwatch {

void ProcessTable::Touch(Entry* e) {
  lru_.splice(lru_.begin(), lru_, e->lru);
}

ProcessInfo* ProcessTable::Upsert(uint32_t pid) {
  auto it = map_.find(pid);
  if (it != map_.end()) {
    Touch(&it->second);
    return &it->second.info;
  }
  while (map_.size() >= opts_.max_entries && !lru_.empty()) {
    map_.erase(lru_.back());
    lru_.pop_back();
    ++evictions_;
  }
  lru_.push_front(pid);
  Entry& e = map_[pid];
  e.lru = lru_.begin();
  e.info.pid = pid;
  return &e.info;
}

ProcessInfo* ProcessTable::Find(uint32_t pid) {
  auto it = map_.find(pid);
  return it == map_.end() ? nullptr : &it->second.info;
}

const ProcessInfo* ProcessTable::Find(uint32_t pid) const {
  auto it = map_.find(pid);
  return it == map_.end() ? nullptr : &it->second.info;
}

ProcessInfo* ProcessTable::Apply(const v1::Event& ev) {
  const v1::Process& p = ev.process();
  if (p.pid() == 0) return nullptr;
  ProcessInfo* info = nullptr;

  switch (ev.type()) {
    case v1::EVENT_TYPE_FORK: {
      ProcessInfo* parent = Upsert(p.pid());
      if (parent->comm.empty()) parent->comm = p.comm();
      if (ev.fork().thread()) return parent;
      ProcessInfo parent_copy = *parent;  // Upsert may evict/rehash
      ProcessInfo* child = Upsert(ev.fork().child_pid());
      *child = parent_copy;
      child->pid = ev.fork().child_pid();
      child->ppid = p.pid();
      child->start_ns = ev.fork().child_start_time_ns();
      child->exited = false;
      child->exit_ns = 0;
      child->watch_flags =
          ev.fork().child_watched() ? parent_copy.watch_flags : 0;
      return Find(p.pid());
    }
    case v1::EVENT_TYPE_EXEC:
    case v1::EVENT_TYPE_PROCESS_SNAPSHOT: {
      info = Upsert(p.pid());
      const v1::ExecInfo& x = ev.exec();
      info->exe = x.filename();
      info->argv.assign(x.argv().begin(), x.argv().end());
      info->cwd = x.cwd();
      if (p.ppid() != 0) info->ppid = p.ppid();
      if (p.start_time_ns() != 0) info->start_ns = p.start_time_ns();
      info->exited = false;
      info->exit_ns = 0;
      // The kernel marked it at exec (watch_exe map) or it already was.
      if (p.watched() && info->watch_flags == 0)
        info->watch_flags = kWatchedByKernel;
      break;
    }
    case v1::EVENT_TYPE_EXIT:
      info = Upsert(p.pid());
      info->exited = true;
      info->exit_ns = ev.ktime_ns();
      info->watch_flags = 0;  // the kernel dropped it from the map
      if (p.ppid() != 0) info->ppid = p.ppid();
      break;
    default:
      info = Upsert(p.pid());
      break;
  }
  // Records made outside the owner's context (a TCP close in softirq)
  // carry only the pid: no comm, no credentials.
  if (!p.comm().empty()) {
    info->uid = p.uid();
    info->gid = p.gid();
    info->comm = p.comm();
  }
  if (p.cgroup_id() != 0 && p.cgroup_id() != info->cgroup_id) {
    info->cgroup_id = p.cgroup_id();
    info->cgroup_path = p.cgroup_path();
    info->container = ParseCgroupPath(info->cgroup_path);
  } else if (info->cgroup_path.empty() && !p.cgroup_path().empty()) {
    info->cgroup_path = p.cgroup_path();
    info->container = ParseCgroupPath(info->cgroup_path);
  }
  return info;
}

void ProcessTable::Annotate(v1::Event* ev) const {
  v1::Process* p = ev->mutable_process();
  const ProcessInfo* info = Find(p->pid());
  if (info == nullptr) return;
  if (p->ppid() == 0) p->set_ppid(info->ppid);
  if (p->comm().empty()) {
    p->set_comm(info->comm);
    p->set_uid(info->uid);
    p->set_gid(info->gid);
  }
  if (p->exe().empty()) p->set_exe(info->exe);
  if (p->start_time_ns() == 0) p->set_start_time_ns(info->start_ns);
  if (p->cgroup_path().empty()) p->set_cgroup_path(info->cgroup_path);
  p->set_container_id(info->container.container_id);
  p->set_container_runtime(info->container.runtime);
  p->set_pod_uid(info->container.pod_uid);
  if (info->watch_flags != 0) p->set_watched(true);
}

std::vector<uint32_t> ProcessTable::Ancestry(uint32_t pid,
                                             size_t max_depth) const {
  std::vector<uint32_t> out;
  const ProcessInfo* info = Find(pid);
  while (info != nullptr && info->ppid != 0 && out.size() < max_depth) {
    if (info->ppid == info->pid) break;
    out.push_back(info->ppid);
    info = Find(info->ppid);
  }
  return out;
}

bool ProcessTable::IsDescendant(uint32_t pid, uint32_t ancestor) const {
  if (pid == ancestor) return true;
  for (uint32_t a : Ancestry(pid)) {
    if (a == ancestor) return true;
  }
  return false;
}

void ProcessTable::Expire(uint64_t now_ns) {
  for (auto it = map_.begin(); it != map_.end();) {
    const ProcessInfo& i = it->second.info;
    if (i.exited && now_ns > i.exit_ns + opts_.exit_linger_ns) {
      lru_.erase(it->second.lru);
      it = map_.erase(it);
    } else {
      ++it;
    }
  }
}

size_t ProcessTable::watched_count() const {
  size_t n = 0;
  for (const auto& [pid, e] : map_) {
    if (e.info.watch_flags != 0 && !e.info.exited) ++n;
  }
  return n;
}

}  // namespace agentwatch
