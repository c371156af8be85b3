// Container and Kubernetes pod identity from cgroup paths.
#ifndef AGENTWATCH_PROC_CGROUP_H_
#define AGENTWATCH_PROC_CGROUP_H_

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace agentwatch {

struct ContainerIdentity {
  std::string runtime;       // docker, containerd, cri-o, podman, ""
  std::string container_id;  // 64 hex chars, or "" when not in a container
  std::string pod_uid;       // dashed UUID, or "" when not a k8s pod
};

// Recognises the cgroup path forms of docker, containerd (incl. CRI),
// cri-o and podman under both the cgroupfs and the systemd cgroup drivers,
// and the kubepods hierarchy that carries the pod uid. A pure function.
ContainerIdentity ParseCgroupPath(std::string_view path);

// The cgroup v2 path ("0::/a/b" line) from the text of /proc/PID/cgroup;
// "" when there is no unified line.
std::string UnifiedCgroupFromProcFile(std::string_view text);

// Where the cgroup v2 hierarchy is mounted: /sys/fs/cgroup (unified) or
// /sys/fs/cgroup/unified (hybrid); "" when there is none.
std::string DefaultCgroup2Root();

// Maps cgroup ids (the kernel's cgroup inode numbers, as
// bpf_get_current_cgroup_id returns) to cgroup v2 paths. Thread-safe.
class CgroupResolver {
 public:
  // cgroup_root "" picks the host's cgroup v2 mount (DefaultCgroup2Root).
  explicit CgroupResolver(std::string cgroup_root = "",
                          std::string proc_root = "/proc");

  // The path for id; on a miss tries /proc/pid/cgroup (checking that the
  // directory's inode is id), then rescans the hierarchy (at most once per
  // second). "" when unknown.
  std::string Resolve(uint64_t id, uint32_t pid);

  uint64_t misses() const { return misses_; }

 private:
  bool InodeOf(const std::string& rel, uint64_t* ino) const;
  void Rescan();

  std::string cgroup_root_;
  std::string proc_root_;
  std::mutex mu_;
  std::unordered_map<uint64_t, std::string> cache_;
  int64_t last_scan_ns_ = 0;
  uint64_t misses_ = 0;
};

}  // namespace agentwatch

#endif  // AGENTWATCH_PROC_CGROUP_H_
