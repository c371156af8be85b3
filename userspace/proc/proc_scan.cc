#include "proc/proc_scan.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <sstream>

#include "common/clock.h"
#include "common/text.h"
#include "proc/cgroup.h"

namespace agentwatch {
namespace {

std::string ReadFile(const std::string& path) {
  std::string text;
  ReadFileText(path, &text);
  return text;
}

std::string ReadLink(const std::string& path) {
  char buf[4096];
  ssize_t n = readlink(path.c_str(), buf, sizeof(buf) - 1);
  if (n < 0) return "";
  return std::string(buf, n);
}

bool StatusIds(const std::string& text, const char* key, uint32_t* id) {
  size_t at = text.find(key);
  if (at == std::string::npos) return false;
  *id = static_cast<uint32_t>(strtoul(text.c_str() + at + strlen(key), nullptr, 10));
  return true;
}

}  // namespace

bool ParseProcStat(const std::string& text, std::string* comm, uint32_t* ppid,
                   uint64_t* start_ticks) {
  size_t open = text.find('(');
  size_t close = text.rfind(')');
  if (open == std::string::npos || close == std::string::npos || close < open)
    return false;
  *comm = text.substr(open + 1, close - open - 1);
  std::istringstream rest(text.substr(close + 1));
  // fields 3.. : state ppid pgrp session tty_nr tpgid flags minflt cminflt
  // majflt cmajflt utime stime cutime cstime priority nice num_threads
  // itrealvalue starttime
  std::string f[20];
  for (int i = 0; i < 20; ++i) {
    if (!(rest >> f[i])) return false;
  }
  *ppid = static_cast<uint32_t>(strtoul(f[1].c_str(), nullptr, 10));
  *start_ticks = strtoull(f[19].c_str(), nullptr, 10);
  return true;
}

bool SnapshotProcess(const std::string& proc_root, uint32_t pid,
                     v1::Event* out) {
  const std::string dir = proc_root + "/" + std::to_string(pid);
  std::string stat = ReadFile(dir + "/stat");
  std::string comm;
  uint32_t ppid = 0;
  uint64_t ticks = 0;
  if (!ParseProcStat(stat, &comm, &ppid, &ticks)) return false;
  std::string status = ReadFile(dir + "/status");
  uint32_t uid = 0, gid = 0;
  StatusIds(status, "Uid:", &uid);
  StatusIds(status, "Gid:", &gid);

  out->Clear();
  out->set_type(v1::EVENT_TYPE_PROCESS_SNAPSHOT);
  out->set_time_unix_ns(NowUnixNs());
  out->set_ktime_ns(NowBoottimeNs());
  v1::Process* p = out->mutable_process();
  p->set_pid(pid);
  p->set_tid(pid);
  p->set_ppid(ppid);
  p->set_uid(uid);
  p->set_gid(gid);
  p->set_comm(comm.substr(0, 15));
  static const long hz = sysconf(_SC_CLK_TCK);
  p->set_start_time_ns(ticks * (1000000000ull / static_cast<uint64_t>(hz)));
  std::string exe = ReadLink(dir + "/exe");
  p->set_exe(exe);
  std::string rel = UnifiedCgroupFromProcFile(ReadFile(dir + "/cgroup"));
  p->set_cgroup_path(rel);
  if (!rel.empty()) {
    // The kernel's cgroup id is the inode of the cgroup's directory.
    struct stat st {};
    static const std::string root = DefaultCgroup2Root();
    if (!root.empty() && ::stat((root + rel).c_str(), &st) == 0) {
      p->set_cgroup_id(st.st_ino);
    }
  }
  v1::ExecInfo* x = out->mutable_exec();
  x->set_filename(exe);
  for (auto& a : SplitNul(ReadFile(dir + "/cmdline"))) x->add_argv(a);
  x->set_cwd(ReadLink(dir + "/cwd"));
  return true;
}

std::vector<uint32_t> ListPids(const std::string& proc_root) {
  std::vector<uint32_t> pids;
  if (DIR* d = opendir(proc_root.c_str())) {
    while (dirent* ent = readdir(d)) {
      char* end = nullptr;
      unsigned long pid = strtoul(ent->d_name, &end, 10);
      if (end != ent->d_name && *end == '\0' && pid > 0) pids.push_back(pid);
    }
    closedir(d);
  }
  std::sort(pids.begin(), pids.end());
  return pids;
}

std::vector<v1::Event> ScanProc(const std::string& proc_root) {
  std::vector<uint32_t> pids = ListPids(proc_root);
  std::vector<v1::Event> out;
  out.reserve(pids.size());
  for (uint32_t pid : pids) {
    v1::Event ev;
    if (SnapshotProcess(proc_root, pid, &ev)) out.push_back(std::move(ev));
  }
  return out;
}

}  // namespace agentwatch
