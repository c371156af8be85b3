// The console's API over a real pipeline: a recorded scenario (a server
// that reads a key and posts it out) replayed through the pipeline with the
// built-in rules, then asked over HTTP the way the page asks.
#include "console/console_api.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include <gtest/gtest.h>
#include <google/protobuf/util/json_util.h>

#include "detect/rules.h"
#include "pipeline/pipeline.h"
#include "pipeline/trace_file.h"

namespace agentwatch {
namespace {

TEST(ConsoleQueryTest, DecodesAndRefusesBadEscapes) {
  std::string err;
  auto q = ParseQuery("server=a%2Fb+c&rule=x&rule=y&&flag&empty=", &err);
  EXPECT_EQ(err, "");
  EXPECT_EQ(q.find("server")->second, "a/b c");
  EXPECT_EQ(q.count("rule"), 2u);
  EXPECT_EQ(q.find("flag")->second, "");
  EXPECT_EQ(q.find("empty")->second, "");
  for (const char* bad : {"a=%", "a=%4", "a=%zz", "a=%00"}) {
    err.clear();
    ParseQuery(bad, &err);
    EXPECT_NE(err, "") << bad;
  }
  std::string out;
  EXPECT_TRUE(PercentDecode("%41%62", &out));
  EXPECT_EQ(out, "Ab");
}

TEST(ConsoleQueryTest, HostsThatMayAsk) {
  const std::vector<std::string> bound = {"10.0.0.5:9591"};
  for (const char* ok : {"127.0.0.1:9591", "localhost:8080", "localhost", "[::1]:9591",
                         "127.1.2.3", "10.0.0.5:9591"})
    EXPECT_TRUE(ConsoleHostAllowed(ok, bound)) << ok;
  // DNS rebinding: a name that resolved to loopback is still refused.
  for (const char* no : {"", "attacker.example:9591", "attacker.example", "10.0.0.5:80",
                         "127.0.0.1:x", "localhost.attacker.example", "[::2]:9591"})
    EXPECT_FALSE(ConsoleHostAllowed(no, bound)) << no;
}

std::string Header(const HttpServer::Response& r, const std::string& name) {
  for (const auto& [n, v] : r.headers)
    if (n == name) return v;
  return "";
}

class ConsoleApiTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    pipeline_ = new Pipeline(Pipeline::Options{}, nullptr,
                             [](const v1::Event& ev, const std::vector<uint32_t>& lineage) {
                               hub_->Publish(ev, lineage);
                             });
    RuleSet rules;
    ASSERT_EQ(LoadRules("", &rules), "");
    ASSERT_EQ(pipeline_->SetDetectionRules(rules), "");
    TraceReader reader;
    ASSERT_EQ(reader.Open(std::string(AW_SCENARIO_TRACES) + "/fastmcp-key-read-then-post.awtrace"),
              "");
    v1::Event ev;
    std::string err;
    while (reader.Next(&ev, &err) == TraceReader::Result::kOk) pipeline_->Process(ev);
    service_ = new AgentWatchService(
        hub_, [] { return v1::Status(); }, &pipeline_->mcp_tracker(), &pipeline_->correlator(),
        nullptr, &pipeline_->engine());
  }

  HttpServer::Response Get(const std::string& target,
                           const std::string& host = "127.0.0.1:9591") {
    HttpRequest req;
    req.method = "GET";
    const size_t q = target.find('?');
    req.path = target.substr(0, q);
    req.query = q == std::string::npos ? "" : target.substr(q + 1);
    req.host = host;
    return api_.Handle(req);
  }
  template <typename M>
  M Parsed(const HttpServer::Response& r) {
    M m;
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.content_type, "application/json");
    EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(r.body, &m).ok()) << r.body;
    return m;
  }

  static Hub* hub_;
  static Pipeline* pipeline_;
  static AgentWatchService* service_;
  ConsoleApi api_{service_, 1};
};
Hub* ConsoleApiTest::hub_ = new Hub(10000);
Pipeline* ConsoleApiTest::pipeline_ = nullptr;
AgentWatchService* ConsoleApiTest::service_ = nullptr;

