#include "redact/keyword_index.h"

#include <random>
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
  // she@4, he@4, hers@6, GHP_@17 (written in upper case: that case only)
  std::multiset<std::pair<uint32_t, size_t>> got(h.begin(), h.end());
  std::multiset<std::pair<uint32_t, size_t>> want = {{1, 4}, {0, 4}, {3, 6}, {4, 17}};
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

// The Hyperscan scan and the automaton report the same hits in the same
// order, on random keywords over a small alphabet (many overlaps) and
// random texts of every length around Hyperscan's block sizes.
TEST(KeywordIndex, HyperscanAgreesWithTheAutomaton) {
  std::mt19937 rng(7);
  const std::string alphabet("abAB_-\0\xff", 8);
  auto word = [&](size_t len) {
    std::string w;
    for (size_t i = 0; i < len; ++i) w.push_back(alphabet[rng() % alphabet.size()]);
    return w;
  };
  for (int round = 0; round < 50; ++round) {
    std::vector<std::string> words;
    for (int i = 0; i < 1 + static_cast<int>(rng() % 30); ++i) words.push_back(word(1 + rng() % 6));
    words.push_back(words.front());  // a duplicate: both reported
    KeywordIndex k(words);
    for (size_t len : {0, 1, 15, 16, 17, 63, 64, 65, 200, 1000}) {
      const std::string text = word(len);
      std::vector<KeywordIndex::Hit> fast, slow;
      k.Hits(text, &fast);
      k.AutomatonHits(text, &slow);
      ASSERT_EQ(fast, slow) << "round " << round << " length " << len;
    }
  }
  // Hyperscan did scan (on a CPU it does not support, the automaton was
  // compared with itself).
  EXPECT_TRUE(KeywordIndex({"token", "ghp_"}).accelerated());
}

TEST(KeywordIndex, EmptyAndBinary) {
  KeywordIndex k({"", "\xff\x00z"});
  EXPECT_FALSE(k.Any(""));
  EXPECT_FALSE(k.Any(std::string_view("\x00\x01\x02", 3)));
}

}  // namespace
}  // namespace agentwatch
