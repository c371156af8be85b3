#include "mcp/stream_decoder.h"

#include <cstdio>

#include <gtest/gtest.h>

namespace agentwatch {
namespace {

struct Result {
  std::vector<DecodedMessage> msgs;
  std::vector<DecodeFailure> failures;
};

Result FeedChunks(StreamDecoder& d, const std::vector<std::pair<uint64_t, std::string>>& chunks) {
  Result r;
  for (const auto& [off, data] : chunks) d.Feed(off, data, &r.msgs, &r.failures);
  return r;
}

// A stdio session as a client writes it to a server's stdin.
const std::string kStdio =
    R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"c","version":"1"}}})" "\n"
    R"({"jsonrpc":"2.0","method":"notifications/initialized"})" "\n"
    R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"read_file","arguments":{"path":"/tmp/x"}}})" "\n";

TEST(StreamDecoderTest, StdioSplitAtEveryPosition) {
  for (size_t i = 0; i <= kStdio.size(); ++i) {
    StreamDecoder d;
    auto r = FeedChunks(d, {{0, kStdio.substr(0, i)}, {i, kStdio.substr(i)}});
    ASSERT_EQ(r.msgs.size(), 3u) << "split at " << i;
    EXPECT_EQ(d.protocol(), StreamDecoder::Protocol::kNdjson);
    EXPECT_EQ(r.msgs[0].msg.method, "initialize");
    EXPECT_EQ(r.msgs[1].msg.kind, JsonRpcKind::kNotification);
    EXPECT_EQ(r.msgs[2].msg.id, "1");
    EXPECT_EQ(r.msgs[2].transport, "stdio");
  }
}

TEST(StreamDecoderTest, GapCutsOnlyTheMessageItFalls) {
  StreamDecoder d;
  // Bytes 60..80 never arrive (cut capture): the first message is decoded
  // from its head (id and method, noted), the rest whole.
  auto r = FeedChunks(d, {{0, kStdio.substr(0, 60)}, {80, kStdio.substr(80)}});
  ASSERT_EQ(r.msgs.size(), 3u);
  EXPECT_EQ(r.msgs[0].msg.method, "initialize");
  EXPECT_EQ(r.msgs[0].msg.id, "0");
  EXPECT_EQ(r.msgs[0].msg.note, "truncated: decoded from its first 60 bytes");
  EXPECT_EQ(r.msgs[1].msg.method, "notifications/initialized");
  EXPECT_EQ(r.msgs[1].msg.note, "");
  EXPECT_EQ(d.counters().gaps, 1u);
  EXPECT_EQ(d.counters().gap_bytes, 20u);
}

// A write cut at the capture limit: the tools/call it carried is decoded
// from its head at once (its end will not come), with its tool.
TEST(StreamDecoderTest, ATruncatedWriteIsDecodedFromItsHead) {
  StreamDecoder d;
  const size_t second = kStdio.find("{\"jsonrpc\":\"2.0\",\"id\":1");
  auto r = FeedChunks(d, {{0, kStdio.substr(0, second + 75)}});
  ASSERT_EQ(r.msgs.size(), 2u);
  d.Truncated(&r.msgs, &r.failures);
  ASSERT_EQ(r.msgs.size(), 3u);
  EXPECT_EQ(r.msgs[2].msg.kind, JsonRpcKind::kRequest);
  EXPECT_EQ(r.msgs[2].msg.id, "1");
  EXPECT_EQ(r.msgs[2].msg.method, "tools/call");
  EXPECT_EQ(r.msgs[2].msg.params, "{\"name\":\"read_file\"}");
  EXPECT_NE(r.msgs[2].msg.note.find("truncated"), std::string::npos);
}

TEST(StreamDecoderTest, StaleAndOverlappingChunks) {
  StreamDecoder d;
  auto r = FeedChunks(d, {{0, kStdio.substr(0, 100)},
                          {50, kStdio.substr(50, 30)},     // already seen
                          {90, kStdio.substr(90)}});       // overlaps by 10
  EXPECT_EQ(r.msgs.size(), 3u);
  EXPECT_EQ(d.counters().stale_chunks, 1u);
}

TEST(StreamDecoderTest, JoinedMidStreamResyncs) {
  StreamDecoder d;
  auto r = FeedChunks(d, {{1000, kStdio.substr(30)}});
  ASSERT_EQ(r.msgs.size(), 2u);  // the cut first line is skipped
  EXPECT_EQ(r.msgs[0].msg.method, "notifications/initialized");
}

TEST(StreamDecoderTest, NotMcp) {
  StreamDecoder d;
  auto r = FeedChunks(d, {{0, "hello world, this is a shell\n"}});
  // A line of noise may come before a server's first message: undecided.
  EXPECT_EQ(d.protocol(), StreamDecoder::Protocol::kDetecting);
  std::string shell;
  while (shell.size() <= 4096) shell += "$ ls -l /tmp\ntotal 0\n";
  r = FeedChunks(d, {{29, shell}});
  EXPECT_EQ(d.protocol(), StreamDecoder::Protocol::kNotMcp) << "4 KiB of it: not MCP";
  EXPECT_TRUE(r.msgs.empty());
  StreamDecoder j;  // JSON lines that are not JSON-RPC: given up quietly
  std::string logs;
  for (int i = 0; i < 10; ++i) logs += R"({"level":"info","msg":"x"})" "\n";
  r = FeedChunks(j, {{0, logs}});
  EXPECT_TRUE(r.msgs.empty());
  EXPECT_TRUE(r.failures.empty());
  EXPECT_EQ(j.protocol(), StreamDecoder::Protocol::kNotMcp);
}

