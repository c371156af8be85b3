#include "export/sinks.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "export/delivery.h"

namespace agentwatch {
namespace {

std::string TempDir() {
  char t[] = "/tmp/aw-export-XXXXXX";
  return mkdtemp(t);
}

std::vector<std::string> Lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> out;
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

// A TCP listener on 127.0.0.1 reading RFC 6587 octet-counted frames.
class Receiver {
 public:
  Receiver() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    socklen_t n = sizeof a;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &n);
    port_ = ntohs(a.sin_port);
    listen(fd_, 4);
  }
  ~Receiver() { close(fd_); }
  uint16_t port() const { return port_; }
  // Accepts one connection and reads n frames from it; the connection is
  // closed afterwards.
  std::vector<std::string> Read(size_t n) {
    int c = accept(fd_, nullptr, nullptr);
    std::vector<std::string> out;
    std::string buf;
    char tmp[4096];
    while (out.size() < n) {
      size_t sp = buf.find(' ');
      if (sp != std::string::npos) {
        const size_t len = std::stoul(buf.substr(0, sp));
        if (buf.size() >= sp + 1 + len) {
          out.push_back(buf.substr(sp + 1, len));
          buf.erase(0, sp + 1 + len);
          continue;
        }
      }
      ssize_t r = read(c, tmp, sizeof tmp);
      if (r <= 0) break;
      buf.append(tmp, static_cast<size_t>(r));
    }
    close(c);
    return out;
  }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

const FormatContext kCtx{"node-a", "0.1.0", 1};

v1::Alert MakeAlert(uint64_t id, const char* severity, const char* rule = "server-spawns-shell") {
  v1::Alert a;
  a.set_id(id);
  a.set_rule_id(rule);
  a.set_severity(severity);
  a.set_count(1);
  a.set_summary("s");
  return a;
}

TEST(SinksTest, ConfigErrorsNameTheSink) {
  SinkConfig c;
  c.name = "siem";
  c.type = "syslog";
  c.address = "nohostport";
  EXPECT_NE(ValidateSink(c).find("sinks: siem: address"), std::string::npos);
  c.address = "127.0.0.1:514";
  c.protocol = "relp";
  EXPECT_NE(ValidateSink(c).find("protocol 'relp'"), std::string::npos);
  c.protocol = "tls";
  c.cert_file = "/c.pem";
  EXPECT_NE(ValidateSink(c).find("cert and key"), std::string::npos);
  c.type = "kafka";
  EXPECT_NE(ValidateSink(c).find("type 'kafka'"), std::string::npos);
  c.type = "file";
  c.path = "relative.jsonl";
  EXPECT_NE(ValidateSink(c).find("absolute"), std::string::npos);
}

// A credential over plain http:// to another host is refused unless the
// sink says it is meant; loopback and https:// are fine.
TEST(SinksTest, CredentialsInClearTextOffThisHostAreRefused) {
  struct Case {
    const char* type;
    const char* flavor;
    void (*set)(SinkConfig*);
    const char* what;
  };
  const Case cases[] = {
      {"http", "hec", [](SinkConfig* c) { c->token = "t0k"; }, "its token"},
      {"http", "webhook", [](SinkConfig* c) { c->hmac_secret = "s"; }, "hmac_secret"},
      {"http", "webhook",
       [](SinkConfig* c) { c->headers = {"X-Api-Key: abc"}; }, "header 'X-Api-Key'"},
      {"http", "elasticsearch",
       [](SinkConfig* c) {
         c->index = "aw";
         c->headers = {"Authorization: ApiKey abc"};
       },
       "header 'Authorization'"},
      {"clickhouse", "webhook", [](SinkConfig* c) { c->password = "pw"; }, "its password"},
  };
  for (const Case& k : cases) {
    SinkConfig c;
    c.name = "siem";
    c.type = k.type;
    c.flavor = k.flavor;
    k.set(&c);
    c.url = "http://siem.example.com:8088/services/collector";
    const std::string e = ValidateSink(c);
    EXPECT_EQ(e.rfind("sinks: siem: would send ", 0), 0u) << e;
    EXPECT_NE(e.find(k.what), std::string::npos) << e;
    EXPECT_NE(e.find("allow_insecure: true"), std::string::npos) << e;
    c.url = "http://user@[2001:db8::1]:8123/";
    EXPECT_NE(ValidateSink(c), "") << k.what;
    for (const char* fine : {"https://siem.example.com:8088/", "http://127.0.0.1:8088/",
                             "http://[::1]:8123/", "http://localhost:8123/"}) {
      c.url = fine;
      EXPECT_EQ(ValidateSink(c), "") << fine << " " << k.what;
    }
    c.url = "http://siem.example.com:8088/";
    c.allow_insecure = true;
    EXPECT_EQ(ValidateSink(c), "") << k.what;
    EXPECT_TRUE(SinkWarnings(c).empty());
  }
  // Without a credential plain http:// off the host is allowed, with a warning.
  SinkConfig w;
  w.name = "hook";
  w.type = "http";
  w.url = "http://siem.example.com/alerts";
  EXPECT_EQ(ValidateSink(w), "");
  ASSERT_EQ(SinkWarnings(w).size(), 1u);
  EXPECT_NE(SinkWarnings(w)[0].find("clear text"), std::string::npos);
}

TEST(SinksTest, SyslogInClearTextOffThisHostIsWarned) {
  SinkConfig c;
  c.name = "syslog";
  c.type = "syslog";
  c.protocol = "udp";
  c.address = "10.1.2.3:514";
  EXPECT_EQ(ValidateSink(c), "");
  ASSERT_EQ(SinkWarnings(c).size(), 1u);
  EXPECT_NE(SinkWarnings(c)[0].find("sinks: syslog: alerts go to 10.1.2.3:514 over udp in clear "
                                    "text, and a datagram lost"),
            std::string::npos)
      << SinkWarnings(c)[0];
  c.protocol = "tcp";
  EXPECT_EQ(SinkWarnings(c).size(), 1u);
  c.protocol = "tls";
  EXPECT_TRUE(SinkWarnings(c).empty());
  c.protocol = "udp";
  c.address = "127.0.0.1:514";
  EXPECT_TRUE(SinkWarnings(c).empty());
  c.address = "10.1.2.3:514";
  c.allow_insecure = true;
  EXPECT_TRUE(SinkWarnings(c).empty());
}

TEST(SinksTest, HttpBodies) {
  EXPECT_EQ(HmacSha256Hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");  // RFC 4231
  SinkConfig c;
  c.name = "h";
  c.type = "http";
  c.url = "https://splunk:8088/services/collector/event";
  c.flavor = "hec";
  c.token = "t";
  c.index = "sec";
  v1::Alert a = MakeAlert(7, "high");
  a.set_last_unix_ns(1795536958335984310);
  const std::string hec = FormatFor(c, a, kCtx);
  EXPECT_EQ(hec.rfind("{\"time\":1795536958.335,\"host\":\"node-a\",\"source\":\"agentwatch\","
                      "\"sourcetype\":\"agentwatch:alert\",\"index\":\"sec\",\"event\":{\"class_uid\":2004",
                      0),
            0u)
      << hec;
  EXPECT_EQ(HttpBody(c, {"{}", "{}"}), "{}\n{}\n");
  c.flavor = "elasticsearch";
  const std::string es = FormatFor(c, a, kCtx);
  EXPECT_EQ(es.rfind("{\"create\":{\"_index\":\"sec\",\"_id\":\"node-a/7/1\"}}\n{", 0), 0u) << es;
  c.flavor = "webhook";
  EXPECT_EQ(HttpBody(c, {"{\"a\":1}", "{\"b\":2}"}), "[{\"a\":1},{\"b\":2}]");
  c.headers = {"X-Bad"};
  EXPECT_NE(ValidateSink(c).find("not 'Name: value'"), std::string::npos);
  c.headers.clear();
  c.flavor = "hec";
  c.token.clear();
  EXPECT_NE(ValidateSink(c).find("needs a token"), std::string::npos);
}

TEST(SinksTest, FileSinkWritesJsonLinesAndRotates) {
  const std::string dir = TempDir();
  SinkConfig c;
  c.name = "file";
  c.type = "file";
  c.path = dir + "/alerts.jsonl";
  c.max_size = 1500;
  c.backups = 2;
  std::string err;
  auto sink = MakeSink(c, &err);
  ASSERT_TRUE(sink) << err;
  ASSERT_EQ(sink->Send({FormatFor(c, MakeAlert(1, "high"), kCtx)}), "");
  struct stat st {};
  ASSERT_EQ(stat(c.path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto lines = Lines(c.path);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].rfind("{\"class_uid\":2004", 0), 0u);
  // Past 1500 bytes: rotated and compressed; more rotations keep 2 backups.
  for (int i = 0; i < 6; ++i) ASSERT_EQ(sink->Send({FormatFor(c, MakeAlert(2 + i, "low"), kCtx)}), "");
  EXPECT_TRUE(std::filesystem::exists(c.path + ".1.gz"));
  EXPECT_TRUE(std::filesystem::exists(c.path + ".2.gz"));
  EXPECT_FALSE(std::filesystem::exists(c.path + ".3.gz"));
  gzFile gz = gzopen((c.path + ".1.gz").c_str(), "rb");
  ASSERT_NE(gz, nullptr);
  char buf[64] = {};
  EXPECT_GT(gzread(gz, buf, sizeof buf - 1), 0);
  gzclose(gz);
  EXPECT_EQ(std::string(buf).rfind("{\"class_uid\":2004", 0), 0u);
  std::filesystem::remove_all(dir);
}

TEST(SinksTest, SyslogOverTcpIsAConnectionPerBatch) {
  Receiver r;
  SinkConfig c;
  c.name = "siem";
  c.type = "syslog";
  c.address = "127.0.0.1:" + std::to_string(r.port());
  std::string err;
  auto sink = MakeSink(c, &err);
  ASSERT_TRUE(sink) << err;
  std::vector<std::string> got;
  std::thread t([&] { got = r.Read(2); });
  ASSERT_EQ(sink->Send({FormatFor(c, MakeAlert(1, "high"), kCtx),
                        FormatFor(c, MakeAlert(2, "critical"), kCtx)}),
            "");
  t.join();  // the receiver closed that connection
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].rfind("<131>1 ", 0), 0u) << got[0];
  EXPECT_NE(got[1].find("[agentwatch@32473 id=\"2\""), std::string::npos);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  // The next batch is a connection of its own (each batch is confirmed by
  // the receiver's close).
  t = std::thread([&] { got = r.Read(1); });
  ASSERT_EQ(sink->Send({FormatFor(c, MakeAlert(3, "low"), kCtx)}), "");
  t.join();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_NE(got[0].find("id=\"3\""), std::string::npos);
}

