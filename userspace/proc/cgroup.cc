#include "proc/cgroup.h"

#include <ftw.h>
#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "common/clock.h"

namespace agentwatch {
namespace {

bool IsHex(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
  });
}

// Finds a 64-hex container id in one path component, with the prefixes and
// suffixes the runtimes use ("docker-<id>.scope", "cri-containerd-<id>",
// "crio-<id>", "libpod-<id>", or the bare id).
bool ContainerFromComponent(std::string_view comp, ContainerIdentity* out) {
  std::string_view s = comp;
  if (s.ends_with(".scope")) s.remove_suffix(6);
  struct Prefix {
    std::string_view prefix;
    std::string_view runtime;
  };
  static constexpr Prefix kPrefixes[] = {
      {"docker-", "docker"},
      {"cri-containerd-", "containerd"},
      {"crio-", "cri-o"},
      {"libpod-", "podman"},
  };
  std::string_view runtime;
  for (const auto& p : kPrefixes) {
    if (s.starts_with(p.prefix)) {
      s.remove_prefix(p.prefix.size());
      runtime = p.runtime;
      break;
    }
  }
  if (s.starts_with("conmon-")) return false;  // podman's monitor, not a container
  if (s.size() != 64 || !IsHex(s)) return false;
  out->container_id = std::string(s);
  if (!runtime.empty()) out->runtime = std::string(runtime);
  return true;
}

// "pod<uid>" or "kubepods-besteffort-pod<uid_with_underscores>.slice".
bool PodFromComponent(std::string_view comp, std::string* uid) {
  size_t at = comp.rfind("pod");
  if (at == std::string_view::npos) return false;
  if (at != 0 && comp[at - 1] != '-') return false;
  std::string_view s = comp.substr(at + 3);
  if (s.ends_with(".slice")) s.remove_suffix(6);
  if (s.size() != 36) return false;
  std::string u(s);
  std::replace(u.begin(), u.end(), '_', '-');
  for (size_t i = 0; i < u.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? u[i] != '-' : !IsHex(std::string_view(&u[i], 1))) return false;
  }
  *uid = u;
  return true;
}

}  // namespace

ContainerIdentity ParseCgroupPath(std::string_view path) {
  ContainerIdentity id;
  bool kube = path.find("kubepods") != std::string_view::npos;
  size_t i = 0;
  std::string_view parent;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    std::string_view comp = path.substr(i, j - i);
    if (!comp.empty()) {
      if (kube && id.pod_uid.empty()) PodFromComponent(comp, &id.pod_uid);
      ContainerIdentity c;
      if (ContainerFromComponent(comp, &c)) {
        id.container_id = c.container_id;
        id.runtime = c.runtime;
        if (id.runtime.empty()) {
          // Bare id: the parent names the runtime (cgroupfs driver).
          if (parent == "docker") {
            id.runtime = "docker";
          } else if (parent.starts_with("libpod")) {
            id.runtime = "podman";
          } else if (kube || parent.ends_with("containerd.service")) {
            id.runtime = "containerd";  // CRI runtime unknown from path
          }
        }
      }
      parent = comp;
    }
    i = j + 1;
  }
  return id;
}

std::string UnifiedCgroupFromProcFile(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    size_t j = text.find('\n', i);
    if (j == std::string_view::npos) j = text.size();
    std::string_view line = text.substr(i, j - i);
    if (line.starts_with("0::")) return std::string(line.substr(3));
    i = j + 1;
  }
  return "";
}

std::string DefaultCgroup2Root() {
  struct stat st {};
  if (stat("/sys/fs/cgroup/cgroup.controllers", &st) == 0) return "/sys/fs/cgroup";
  if (stat("/sys/fs/cgroup/unified/cgroup.controllers", &st) == 0)
    return "/sys/fs/cgroup/unified";
  return "";
}

CgroupResolver::CgroupResolver(std::string cgroup_root, std::string proc_root)
    : cgroup_root_(cgroup_root.empty() ? DefaultCgroup2Root()
                                       : std::move(cgroup_root)),
      proc_root_(std::move(proc_root)) {}

bool CgroupResolver::InodeOf(const std::string& rel, uint64_t* ino) const {
  struct stat st {};
  if (stat((cgroup_root_ + rel).c_str(), &st) != 0) return false;
  *ino = st.st_ino;
  return true;
}

namespace {
thread_local std::unordered_map<uint64_t, std::string>* g_scan_out;
thread_local size_t g_scan_prefix;
int ScanVisit(const char* path, const struct stat* st, int flag, FTW*) {
  if (flag == FTW_D) {
    std::string rel(path + g_scan_prefix);
    if (rel.empty()) rel = "/";
    (*g_scan_out)[st->st_ino] = rel;
  }
  return 0;
}
}  // namespace

void CgroupResolver::Rescan() {
  std::unordered_map<uint64_t, std::string> found;
  g_scan_out = &found;
  g_scan_prefix = cgroup_root_.size();
  nftw(cgroup_root_.c_str(), ScanVisit, 16, FTW_PHYS | FTW_MOUNT);
  g_scan_out = nullptr;
  for (auto& [k, v] : found) cache_[k] = std::move(v);
}

std::string CgroupResolver::Resolve(uint64_t id, uint32_t pid) {
  if (id == 0 || cgroup_root_.empty()) return "";
  std::lock_guard<std::mutex> lock(mu_);
  auto it = cache_.find(id);
  if (it != cache_.end()) return it->second;
  ++misses_;
  if (pid != 0) {
    std::ifstream f(proc_root_ + "/" + std::to_string(pid) + "/cgroup");
    std::stringstream ss;
    ss << f.rdbuf();
    std::string rel = UnifiedCgroupFromProcFile(ss.str());
    uint64_t ino = 0;
    if (!rel.empty() && InodeOf(rel, &ino) && ino == id) {
      cache_[id] = rel;
      return rel;
    }
  }
  int64_t now = NowUnixNs();
  if (now - last_scan_ns_ > 1000000000) {
    last_scan_ns_ = now;
    Rescan();
    it = cache_.find(id);
    if (it != cache_.end()) return it->second;
  }
  return "";
}

}  // namespace agentwatch
