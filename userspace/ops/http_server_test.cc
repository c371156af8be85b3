#include "ops/http_server.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

namespace agentwatch {
namespace {

TEST(HttpServerTest, RequestHeadAtEverySplit) {
  const std::string req =
      "GET /metrics?x=1 HTTP/1.1\r\nHost: 127.0.0.1:9590\r\nUser-Agent: Prometheus/2.45\r\n"
      "Accept: text/plain\r\n\r\n";
  for (size_t cut = 0; cut < req.size(); ++cut) {
    bool done = true;
    std::string method, path;
    EXPECT_EQ(ParseHttpRequestHead(req.substr(0, cut), &done, &method, &path), "") << cut;
    EXPECT_FALSE(done) << cut;
  }
  bool done = false;
  std::string method, path;
  EXPECT_EQ(ParseHttpRequestHead(req, &done, &method, &path), "");
  EXPECT_TRUE(done);
  EXPECT_EQ(method, "GET");
  EXPECT_EQ(path, "/metrics");
}

TEST(HttpServerTest, GarbageAndGiantHeadsAreErrors) {
  bool done = false;
  std::string method, path;
  EXPECT_NE(ParseHttpRequestHead(std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11) +
                                     "\r\n\r\n",
                                 &done, &method, &path),
            "");
  EXPECT_FALSE(done);
  std::string giant = "GET / HTTP/1.1\r\nX: " + std::string(20000, 'a');
  EXPECT_NE(ParseHttpRequestHead(giant, &done, &method, &path), "");
}

TEST(HttpServerTest, PlainHttpOnlyOnLoopback) {
  HttpServer s;
  EXPECT_NE(s.Listen("0.0.0.0:0", nullptr).find("loopback only"), std::string::npos);
  EXPECT_NE(s.Listen("nonsense", nullptr), "");
  TlsServerFiles none;
  EXPECT_NE(s.Listen("0.0.0.0:0", &none).find("client CA"), std::string::npos);
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
  s.Start([](const std::string& path) {
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

}  // namespace
}  // namespace agentwatch
