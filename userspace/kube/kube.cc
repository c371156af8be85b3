#include "kube/kube.h"

#include <algorithm>
#include <chrono>
#include <memory>

#include <fmt/format.h>
#include <simdjson.h>
#include <spdlog/spdlog.h>

#include "common/clock.h"
#include "common/text.h"
#include "net/transport.h"

namespace agentwatch {
namespace {

using simdjson::dom::element;
using simdjson::dom::object;

std::string Str(const element& e, std::string_view key) {
  std::string_view v;
  if (e[key].get(v) != simdjson::SUCCESS) return "";
  return std::string(v);
}

void ParsePod(const element& pod, PodMeta* m) {
  element meta, spec, status;
  if (pod["metadata"].get(meta) == simdjson::SUCCESS) {
    m->uid = Str(meta, "uid");
    m->name = Str(meta, "name");
    m->namespace_ = Str(meta, "namespace");
    object labels;
    if (meta["labels"].get(labels) == simdjson::SUCCESS) {
      for (auto [k, v] : labels) {
        std::string_view s;
        if (v.get(s) == simdjson::SUCCESS) m->labels[std::string(k)] = std::string(s);
      }
    }
    simdjson::dom::array owners;
    if (meta["ownerReferences"].get(owners) == simdjson::SUCCESS) {
      for (element o : owners) {
        bool controller = false;
        if (o["controller"].get(controller) != simdjson::SUCCESS) controller = false;
        if (!controller && !m->workload_kind.empty()) continue;
        m->workload_kind = Str(o, "kind");
        m->workload_name = Str(o, "name");
        if (controller) break;
      }
    }
  }
  if (m->workload_kind == "ReplicaSet") {
    // <deployment>-<pod-template-hash>
    auto h = m->labels.find("pod-template-hash");
    const std::string& n = m->workload_name;
    if (h != m->labels.end() && !h->second.empty() && n.size() > h->second.size() + 1 &&
        n.compare(n.size() - h->second.size(), h->second.size(), h->second) == 0 &&
        n[n.size() - h->second.size() - 1] == '-') {
      m->workload_kind = "Deployment";
      m->workload_name = n.substr(0, n.size() - h->second.size() - 1);
    }
  }
  if (m->workload_kind.empty()) {
    m->workload_kind = "Pod";
    m->workload_name = m->name;
  }
  if (pod["spec"].get(spec) == simdjson::SUCCESS) {
    m->node_name = Str(spec, "nodeName");
    m->service_account = Str(spec, "serviceAccountName");
  }
  if (pod["status"].get(status) == simdjson::SUCCESS) {
    for (const char* key :
         {"containerStatuses", "initContainerStatuses", "ephemeralContainerStatuses"}) {
      simdjson::dom::array cs;
      if (status[key].get(cs) != simdjson::SUCCESS) continue;
      for (element c : cs) {
        std::string id = StripRuntimePrefix(Str(c, "containerID"));
        if (!id.empty()) m->containers[id] = Str(c, "name");
      }
    }
  }
}

}  // namespace

std::string StripRuntimePrefix(std::string_view id) {
  const size_t p = id.find("://");
  return std::string(p == std::string_view::npos ? id : id.substr(p + 3));
}

std::string ParsePodList(std::string_view json, std::vector<PodMeta>* out) {
  simdjson::dom::parser parser;
  simdjson::padded_string padded(json);
  element root;
  if (auto err = parser.parse(padded).get(root); err != simdjson::SUCCESS)
    return fmt::format("pod list: {}", simdjson::error_message(err));
  const std::string kind = Str(root, "kind");
  if (kind == "Pod") {
    PodMeta m;
    ParsePod(root, &m);
    if (m.uid.empty()) return "pod: no metadata.uid";
    out->push_back(std::move(m));
    return "";
  }
  simdjson::dom::array items;
  if (root["items"].get(items) != simdjson::SUCCESS) {
    // An API error answers with a Status object.
    const std::string msg = Str(root, "message");
    return msg.empty() ? fmt::format("pod list: no items (kind '{}')", kind)
                       : fmt::format("API server: {}", msg);
  }
  for (element pod : items) {
    PodMeta m;
    ParsePod(pod, &m);
    if (!m.uid.empty()) out->push_back(std::move(m));
  }
  return "";
}

void PodDirectory::Replace(std::vector<PodMeta> pods) {
  std::lock_guard<std::mutex> lock(mu_);
  pods_.clear();
  for (auto& p : pods) {
    std::string uid = p.uid;
    pods_.emplace(std::move(uid), std::move(p));
  }
  misses_.clear();
}

const PodMeta* PodDirectory::Find(const std::string& uid) {
  auto it = pods_.find(uid);
  if (it != pods_.end()) return &it->second;
  misses_.insert(uid);
  if (counted_.size() < 100000 && counted_.insert(uid).second) ++unresolved_;
  return nullptr;
}

bool PodDirectory::Fill(v1::Kubernetes* k) {
  std::lock_guard<std::mutex> lock(mu_);
  const PodMeta* p = Find(k->pod_uid());
  if (p == nullptr) return false;
  k->set_pod_name(p->name);
  k->set_namespace_(p->namespace_);
  k->set_workload_kind(p->workload_kind);
  k->set_workload_name(p->workload_name);
  k->set_node_name(p->node_name);
  k->set_service_account(p->service_account);
  k->mutable_labels()->clear();
  for (const auto& [key, v] : p->labels) (*k->mutable_labels())[key] = v;
  if (auto c = p->containers.find(k->container_id()); c != p->containers.end())
    k->set_container_name(c->second);
  return true;
}

bool PodDirectory::Names(const std::string& pod_uid, std::string* name, std::string* ns) {
  std::lock_guard<std::mutex> lock(mu_);
  const PodMeta* p = Find(pod_uid);
  if (p == nullptr) return false;
  *name = p->name;
  *ns = p->namespace_;
  return true;
}

size_t PodDirectory::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return pods_.size();
}

