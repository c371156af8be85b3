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

TEST(FollowingClass, TheClassAfterALeadingKeyword) {
  std::bitset<256> f;
  ASSERT_EQ(FollowingClass("\\b(ghp_[A-Za-z0-9]{36})\\b", "ghp_", &f), 8u);  // at most 8
  EXPECT_TRUE(f['a'] && f['Z'] && f['0']);
  EXPECT_FALSE(f['"'] || f['-'] || f[' '] || f['_']);
  // An escape may stand for a byte of the class; UTF-8 may be in it.
  EXPECT_TRUE(f['\\'] && f['%'] && f[0xC3]);
  EXPECT_EQ(FollowingClass("(dapi[0-9a-f]{3,40})", "dapi", &f), 3u);
  EXPECT_TRUE(f['c'] && !f['g']);
  EXPECT_EQ(FollowingClass("xoxb-[0-9-]+", "xoxb-", &f), 1u);
}

TEST(FollowingClass, NothingWhereTheKeywordDoesNotLeadOrNoClassFollows) {
  std::bitset<256> f;
  EXPECT_EQ(FollowingClass("(?i:ghp_)[a-z]{36}", "ghp_", &f), 0u);   // flags first
  EXPECT_EQ(FollowingClass("x?ghp_[a-z]{36}", "ghp_", &f), 0u);      // not where it starts
  EXPECT_EQ(FollowingClass("(?:ghp|gho)_[a-z]{36}", "ghp", &f), 0u);  // an alternative
  EXPECT_EQ(FollowingClass("ghp_[^a]{36}", "ghp_", &f), 0u);          // a negated class
  EXPECT_EQ(FollowingClass("ghp_[a-z]*", "ghp_", &f), 0u);            // may be empty
  EXPECT_EQ(FollowingClass("ghp_[a-z]{0,4}", "ghp_", &f), 0u);
  EXPECT_EQ(FollowingClass("ghp_\\w{36}", "ghp_", &f), 0u);          // not a bracket class
  EXPECT_EQ(FollowingClass("ghp_[[:alpha:]]{36}", "ghp_", &f), 0u);   // not read: no check
  EXPECT_EQ(FollowingClass("zq_[0-9]{8}|zq_live[a-z]{6}", "zq_", &f), 0u);  // an alternative
  EXPECT_EQ(FollowingClass("zq_[0-9|]{8}", "zq_", &f), 8u);  // | in a class is no alternative
}

TEST(FollowingClass, WhetherTheClassIsAsciiOnly) {
  std::bitset<256> f;
  bool ascii = false;
  ASSERT_EQ(FollowingClass("\\b(AC[0-9a-f]{32})\\b", "AC", &f, &ascii), 8u);
  EXPECT_TRUE(ascii);
  EXPECT_TRUE(f['\\'] && f['%'] && f[0xC3]);  // still counted by the check
  ASSERT_EQ(FollowingClass("\\b(AC[0-9a-f\\x{e9}]{32})\\b", "AC", &f, &ascii), 8u);
  EXPECT_FALSE(ascii);  // an escape in the class
  ASSERT_EQ(FollowingClass("\\b(AC[0-9a-fé]{32})\\b", "AC", &f, &ascii), 8u);
  EXPECT_FALSE(ascii);
}

TEST(RequiredLiterals, TheLongLiteralsEveryMatchHoldsOneOf) {
  using V = std::vector<std::string>;
  EXPECT_EQ(RequiredLiterals("\\b(EZ[AT]K[0-9a-zA-Z]{54})\\b", 3), (V{"ezak", "eztk"}));
  EXPECT_EQ(RequiredLiterals("[A-Za-z0-9_~.]{3}[0-9]Q~[A-Za-z0-9_~.-]{31,34}", 3).size(), 10u);
  // The atoms of a required alternative ($1$, $6$ ...) when the
  // keyword's own (:) is shorter.
  const V shadow = RequiredLiterals("[a-z_]{1,32}:(\\$(?:1|6|y)\\$[A-Za-z0-9./]{16,300}):", 3);
  EXPECT_EQ(shadow, (V{"$1$", "$6$", "$y$"}));
  // Nothing that long, or a match that holds none of them.
  EXPECT_TRUE(RequiredLiterals("\\b(AC[0-9a-f]{32})\\b", 3).empty());
  EXPECT_TRUE(RequiredLiterals("abc|x[0-9]+", 3).empty());
  EXPECT_TRUE(RequiredLiterals("[a-z]{8}", 3).empty());
}

TEST(RequiredLiteral, WhatEveryMatchHolds) {
  EXPECT_TRUE(RequiredLiteral("(?i:aws_?session_?token|session_?token)=([A-Z]{10})", "token"));
  EXPECT_TRUE(RequiredLiteral("[a-z]+://[^:]+:([^@]+)@", "@"));
  EXPECT_FALSE(RequiredLiteral("\\b((?:AKIA|ASIA)[0-9A-Z]{16})", "asia"));
  EXPECT_FALSE(RequiredLiteral("zq_[0-9]{8}|zq_live[a-z]{6}", "live"));
  EXPECT_FALSE(RequiredLiteral("[a-z]{8}", "abc"));  // no literal to tell by
}

}  // namespace
}  // namespace agentwatch
