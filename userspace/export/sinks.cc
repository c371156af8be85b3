#include "export/sinks.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "common/text.h"

namespace agentwatch {
namespace {

std::string Errno(const char* what) { return fmt::format("{}: {}", what, strerror(errno)); }

std::string SslError(const char* what) {
  const unsigned long e = ERR_get_error();
  char buf[256] = "unknown error";
  if (e != 0) ERR_error_string_n(e, buf, sizeof buf);
  return fmt::format("{}: {}", what, buf);
}

// host:port, [v6]:port.
bool SplitHostPort(const std::string& a, std::string* host, std::string* port) {
  size_t colon = a.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == a.size()) return false;
  *host = a.substr(0, colon);
  *port = a.substr(colon + 1);
  if (host->size() > 2 && host->front() == '[' && host->back() == ']')
    *host = host->substr(1, host->size() - 2);
  return true;
}

class FileSink : public Sink {
 public:
  explicit FileSink(const SinkConfig& c) : c_(c) {}
  ~FileSink() override {
    if (fd_ >= 0) close(fd_);
  }
  FileSink(const FileSink&) = delete;
  FileSink& operator=(const FileSink&) = delete;

  std::string Send(const std::vector<std::string>& messages) override {
    if (fd_ < 0) {
      fd_ = open(c_.path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
      if (fd_ < 0) return Errno(c_.path.c_str());
      fchmod(fd_, 0600);
    }
    std::string buf;
    for (const auto& m : messages) {
      buf += m;
      buf += '\n';
    }
    size_t off = 0;
    while (off < buf.size()) {
      const ssize_t n = write(fd_, buf.data() + off, buf.size() - off);
      if (n < 0) {
        if (errno == EINTR) continue;
        std::string e = Errno(c_.path.c_str());
        close(fd_);
        fd_ = -1;
        return e;
      }
      off += static_cast<size_t>(n);
    }
    // Delivered means on disk: the cursor moves past it next.
    if (fdatasync(fd_) != 0) return Errno("fdatasync");
    struct stat st {};
    if (c_.max_size != 0 && fstat(fd_, &st) == 0 && static_cast<uint64_t>(st.st_size) >= c_.max_size)
      return Rotate();
    return "";
  }

 private:
  std::string Name(uint32_t i) const {
    return fmt::format("{}.{}{}", c_.path, i, c_.compress ? ".gz" : "");
  }

  // path -> path.1[.gz] -> ... -> path.<backups>[.gz] (the oldest removed).
  std::string Rotate() {
    close(fd_);
    fd_ = -1;
    if (c_.backups == 0) return unlink(c_.path.c_str()) == 0 ? "" : Errno("unlink");
    unlink(Name(c_.backups).c_str());
    for (uint32_t i = c_.backups; i > 1; --i) rename(Name(i - 1).c_str(), Name(i).c_str());
    if (!c_.compress) return rename(c_.path.c_str(), Name(1).c_str()) == 0 ? "" : Errno("rename");
    const std::string tmp = c_.path + ".rotating";
    if (rename(c_.path.c_str(), tmp.c_str()) != 0) return Errno("rename");
    std::string err;
    const int in = open(tmp.c_str(), O_RDONLY | O_CLOEXEC);
    const int out = open(Name(1).c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    gzFile gz = out >= 0 ? gzdopen(out, "wb") : nullptr;
    if (in < 0 || gz == nullptr) {
      err = Errno("rotate");
    } else {
      char buf[65536];
      ssize_t n;
      while ((n = read(in, buf, sizeof buf)) > 0) {
        if (gzwrite(gz, buf, static_cast<unsigned>(n)) != n) {
          err = "gzwrite failed";
          break;
        }
      }
    }
    if (gz != nullptr) {
      gzclose(gz);
    } else if (out >= 0) {
      close(out);
    }
    if (in >= 0) close(in);
    if (err.empty()) unlink(tmp.c_str());
    return err;  // the data is in tmp if compression failed; the file goes on
  }

  const SinkConfig c_;
  int fd_ = -1;
};

class SyslogSink : public Sink {
 public:
  explicit SyslogSink(const SinkConfig& c) : c_(c) {
    SplitHostPort(c.address, &host_, &port_);
  }
  ~SyslogSink() override {
    Close();
    SSL_CTX_free(ctx_);
  }
  SyslogSink(const SyslogSink&) = delete;
  SyslogSink& operator=(const SyslogSink&) = delete;

  std::string Send(const std::vector<std::string>& messages) override {
    if (fd_ >= 0 && c_.protocol != "udp" && PeerGone()) Close();
    if (fd_ < 0) {
      if (std::string e = Connect(); !e.empty()) {
        Close();
        return e;
      }
    }
    for (const auto& m : messages) {
      std::string e;
      if (c_.protocol == "udp") {
        if (send(fd_, m.data(), m.size(), MSG_NOSIGNAL) < 0) e = Errno("send");
      } else {
        // RFC 6587 octet counting (RFC 5425 for TLS): "LEN SP MSG".
        e = Write(fmt::format("{} ", m.size()) + m);
      }
      if (!e.empty()) {
        Close();
        return fmt::format("{} {}: {}", c_.protocol, c_.address, e);
      }
    }
    return "";
  }

 private:
  // A syslog receiver never writes: readable means it closed or reset.
  bool PeerGone() {
    pollfd p{fd_, POLLIN | POLLRDHUP, 0};
    return poll(&p, 1, 0) > 0 && (p.revents & (POLLIN | POLLRDHUP | POLLERR | POLLHUP));
  }

  std::string Connect() {
    addrinfo hints{};
    hints.ai_socktype = c_.protocol == "udp" ? SOCK_DGRAM : SOCK_STREAM;
    addrinfo* res = nullptr;
    if (int rc = getaddrinfo(host_.c_str(), port_.c_str(), &hints, &res); rc != 0)
      return fmt::format("{}: {}", c_.address, gai_strerror(rc));
    std::string err = "no address";
    for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
      fd_ = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
      if (fd_ < 0) continue;
      timeval tv{10, 0};
      setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
      setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      if (connect(fd_, ai->ai_addr, ai->ai_addrlen) == 0) {
        err.clear();
        break;
      }
      err = Errno(fmt::format("connect {}", c_.address).c_str());
      close(fd_);
      fd_ = -1;
    }
    freeaddrinfo(res);
    if (!err.empty()) return err;
    if (c_.protocol == "tls") return StartTls();
    return "";
  }

  std::string StartTls() {
    if (ctx_ == nullptr) {
      ctx_ = SSL_CTX_new(TLS_client_method());
      if (ctx_ == nullptr) return SslError("SSL_CTX_new");
      SSL_CTX_set_min_proto_version(ctx_, TLS1_2_VERSION);
      SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
      const bool ca = c_.ca_file.empty() ? SSL_CTX_set_default_verify_paths(ctx_) == 1
                                         : SSL_CTX_load_verify_locations(ctx_, c_.ca_file.c_str(),
                                                                         nullptr) == 1;
      if (!ca) return SslError("CA");
      if (!c_.cert_file.empty() &&
          (SSL_CTX_use_certificate_chain_file(ctx_, c_.cert_file.c_str()) != 1 ||
           SSL_CTX_use_PrivateKey_file(ctx_, c_.key_file.c_str(), SSL_FILETYPE_PEM) != 1))
        return SslError("client certificate");
    }
    ssl_ = SSL_new(ctx_);
    if (ssl_ == nullptr) return SslError("SSL_new");
    const std::string name = c_.server_name.empty() ? host_ : c_.server_name;
    in6_addr ip{};
    if (inet_pton(AF_INET, name.c_str(), &ip) == 1 || inet_pton(AF_INET6, name.c_str(), &ip) == 1) {
      // An address: checked against the certificate's IP names.
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), name.c_str());
    } else {
      SSL_set_tlsext_host_name(ssl_, name.c_str());
      SSL_set1_host(ssl_, name.c_str());
    }
    SSL_set_fd(ssl_, fd_);
    if (SSL_connect(ssl_) != 1) return SslError(fmt::format("TLS to {}", c_.address).c_str());
    return "";
  }

