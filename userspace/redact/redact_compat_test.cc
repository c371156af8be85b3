#include "redact/redact.h"

#include <re2/re2.h>

#include <gtest/gtest.h>

namespace agentwatch {
namespace {

// The cases the first redactor was held to, with the built-in catalogue:
// each mask (kind and fingerprint) read as the old "[REDACTED]".
std::string Redact(std::string_view text, size_t max_len) {
  std::string s = agentwatch::Redact(text, max_len);
  RE2::GlobalReplace(&s, R"(\[REDACTED:[a-z0-9-]+:[0-9a-f]{6}\])", "[REDACTED]");
  return s;
}

TEST(RedactCompatTest, SecretKeys) {
  EXPECT_EQ(Redact(R"({"user":"bob","password":"hunter2","API_KEY":"x\"y"})", 1000),
            R"({"user":"bob","password":"[REDACTED]","API_KEY":"[REDACTED]"})");
  EXPECT_EQ(Redact(R"({"headers":{"Authorization": "Bearer abc"}})", 1000),
            R"({"headers":{"Authorization": "[REDACTED]"}})");
  EXPECT_EQ(Redact(R"({"path":"/etc/hosts"})", 1000), R"({"path":"/etc/hosts"})");
}

TEST(RedactCompatTest, SecretShapes) {
  EXPECT_EQ(Redact("aws AKIAIOSFODNN7EXAMPLE here", 1000), "aws [REDACTED] here");
  EXPECT_EQ(Redact("ghp_abcdefghijklmnopqrstuvwxyz0123456789", 1000), "[REDACTED]");
  EXPECT_EQ(Redact(R"({"text":"-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----"})", 1000),
            R"({"text":"[REDACTED]"})");
  EXPECT_EQ(Redact("see https://bob:s3cret@example.com/x", 1000),
            "see https://bob:[REDACTED]@example.com/x");
  EXPECT_EQ(Redact("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N", 1000),
            "[REDACTED]");
}

TEST(RedactCompatTest, PlainKeyValueSecrets) {
  // INI, env files, headers and query strings, outside JSON.
  EXPECT_EQ(Redact("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\nregion = x", 1000),
            "aws_secret_access_key = [REDACTED]\nregion = x");
  EXPECT_EQ(Redact("DB_PASSWORD=hunter22 PORT=5432", 1000), "DB_PASSWORD=[REDACTED] PORT=5432");
  EXPECT_EQ(Redact("Authorization: Bearer abcdef123456\r\nHost: x", 1000),
            "Authorization: Bearer [REDACTED]\r\nHost: x");
  EXPECT_EQ(Redact("GET /x?api_key=0123456789abcdef&q=1", 1000), "GET /x?api_key=[REDACTED]&q=1");
  EXPECT_EQ(Redact(R"({"password": "x1y2"})", 1000), R"({"password": "[REDACTED]"})")
      << "JSON keeps its own rule";
  EXPECT_EQ(Redact("the token is fine", 1000), "the token is fine");
}

TEST(RedactCompatTest, BoundedAtUtf8Boundary) {
  std::string s = "ab\xC3\xA9" "cd";  // é is two bytes
  EXPECT_EQ(Redact(s, 3), "ab…[+4 bytes]");
  EXPECT_EQ(Redact(s, 100), s);
}

}  // namespace
}  // namespace agentwatch