TEST_F(ConsoleApiTest, AlertsWithFiltersAndTheirChain) {
  auto all = Parsed<v1::ListAlertsResponse>(Get("/api/alerts"));
  ASSERT_GT(all.alerts_size(), 0);
  const v1::Alert& first = all.alerts(0);
  // Filters are the service's: by rule, by server, by agent, by severity.
  auto by_rule = Parsed<v1::ListAlertsResponse>(Get("/api/alerts?rule=" + first.rule_id()));
  ASSERT_GT(by_rule.alerts_size(), 0);
  for (const auto& a : by_rule.alerts()) EXPECT_EQ(a.rule_id(), first.rule_id());
  auto by_server =
      Parsed<v1::ListAlertsResponse>(Get("/api/alerts?server=" + first.server_id()));
  EXPECT_GT(by_server.alerts_size(), 0);
  for (const auto& a : by_server.alerts()) EXPECT_EQ(a.server_id(), first.server_id());
  EXPECT_EQ(Parsed<v1::ListAlertsResponse>(Get("/api/alerts?server=no-such-server")).alerts_size(),
            0);
  EXPECT_EQ(Parsed<v1::ListAlertsResponse>(Get("/api/alerts?agent_id=no-such-agent")).alerts_size(),
            0);
  // Pages: before_id gives the older ones only.
  auto one = Parsed<v1::ListAlertsResponse>(Get("/api/alerts?limit=1"));
  ASSERT_EQ(one.alerts_size(), 1);
  auto older = Parsed<v1::ListAlertsResponse>(
      Get("/api/alerts?before_id=" + std::to_string(one.alerts(0).id())));
  EXPECT_EQ(older.alerts_size(), all.alerts_size() - 1);
  for (const auto& a : older.alerts()) EXPECT_LT(a.id(), one.alerts(0).id());
  // Each alert, and its chain.
  auto got = Parsed<v1::Alert>(Get("/api/alerts/" + std::to_string(first.id())));
  EXPECT_EQ(got.rule_id(), first.rule_id());
  ASSERT_NE(first.chain_id(), 0u);
  auto chain = Parsed<v1::Chain>(Get("/api/chains/" + std::to_string(first.chain_id())));
  EXPECT_EQ(chain.id(), first.chain_id());
  EXPECT_GT(chain.entries_size(), 0);
  EXPECT_EQ(chain.entries_total(), static_cast<uint32_t>(chain.entries_size()));
}

TEST_F(ConsoleApiTest, ChainEntriesComeInWindows) {
  auto chains = Parsed<v1::ListChainsResponse>(Get("/api/chains?has_alerts=1"));
  ASSERT_GT(chains.chains_size(), 0);
  const std::string id = std::to_string(chains.chains(0).id());
  auto whole = Parsed<v1::Chain>(Get("/api/chains/" + id));
  ASSERT_GE(whole.entries_size(), 2);
  const uint32_t total = whole.entries_total();
  auto w = Parsed<v1::Chain>(Get("/api/chains/" + id + "?offset=1&limit=1"));
  ASSERT_EQ(w.entries_size(), 1);
  EXPECT_EQ(w.entries_offset(), 1u);
  EXPECT_EQ(w.entries_total(), total);
  EXPECT_EQ(w.entries(0).SerializeAsString(), whole.entries(1).SerializeAsString());
  auto past = Parsed<v1::Chain>(Get("/api/chains/" + id + "?offset=100000"));
  EXPECT_EQ(past.entries_size(), 0);
  EXPECT_EQ(past.entries_offset(), total);
  // A window at the end of uint32 does not wrap around to the start.
  auto edge = Parsed<v1::Chain>(Get("/api/chains/" + id + "?offset=4294967295&limit=2000"));
  EXPECT_EQ(edge.entries_size(), 0);
  EXPECT_EQ(edge.entries_offset(), total);
  EXPECT_EQ(Get("/api/chains/" + id + "?offset=4294967296").status, 400);
  // No request gets more than the cap.
  EXPECT_EQ(Get("/api/chains/" + id + "?limit=2001").status, 400);
  EXPECT_EQ(Get("/api/alerts?limit=1001").status, 400);
  EXPECT_EQ(Get("/api/events?backlog=2001").status, 400);
  EXPECT_EQ(Get("/api/chains/999999").status, 404);
  EXPECT_EQ(Get("/api/chains/abc").status, 404);
}

