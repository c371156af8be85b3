#include "export/sinks.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include <curl/curl.h>
#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <spdlog/spdlog.h>

#include "common/text.h"
#include "net/transport.h"

namespace agentwatch {
namespace {

std::string Errno(const char* what) { return fmt::format("{}: {}", what, strerror(errno)); }

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
    if (c_.max_size != 0 && fstat(fd_, &st) == 0 &&
        static_cast<uint64_t>(st.st_size) >= c_.max_size) {
      // The batch is on disk: a rotation that fails is logged, not a
      // failed delivery (which would write the batch again).
      if (std::string e = Rotate(); !e.empty())
        spdlog::warn("msg=\"alert file rotation failed\" path={} error=\"{}\"", c_.path, e);
    }
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

  // TCP and TLS: one connection per batch, ended by a close the receiver
  // answers (its FIN after reading ours, or its TLS close_notify): syslog
  // has no acknowledgements, and bytes written into a connection the
  // receiver then drops are lost without an error. A receiver that closes
  // with our bytes unread resets the connection: the batch failed and is
  // sent again.
  std::string Send(const std::vector<std::string>& messages) override {
    if (fd_ < 0) {
      if (std::string e = Connect(); !e.empty()) {
        Close();
        return e;
      }
    }
    std::string e;
    if (c_.protocol == "udp") {
      for (const auto& m : messages) {
        if (send(fd_, m.data(), m.size(), MSG_NOSIGNAL) < 0) {
          e = Errno("send");
          break;
        }
      }
    } else {
      // RFC 6587 octet counting (RFC 5425 for TLS): "LEN SP MSG".
      std::string framed;
      for (const auto& m : messages) framed += fmt::format("{} ", m.size()) + m;
      e = Write(framed);
      if (e.empty()) e = Finish();
      Close();
    }
    if (!e.empty()) {
      Close();
      return fmt::format("{} {}: {}", c_.protocol, c_.address, e);
    }
    return "";
  }

 private:
  // Ends the connection and waits (up to the socket timeout) for the
  // receiver to end it too, having read everything before our end.
  std::string Finish() {
    char buf[512];
    if (ssl_ != nullptr) {
      int r = SSL_shutdown(ssl_);  // our close_notify
      while (r == 0) {
        ERR_clear_error();
        errno = 0;
        const int n = SSL_read(ssl_, buf, sizeof buf);
        if (n > 0) continue;  // a receiver that talks: ignored
        const int err = SSL_get_error(ssl_, n);
        if (err == SSL_ERROR_ZERO_RETURN) return "";  // its close_notify
        if (err == SSL_ERROR_SYSCALL && ERR_peek_error() == 0 && errno == 0)
          return "";  // a plain FIN after reading ours
        return OpenSslError("the receiver did not close cleanly");
      }
      return r == 1 ? "" : OpenSslError("SSL_shutdown");
    }
    if (shutdown(fd_, SHUT_WR) != 0) return Errno("shutdown");
    while (true) {
      const ssize_t n = read(fd_, buf, sizeof buf);
      if (n == 0) return "";
      if (n > 0) continue;
      if (errno == EINTR) continue;
      return Errno("the receiver did not close cleanly");
    }
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
      if (ctx_ == nullptr) return OpenSslError("SSL_CTX_new");
      SSL_CTX_set_min_proto_version(ctx_, TLS1_2_VERSION);
      SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
      const bool ca = c_.ca_file.empty() ? SSL_CTX_set_default_verify_paths(ctx_) == 1
                                         : SSL_CTX_load_verify_locations(ctx_, c_.ca_file.c_str(),
                                                                         nullptr) == 1;
      if (!ca) return OpenSslError("CA");
      if (!c_.cert_file.empty() &&
          (SSL_CTX_use_certificate_chain_file(ctx_, c_.cert_file.c_str()) != 1 ||
           SSL_CTX_use_PrivateKey_file(ctx_, c_.key_file.c_str(), SSL_FILETYPE_PEM) != 1))
        return OpenSslError("client certificate");
    }
    ssl_ = SSL_new(ctx_);
    if (ssl_ == nullptr) return OpenSslError("SSL_new");
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
    if (SSL_connect(ssl_) != 1) return OpenSslError(fmt::format("TLS to {}", c_.address));
    return "";
  }

