// The MCP stage's bounds: what all stream decoders hold undecoded is capped,
// and the stream holding most (a flood's own) is dropped first, not an idle
// neighbour's.
#include "session/mcp_stage.h"

#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "testing/events.h"

namespace agentwatch {
namespace {

v1::Event Chunk(uint32_t pid, uint64_t inode, uint64_t offset, std::string data) {
  return events::Payload("out", 1, std::move(data)).Stream("pipe", inode, offset).Pid(pid).Watched();
}

TEST(McpStageTest, UndecodedBytesAreBoundedAndTheBiggestHolderGoesFirst) {
  McpStage stage(4096, {}, /*max_buffered=*/10000);
  std::vector<v1::Event> out;
  // A quiet server: a message decoded, then half a line held.
  v1::Event q = Chunk(7, 70, 0, R"({"jsonrpc":"2.0","method":"notifications/initialized"})" "\n{\"jsonrpc\"");
  stage.OnPayload(&q, nullptr, &out);
  // A flooder's three streams, each holding a partial line of 4,000 bytes.
  for (uint64_t ino : {80, 81, 82}) {
    v1::Event f = Chunk(8, ino, 0, "{\"data\":\"" + std::string(4000, 'x'));
    stage.OnPayload(&f, nullptr, &out);
  }
  // 3 x 4,009 + the quiet one's 10 is over 10,000: one flood stream went.
  EXPECT_EQ(stage.counters().streams_evicted_for_memory, 1u);
  // The quiet server's stream kept its half line: its end completes it.
  out.clear();
  v1::Event rest = Chunk(7, 70, q.payload().data().size(), R"(:"2.0","method":"ping","id":1})" "\n");
  stage.OnPayload(&rest, nullptr, &out);
  bool ping = false;
  for (const auto& e : out)
    if (e.type() == v1::EVENT_TYPE_MCP_MESSAGE && e.mcp().method() == "ping") ping = true;
  EXPECT_TRUE(ping) << "the idle neighbour's held line was dropped instead of the flood's";
}


// A stdio response longer than the capture limit, written result first (as
// the SDKs do): its head has no id, its tail (captured by the kernel after
// the head) ends with it. The call it answers ends `lost`, paired by that
// id, while another call stays pending.
TEST(McpStageTest, ACutResponseIsPairedByTheIdAtItsTail) {
  McpStage stage;
  std::vector<v1::Event> out;
  uint64_t in = 0, off = 0;
  auto send = [&](bool is_out, const std::string& data, uint64_t at, uint64_t length,
                  bool truncated, bool tail_follows, bool tail) {
    events::EventBuilder b = events::Payload(is_out ? "out" : "in", is_out ? 1 : 0, data);
    b.Stream("pipe", is_out ? 601 : 600, at).Pid(12).Watched().At(1000 + at, 2000 + at);
    if (truncated) b.Truncated(length);
    v1::Event e = b;
    e.mutable_payload()->set_syscall_length(length);
    e.mutable_payload()->set_tail_follows(tail_follows);
    e.mutable_payload()->set_tail(tail);
    stage.OnPayload(&e, nullptr, &out);
  };
  auto line = [&](bool is_out, const std::string& json) {
    uint64_t& o = is_out ? off : in;
    send(is_out, json + "\n", o, json.size() + 1, false, false, false);
    o += json.size() + 1;
  };
  line(false, R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"a","version":"1"}}})");
  line(true, R"({"result":{"protocolVersion":"2025-06-18","capabilities":{},"serverInfo":{"name":"s","version":"1"}},"jsonrpc":"2.0","id":0})");
  line(false, R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"slow","arguments":{}}})");
  line(false, R"({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"read","arguments":{}}})");
  // 100,000 bytes written at once: 15,360 of head, then the last 1,024.
  const std::string end = R"("}]},"jsonrpc":"2.0","id":2})" "\n";
  const uint64_t length = 100000;
  send(true, R"({"result":{"content":[{"type":"text","text":")" + std::string(15000, 'a'), off,
       length, true, true, false);
  EXPECT_TRUE(std::none_of(out.begin(), out.end(), [](const v1::Event& e) {
    return e.type() == v1::EVENT_TYPE_MCP_CALL && e.call().request_id() == "2";
  })) << "the cut response waits for its tail";
  send(true, std::string(1024 - end.size(), 'a') + end, off + length - 1024, length, false, false,
       true);
  off += length;
  std::vector<v1::McpCall> calls;
  for (const auto& e : out)
    if (e.type() == v1::EVENT_TYPE_MCP_CALL) calls.push_back(e.call());
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[1].tool(), "read");
  EXPECT_EQ(calls[1].status(), "lost");
  EXPECT_NE(calls[1].decode_note().find("id read from the write's last bytes"), std::string::npos)
      << calls[1].decode_note();
  EXPECT_EQ(calls[1].response_bytes(), length);
  // The other call is still pending, and answered whole later.
  line(true, R"({"result":{"content":[]},"jsonrpc":"2.0","id":1})");
  calls.clear();
  for (const auto& e : out)
    if (e.type() == v1::EVENT_TYPE_MCP_CALL) calls.push_back(e.call());
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_EQ(calls[2].tool(), "slow");
  EXPECT_EQ(calls[2].status(), "ok");
}