TEST_F(ConsoleApiTest, ServersToolsEventsAndErrors) {
  auto servers = Parsed<v1::ListServersResponse>(Get("/api/servers?include_ended=1"));
  ASSERT_GT(servers.servers_size(), 0);
  const auto& s = servers.servers(0);
  auto inv = Parsed<v1::McpToolInventory>(Get("/api/servers/" + s.id() + "/tools"));
  EXPECT_GT(inv.tools_size(), 0);
  EXPECT_EQ(Get("/api/servers/no-such/tools").status, 404);
  EXPECT_EQ(Get("/api/servers/x/other").status, 404);
  // Events: the backlog only, filtered by type, as {"events":[...]}.
  HttpServer::Response ev = Get("/api/events?type=exec&backlog=50");
  EXPECT_EQ(ev.status, 200);
  EXPECT_EQ(ev.body.rfind("{\"events\":[", 0), 0u);
  EXPECT_NE(ev.body.find("\"EVENT_TYPE_EXEC\""), std::string::npos);
  EXPECT_EQ(ev.body.find("\"EVENT_TYPE_FILE_OPEN\""), std::string::npos);
  HttpServer::Response bad = Get("/api/events?type=bogus");
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("\"code\":\"INVALID_ARGUMENT\""), std::string::npos) << bad.body;
  EXPECT_EQ(Get("/api/alerts?min_severity=loud").status, 400);
  EXPECT_EQ(Get("/api/alerts?limit=-1").status, 400);
  // Numbers are digits only: strtoull would read " -1" as 2^64-1.
  for (const char* q : {"chain_id=%20-1", "before_id=%20-1", "limit=+5", "limit=%205", "limit=5%20",
                        "agent_pid=0x10", "since_unix_ns=99999999999999999999"})
    EXPECT_EQ(Get(std::string("/api/alerts?") + q).status, 400) << q;
  EXPECT_EQ(Get("/api/chains?agent_pid=%09-1").status, 400);
  EXPECT_EQ(Get("/api/stream/chains?chain_id=%20-1").status, 400);
  EXPECT_EQ(Get("/api/nothing").status, 404);
  EXPECT_EQ(Get("/api/alerts?rule=%zz").status, 400);
}

TEST_F(ConsoleApiTest, EveryAnswerIsGuarded) {
  for (const char* path : {"/", "/api/status", "/api/alerts", "/api/nothing", "/nothing"}) {
    HttpServer::Response r = Get(path);
    EXPECT_NE(Header(r, "Content-Security-Policy").find("default-src 'self'"), std::string::npos)
        << path;
    EXPECT_EQ(Header(r, "X-Content-Type-Options"), "nosniff") << path;
    EXPECT_EQ(Header(r, "X-Frame-Options"), "DENY") << path;
    // A page on another origin that rebinds its name to loopback gets nothing.
    HttpServer::Response rebound = Get(path, "attacker.example:9591");
    EXPECT_EQ(rebound.status, 403) << path;
    EXPECT_EQ(rebound.body.find("alerts\":"), std::string::npos);
  }
  EXPECT_EQ(Get("/").status, 200);
  EXPECT_EQ(Get("/").content_type, "text/html; charset=utf-8");
}