TEST(SinksTest, SyslogOverUdpIsADatagramPerMessage) {
  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  socklen_t n = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &n);
  SinkConfig c;
  c.name = "udp";
  c.type = "syslog";
  c.protocol = "udp";
  c.facility = 4;
  c.address = "127.0.0.1:" + std::to_string(ntohs(a.sin_port));
  std::string err;
  auto sink = MakeSink(c, &err);
  ASSERT_TRUE(sink) << err;
  ASSERT_EQ(sink->Send({FormatFor(c, MakeAlert(1, "critical"), kCtx),
                        FormatFor(c, MakeAlert(2, "info"), kCtx)}),
            "");
  char buf[65536];
  ssize_t r = recv(fd, buf, sizeof buf, 0);
  ASSERT_GT(r, 0);
  EXPECT_EQ(std::string(buf, static_cast<size_t>(r)).rfind("<34>1 ", 0), 0u);  // auth.crit
  r = recv(fd, buf, sizeof buf, 0);
  ASSERT_GT(r, 0);
  EXPECT_EQ(std::string(buf, static_cast<size_t>(r)).rfind("<38>1 ", 0), 0u);  // auth.info
  close(fd);
}

TEST(SinksTest, DeliveryFiltersRetriesAndResumesFromItsCursor) {
  const std::string dir = TempDir();
  Store::Options so;
  so.path = dir + "/aw.db";
  std::string err;
  auto store = Store::Open(so, &err);
  ASSERT_TRUE(store) << err;
  for (uint64_t id = 1; id <= 5; ++id)
    store->PutAlert(MakeAlert(id, id == 3 ? "low" : "high", id == 4 ? "tool-shadowing" : "server-spawns-shell"));
  ASSERT_EQ(store->Flush(), "");

  SinkConfig file;
  file.name = "file";
  file.type = "file";
  file.path = dir + "/alerts.jsonl";
  file.min_severity = "medium";
  file.rules = {"server-*"};
  file.format = "native";
  // A syslog receiver that is not there yet.
  Receiver r;
  const uint16_t port = r.port();
  SinkConfig down;
  down.name = "siem";
  down.type = "syslog";
  down.address = "127.0.0.1:1";  // nothing listens
  Delivery::Options o;
  o.poll_ms = 20;
  o.backoff_min_ms = 20;
  o.backoff_max_ms = 40;
  {
    Delivery d(store.get(), {file, down}, kCtx, o);
    ASSERT_EQ(d.Start(), "");
    for (int i = 0; i < 200 && Lines(file.path).size() < 3; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    for (int i = 0; i < 200; ++i) {
      if (d.Stats()[1].failed >= 2) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    auto stats = d.Stats();
    EXPECT_EQ(stats[0].sent, 3u) << "high server-* alerts only";
    EXPECT_EQ(stats[0].skipped, 2u);
    EXPECT_GE(stats[1].failed, 2u) << "the down sink keeps failing";
    EXPECT_EQ(stats[1].sent, 0u);
    EXPECT_EQ(stats[1].queued, 5u);
    EXPECT_NE(stats[1].last_error.find("connect"), std::string::npos) << stats[1].last_error;
  }
  auto lines = Lines(file.path);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_NE(lines[0].find("\"delivery_key\":\"node-a/1/1\""), std::string::npos) << lines[0];
  EXPECT_EQ(store->Cursor("siem", &err), 0) << "nothing taken, nothing passed";

  // The receiver comes up at another address: the same sink name resumes
  // from its cursor and delivers all five; the file sink sends nothing twice.
  down.address = "127.0.0.1:" + std::to_string(port);
  std::vector<std::string> got;
  std::thread t([&] { got = r.Read(5); });
  {
    Delivery d(store.get(), {file, down}, kCtx, o);
    ASSERT_EQ(d.Start(), "");
    t.join();
    for (int i = 0; i < 200 && d.Stats()[1].sent < 5; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    EXPECT_EQ(d.Stats()[1].sent, 5u);
    EXPECT_EQ(d.Stats()[0].sent, 0u);
  }
  EXPECT_EQ(got.size(), 5u);
  EXPECT_EQ(Lines(file.path).size(), 3u);
  EXPECT_EQ(store->Cursor("siem", &err), store->OutboxEnd());
  std::filesystem::remove_all(dir);
}

// A store that cannot open at start: its held alerts reach the sink from
// memory; once it opens, delivery reads its cursor there and goes on
// (repeats allowed, nothing lost).
TEST(SinksTest, DeliveryWorksFromMemoryUntilTheStoreOpens) {
  const std::string dir = TempDir();
  std::ofstream(dir + "/state") << "a file where the state directory should be";
  Store::Options so;
  so.path = dir + "/state/aw.db";
  so.retry_interval_ms = 50;
  std::string err;
  auto store = Store::OpenOrDefer(so, &err);
  ASSERT_TRUE(store);
  ASSERT_FALSE(store->available());
  store->Start(nullptr);
  SinkConfig file;
  file.name = "file";
  file.type = "file";
  file.path = dir + "/alerts.jsonl";
  file.format = "native";
  Delivery::Options o;
  o.poll_ms = 20;
  Delivery d(store.get(), {file}, kCtx, o);
  ASSERT_EQ(d.Start(), "");
  const uint64_t base = store->max_alert_id();
  for (uint64_t i = 1; i <= 3; ++i) store->PutAlert(MakeAlert(base + i, "high", "server-spawns-shell"));
  auto has = [&](uint64_t id) {
    for (const auto& l : Lines(file.path)) {
      if (l.find("\"id\":\"" + std::to_string(id) + "\"") != std::string::npos ||
          l.find("\"id\":" + std::to_string(id) + ",") != std::string::npos)
        return true;
    }
    return false;
  };
  for (int i = 0; i < 300 && !(has(base + 1) && has(base + 3)); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_TRUE(has(base + 1) && has(base + 2) && has(base + 3)) << "delivered from memory";
  EXPECT_FALSE(store->available());

  std::filesystem::remove(dir + "/state");
  for (int i = 0; i < 300 && !store->available(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_TRUE(store->available());
  store->PutAlert(MakeAlert(base + 4, "high", "server-spawns-shell"));
  for (int i = 0; i < 300 && !has(base + 4); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_TRUE(has(base + 4)) << "after the store opened";
  for (int i = 0; i < 300 && store->Cursor("file", &err) < store->OutboxEnd(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(store->Cursor("file", &err), store->OutboxEnd()) << "the cursor is kept once it can be";
  d.Stop();
  store->Stop();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace agentwatch