// An HTTP server's responses that cannot be decoded end the calls they
// answered as `lost` (noted), instead of leaving them pending for good.
class HttpLossTest : public ::testing::Test {
 protected:
  void Send(bool out, const std::string& bytes) {
    uint64_t& off = out ? out_off_ : in_off_;
    v1::Event e = events::Payload(out ? "out" : "in", 5, bytes)
                      .Stream("socket", 900, off)
                      .Pid(9)
                      .Watched()
                      .At(1000 + off + (out ? 1 : 0), 2000 + off);
    off += bytes.size();
    stage_.OnPayload(&e, nullptr, &events_);
  }
  static std::string Post(const std::string& body) {
    return "POST /mcp HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
           "Accept: application/json, text/event-stream\r\nMcp-Session-Id: s1\r\n"
           "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  }
  static std::string Json(const std::string& body) {
    return "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nMcp-Session-Id: s1\r\n"
           "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  }
  void Handshake() {
    Send(false, Post(R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"c","version":"1"}}})"));
    Send(true, Json(R"({"jsonrpc":"2.0","id":0,"result":{"protocolVersion":"2025-06-18","capabilities":{},"serverInfo":{"name":"s","version":"1"}}})"));
    Send(false, Post(R"({"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"read","arguments":{}}})"));
  }
  std::vector<v1::McpCall> Calls() const {
    std::vector<v1::McpCall> c;
    for (const auto& e : events_)
      if (e.type() == v1::EVENT_TYPE_MCP_CALL) c.push_back(e.call());
    return c;
  }

  McpStage stage_;
  std::vector<v1::Event> events_;
  uint64_t in_off_ = 0, out_off_ = 0;
};

TEST_F(HttpLossTest, ABrokenChunkedResponseEndsItsCallAsLost) {
  Handshake();
  Send(true, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
             "zz-not-a-size\r\n{}\r\n");
  auto calls = Calls();
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[1].tool(), "read");
  EXPECT_EQ(calls[1].status(), "lost");
  EXPECT_NE(calls[1].decode_note().find("response undecodable"), std::string::npos)
      << calls[1].decode_note();
}

TEST_F(HttpLossTest, AnSseEventOverTheLimitEndsTheCallStillPendingAtTheStreamsEnd) {
  Handshake();
  const std::string big = "data: {\"jsonrpc\":\"2.0\",\"id\":5,\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"" +
                          std::string(5u << 20, 'a') + "\"}]}}\n\n";
  std::ostringstream chunk;
  chunk << std::hex << big.size() << "\r\n" << big << "\r\n0\r\n\r\n";
  Send(true, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n");
  EXPECT_EQ(Calls().size(), 1u);
  Send(true, chunk.str());
  auto calls = Calls();
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[1].status(), "lost");
  EXPECT_NE(calls[1].decode_note().find("SSE event over the limit"), std::string::npos)
      << calls[1].decode_note();
}

TEST_F(HttpLossTest, AnOversizeNotificationBeforeTheResponseLosesNothing) {
  Handshake();
  const std::string note = "data: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\",\"params\":{\"data\":\"" +
                           std::string(5u << 20, 'n') + "\"}}\n\n";
  const std::string resp = "data: {\"jsonrpc\":\"2.0\",\"id\":5,\"result\":{\"content\":[]}}\n\n";
  std::ostringstream body;
  body << std::hex << note.size() << "\r\n" << note << "\r\n" << resp.size() << "\r\n" << resp
       << "\r\n0\r\n\r\n";
  Send(true, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n" +
                 body.str());
  auto calls = Calls();
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[1].status(), "ok") << "the real response is decoded; nothing else is ended";
}

}  // namespace
}  // namespace agentwatch
