// libcurl and OpenSSL plumbing shared by the sinks and the daemon's own
// clients and servers (the Kubernetes API client, the metrics server).
#ifndef AGENTWATCH_NET_TRANSPORT_H_
#define AGENTWATCH_NET_TRANSPORT_H_

#include <curl/curl.h>

#include <algorithm>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace agentwatch {

// "what: <the last OpenSSL error>" (and clears it from the queue).
std::string OpenSslError(std::string_view what);

struct CurlCleanup {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
using CurlHandle = std::unique_ptr<CURL, CurlCleanup>;

// A new easy handle, after libcurl's global initialisation (once per
// process, thread-safe); null when libcurl cannot make one.
CurlHandle NewCurlHandle();

// CURLOPT_WRITEFUNCTION collecting a response body into the std::string
// given as CURLOPT_WRITEDATA, up to kMax bytes (the rest is dropped).
template <size_t kMax>
size_t CollectBody(char* p, size_t size, size_t n, void* out) {
  auto* s = static_cast<std::string*>(out);
  if (s->size() < kMax) s->append(p, std::min(size * n, kMax - s->size()));
  return size * n;
}

}  // namespace agentwatch

#endif  // AGENTWATCH_NET_TRANSPORT_H_
