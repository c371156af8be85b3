// A small HTTP/1.1 server: GET and HEAD only, one request per connection,
// each connection on its own thread (up to max_connections at once). A
// client has read_timeout_s in all to send its request head (the TLS
// handshake included), however slowly it trickles; at the cap, the oldest
// connection still sending its head makes way for a new one, and only when
// every connection is being answered do new ones get 503 (so idle or slow
// clients cannot keep /healthz from the kubelet). A response is a body, or a stream written on the connection's
// thread until it ends (server-sent events). Plain HTTP only on loopback;
// any other address needs TLS with client certificates (mTLS). Serves
// /metrics, /healthz and /readyz, and the console.
#ifndef AGENTWATCH_OPS_HTTP_SERVER_H_
#define AGENTWATCH_OPS_HTTP_SERVER_H_

#include <atomic>
#include <chrono>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

typedef struct ssl_ctx_st SSL_CTX;

namespace agentwatch {

struct TlsServerFiles {
  std::string cert_file;       // the server's certificate chain (PEM)
  std::string key_file;        // its private key
  std::string client_ca_file;  // CA bundle client certificates must chain to
};

struct HttpRequest {
  std::string method;
  std::string path;   // the target up to '?', as sent (not percent-decoded)
  std::string query;  // after '?' ("" if none), as sent
  std::string host;   // the Host header ("" if none)
  bool tls = false;   // came over TLS with a verified client certificate
};

// Where a streamed response writes: Write returns false once the client is
// gone or the server stops; Closed says so without writing.
class HttpStream {
 public:
  virtual ~HttpStream() = default;
  virtual bool Write(std::string_view bytes) = 0;
  virtual bool Closed() = 0;
};

class HttpServer {
 public:
  struct Response {
    int status = 200;
    std::string content_type = "text/plain; charset=utf-8";
    std::string body;
    // Extra header lines ("Name", "value").
    std::vector<std::pair<std::string, std::string>> headers;
    // Set: the head is sent without a length and stream then writes the
    // body until it returns (body is ignored).
    std::function<void(HttpStream&)> stream;
  };
  using Handler = std::function<Response(const HttpRequest&)>;
  struct Options {
    size_t max_connections = 16;
    int read_timeout_s = 2;   // a client's request head must be in by then
    int write_timeout_s = 10;
    std::string name = "metrics";  // in log lines
  };

  HttpServer() = default;
  explicit HttpServer(Options o) : opts_(std::move(o)) {}
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds host:port ("[::1]:9590", port 0 picks one). tls null: plain HTTP,
  // refused unless the host is loopback. Before Start.
  std::string Listen(const std::string& address, const TlsServerFiles* tls);
  // The bound addresses ("127.0.0.1:9590"), in Listen order.
  const std::vector<std::string>& addresses() const { return addresses_; }
  void Start(Handler handler);
  // Closes the listeners, ends every stream and joins every connection.
  void Stop();

  uint64_t requests() const { return requests_; }
  uint64_t rejected() const { return rejected_; }  // bad requests, failed handshakes, over the cap
  size_t connections() const { return active_; }

 private:
  struct Listener {
    int fd = -1;
    SSL_CTX* ctx = nullptr;  // null = plain
  };
  // kReading until the request head is in (then kServing), or kCut when
  // the loop cut it (too slow, or making way at the cap): whichever of
  // Serve and the loop moves it first wins.
  enum State : int { kReading, kServing, kCut };
  struct Connection {
    int fd = -1;
    std::thread thread;
    std::atomic<bool> done{false};
    std::atomic<int> state{kReading};
    std::chrono::steady_clock::time_point accepted;
  };
  void Loop();
  void Reap(bool all);
  // Cuts the connections whose head is overdue; true when room was made
  // for one more (at the cap: the oldest still reading is cut).
  void CutSlowHeads();
  bool MakeRoom();
  void Serve(const Listener& l, Connection* c);

  Options opts_;
  std::vector<Listener> listeners_;
  std::vector<std::string> addresses_;
  Handler handler_;
  std::thread thread_;
  int wake_[2] = {-1, -1};
  std::atomic<bool> stop_{false};
  std::mutex conns_mu_;
  std::list<std::unique_ptr<Connection>> conns_;
  std::atomic<size_t> active_{0};
  std::atomic<uint64_t> requests_{0};
  std::atomic<uint64_t> rejected_{0};
};

// Reads the request head from bytes received so far: "" and *done false
// while it is incomplete; *done true with *req filled (method, path,
// query, host) once complete; an error for anything else. Pure.
std::string ParseHttpRequestHead(const std::string& bytes, bool* done, HttpRequest* req);

}  // namespace agentwatch

#endif  // AGENTWATCH_OPS_HTTP_SERVER_H_
