#include "mcp/sse.h"

#include <gtest/gtest.h>

#include <vector>

namespace agentwatch {
namespace {

struct Got {
  std::string type, data, id;
  std::optional<uint32_t> retry;
  bool operator==(const Got&) const = default;
};

std::vector<Got> FeedAll(SseParser& p, const std::vector<std::string_view>& parts) {
  std::vector<Got> out;
  for (auto s : parts) {
    p.Feed(s, [&](const SseEvent& e) {
      out.push_back({e.type, e.data, e.id, e.retry});
    });
  }
  return out;
}

// Streamable HTTP style: an event with an id and a JSON-RPC message, a
// comment keep-alive, a multi-line data event, CRLF and CR line ends.
const std::string kStream =
    "\xEF\xBB\xBF"
    ": keep-alive\n"
    "event: message\n"
    "id: 42\n"
    "data: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\n"
    "\n"
    "retry: 3000\r\n"
    "data: line one\r\n"
    "data:line two\r\n"
    "\r\n"
    "event: endpoint\r"
    "data: /messages?sessionId=abc\r"
    "\r"
    "data\n"
    "\n";

const std::vector<Got> kWant = {
    {"message", "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}", "42", {}},
    {"message", "line one\nline two", "42", 3000},
    {"endpoint", "/messages?sessionId=abc", "42", {}},
    {"message", "", "42", {}},
};

TEST(SseTest, WholeStream) {
  SseParser p;
  EXPECT_EQ(FeedAll(p, {kStream}), kWant);
  EXPECT_EQ(p.counters().comments, 1u);
  EXPECT_EQ(p.last_event_id(), "42");
}

TEST(SseTest, SplitAtEveryPosition) {
  std::string_view s = kStream;
  // The BOM check runs on the first Feed, so splits start after it.
  for (size_t i = 3; i <= s.size(); ++i) {
    for (size_t j = i; j <= s.size(); j += 5) {
      SseParser p;
      EXPECT_EQ(FeedAll(p, {s.substr(0, i), s.substr(i, j - i), s.substr(j)}),
                kWant)
          << "split at " << i << "," << j;
    }
  }
}

TEST(SseTest, NoDispatchWithoutBlankLine) {
  SseParser p;
  EXPECT_TRUE(FeedAll(p, {"data: pending\n"}).empty());
  EXPECT_EQ(FeedAll(p, {"\n"}).size(), 1u);
}

TEST(SseTest, GapDropsTheEventAndResyncsAtABlankLine) {
  SseParser p;
  auto out = FeedAll(p, {"data: a\n\ndata: b-par"});
  p.Gap();
  auto more = FeedAll(p, {"tial\ndata: still b\n\ndata: c\n\n"});
  out.insert(out.end(), more.begin(), more.end());
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].data, "a");
  EXPECT_EQ(out[1].data, "c");
  EXPECT_EQ(p.counters().gaps, 1u);
}

TEST(SseTest, OversizeEventDropped) {
  SseParser p(32);
  auto out = FeedAll(p, {"data: " + std::string(100, 'x') + "\n\ndata: ok\n\n"});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].data, "ok");
  EXPECT_EQ(p.counters().oversize, 1u);
}

TEST(SseTest, IdWithNulIgnoredAndBadRetryIgnored) {
  SseParser p;
  static const char kIn[] = "id: 1\ndata: x\n\nid: a\0b\nretry: 1x\ndata: y\n\n";
  auto out = FeedAll(p, {std::string(kIn, sizeof(kIn) - 1)});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[1].id, "1");
  EXPECT_FALSE(out[1].retry.has_value());
}

}  // namespace
}  // namespace agentwatch