bool PodDirectory::HasMisses() const {
  std::lock_guard<std::mutex> lock(mu_);
  return !misses_.empty();
}

namespace {

struct SlistCleanup {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

std::string ReadTrimmed(const std::string& path, std::string* err) {
  std::string s;
  if (!ReadFileText(path, &s)) {
    *err = fmt::format("cannot read {}", path);
    return "";
  }
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

std::string KubeClient::SyncOnce() {
  std::string err;
  // Read each time: projected tokens are rotated by the kubelet.
  const std::string token = ReadTrimmed(o_.token_file, &err);
  if (!err.empty()) return err;
  CurlHandle curl = NewCurlHandle();
  if (!curl) return "curl_easy_init failed";
  char* node = curl_easy_escape(curl.get(), ("spec.nodeName=" + o_.node_name).c_str(), 0);
  const std::string url = fmt::format("{}/api/v1/pods?fieldSelector={}", o_.api_server, node);
  curl_free(node);
  std::unique_ptr<curl_slist, SlistCleanup> headers(
      curl_slist_append(nullptr, ("Authorization: Bearer " + token).c_str()));
  headers.reset(curl_slist_append(headers.release(), "Accept: application/json"));
  std::string body;
  curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_HTTPHEADER, headers.get());
  // A pod list past 256 MiB is cut, and then fails to parse.
  curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, CollectBody<(256u << 20)>);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT_MS, 15000L);
  curl_easy_setopt(curl.get(), CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl.get(), CURLOPT_PROTOCOLS_STR, "https,http");
  if (!o_.ca_file.empty()) curl_easy_setopt(curl.get(), CURLOPT_CAINFO, o_.ca_file.c_str());
  if (CURLcode rc = curl_easy_perform(curl.get()); rc != CURLE_OK)
    return fmt::format("GET {}: {}", url, curl_easy_strerror(rc));
  long code = 0;
  curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &code);
  std::vector<PodMeta> pods;
  std::string perr = ParsePodList(body, &pods);
  if (code != 200)
    return fmt::format("GET {}: HTTP {}{}", url, code, perr.empty() ? "" : " (" + perr + ")");
  if (!perr.empty()) return perr;
  dir_->Replace(std::move(pods));
  return "";
}

void KubeClient::Start() {
  thread_ = std::thread([this] {
    constexpr int64_t kSecond = 1000000000;
    const int64_t resync = static_cast<int64_t>(o_.resync_ms) * 1000000;
    // Lists asked for by unknown pods come sooner, but back off (2 s, 4 s,
    // ... up to 30 s, or resync if shorter) while pods stay unknown.
    int64_t miss_wait = 2 * kSecond;
    bool by_miss = false;
    std::unique_lock<std::mutex> lock(mu_);
    while (!stop_) {
      lock.unlock();
      const int64_t attempt = NowUnixNs();
      std::string e = SyncOnce();
      lock.lock();
      if (e.empty()) {
        last_sync_unix_ns_ = NowUnixNs();
        if (!last_error_.empty()) spdlog::info("msg=\"pod metadata available again\"");
        last_error_.clear();
      } else {
        if (e != last_error_)
          spdlog::warn("msg=\"cannot list this node's pods\" error=\"{}\"", e);
        last_error_ = e;
      }
      miss_wait = by_miss ? std::min({miss_wait * 2, resync, 30 * kSecond}) : 2 * kSecond;
      // The next list: after resync (10 s after a failure), or sooner
      // while pods are seen that the last list did not have.
      const int64_t next = attempt + (e.empty() ? resync : std::min(resync, 10 * kSecond));
      by_miss = false;
      while (!stop_) {
        const int64_t now = NowUnixNs();
        if (now >= next) break;
        if (e.empty() && now - attempt >= miss_wait && dir_->HasMisses()) {
          by_miss = true;
          break;
        }
        cv_.wait_for(lock, std::chrono::milliseconds(500));
      }
    }
  });
}

void KubeClient::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

v1::KubernetesStatus KubeClient::Status() const {
  v1::KubernetesStatus s;
  s.set_enabled(true);
  s.set_source(o_.api_server);
  s.set_pods_known(dir_->size());
  s.set_unresolved(dir_->unresolved());
  std::lock_guard<std::mutex> lock(mu_);
  s.set_last_sync_unix_ns(last_sync_unix_ns_);
  s.set_last_error(last_error_);
  return s;
}

}  // namespace agentwatch