  std::string Write(const std::string& data) {
    size_t off = 0;
    while (off < data.size()) {
      if (ssl_ != nullptr) {
        const int n = SSL_write(ssl_, data.data() + off, static_cast<int>(data.size() - off));
        if (n <= 0) return OpenSslError("SSL_write");
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

std::string Gzip(const std::string& in) {
  z_stream z{};
  if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    return "";
  std::string out(deflateBound(&z, in.size()) + 32, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

// One POST with the sink's TLS settings; "" when the answer is 2xx.
std::string Post(const SinkConfig& c, CurlHandle* curl, const std::string& url,
                 const std::string& payload, curl_slist* headers, std::string* response) {
  if (!*curl) *curl = NewCurlHandle();
  if (!*curl) return "curl_easy_init failed";
  CURL* h = curl->get();
  curl_easy_reset(h);
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_POST, 1L);
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, payload.data());
  curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(payload.size()));
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(c.timeout_ms));
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, CollectBody<(1u << 20)>);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, response);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  if (!c.ca_file.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, c.ca_file.c_str());
  if (!c.cert_file.empty()) {
    curl_easy_setopt(h, CURLOPT_SSLCERT, c.cert_file.c_str());
    curl_easy_setopt(h, CURLOPT_SSLKEY, c.key_file.c_str());
  }
  const CURLcode rc = curl_easy_perform(h);
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  if (rc != CURLE_OK) return fmt::format("{}: {}", c.url, curl_easy_strerror(rc));
  if (status < 200 || status >= 300)
    return fmt::format("{}: HTTP {} {}", c.url, status, response->substr(0, 300));
  return "";
}

class HttpSink : public Sink {
 public:
  explicit HttpSink(const SinkConfig& c) : c_(c) {}

  std::string Send(const std::vector<std::string>& messages) override {
    const std::string body = HttpBody(c_, messages);
    const std::string payload = c_.gzip ? Gzip(body) : body;
    curl_slist* h = nullptr;
    h = curl_slist_append(h, c_.flavor == "elasticsearch" ? "Content-Type: application/x-ndjson"
                                                          : "Content-Type: application/json");
    if (c_.gzip) h = curl_slist_append(h, "Content-Encoding: gzip");
    if (c_.flavor == "hec" && !c_.token.empty())
      h = curl_slist_append(h, ("Authorization: Splunk " + c_.token).c_str());
    if (!c_.hmac_secret.empty()) {
      // Over the bytes as sent (compressed when gzip is on).
      h = curl_slist_append(
          h, ("X-Agentwatch-Signature: sha256=" + HmacSha256Hex(c_.hmac_secret, payload)).c_str());
    }
    for (const auto& x : c_.headers) h = curl_slist_append(h, x.c_str());
    std::string response;
    std::string err = Post(c_, &curl_, c_.url, payload, h, &response);
    curl_slist_free_all(h);
    if (err.empty() && c_.flavor == "elasticsearch" &&
        response.find("\"errors\":true") != std::string::npos)
      err = BulkErrors(response);
    return err;
  }

 private:
  // _bulk answers 200 with per-item statuses: 201 created, 409 already
  // there (a repeat, delivered before); anything else fails the batch.
  static std::string BulkErrors(const std::string& r) {
    size_t at = 0;
    while ((at = r.find("\"status\":", at)) != std::string::npos) {
      at += 9;
      const int st = std::atoi(r.c_str() + at);
      if (st != 201 && st != 200 && st != 409) return fmt::format("_bulk item status {}", st);
    }
    return "";
  }

  const SinkConfig c_;
  CurlHandle curl_;  // kept: connections are reused
};

std::string ClickHouseEffectRow(const Store::EffectRow& e, const FormatContext& ctx) {
  return fmt::format(
      "{{\"host\":{},\"id\":{},\"chain_id\":{},\"call_id\":{},\"time\":{},\"time_ns\":{},"
      "\"pid\":{},\"comm\":{},\"type\":{},\"summary\":{}}}",
      JsonString(ctx.hostname), e.id, e.chain_id, e.call_id, ClickHouseTime(e.time_ns), e.time_ns,
      e.pid, JsonString(e.comm),
      JsonString(v1::EventType_Name(static_cast<v1::EventType>(e.type))), JsonString(e.summary));
}

// ClickHouse over its HTTP interface: alerts from the outbox, and chains,
// calls and effects tailed from the store, inserted as JSONEachRow into
// the tables of deploy/clickhouse/schema.sql (ReplacingMergeTree: a row
// sent twice is merged away).
class ClickHouseSink : public Sink {
 public:
  explicit ClickHouseSink(const SinkConfig& c) : c_(c) {}

  std::string Send(const std::vector<std::string>& rows) override { return Insert("alerts", rows); }

