// Fuzzes what the daemon parses from outside its own process for
// operations: pod lists from the API server, HTTP request heads from
// metrics scrapers, and /proc/self/status capability lines.
#include <cstddef>
#include <cstdint>
#include <string>

#include "daemon/caps.h"
#include "kube/kube.h"
#include "ops/http_server.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string in(reinterpret_cast<const char*>(data), size);
  std::vector<agentwatch::PodMeta> pods;
  agentwatch::ParsePodList(in, &pods);
  agentwatch::PodDirectory dir;
  dir.Replace(pods);
  for (const auto& p : pods) {
    agentwatch::v1::Kubernetes k;
    k.set_pod_uid(p.uid);
    dir.Fill(&k);
  }
  bool done = false;
  agentwatch::HttpRequest req;
  agentwatch::ParseHttpRequestHead(in, &done, &req);
  uint64_t caps = 0;
  if (agentwatch::ParseCapEff(in, &caps)) agentwatch::MissingCapabilities(caps, in);
  return 0;
}
