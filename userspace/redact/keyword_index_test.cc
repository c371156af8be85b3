#include "redact/keyword_index.h"

#include <set>
#include <utility>

#include <gtest/gtest.h>

namespace agentwatch {
namespace {

std::vector<std::pair<uint32_t, size_t>> Hits(const KeywordIndex& k, std::string_view t) {
  std::vector<std::pair<uint32_t, size_t>> out;
  k.Scan(t, [&](uint32_t kw, size_t end) { out.emplace_back(kw, end); });
  return out;
}

TEST(KeywordIndex, OverlappingAndCaseInsensitive) {
  KeywordIndex k({"he", "she", "his", "hers", "GHP_"});
  const auto h = Hits(k, "uShers ghp_x GHP_y");
  // she@4, he@4, hers@6, ghp_@11, GHP_@17
  std::multiset<std::pair<uint32_t, size_t>> got(h.begin(), h.end());
  std::multiset<std::pair<uint32_t, size_t>> want = {{1, 4}, {0, 4}, {3, 6}, {4, 11}, {4, 17}};
  EXPECT_EQ(got, want);
  EXPECT_TRUE(k.Any("xxHISxx"));
  EXPECT_FALSE(k.Any("xyz only"));
  std::vector<bool> seen;
  k.Seen("HeRs", &seen);
  EXPECT_EQ(seen, (std::vector<bool>{true, false, false, true, false}));
}

TEST(KeywordIndex, AgreesWithNaiveSearchOnEveryOffset) {
  const std::vector<std::string> words = {"token", "tok", "ken", "api_key", "key", "aaa", "a"};
  KeywordIndex k(words);
  const std::string text = "xTOKENapi_keyaaaaKeYtokentok-ken";
  std::multiset<std::pair<uint32_t, size_t>> naive;
  std::string lower = text;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (uint32_t w = 0; w < words.size(); ++w) {
    for (size_t at = lower.find(words[w]); at != std::string::npos; at = lower.find(words[w], at + 1))
      naive.emplace(w, at + words[w].size());
  }
  const auto h = Hits(k, text);
  const std::multiset<std::pair<uint32_t, size_t>> got(h.begin(), h.end());
  EXPECT_EQ(got, naive);
}

TEST(KeywordIndex, EmptyAndBinary) {
  KeywordIndex k({"", "\xff\x00z"});
  EXPECT_FALSE(k.Any(""));
  EXPECT_FALSE(k.Any(std::string_view("\x00\x01\x02", 3)));
}

}  // namespace
}  // namespace agentwatch
