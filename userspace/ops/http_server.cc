#include "ops/http_server.h"

#include <fcntl.h>
#include <netdb.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/text.h"
#include "mcp/http1.h"
#include "net/transport.h"

namespace agentwatch {
namespace {

constexpr size_t kMaxHead = 16 * 1024;

const char* Reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Error";
  }
}

}  // namespace

std::string ParseHttpRequestHead(const std::string& bytes, bool* done, HttpRequest* req) {
  *done = false;
  Http1Parser parser(Http1Parser::Direction::kRequests,
                     Http1Parser::Limits{.max_head = kMaxHead, .max_headers = 64});
  std::string error;
  Http1Parser::Callbacks cb;
  cb.on_head = [&](const HttpHead& h) {
    if (*done) return;
    *done = true;
    req->method = h.method;
    const size_t q = h.target.find('?');
    req->path = h.target.substr(0, q);
    req->query = q == std::string::npos ? "" : h.target.substr(q + 1);
    const std::string* host = h.Header("host");
    req->host = host != nullptr ? *host : "";
  };
  cb.on_error = [&](std::string_view why) {
    if (error.empty() && !*done) error = std::string(why);
  };
  parser.Feed(bytes, cb);
  if (*done) return "";
  if (!error.empty()) return error;
  if (bytes.size() >= kMaxHead) return "request head too large";
  return "";
}

HttpServer::~HttpServer() { Stop(); }

