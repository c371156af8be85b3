// Kubernetes pod metadata for the pods on this node: read from the API
// server (a pod list filtered by node, with the service account's token),
// kept in a directory by pod uid, and filled into the Kubernetes identity
// of processes, calls, chains and alerts. The pod uid and container id
// themselves come from cgroup paths (proc/cgroup.h); this adds names,
// namespace, labels and workload.
#ifndef AGENTWATCH_KUBE_KUBE_H_
#define AGENTWATCH_KUBE_KUBE_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "agentwatch/v1/agentwatch.pb.h"

namespace agentwatch {

struct PodMeta {
  std::string uid;
  std::string name;
  std::string namespace_;
  std::string node_name;
  std::string service_account;
  std::string workload_kind;  // Deployment, StatefulSet, DaemonSet, Job, ReplicaSet, Pod...
  std::string workload_name;
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> containers;  // container id (64 hex) -> name
};

// Parses a v1 PodList (or a single Pod) from the API server or the
// kubelet. A Deployment's pods are owned by a ReplicaSet named
// <deployment>-<pod-template-hash>: the workload is the Deployment. Returns
// "" or what is wrong with the text. Pure.
std::string ParsePodList(std::string_view json, std::vector<PodMeta>* out);

// The container id without its runtime prefix ("containerd://", "cri-o://",
// "docker://").
std::string StripRuntimePrefix(std::string_view container_id);

// Pods by uid. Thread-safe.
class PodDirectory {
 public:
  // Replaces the whole directory (one full list of the node's pods).
  void Replace(std::vector<PodMeta> pods);
  // Fills k from the pod k->pod_uid() (and its container by
  // k->container_id()). False, and counted once per uid, when the pod is
  // not known.
  bool Fill(v1::Kubernetes* k);
  // A process's pod name and namespace (for events); false if unknown.
  bool Names(const std::string& pod_uid, std::string* name, std::string* ns);
  size_t size() const;
  uint64_t unresolved() const { return unresolved_; }
  // Uids asked for and not known since the last Replace (the client lists
  // again sooner when there are any).
  bool HasMisses() const;

 private:
  // The pod, or null with the miss recorded and counted. Under mu_.
  const PodMeta* Find(const std::string& uid);

  mutable std::mutex mu_;
  std::unordered_map<std::string, PodMeta> pods_;
  std::set<std::string> misses_;    // unknown since the last Replace
  std::set<std::string> counted_;   // unknown uids counted once each
  std::atomic<uint64_t> unresolved_{0};
};

// Lists the node's pods from the API server now and then (and sooner when
// an unknown pod shows up) into a PodDirectory.
class KubeClient {
 public:
  struct Options {
    std::string api_server;  // https://host:port
    std::string token_file;
    std::string ca_file;
    std::string node_name;
    uint64_t resync_ms = 60000;
  };
  KubeClient(Options o, PodDirectory* dir) : o_(std::move(o)), dir_(dir) {}
  ~KubeClient() { Stop(); }

  void Start();
  void Stop();
  // One list, now (also used by Start's thread). Returns "" or the error.
  std::string SyncOnce();
  v1::KubernetesStatus Status() const;

 private:
  Options o_;
  PodDirectory* dir_;
  std::thread thread_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::string last_error_;
  int64_t last_sync_unix_ns_ = 0;
};

}  // namespace agentwatch

#endif  // AGENTWATCH_KUBE_KUBE_H_
