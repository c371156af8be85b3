// A small HTTP/1.1 server for /metrics, /healthz and /readyz: GET and HEAD
// only, one request per connection, handled one at a time on its own
// thread. Plain HTTP only on loopback; any other address needs TLS with
// client certificates (mTLS).
#ifndef AGENTWATCH_OPS_HTTP_SERVER_H_
#define AGENTWATCH_OPS_HTTP_SERVER_H_

#include <atomic>
#include <functional>
#include <string>
#include <thread>
#include <vector>

typedef struct ssl_ctx_st SSL_CTX;

namespace agentwatch {

struct TlsServerFiles {
  std::string cert_file;       // the server's certificate chain (PEM)
  std::string key_file;        // its private key
  std::string client_ca_file;  // CA bundle client certificates must chain to
};

class HttpServer {
 public:
  struct Response {
    int status = 200;
    std::string content_type = "text/plain; charset=utf-8";
    std::string body;
  };
  using Handler = std::function<Response(const std::string& path)>;

  HttpServer() = default;
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds host:port ("[::1]:9590", port 0 picks one). tls null: plain HTTP,
  // refused unless the host is loopback. Before Start.
  std::string Listen(const std::string& address, const TlsServerFiles* tls);
  // The bound addresses ("127.0.0.1:9590"), in Listen order.
  const std::vector<std::string>& addresses() const { return addresses_; }
  void Start(Handler handler);
  void Stop();

  uint64_t requests() const { return requests_; }
  uint64_t rejected() const { return rejected_; }  // bad requests, failed handshakes

 private:
  struct Listener {
    int fd = -1;
    SSL_CTX* ctx = nullptr;  // null = plain
  };
  void Loop();
  void Serve(const Listener& l, int fd);

  std::vector<Listener> listeners_;
  std::vector<std::string> addresses_;
  Handler handler_;
  std::thread thread_;
  int wake_[2] = {-1, -1};
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> requests_{0};
  std::atomic<uint64_t> rejected_{0};
};

// Reads the request head from bytes received so far: "" and *done false
// while it is incomplete; *done true with the method and path (query
// removed) once complete; an error for anything else. Pure.
std::string ParseHttpRequestHead(const std::string& bytes, bool* done, std::string* method,
                                 std::string* path);

}  // namespace agentwatch

#endif  // AGENTWATCH_OPS_HTTP_SERVER_H_
