#include "mcp/ndjson.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace agentwatch {
namespace {

// Frames as text; a cut frame (a line's head) is prefixed "CUT:".
std::string Text(const NdjsonFramer::Frame& fr) {
  return (fr.cut ? "CUT:" : "") + std::string(fr.bytes);
}

std::vector<std::string> FeedAll(NdjsonFramer& f,
                                 const std::vector<std::string_view>& parts) {
  std::vector<std::string> out;
  for (auto p : parts) {
    f.Feed(p, [&](const NdjsonFramer::Frame& fr) { out.push_back(Text(fr)); });
  }
  return out;
}

std::vector<std::string> GapAll(NdjsonFramer& f) {
  std::vector<std::string> out;
  f.Gap([&](const NdjsonFramer::Frame& fr) { out.push_back(Text(fr)); });
  return out;
}

const std::string kStream =
    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\"}\n"
    "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\r\n"
    "\n"
    "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/list\",\"params\":{}}\n";
const std::vector<std::string> kFrames = {
    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\"}",
    "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}",
    "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/list\",\"params\":{}}",
};

TEST(NdjsonTest, ManyMessagesInOneChunk) {
  NdjsonFramer f;
  EXPECT_EQ(FeedAll(f, {kStream}), kFrames);
  EXPECT_EQ(f.counters().frames, 3u);
  EXPECT_EQ(f.counters().empty_lines, 1u);
  EXPECT_EQ(f.buffered(), 0u);
}

TEST(NdjsonTest, SplitAtEveryPosition) {
  std::string_view s = kStream;
  for (size_t i = 0; i <= s.size(); ++i) {
    for (size_t j = i; j <= s.size(); j += 7) {
      NdjsonFramer f;
      EXPECT_EQ(FeedAll(f, {s.substr(0, i), s.substr(i, j - i), s.substr(j)}),
                kFrames)
          << "split at " << i << "," << j;
    }
  }
}

TEST(NdjsonTest, ByteByByte) {
  NdjsonFramer f;
  std::vector<std::string_view> parts;
  for (size_t i = 0; i < kStream.size(); ++i) parts.push_back({&kStream[i], 1});
  EXPECT_EQ(FeedAll(f, parts), kFrames);
}

TEST(NdjsonTest, GapCutsThePartialLineAndResyncs) {
  NdjsonFramer f;
  auto out = FeedAll(f, {"{\"a\":1}\n{\"b\":"});
  auto cut = GapAll(f);
  EXPECT_EQ(cut, (std::vector<std::string>{"CUT:{\"b\":"})) << "its head, marked";
  EXPECT_EQ(f.state(), NdjsonFramer::State::kAfterGap);
  // After the gap: the tail of some line, then whole lines.
  auto more = FeedAll(f, {"2}\n{\"c\":3}\n"});
  out.insert(out.end(), more.begin(), more.end());
  EXPECT_EQ(out, (std::vector<std::string>{"{\"a\":1}", "{\"c\":3}"}));
  EXPECT_EQ(f.counters().gaps, 1u);
  EXPECT_EQ(f.state(), NdjsonFramer::State::kInLine);
  // A partial line that opens no JSON is dropped, not cut.
  FeedAll(f, {"noise"});
  EXPECT_TRUE(GapAll(f).empty());
}

// A message cut at the capture limit (the rest of its write never seen):
// the next write starts a message, which is kept.
TEST(NdjsonTest, GapAtAMessageBoundaryKeepsTheNextMessage) {
  NdjsonFramer f;
  auto out = FeedAll(f, {"{\"big\":\"aaaa"});
  auto cut = GapAll(f);
  out.insert(out.end(), cut.begin(), cut.end());
  auto more = FeedAll(f, {"{\"next\":1}\n", "{\"then\":2}\n"});
  out.insert(out.end(), more.begin(), more.end());
  EXPECT_EQ(out, (std::vector<std::string>{"CUT:{\"big\":\"aaaa", "{\"next\":1}",
                                           "{\"then\":2}"}));
  // A gap that ends inside a nested object: that line is one bad frame,
  // and framing goes on after it.
  GapAll(f);
  more = FeedAll(f, {"{\"inner\":1}}\n{\"ok\":3}\n"});
  EXPECT_EQ(more, (std::vector<std::string>{"{\"inner\":1}}", "{\"ok\":3}"}));
}

TEST(NdjsonTest, OversizeLineKeepsItsHeadThenFramingContinues) {
  NdjsonFramer f(16);
  auto out = FeedAll(f, {"{\"x\":\"0123456789", "0123456789\"}\n{\"ok\":1}\n"});
  EXPECT_EQ(out, (std::vector<std::string>{"CUT:{\"x\":\"0123456789", "{\"ok\":1}"}));
  EXPECT_EQ(f.counters().oversize, 1u);
  NdjsonFramer g(16);
  out = FeedAll(g, {"{\"x\":\"0123456789abcdef\"}\n{\"ok\":2}\n"});
  EXPECT_EQ(out, (std::vector<std::string>{"CUT:{\"x\":\"0123456789", "{\"ok\":2}"}));
  EXPECT_EQ(g.counters().oversize, 1u);
  EXPECT_EQ(g.counters().cut_frames, 1u);
}

TEST(NdjsonTest, BinaryGarbageIsFramedNotJudged) {
  NdjsonFramer f;
  std::string junk("\x00\xff\x01\n", 4);
  auto out = FeedAll(f, {junk});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0], std::string("\x00\xff\x01", 3));
}

}  // namespace
}  // namespace agentwatch