// A server that prints a banner (or log lines) on stdout before its first
// message is still decoded; the skipped bytes are counted.
TEST(StreamDecoderTest, NoiseBeforeTheFirstMessageIsSkipped) {
  StreamDecoder d;
  const std::string banner = "Secure MCP Filesystem Server running on stdio\nAllowed: /tmp\n";
  auto r = FeedChunks(d, {{0, banner + R"({"jsonrpc":"2.0","id":1,"method":"initialize"})" "\n"}});
  ASSERT_EQ(r.msgs.size(), 1u);
  EXPECT_EQ(r.msgs[0].msg.method, "initialize");
  EXPECT_EQ(d.counters().noise_bytes, banner.size());
}

TEST(StreamDecoderTest, MalformedAfterValidIsReported) {
  StreamDecoder d;
  auto r = FeedChunks(d, {{0, std::string(R"({"jsonrpc":"2.0","id":1,"method":"ping"})") +
                                   "\n{not json\n"}});
  ASSERT_EQ(r.msgs.size(), 1u);
  ASSERT_EQ(r.failures.size(), 1u);
  EXPECT_EQ(r.failures[0].status, JsonRpcStatus::kInvalidJson);
}

TEST(StreamDecoderTest, StreamableHttpRequestsAndSseResponses) {
  const std::string req =
      "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
      "Mcp-Session-Id: abc\r\nMCP-Protocol-Version: 2025-06-18\r\nContent-Length: 40\r\n\r\n"
      R"({"jsonrpc":"2.0","id":5,"method":"ping"})";
  ASSERT_EQ(std::string(R"({"jsonrpc":"2.0","id":5,"method":"ping"})").size(), 40u);
  for (size_t i = 0; i <= req.size(); i += 3) {
    StreamDecoder d;
    auto r = FeedChunks(d, {{0, req.substr(0, i)}, {i, req.substr(i)}});
    ASSERT_EQ(r.msgs.size(), 1u) << i;
    EXPECT_EQ(r.msgs[0].transport, "http");
    EXPECT_EQ(r.msgs[0].http_session_id, "abc");
    EXPECT_EQ(r.msgs[0].http_protocol_version, "2025-06-18");
    EXPECT_EQ(r.msgs[0].http_target, "/mcp");
  }
  const std::string event =
      "event: message\nid: 7\ndata: {\"jsonrpc\":\"2.0\",\"id\":5,\"result\":{}}\n\n";
  char hex[16];
  snprintf(hex, sizeof(hex), "%zx", event.size());
  const std::string resp =
      "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nMcp-Session-Id: abc\r\n"
      "Transfer-Encoding: chunked\r\n\r\n" +
      std::string(hex) + "\r\n" + event + "\r\n0\r\n\r\n";
  for (size_t i = 0; i <= resp.size(); i += 3) {
    StreamDecoder d;
    auto r = FeedChunks(d, {{0, resp.substr(0, i)}, {i, resp.substr(i)}});
    ASSERT_EQ(r.msgs.size(), 1u) << i;
    EXPECT_EQ(r.msgs[0].transport, "sse");
    EXPECT_EQ(r.msgs[0].msg.kind, JsonRpcKind::kResult);
    EXPECT_EQ(r.msgs[0].sse_event_id, "7");
    EXPECT_EQ(r.msgs[0].http_status, 200);
  }
}

TEST(StreamDecoderTest, LegacySseEndpointEventIsAnnouncedNotParsed) {
  StreamDecoder d;
  auto r = FeedChunks(d, {{0,
      "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n"
      "event: endpoint\ndata: /messages?sessionId=1\n\n"
      "event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\n\n"}});
  ASSERT_EQ(r.msgs.size(), 2u);
  EXPECT_TRUE(r.msgs[0].endpoint);
  EXPECT_EQ(r.msgs[0].sse_endpoint, "/messages?sessionId=1");
  EXPECT_FALSE(r.msgs[1].endpoint);
  EXPECT_EQ(r.msgs[1].msg.id, "1");
  EXPECT_TRUE(r.failures.empty());
}

TEST(StreamDecoderTest, SsePrimingEventWithoutDataIsSkipped) {
  // Streamable HTTP servers open a stream with an id-only event.
  StreamDecoder d;
  auto r = FeedChunks(d, {{0,
      "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n"
      "id: abc\ndata: \n\n"
      "event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\n\n"
      "id: def\ndata: \n\n"}});
  ASSERT_EQ(r.msgs.size(), 1u);
  EXPECT_EQ(r.msgs[0].msg.id, "1");
  EXPECT_TRUE(r.failures.empty());
  EXPECT_EQ(d.counters().failures, 0u);
}

}  // namespace
}  // namespace agentwatch