  std::string Tail(Store* store, const std::string& name, const FormatContext& ctx,
                   uint64_t* rows_sent) override {
    std::string err;
    // Calls, by the order they were written.
    const std::string kc = name + "/calls", ke = name + "/effects", kh = name + "/chains";
    auto calls = store->CallsAfter(store->Cursor(kc, &err), 2000, &err);
    if (!err.empty()) return err;
    if (!calls.empty()) {
      std::vector<std::string> rows;
      for (const auto& r : calls) rows.push_back(ClickHouseCallRow(r.call, r.chain_id, r.ord, ctx));
      if (err = Insert("calls", rows); !err.empty()) return err;
      if (err = store->SetCursor(kc, calls.back().ord); !err.empty()) return err;
      *rows_sent += rows.size();
    }
    auto effects = store->EffectsAfter(store->Cursor(ke, &err), 5000, &err);
    if (!err.empty()) return err;
    if (!effects.empty()) {
      std::vector<std::string> rows;
      for (const auto& e : effects) rows.push_back(ClickHouseEffectRow(e, ctx));
      if (err = Insert("effects", rows); !err.empty()) return err;
      if (err = store->SetCursor(ke, effects.back().id); !err.empty()) return err;
      *rows_sent += rows.size();
    }
    // Chains change while open: those that ended since the last pass
    // (with a minute of overlap) are sent again; the newest version stays.
    const int64_t since = store->Cursor(kh, &err);
    auto chains = store->ChainsEndingSince(since > 60000000000 ? since - 60000000000 : 0, 2000, &err);
    if (!err.empty()) return err;
    if (!chains.empty()) {
      std::vector<std::string> rows;
      for (const auto& c : chains) rows.push_back(ClickHouseChainRow(c, ctx));
      if (err = Insert("chains", rows); !err.empty()) return err;
      if (err = store->SetCursor(kh, chains.back().end_unix_ns()); !err.empty()) return err;
      *rows_sent += rows.size();
    }
    return "";
  }

 private:
  std::string Insert(const std::string& table, const std::vector<std::string>& rows) {
    if (rows.empty()) return "";
    std::string body;
    for (const auto& r : rows) body += r + "\n";
    std::string url = c_.url;
    while (!url.empty() && url.back() == '/') url.pop_back();
    url += "/?query=" + UrlEncode(fmt::format("INSERT INTO {}.{} FORMAT JSONEachRow", c_.database,
                                              table));
    curl_slist* h = nullptr;
    if (!c_.user.empty()) h = curl_slist_append(h, ("X-ClickHouse-User: " + c_.user).c_str());
    if (!c_.password.empty())
      h = curl_slist_append(h, ("X-ClickHouse-Key: " + c_.password).c_str());
    std::string response;
    std::string err = Post(c_, &curl_, url, body, h, &response);
    curl_slist_free_all(h);
    return err.empty() ? "" : table + ": " + err;
  }

  static std::string UrlEncode(const std::string& s) {
    std::string out;
    for (unsigned char ch : s) {
      if (std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.') {
        out.push_back(static_cast<char>(ch));
      } else {
        out += fmt::format("%{:02X}", ch);
      }
    }
    return out;
  }

  const SinkConfig c_;
  CurlHandle curl_;  // kept: connections are reused
};

}  // namespace

