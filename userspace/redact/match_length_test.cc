#include "redact/match_length.h"

#include <gtest/gtest.h>

#include <cstdint>

namespace agentwatch {
namespace {

TEST(MaxMatchLength, CountsWhatTheRegexCanMatchAtMost) {
  EXPECT_EQ(MaxMatchLength("abc"), 3u);
  EXPECT_EQ(MaxMatchLength("\\b(ghp_[A-Za-z0-9]{36,251})\\b"), 4u + 251u);
  EXPECT_EQ(MaxMatchLength("(?:ab|abcd)e?"), 5u);
  EXPECT_EQ(MaxMatchLength("a{3}"), 3u);
  EXPECT_EQ(MaxMatchLength("^x$"), 1u);
  EXPECT_EQ(MaxMatchLength("(?P<v>[0-9]{2})"), 2u);
}

TEST(MaxMatchLength, MultiByteCharactersAreNotUnderestimated) {
  // . \S and negated classes can match a 4-byte character; under (?i) an
  // ASCII letter also matches a longer one (K, the Kelvin sign).
  EXPECT_EQ(MaxMatchLength("."), 4u);
  EXPECT_EQ(MaxMatchLength("\\S{2}"), 8u);
  EXPECT_EQ(MaxMatchLength("[^a]"), 4u);
  EXPECT_EQ(MaxMatchLength("[\\S]"), 4u);
  EXPECT_EQ(MaxMatchLength("(?i)k"), 3u);
}

TEST(MaxMatchLength, UnboundedOrUnknownIsUnbounded) {
  EXPECT_EQ(MaxMatchLength("a+"), SIZE_MAX);
  EXPECT_EQ(MaxMatchLength("a*b"), SIZE_MAX);
  EXPECT_EQ(MaxMatchLength("a{2,}"), SIZE_MAX);
  EXPECT_EQ(MaxMatchLength("(ab"), SIZE_MAX);  // not a regex
  EXPECT_EQ(MaxMatchLength("["), SIZE_MAX);
  EXPECT_EQ(MaxMatchLength("\\Qa"), SIZE_MAX);
}

}  // namespace
}  // namespace agentwatch
