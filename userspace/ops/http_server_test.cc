#include "ops/http_server.h"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include <gtest/gtest.h>

namespace agentwatch {
namespace {

TEST(HttpServerTest, RequestHeadAtEverySplit) {
  const std::string req =
      "GET /metrics?x=1 HTTP/1.1\r\nHost: 127.0.0.1:9590\r\nUser-Agent: Prometheus/2.45\r\n"
      "Accept: text/plain\r\n\r\n";
  for (size_t cut = 0; cut < req.size(); ++cut) {
    bool done = true;
    HttpRequest r;
    EXPECT_EQ(ParseHttpRequestHead(req.substr(0, cut), &done, &r), "") << cut;
    EXPECT_FALSE(done) << cut;
  }
  bool done = false;
  HttpRequest r;
  EXPECT_EQ(ParseHttpRequestHead(req, &done, &r), "");
  EXPECT_TRUE(done);
  EXPECT_EQ(r.method, "GET");
  EXPECT_EQ(r.path, "/metrics");
  EXPECT_EQ(r.query, "x=1");
  EXPECT_EQ(r.host, "127.0.0.1:9590");
}

TEST(HttpServerTest, GarbageAndGiantHeadsAreErrors) {
  bool done = false;
  HttpRequest r;
  EXPECT_NE(ParseHttpRequestHead(std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11) +
                                     "\r\n\r\n",
                                 &done, &r),
            "");
  EXPECT_FALSE(done);
  std::string giant = "GET / HTTP/1.1\r\nX: " + std::string(20000, 'a');
  EXPECT_NE(ParseHttpRequestHead(giant, &done, &r), "");
}

TEST(HttpServerTest, PlainHttpOnlyOnLoopback) {
  HttpServer s;
  EXPECT_NE(s.Listen("0.0.0.0:0", nullptr).find("loopback only"), std::string::npos);
  EXPECT_NE(s.Listen("nonsense", nullptr), "");
  TlsServerFiles none;
  EXPECT_NE(s.Listen("0.0.0.0:0", &none).find("client CA"), std::string::npos);
}

int Connect(const std::string& addr) {
  const int port = std::stoi(addr.substr(addr.rfind(':') + 1));
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// Reads from fd until want is in what was read (or the peer closes).
std::string ReadUntil(int fd, const std::string& want) {
  std::string out;
  char buf[4096];
  ssize_t n;
  while (out.find(want) == std::string::npos && (n = read(fd, buf, sizeof buf)) > 0)
    out.append(buf, static_cast<size_t>(n));
  return out;
}

std::string Get(const std::string& addr, const std::string& raw) {
  const int port = std::stoi(addr.substr(addr.rfind(':') + 1));
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return "connect failed";
  (void)!write(fd, raw.data(), raw.size());
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  close(fd);
  return out;
}

TEST(HttpServerTest, ServesOnLoopback) {
  HttpServer s;
  ASSERT_EQ(s.Listen("127.0.0.1:0", nullptr), "");
  s.Start([](const HttpRequest& req) {
    const std::string& path = req.path;
    HttpServer::Response r;
    if (path == "/readyz") {
      r.status = 503;
      r.body = "not ready\n";
    } else {
      r.body = "path=" + path + "\n";
    }
    return r;
  });
  const std::string addr = s.addresses().at(0);
  std::string r = Get(addr, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(r.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << r;
  EXPECT_NE(r.find("Content-Length: 14\r\n"), std::string::npos) << r;
  EXPECT_NE(r.find("\r\n\r\npath=/metrics\n"), std::string::npos) << r;
  r = Get(addr, "GET /readyz HTTP/1.1\r\n\r\n");
  EXPECT_EQ(r.rfind("HTTP/1.1 503 ", 0), 0u) << r;
  r = Get(addr, "HEAD /healthz HTTP/1.1\r\n\r\n");
  EXPECT_EQ(r.find("path="), std::string::npos) << r;  // no body for HEAD
  r = Get(addr, "DELETE /metrics HTTP/1.1\r\n\r\n");
  EXPECT_EQ(r.rfind("HTTP/1.1 405 ", 0), 0u) << r;
  r = Get(addr, std::string("\x00\x01garbage\r\n\r\n", 13));
  EXPECT_EQ(r.rfind("HTTP/1.1 400 ", 0), 0u) << r;
  // Still serving after the bad ones.
  r = Get(addr, "GET /x HTTP/1.0\r\n\r\n");
  EXPECT_NE(r.find("path=/x"), std::string::npos) << r;
  EXPECT_EQ(s.requests(), 4u);
  EXPECT_GE(s.rejected(), 1u);
  s.Stop();
}

// A stream holds its connection while other requests are served beside it,
// ends when the client goes, and Stop ends one that is still open.
TEST(HttpServerTest, StreamsBesideOtherRequests) {
  HttpServer s(HttpServer::Options{.max_connections = 3});
  ASSERT_EQ(s.Listen("127.0.0.1:0", nullptr), "");
  std::atomic<int> streams_ended{0};
  s.Start([&](const HttpRequest& req) {
    HttpServer::Response r;
    if (req.path == "/stream") {
      r.content_type = "text/event-stream";
      r.headers.emplace_back("X-Test", "1");
      r.stream = [&](HttpStream& out) {
        for (int i = 0; !out.Closed(); ++i) {
          if (!out.Write("data: " + std::to_string(i) + "\n\n")) break;
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        ++streams_ended;
      };
    } else {
      r.body = "q=" + req.query + "\n";
    }
    return r;
  });
  const std::string addr = s.addresses().at(0);
  const int a = Connect(addr);
  ASSERT_GE(a, 0);
  ASSERT_GT(write(a, "GET /stream HTTP/1.1\r\n\r\n", 25), 0);
  std::string got = ReadUntil(a, "data: 2\n\n");
  EXPECT_EQ(got.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << got;
  EXPECT_NE(got.find("X-Test: 1\r\n"), std::string::npos) << got;
  EXPECT_EQ(got.find("Content-Length"), std::string::npos) << got;
  // Another request is answered while the stream runs.
  std::string r = Get(addr, "GET /x?a=b HTTP/1.1\r\n\r\n");
  EXPECT_NE(r.find("q=a=b\n"), std::string::npos) << r;
  close(a);  // the client goes: its stream ends
  for (int i = 0; i < 500 && streams_ended == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(streams_ended, 1);
  // One left open is ended by Stop.
  const int b = Connect(addr);
  ASSERT_GT(write(b, "GET /stream HTTP/1.1\r\n\r\n", 25), 0);
  ReadUntil(b, "data: 0\n\n");
  s.Stop();
  EXPECT_EQ(streams_ended, 2);
  EXPECT_EQ(s.connections(), 0u);
  close(b);
}

// Silent clients cannot keep others out: at the cap, the oldest connection
// still sending its head makes way (the kubelet's /healthz is answered
// while a local user holds every connection open), and the others keep
// working.
TEST(HttpServerTest, SilentClientsMakeWayAtTheCap) {
  HttpServer s(HttpServer::Options{.max_connections = 2, .read_timeout_s = 60});
  ASSERT_EQ(s.Listen("127.0.0.1:0", nullptr), "");
  s.Start([](const HttpRequest&) {
    HttpServer::Response r;
    r.body = "ok\n";
    return r;
  });
  const std::string addr = s.addresses().at(0);
  const int a = Connect(addr);
  ASSERT_GE(a, 0);
  for (int i = 0; i < 200 && s.connections() < 1; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  const int b = Connect(addr);
  ASSERT_GE(b, 0);
  for (int i = 0; i < 200 && s.connections() < 2; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_EQ(s.connections(), 2u);
  for (int k = 0; k < 3; ++k) {
    std::string r = Get(addr, "GET /healthz HTTP/1.1\r\n\r\n");
    EXPECT_EQ(r.rfind("HTTP/1.1 200 ", 0), 0u) << k << ": " << r;
  }
  // The oldest silent one was cut before the first of those was answered:
  // its end is there to read.
  char c;
  EXPECT_EQ(recv(a, &c, 1, MSG_DONTWAIT), 0);
  close(a);
  close(b);
  s.Stop();
}

// An answered connection ends at once and no longer counts against the
// cap: requests one after another are all served under a cap of one.
TEST(HttpServerTest, BackToBackUnderACapOfOne) {
  HttpServer s(HttpServer::Options{.max_connections = 1});
  ASSERT_EQ(s.Listen("127.0.0.1:0", nullptr), "");
  s.Start([](const HttpRequest&) {
    HttpServer::Response r;
    r.body = "ok\n";
    return r;
  });
  for (int i = 0; i < 20; ++i) {
    std::string r = Get(s.addresses().at(0), "GET /healthz HTTP/1.1\r\n\r\n");
    EXPECT_EQ(r.rfind("HTTP/1.1 200 ", 0), 0u) << i << ": " << r;
  }
  s.Stop();
}

// A client that trickles its head a byte at a time, each within the read
// timeout, is still cut once the head is overdue.
TEST(HttpServerTest, TricklingHeadIsCut) {
  HttpServer s(HttpServer::Options{.max_connections = 4, .read_timeout_s = 1});
  ASSERT_EQ(s.Listen("127.0.0.1:0", nullptr), "");
  s.Start([](const HttpRequest&) {
    HttpServer::Response r;
    r.body = "ok\n";
    return r;
  });
  const int fd = Connect(s.addresses().at(0));
  ASSERT_GE(fd, 0);
  ASSERT_GT(write(fd, "GET / HTTP/1.1\r\n", 16), 0);
  bool cut = false;
  // Up to 15 s of trickling, a header line every 250 ms (the head is due
  // after 1 s).
  for (int i = 0; i < 60 && !cut; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 0) > 0) {
      char buf[256];
      cut = read(fd, buf, sizeof buf) <= 0;
      break;
    }
    if (send(fd, "X: y\r\n", 6, MSG_NOSIGNAL) != 6) cut = true;
  }
  EXPECT_TRUE(cut) << "the server still waits for a head begun 15 s ago";
  close(fd);
  s.Stop();
}

// When every connection is being answered (streams), a new client is told
// so at once, and the held ones keep working.
TEST(HttpServerTest, RefusesWhenEveryConnectionIsAnswered) {
  HttpServer s(HttpServer::Options{.max_connections = 2});
  ASSERT_EQ(s.Listen("127.0.0.1:0", nullptr), "");
  s.Start([](const HttpRequest&) {
    HttpServer::Response r;
    r.stream = [](HttpStream& out) {
      while (!out.Closed() && out.Write("data: x\n\n"))
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    };
    return r;
  });
  const std::string addr = s.addresses().at(0);
  const int a = Connect(addr), b = Connect(addr);
  ASSERT_GE(a, 0);
  ASSERT_GE(b, 0);
  ASSERT_GT(write(a, "GET / HTTP/1.1\r\n\r\n", 18), 0);
  ASSERT_GT(write(b, "GET / HTTP/1.1\r\n\r\n", 18), 0);
  ReadUntil(a, "data: x");
  ReadUntil(b, "data: x");
  std::string r = Get(addr, "GET / HTTP/1.1\r\n\r\n");
  EXPECT_EQ(r.rfind("HTTP/1.1 503 ", 0), 0u) << r;
  EXPECT_GE(s.rejected(), 1u);
  EXPECT_NE(ReadUntil(a, "data: x\n\ndata: x").find("data: x"), std::string::npos);
  close(a);
  close(b);
  s.Stop();
}

}  // namespace
}  // namespace agentwatch