std::string HttpServer::Listen(const std::string& address, const TlsServerFiles* tls) {
  std::string host, port;
  if (!SplitHostPort(address, &host, &port))
    return fmt::format("listen address {}: want host:port", address);
  if (tls == nullptr && !IsLoopbackHost(host))
    return fmt::format("listen address {}: plain HTTP is served on loopback only; "
                       "other addresses need TLS with client certificates",
                       address);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  if (int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &res); rc != 0)
    return fmt::format("listen address {}: {}", address, gai_strerror(rc));
  int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    freeaddrinfo(res);
    return fmt::format("socket: {}", strerror(errno));
  }
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, 64) != 0) {
    std::string e = fmt::format("listen on {}: {}", address, strerror(errno));
    freeaddrinfo(res);
    close(fd);
    return e;
  }
  freeaddrinfo(res);
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  char h[NI_MAXHOST], p[NI_MAXSERV];
  getnameinfo(reinterpret_cast<sockaddr*>(&ss), len, h, sizeof h, p, sizeof p,
              NI_NUMERICHOST | NI_NUMERICSERV);
  Listener l;
  l.fd = fd;
  if (tls != nullptr) {
    if (tls->cert_file.empty() || tls->key_file.empty() || tls->client_ca_file.empty()) {
      close(fd);
      return fmt::format("{}: TLS needs a certificate, a key and a client CA", address);
    }
    l.ctx = SSL_CTX_new(TLS_server_method());
    SSL_CTX_set_min_proto_version(l.ctx, TLS1_2_VERSION);
    std::string e;
    if (SSL_CTX_use_certificate_chain_file(l.ctx, tls->cert_file.c_str()) != 1) {
      e = OpenSslError("certificate " + tls->cert_file);
    } else if (SSL_CTX_use_PrivateKey_file(l.ctx, tls->key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
      e = OpenSslError("key " + tls->key_file);
    } else if (SSL_CTX_load_verify_locations(l.ctx, tls->client_ca_file.c_str(), nullptr) != 1) {
      e = OpenSslError("client CA " + tls->client_ca_file);
    }
    if (!e.empty()) {
      SSL_CTX_free(l.ctx);
      close(fd);
      return e;
    }
    SSL_CTX_set_verify(l.ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  }
  listeners_.push_back(l);
  addresses_.push_back(JoinHostPort(h, p));
  return "";
}

void HttpServer::Start(Handler handler) {
  handler_ = std::move(handler);
  if (listeners_.empty() || thread_.joinable()) return;
  if (pipe2(wake_, O_CLOEXEC) != 0) return;
  thread_ = std::thread([this] { Loop(); });
}

void HttpServer::Stop() {
  stop_ = true;
  if (wake_[1] >= 0) {
    char c = 0;
    (void)!write(wake_[1], &c, 1);
  }
  if (thread_.joinable()) thread_.join();
  {
    // Wakes every connection blocked in a read or a write; streams see
    // stop_ and end.
    std::lock_guard<std::mutex> lock(conns_mu_);
    for (auto& c : conns_)
      if (!c->done) shutdown(c->fd, SHUT_RDWR);
  }
  Reap(true);
  for (auto& l : listeners_) {
    if (l.fd >= 0) close(l.fd);
    if (l.ctx != nullptr) SSL_CTX_free(l.ctx);
  }
  listeners_.clear();
  for (int& fd : wake_) {
    if (fd >= 0) close(fd);
    fd = -1;
  }
}

void HttpServer::Reap(bool all) {
  std::list<std::unique_ptr<Connection>> ended;
  {
    std::lock_guard<std::mutex> lock(conns_mu_);
    for (auto it = conns_.begin(); it != conns_.end();) {
      if (all || (*it)->done) {
        ended.push_back(std::move(*it));
        it = conns_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& c : ended) {
    if (c->thread.joinable()) c->thread.join();
    close(c->fd);
    --active_;
  }
}

void HttpServer::CutSlowHeads() {
  const auto overdue = std::chrono::steady_clock::now() - std::chrono::seconds(opts_.read_timeout_s);
  std::lock_guard<std::mutex> lock(conns_mu_);
  for (auto& c : conns_) {
    int reading = kReading;
    if (!c->done && c->accepted <= overdue && c->state.compare_exchange_strong(reading, kCut))
      shutdown(c->fd, SHUT_RDWR);  // Serve's read ends; the fd is closed when reaped
  }
}

bool HttpServer::MakeRoom() {
  std::lock_guard<std::mutex> lock(conns_mu_);
  size_t open = 0;
  Connection* oldest = nullptr;
  for (auto& c : conns_) {
    if (c->done || c->state == kCut) continue;
    ++open;
    if (c->state == kReading && (oldest == nullptr || c->accepted < oldest->accepted))
      oldest = c.get();
  }
  if (open < opts_.max_connections) {
    // Cut connections still end on their threads: at most as many again.
    return conns_.size() < 2 * opts_.max_connections;
  }
  int reading = kReading;
  if (oldest == nullptr || conns_.size() >= 2 * opts_.max_connections ||
      !oldest->state.compare_exchange_strong(reading, kCut))
    return false;
  shutdown(oldest->fd, SHUT_RDWR);
  return true;
}

void HttpServer::Loop() {
  std::vector<pollfd> fds;
  for (const auto& l : listeners_) fds.push_back({l.fd, POLLIN, 0});
  fds.push_back({wake_[0], POLLIN, 0});
  while (!stop_) {
    const int n = poll(fds.data(), fds.size(), 1000);
    if (n < 0) {
      if (errno == EINTR) continue;
      spdlog::error("msg=\"{} server poll failed\" error=\"{}\"", opts_.name, strerror(errno));
      return;
    }
    Reap(false);
    CutSlowHeads();
    for (size_t i = 0; i < listeners_.size() && !stop_; ++i) {
      if ((fds[i].revents & POLLIN) == 0) continue;
      int fd = accept4(listeners_[i].fd, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      if (!MakeRoom()) {
        ++rejected_;
        if (listeners_[i].ctx == nullptr) {
          static constexpr std::string_view kBusy =
              "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 18\r\nConnection: close\r\n"
              "Retry-After: 1\r\n\r\ntoo many clients\r\n";
          (void)!send(fd, kBusy.data(), kBusy.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        }
        // What the client sent already is read first: closing over unread
        // bytes resets the connection and the 503 could be lost.
        char drain[4096];
        while (recv(fd, drain, sizeof drain, MSG_DONTWAIT) > 0) {
        }
        shutdown(fd, SHUT_WR);
        close(fd);
        continue;
      }
      timeval rtv{opts_.read_timeout_s, 0};
      timeval wtv{opts_.write_timeout_s, 0};
      setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &rtv, sizeof rtv);
      setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &wtv, sizeof wtv);
      auto c = std::make_unique<Connection>();
      c->fd = fd;
      c->accepted = std::chrono::steady_clock::now();
      Connection* raw = c.get();
      const Listener* l = &listeners_[i];
      ++active_;
      std::lock_guard<std::mutex> lock(conns_mu_);
      conns_.push_back(std::move(c));
      raw->thread = std::thread([this, l, raw] {
        Serve(*l, raw);
        raw->done = true;
      });
    }
  }
}

void HttpServer::Serve(const Listener& l, Connection* c) {
  const int fd = c->fd;
  SSL* ssl = nullptr;
  if (l.ctx != nullptr) {
    ssl = SSL_new(l.ctx);
    SSL_set_fd(ssl, fd);
    if (SSL_accept(ssl) != 1) {
      ++rejected_;
      spdlog::debug("msg=\"{} TLS handshake failed\" error=\"{}\"", opts_.name,
                    OpenSslError("accept"));
      SSL_free(ssl);
      return;
    }
  }
  auto recv_some = [&](char* buf, size_t n) -> ssize_t {
    return ssl != nullptr ? SSL_read(ssl, buf, static_cast<int>(n)) : read(fd, buf, n);
  };
  auto send_all = [&](std::string_view data) {
    size_t off = 0;
    while (off < data.size()) {
      if (stop_) return false;
      ssize_t n = ssl != nullptr
                      ? SSL_write(ssl, data.data() + off, static_cast<int>(data.size() - off))
                      : send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return false;
      off += static_cast<size_t>(n);
    }
    return true;
  };
  HttpRequest req;
  req.tls = ssl != nullptr;
  std::string head, error;
  bool done = false;
  char buf[4096];
  while (!done && error.empty()) {
    ssize_t n = recv_some(buf, sizeof buf);
    if (n <= 0) break;
    head.append(buf, static_cast<size_t>(n));
    error = ParseHttpRequestHead(head, &done, &req);
  }
  // Answered from here on, unless the loop cut it first (overdue, or made
  // way for another at the cap): then nothing is sent.
  int reading = kReading;
  if (!c->state.compare_exchange_strong(reading, kServing)) {
    ++rejected_;
    if (ssl != nullptr) SSL_free(ssl);
    return;
  }
  Response r;
  if (!done) {
    ++rejected_;
    if (error.empty()) {  // the client went away or timed out
      if (ssl != nullptr) SSL_free(ssl);
      return;
    }
    r.status = 400;
    r.body = error + "\n";
  } else if (req.method != "GET" && req.method != "HEAD") {
    r.status = 405;
    r.body = "GET or HEAD only\n";
  } else {
    ++requests_;
    r = handler_(req);
  }
  const bool streamed = static_cast<bool>(r.stream) && req.method == "GET";
  std::string out = fmt::format("HTTP/1.1 {} {}\r\nContent-Type: {}\r\n", r.status,
                                Reason(r.status), r.content_type);
  if (!streamed) out += fmt::format("Content-Length: {}\r\n", r.body.size());
  out += "Connection: close\r\nCache-Control: no-store\r\n";
  for (const auto& [name, value] : r.headers) out += fmt::format("{}: {}\r\n", name, value);
  out += "\r\n";
  if (req.method != "HEAD" && !streamed) out += r.body;
  if (send_all(out) && streamed) {
    struct Stream final : HttpStream {
      std::function<bool(std::string_view)> write;
      std::function<bool()> closed;
      bool Write(std::string_view b) override { return write(b); }
      bool Closed() override { return closed(); }
    } s;
    s.write = send_all;
    s.closed = [&] {
      if (stop_) return true;
      pollfd p{fd, POLLRDHUP, 0};
      return poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
    };
    r.stream(s);
  }
  if (ssl != nullptr) {
    SSL_shutdown(ssl);
    SSL_free(ssl);
  }
  // The answer is complete: the client sees its end now, not when the loop
  // next reaps the connection (up to a second later), and the connection
  // no longer counts against the cap.
  c->done = true;
  shutdown(fd, SHUT_WR);
}

}  // namespace agentwatch