  std::string Write(const std::string& data) {
    size_t off = 0;
    while (off < data.size()) {
      if (ssl_ != nullptr) {
        const int n = SSL_write(ssl_, data.data() + off, static_cast<int>(data.size() - off));
        if (n <= 0) return SslError("SSL_write");
        off += static_cast<size_t>(n);
      } else {
        const ssize_t n = send(fd_, data.data() + off, data.size() - off, MSG_NOSIGNAL);
        if (n < 0) {
          if (errno == EINTR) continue;
          return Errno("send");
        }
        off += static_cast<size_t>(n);
      }
    }
    return "";
  }

  void Close() {
    if (ssl_ != nullptr) {
      SSL_free(ssl_);
      ssl_ = nullptr;
    }
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

  const SinkConfig c_;
  std::string host_, port_;
  int fd_ = -1;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
};

}  // namespace

std::string ValidateSink(const SinkConfig& c) {
  const std::string at = "sinks: " + (c.name.empty() ? std::string("(unnamed)") : c.name);
  if (c.name.empty() || c.name.find_first_of(" \t/") != std::string::npos)
    return at + ": name must be one word";
  if (SeverityRank(c.min_severity) < 0)
    return at + ": min_severity '" + c.min_severity + "' is not info, low, medium, high or critical";
  if (c.format != "ocsf" && c.format != "native")
    return at + ": format '" + c.format + "' is not ocsf or native";
  if (c.type == "file") {
    if (c.path.empty() || c.path[0] != '/') return at + ": path must be absolute";
    if (c.backups > 100) return at + ": backups at most 100";
  } else if (c.type == "syslog") {
    std::string host, port;
    if (!SplitHostPort(c.address, &host, &port)) return at + ": address must be host:port";
    if (c.protocol != "udp" && c.protocol != "tcp" && c.protocol != "tls")
      return at + ": protocol '" + c.protocol + "' is not udp, tcp or tls";
    if (c.facility < 0 || c.facility > 23) return at + ": facility is 0..23";
    if (c.cert_file.empty() != c.key_file.empty()) return at + ": cert and key go together";
  } else {
    return at + ": type '" + c.type + "' is not file or syslog";
  }
  return "";
}

std::unique_ptr<Sink> MakeSink(const SinkConfig& c, std::string* err) {
  if (std::string e = ValidateSink(c); !e.empty()) {
    *err = e;
    return nullptr;
  }
  if (c.type == "file") return std::make_unique<FileSink>(c);
  return std::make_unique<SyslogSink>(c);
}

std::string FormatFor(const SinkConfig& c, const v1::Alert& a, const FormatContext& ctx) {
  const std::string json = c.format == "native" ? NativeJson(a, ctx) : OcsfJson(a, ctx);
  if (c.type == "syslog") return Rfc5424(a, ctx, c.facility, json);
  return json;
}

}  // namespace agentwatch
