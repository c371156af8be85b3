// The console's read-only JSON API: HTTP GET paths under /api/ answered by
// the same AgentWatchService the gRPC API serves (so the console shows
// nothing the API would not, redacted the same way), the embedded page and
// its assets, and the service's streams as server-sent events. Every
// answer is bounded (limits are capped) and carries the console's security
// headers; a Host header that names neither loopback nor the console's own
// address is refused (DNS rebinding) unless the client came over mTLS.
#ifndef AGENTWATCH_CONSOLE_CONSOLE_API_H_
#define AGENTWATCH_CONSOLE_CONSOLE_API_H_

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "api/service.h"
#include "ops/http_server.h"

namespace agentwatch {

// name=value pairs of a query string, percent-decoded ('+' is a space).
// Sets *error (and returns what it read so far) on a bad escape. Pure.
std::multimap<std::string, std::string> ParseQuery(std::string_view query, std::string* error);
// Percent-decodes s; false on a bad escape or a decoded NUL. Pure.
bool PercentDecode(std::string_view s, std::string* out);
// Whether a request with this Host header may be answered: loopback names
// and literals (any port), or one of the addresses the console is bound
// to. Pure.
bool ConsoleHostAllowed(std::string_view host, const std::vector<std::string>& bound);

class ConsoleApi {
 public:
  // Caps on what one request may ask for.
  static constexpr uint32_t kMaxAlerts = 1000;
  static constexpr uint32_t kMaxChains = 500;
  static constexpr uint32_t kMaxChainEntries = 2000;
  static constexpr uint32_t kMaxCalls = 1000;
  static constexpr uint32_t kMaxEvents = 2000;

  // Event streams open at once: the console server's other connections
  // (32 in all) stay for the JSON API, so a client that opens stream after
  // stream cannot take the whole console; more get 503.
  static constexpr size_t kMaxStreams = 24;

  // keepalive_s: a comment line on every event stream this often.
  explicit ConsoleApi(AgentWatchService* service, int keepalive_s = 10,
                      size_t max_streams = kMaxStreams)
      : service_(service), keepalive_s_(keepalive_s), max_streams_(max_streams) {}
  // The console's bound addresses (for the Host check).
  void SetBound(std::vector<std::string> bound) { bound_ = std::move(bound); }

  HttpServer::Response Handle(const HttpRequest& req) const;

  // Streams open now (event streams answered and not yet ended; a stream
  // counts from its answer until its connection is done).
  size_t open_streams() const { return open_streams_; }

 private:
  HttpServer::Response Route(const HttpRequest& req,
                             const std::multimap<std::string, std::string>& q) const;
  HttpServer::Response AlertStreamResponse(const std::multimap<std::string, std::string>& q) const;
  HttpServer::Response ChainStreamResponse(const std::multimap<std::string, std::string>& q) const;
  // A place for one more stream (null when all are taken): held by the
  // stream's function, so it is given back however the connection ends
  // (HEAD, a client gone before the stream began).
  std::shared_ptr<void> StreamSlot() const;

  AgentWatchService* service_;
  int keepalive_s_;
  size_t max_streams_;
  std::vector<std::string> bound_;
  mutable std::atomic<size_t> open_streams_{0};
};

}  // namespace agentwatch

#endif  // AGENTWATCH_CONSOLE_CONSOLE_API_H_
