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
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 503: return "Service Unavailable";
    default: return "Error";
  }
}

}  // namespace

std::string ParseHttpRequestHead(const std::string& bytes, bool* done, std::string* method,
                                 std::string* path) {
  *done = false;
  Http1Parser parser(Http1Parser::Direction::kRequests,
                     Http1Parser::Limits{.max_head = kMaxHead, .max_headers = 64});
  std::string error;
  Http1Parser::Callbacks cb;
  cb.on_head = [&](const HttpHead& h) {
    if (*done) return;
    *done = true;
    *method = h.method;
    *path = h.target.substr(0, h.target.find('?'));
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

void HttpServer::Loop() {
  std::vector<pollfd> fds;
  for (const auto& l : listeners_) fds.push_back({l.fd, POLLIN, 0});
  fds.push_back({wake_[0], POLLIN, 0});
  while (!stop_) {
    if (poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      spdlog::error("msg=\"metrics server poll failed\" error=\"{}\"", strerror(errno));
      return;
    }
    for (size_t i = 0; i < listeners_.size(); ++i) {
      if ((fds[i].revents & POLLIN) == 0) continue;
      int c = accept4(listeners_[i].fd, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      timeval tv{2, 0};  // a slow or silent client holds the server this long at most
      setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
      Serve(listeners_[i], c);
      close(c);
    }
  }
}

void HttpServer::Serve(const Listener& l, int fd) {
  SSL* ssl = nullptr;
  if (l.ctx != nullptr) {
    ssl = SSL_new(l.ctx);
    SSL_set_fd(ssl, fd);
    if (SSL_accept(ssl) != 1) {
      ++rejected_;
      spdlog::debug("msg=\"metrics TLS handshake failed\" error=\"{}\"", OpenSslError("accept"));
      SSL_free(ssl);
      return;
    }
  }
  auto recv_some = [&](char* buf, size_t n) -> ssize_t {
    return ssl != nullptr ? SSL_read(ssl, buf, static_cast<int>(n)) : read(fd, buf, n);
  };
  auto send_all = [&](const std::string& data) {
    size_t off = 0;
    while (off < data.size()) {
      ssize_t n = ssl != nullptr
                      ? SSL_write(ssl, data.data() + off, static_cast<int>(data.size() - off))
                      : send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return;
      off += static_cast<size_t>(n);
    }
  };
  std::string head, method, path, error;
  bool done = false;
  char buf[4096];
  while (!done && error.empty()) {
    ssize_t n = recv_some(buf, sizeof buf);
    if (n <= 0) break;
    head.append(buf, static_cast<size_t>(n));
    error = ParseHttpRequestHead(head, &done, &method, &path);
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
  } else if (method != "GET" && method != "HEAD") {
    r.status = 405;
    r.body = "GET or HEAD only\n";
  } else {
    ++requests_;
    r = handler_(path);
  }
  std::string out = fmt::format(
      "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n"
      "Cache-Control: no-store\r\n\r\n",
      r.status, Reason(r.status), r.content_type, r.body.size());
  if (method != "HEAD") out += r.body;
  send_all(out);
  if (ssl != nullptr) {
    SSL_shutdown(ssl);
    SSL_free(ssl);
  }
}

}  // namespace agentwatch