int Connect(const std::string& addr) {
  const int port = std::stoi(addr.substr(addr.rfind(':') + 1));
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  timeval tv{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

std::string ReadUntil(int fd, const std::string& want) {
  std::string out;
  char buf[4096];
  ssize_t n;
  while (out.find(want) == std::string::npos && (n = read(fd, buf, sizeof buf)) > 0)
    out.append(buf, static_cast<size_t>(n));
  return out;
}

// The live alert stream as server-sent events over the real HTTP server:
// an alert published after the page connected arrives as one event; a
// keepalive comes while nothing happens; the stream ends with the client.
TEST_F(ConsoleApiTest, AlertsStreamAsServerSentEvents) {
  HttpServer http(HttpServer::Options{.max_connections = 4, .name = "console"});
  ASSERT_EQ(http.Listen("127.0.0.1:0", nullptr), "");
  http.Start([this](const HttpRequest& r) { return api_.Handle(r); });
  const int fd = Connect(http.addresses().at(0));
  const std::string req =
      "GET /api/stream/alerts?min_severity=low HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  ASSERT_EQ(write(fd, req.data(), req.size()), static_cast<ssize_t>(req.size()));
  std::string got = ReadUntil(fd, ": connected\n\n");
  EXPECT_NE(got.find("Content-Type: text/event-stream"), std::string::npos) << got;
  EXPECT_NE(got.find("Content-Security-Policy:"), std::string::npos) << got;
  for (int i = 0; i < 200 && api_.open_streams() == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  v1::Event ev;
  ev.set_type(v1::EVENT_TYPE_ALERT);
  ev.mutable_alert()->set_id(424242);
  ev.mutable_alert()->set_rule_id("console-test");
  ev.mutable_alert()->set_severity("high");
  v1::Event quiet = ev;  // below the stream's floor: not sent
  quiet.mutable_alert()->set_id(424241);
  quiet.mutable_alert()->set_severity("info");
  // Published until the stream's subscription sees it (the page connected
  // before the subscription was made).
  std::string events;
  for (int i = 0; i < 50 && events.find("424242") == std::string::npos; ++i) {
    hub_->Publish(quiet, {});
    hub_->Publish(ev, {});
    events += ReadUntil(fd, "\n\n");
  }
  EXPECT_NE(events.find("event: alert\nid: 424242\ndata: {"), std::string::npos) << events;
  // Subscribed now: what is below the floor is not sent, what is above is.
  hub_->Publish(quiet, {});
  ev.mutable_alert()->set_id(424243);
  hub_->Publish(ev, {});
  events = ReadUntil(fd, "424243");
  EXPECT_NE(events.find("424243"), std::string::npos) << events;
  EXPECT_EQ(events.find("424241"), std::string::npos) << events;
  EXPECT_NE(ReadUntil(fd, ": keepalive\n\n").find(": keepalive"), std::string::npos);
  close(fd);
  for (int i = 0; i < 500 && api_.open_streams() != 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(api_.open_streams(), 0u);
  http.Stop();
}

// A client that opens stream after stream cannot take every connection of
// the console: past the streams' cap it gets 503 while the JSON API still
// answers, and every way a stream ends gives its place back.
TEST_F(ConsoleApiTest, EventStreamsAreCapped) {
  ConsoleApi api(service_, 1, /*max_streams=*/2);
  HttpServer http(HttpServer::Options{.max_connections = 8, .name = "console"});
  ASSERT_EQ(http.Listen("127.0.0.1:0", nullptr), "");
  http.Start([&api](const HttpRequest& r) { return api.Handle(r); });
  const std::string addr = http.addresses().at(0);
  auto ask = [&](const std::string& target, const char* method = "GET") {
    const int fd = Connect(addr);
    const std::string req =
        std::string(method) + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    EXPECT_EQ(write(fd, req.data(), req.size()), static_cast<ssize_t>(req.size()));
    return fd;
  };
  const int a = ask("/api/stream/alerts"), b = ask("/api/stream/chains");
  EXPECT_NE(ReadUntil(a, ": connected\n\n").find(": connected"), std::string::npos);
  EXPECT_NE(ReadUntil(b, ": connected\n\n").find(": connected"), std::string::npos);
  int c = ask("/api/stream/alerts");
  std::string got = ReadUntil(c, "\r\n\r\n");
  EXPECT_EQ(got.rfind("HTTP/1.1 503 ", 0), 0u) << got;
  if (got.rfind("HTTP/1.1 503 ", 0) == 0 && got.find('}') == std::string::npos)
    got += ReadUntil(c, "}");
  EXPECT_NE(got.find("\"code\":\"UNAVAILABLE\""), std::string::npos) << got;
  close(c);
  c = ask("/api/status");
  got = ReadUntil(c, "\r\n\r\n");
  EXPECT_EQ(got.rfind("HTTP/1.1 200 ", 0), 0u) << got;
  close(c);
  close(a);
  close(b);
  for (int i = 0; i < 500 && api.open_streams() != 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(api.open_streams(), 0u);
  // HEAD answers and clients gone before their stream began keep no place.
  for (int i = 0; i < 3; ++i) close(ask("/api/stream/alerts", "HEAD"));
  for (int i = 0; i < 3; ++i) close(ask("/api/stream/chains"));
  for (int i = 0; i < 500 && (api.open_streams() != 0 || http.connections() != 0); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(api.open_streams(), 0u);
  const int d = ask("/api/stream/alerts");
  EXPECT_NE(ReadUntil(d, ": connected\n\n").find(": connected"), std::string::npos);
  close(d);
  http.Stop();
}

}  // namespace
}  // namespace agentwatch