namespace {

// The host of an http(s):// URL ("" if there is none).
std::string UrlHost(const std::string& url) {
  const size_t scheme = url.find("://");
  if (scheme == std::string::npos) return "";
  std::string auth = url.substr(scheme + 3);
  auth = auth.substr(0, auth.find_first_of("/?#"));
  if (const size_t at = auth.rfind('@'); at != std::string::npos) auth = auth.substr(at + 1);
  if (!auth.empty() && auth[0] == '[') return auth.substr(1, auth.find(']') - 1);
  return auth.substr(0, auth.find(':'));
}

// A header that carries a credential (Authorization, an API key, a token).
bool SecretHeader(const std::string& header) {
  std::string name = header.substr(0, header.find(':'));
  for (char& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  for (const char* word : {"authorization", "key", "token", "secret", "cookie", "password"})
    if (name.find(word) != std::string::npos) return true;
  return false;
}

// What the sink would send in clear text to another host: "" or a noun
// ("its token", "its password"...).
std::string ClearTextCredential(const SinkConfig& c) {
  if (c.url.rfind("http://", 0) != 0 || IsLoopbackHost(UrlHost(c.url))) return "";
  if (!c.token.empty()) return "its token";
  if (!c.password.empty()) return "its password";
  if (!c.hmac_secret.empty()) return "requests signed with its hmac_secret";
  for (const auto& h : c.headers)
    if (SecretHeader(h)) return "its header '" + h.substr(0, h.find(':')) + "'";
  return "";
}

}  // namespace

std::vector<std::string> SinkWarnings(const SinkConfig& c) {
  std::vector<std::string> out;
  if (c.allow_insecure) return out;
  std::string host, port;
  if (c.type == "syslog" && c.protocol != "tls" && SplitHostPort(c.address, &host, &port) &&
      !IsLoopbackHost(host)) {
    out.push_back(fmt::format(
        "sinks: {}: alerts go to {} over {} in clear text{} (protocol: tls, or "
        "allow_insecure: true to say it is meant)",
        c.name, c.address, c.protocol,
        c.protocol == "udp" ? ", and a datagram lost on the way is lost for good" : ""));
  }
  if ((c.type == "http" || c.type == "clickhouse") && c.url.rfind("http://", 0) == 0 &&
      !IsLoopbackHost(UrlHost(c.url))) {
    out.push_back(fmt::format("sinks: {}: alerts go to {} in clear text (https://, or "
                              "allow_insecure: true to say it is meant)",
                              c.name, UrlHost(c.url)));
  }
  return out;
}

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
  } else if (c.type == "http") {
    if (c.url.rfind("http://", 0) != 0 && c.url.rfind("https://", 0) != 0)
      return at + ": url must be http:// or https://";
    if (c.flavor != "hec" && c.flavor != "elasticsearch" && c.flavor != "webhook")
      return at + ": flavor '" + c.flavor + "' is not hec, elasticsearch or webhook";
    if (c.flavor == "hec" && c.token.empty()) return at + ": hec needs a token";
    if (c.flavor == "elasticsearch" && c.index.empty()) return at + ": elasticsearch needs an index";
    if (c.cert_file.empty() != c.key_file.empty()) return at + ": cert and key go together";
    for (const auto& x : c.headers)
      if (x.find(':') == std::string::npos || x.find_first_of("\r\n") != std::string::npos)
        return at + ": header '" + x + "' is not 'Name: value'";
    if (std::string what = ClearTextCredential(c); !what.empty() && !c.allow_insecure)
      return at + ": would send " + what + " over plain http:// to " + UrlHost(c.url) +
             " (use https://, or set allow_insecure: true on this sink)";
  } else if (c.type == "clickhouse") {
    if (c.url.rfind("http://", 0) != 0 && c.url.rfind("https://", 0) != 0)
      return at + ": url must be http:// or https:// (ClickHouse's HTTP interface)";
    if (c.database.empty() || c.database.find_first_not_of(
                                  "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") !=
                                  std::string::npos)
      return at + ": database must be a plain name";
    if (std::string what = ClearTextCredential(c); !what.empty() && !c.allow_insecure)
      return at + ": would send " + what + " over plain http:// to " + UrlHost(c.url) +
             " (use https://, or set allow_insecure: true on this sink)";
  } else {
    return at + ": type '" + c.type + "' is not file, syslog, http or clickhouse";
  }
  return "";
}

std::unique_ptr<Sink> MakeSink(const SinkConfig& c, std::string* err) {
  if (std::string e = ValidateSink(c); !e.empty()) {
    *err = e;
    return nullptr;
  }
  if (c.type == "file") return std::make_unique<FileSink>(c);
  if (c.type == "http") return std::make_unique<HttpSink>(c);
  if (c.type == "clickhouse") return std::make_unique<ClickHouseSink>(c);
  return std::make_unique<SyslogSink>(c);
}

std::string FormatFor(const SinkConfig& c, const v1::Alert& a, const FormatContext& ctx) {
  const std::string json = c.format == "native" ? NativeJson(a, ctx) : OcsfJson(a, ctx);
  if (c.type == "syslog") return Rfc5424(a, ctx, c.facility, json);
  if (c.type == "clickhouse") return ClickHouseAlertRow(a, ctx);
  if (c.type != "http") return json;
  const int64_t t = a.last_unix_ns() != 0 ? a.last_unix_ns() : a.time_unix_ns();
  if (c.flavor == "hec") {
    std::string e = fmt::format("{{\"time\":{}.{:03},\"host\":{},\"source\":\"agentwatch\","
                                "\"sourcetype\":{}",
                                t / 1000000000, (t / 1000000) % 1000, JsonString(ctx.hostname),
                                JsonString(c.sourcetype));
    if (!c.index.empty()) e += ",\"index\":" + JsonString(c.index);
    return e + ",\"event\":" + json + "}";
  }
  if (c.flavor == "elasticsearch") {
    // create by key: the same version twice is a conflict, not a copy.
    return "{\"create\":{\"_index\":" + JsonString(c.index) + ",\"_id\":" +
           JsonString(AlertKey(a, ctx)) + "}}\n" + json;
  }
  return json;
}

std::string HttpBody(const SinkConfig& c, const std::vector<std::string>& messages) {
  std::string body;
  if (c.flavor == "webhook") {
    body = "[";
    for (size_t i = 0; i < messages.size(); ++i) body += (i ? "," : "") + messages[i];
    return body + "]";
  }
  for (const auto& m : messages) body += m + "\n";  // HEC and _bulk: one per line
  return body;
}

std::string HmacSha256Hex(const std::string& secret, const std::string& body) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(body.data()), body.size(), mac, &n);
  std::string hex;
  for (unsigned int i = 0; i < n; ++i) hex += fmt::format("{:02x}", mac[i]);
  return hex;
}

}  // namespace agentwatch
