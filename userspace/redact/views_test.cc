#include "redact/views.h"

#include <random>

#include <gtest/gtest.h>

namespace agentwatch {
namespace {

// Base64RunStarts (64 bytes per step) against a byte-by-byte count, on
// runs placed across the 64-byte steps.
TEST(Views, Base64RunStartsAgreeWithACount) {
  std::mt19937 rng(11);
  for (int round = 0; round < 300; ++round) {
    std::string text;
    const size_t len = rng() % 400;
    for (size_t i = 0; i < len; ++i) {
      // Mostly base64 bytes, with separators at random (runs of all lengths).
      const uint32_t r = rng() % 100;
      text.push_back(r < 3 ? ' ' : r < 5 ? '"' : r < 6 ? '\xc3' : "aZ09+/-_"[rng() % 8]);
    }
    std::vector<size_t> want;
    size_t run = 0;
    for (size_t i = 0; i < text.size(); ++i) {
      run = kBase64Bytes[static_cast<unsigned char>(text[i])] ? run + 1 : 0;
      if (run == 24) want.push_back(i + 1 - 24);
    }
    std::vector<size_t> got;
    Base64RunStarts(text, &got);
    ASSERT_EQ(got, want) << text;
  }
}

// The same where runs of about 24 bytes are the most (the step that skips
// 64 bytes holding no two whole aligned bytes of base64 side by side),
// with each length and each start before and after a step's boundary.
TEST(Views, Base64RunStartsAtTheBoundOfTheSkip) {
  for (size_t lead = 0; lead < 80; ++lead) {
    for (size_t len = 14; len < 34; ++len) {
      std::string text(lead, ' ');
      for (int k = 0; k < 4; ++k) text += std::string(len, 'a') + ' ';
      std::vector<size_t> want;
      size_t run = 0;
      for (size_t i = 0; i < text.size(); ++i) {
        run = kBase64Bytes[static_cast<unsigned char>(text[i])] ? run + 1 : 0;
        if (run == 24) want.push_back(i + 1 - 24);
      }
      std::vector<size_t> got;
      Base64RunStarts(text, &got);
      ASSERT_EQ(got, want) << lead << " " << len;
    }
  }
}

TEST(Views, JsonUnescapeMapsEachByteBack) {
  const std::string raw = R"(a\nb\"c\u0041\u00e9\ud83d\ude00d)";
  DecodedView v;
  ASSERT_TRUE(JsonUnescapeView(raw, &v));
  EXPECT_EQ(v.text, "a\nb\"cA\xc3\xa9\xf0\x9f\x98\x80" "d");
  ASSERT_EQ(v.begin.size(), v.text.size());
  // "\n" decodes from raw[1,3).
  EXPECT_EQ(v.MapBegin(1), 1u);
  EXPECT_EQ(v.MapEnd(2), 3u);
  // 'A' from \u0041 at raw[7,13).
  const size_t a = v.text.find('A');
  EXPECT_EQ(v.MapBegin(a), 7u);
  EXPECT_EQ(v.MapEnd(a + 1), 13u);
  // The emoji's four bytes all map to the surrogate pair (12 raw bytes).
  const size_t e = v.text.find("\xf0");
  EXPECT_EQ(v.MapBegin(e), raw.find("\\ud83d"));
  EXPECT_EQ(v.MapEnd(e + 4), raw.find("d", raw.find("\\ude00") + 6) );
  EXPECT_EQ(v.text.back(), 'd');
  EXPECT_EQ(v.MapEnd(v.text.size()), raw.size());
}

TEST(Views, NoEscapeNoView) {
  DecodedView v;
  EXPECT_FALSE(JsonUnescapeView("plain text", &v));
  EXPECT_FALSE(JsonUnescapeView("a\\qb", &v));  // not a JSON escape
  EXPECT_FALSE(PercentDecodeView("100% sure", &v));
}

TEST(Views, LoneSurrogateAndTruncatedEscapes) {
  DecodedView v;
  ASSERT_TRUE(JsonUnescapeView(R"(x\ud800y\u12)", &v));
  EXPECT_EQ(v.text, "x\xef\xbf\xbdy\\u12");
}

TEST(Views, NestedJsonComposes) {
  // {"text":"{\"k\":\"a\\nb\"}"} as the raw bytes of a result.
  const std::string raw = R"({"text":"{\"k\":\"a\\nb\"}"})";
  DecodedView one;
  ASSERT_TRUE(JsonUnescapeView(raw, &one));
  EXPECT_EQ(one.text, R"({"text":"{"k":"a\nb"}"})");
  DecodedView two;
  ASSERT_TRUE(JsonUnescapeView(one.text, &two));
  ComposeView(one, &two);
  const size_t nl = two.text.find('\n');
  ASSERT_NE(nl, std::string::npos);
  // The newline came from the three raw bytes \\n.
  EXPECT_EQ(raw.substr(two.MapBegin(nl), two.MapEnd(nl + 1) - two.MapBegin(nl)), "\\\\n");
}

TEST(Views, PercentDecoding) {
  DecodedView v;
  ASSERT_TRUE(PercentDecodeView("/cb?token=ab%2Fcd%3d&x=%zz%4", &v));
  EXPECT_EQ(v.text, "/cb?token=ab/cd=&x=%zz%4");
  const size_t slash = v.text.find("/cd");
  EXPECT_EQ(v.MapBegin(slash), 12u);
  EXPECT_EQ(v.MapEnd(slash + 1), 15u);
}

TEST(Views, Base64RunsThatDecodeToText) {
  // "password=hunter2-but-longer-than-that" in base64, inside other text.
  const std::string b64 = "cGFzc3dvcmQ9aHVudGVyMi1idXQtbG9uZ2VyLXRoYW4tdGhhdA==";
  const std::string raw = "data: " + b64 + " end, and a binary-looking one: ////////////////////////////";
  const auto runs = FindBase64Text(raw);
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].begin, 6u);
  EXPECT_EQ(runs[0].end, 6 + b64.size());
  EXPECT_EQ(runs[0].decoded, "password=hunter2-but-longer-than-that");
  EXPECT_TRUE(FindBase64Text("short: aGVsbG8=").empty());
}

}  // namespace
}  // namespace agentwatch
