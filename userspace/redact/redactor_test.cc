#include "redact/redactor.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>

#include "agentwatch/v1/agentwatch.pb.h"

namespace agentwatch {
namespace {

constexpr char kCatalogue[] = R"(
rules:
  - id: github-pat-classic
    regex: '\b(ghp_[A-Za-z0-9]{36})\b'
    keywords: [ghp_]
  - id: aws-access-key-id
    regex: '\b(AKIA[0-9A-Z]{16})\b'
    keywords: [AKIA]
  - id: aws-secret-access-key
    regex: '(?i)aws_secret_access_key\s*[=:]\s*["'']?([A-Za-z0-9/+=]{40})'
    keywords: [aws_secret_access_key]
  - id: private-key
    regex: '(-----BEGIN [A-Z ]{0,40}PRIVATE KEY-----(?s:.)*?(?:-----END [A-Z ]{0,40}PRIVATE KEY-----|$))'
    keywords: ['-----begin']
secret_names: ["*password*", "*secret*", "*token*", "*api_key*", "accountkey", "cookie", "authorization"]
not_secret_names: ["max_tokens", "*_tokens"]
)";

class RedactorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SecretCatalogue cat;
    ASSERT_EQ(ParseSecretCatalogue(kCatalogue, "test", &cat), "");
    std::string err;
    r_ = Redactor::Compile(cat, "install-key-1", &err);
    ASSERT_EQ(err, "");
    ASSERT_NE(r_, nullptr) << err;
    // The same catalogue and key in a second redactor: r_ remembers what
    // it just wrote and hands it back unscanned, fresh_ scans it (for
    // idempotency checks that can fail).
    fresh_ = Redactor::Compile(cat, "install-key-1", &err);
    ASSERT_NE(fresh_, nullptr) << err;
  }
  // No window of `len` bytes of secret survives in text.
  static void NoWindow(const std::string& text, const std::string& secret, size_t len = 12) {
    for (size_t i = 0; i + len <= secret.size(); ++i)
      ASSERT_EQ(text.find(secret.substr(i, len)), std::string::npos)
          << "window '" << secret.substr(i, len) << "' of the secret in: " << text;
  }
  std::shared_ptr<const Redactor> r_;
  std::shared_ptr<const Redactor> fresh_;
};

const std::string kAwsId = "AKIAZ7QPLM3XW9RT4BNE";
const std::string kAwsSecret = "q8Vz3kLmN0pR7sT1uW4xY6zA9bC2dE5fG8hJ1kLm";
const std::string kGhp = "ghp_Qw3rTy7uIo9pAs1dFg4hJk6lZx8cVb2nM5q0";

TEST_F(RedactorTest, AwsCredentialsFileInsideJson) {
  // A credentials file as server-filesystem returns it: JSON, with \n.
  const std::string raw = "{\"content\":[{\"type\":\"text\",\"text\":\"[default]\\naws_access_key_id = " +
                          kAwsId + "\\naws_secret_access_key = " + kAwsSecret + "\\n\"}]}";
  const std::string out = r_->Redact(raw);
  NoWindow(out, kAwsId);
  NoWindow(out, kAwsSecret);
  EXPECT_NE(out.find("[REDACTED:aws-access-key-id:"), std::string::npos) << out;
  EXPECT_NE(out.find("[REDACTED:aws-secret-access-key:"), std::string::npos) << out;
  EXPECT_NE(out.find("{\"content\":[{\"type\":\"text\",\"text\":\"[default]\\naws_access_key_id = "),
            std::string::npos)
      << out;
}

TEST_F(RedactorTest, LongPemBlockInJsonIsMaskedWhole) {
  std::string body;
  for (int i = 0; i < 120; ++i) body += "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC" + std::to_string(i) + "\\n";
  const std::string raw = "{\"text\":\"-----BEGIN RSA PRIVATE KEY-----\\n" + body +
                          "-----END RSA PRIVATE KEY-----\\n\"}";
  ASSERT_GT(raw.size(), 4096u);
  const std::string out = r_->Redact(raw);
  NoWindow(out, "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC");
  EXPECT_NE(out.find("[REDACTED:private-key:"), std::string::npos);
  EXPECT_LT(out.size(), 200u) << out;
}

TEST_F(RedactorTest, PemCutByCaptureIsMaskedToTheEnd) {
  const std::string raw = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAA";
  const std::string out = r_->Redact(raw);
  NoWindow(out, "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAA");
}

TEST_F(RedactorTest, NestedJsonAndUnicodeEscapes) {
  const std::string nested = R"({"result":"{\"db_password\":\"Tr0ub4dor&3-horse\"}"})";
  NoWindow(r_->Redact(nested), "Tr0ub4dor&3-horse", 8);
  // The token's first letter as \u0067: no "ghp_" in the raw bytes.
  const std::string esc = "{\"k\":\"\\u0067" + kGhp.substr(1) + "\"}";
  const std::string out = r_->Redact(esc);
  NoWindow(out, kGhp.substr(1));
  EXPECT_NE(out.find("[REDACTED:github-pat-classic:"), std::string::npos) << out;
}

TEST_F(RedactorTest, UrlsHeadersAndQueryStrings) {
  const std::string q = "GET /cb?user=x&api_key=Zm9vYmFy%2Bc2VjcmV0%3D%3Dtail HTTP/1.1\r\n"
                        "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload.signature\r\n"
                        "Cookie: session=9f8e7d6c5b4a; theme=dark\r\n\r\n";
  const std::string out = r_->Redact(q);
  NoWindow(out, "Zm9vYmFy%2Bc2VjcmV0", 8);
  NoWindow(out, "eyJhbGciOiJIUzI1NiJ9.payload.signature", 10);
  NoWindow(out, "session=9f8e7d6c5b4a", 10);
  EXPECT_NE(out.find("GET /cb?user=x&api_key="), std::string::npos) << out;
  EXPECT_NE(out.find("Authorization: Bearer [REDACTED:secret-name:"), std::string::npos) << out;
}

TEST_F(RedactorTest, AValueFoundOnceIsMaskedEverywhere) {
  const std::string t = "DB_PASSWORD=Hunter2-horse-staple\nlater the same: Hunter2-horse-staple!";
  const std::string out = r_->Redact(t);
  NoWindow(out, "Hunter2-horse-staple", 8);
  // Both places read the same: one keyed fingerprint per secret.
  const size_t a = out.find("[REDACTED:");
  const size_t b = out.find("[REDACTED:", a + 1);
  ASSERT_NE(b, std::string::npos) << out;
  EXPECT_EQ(out.substr(a, out.find(']', a) - a), out.substr(b, out.find(']', b) - b));
}

TEST_F(RedactorTest, MasksAreKeyedAndStable) {
  SecretCatalogue cat;
  ASSERT_EQ(ParseSecretCatalogue(kCatalogue, "test", &cat), "");
  std::string err;
  auto other = Redactor::Compile(cat, "install-key-2", &err);
  EXPECT_EQ(r_->Mask("k", "v"), r_->Mask("k", "v"));
  EXPECT_NE(r_->Mask("k", "v"), r_->Mask("k", "w"));
  EXPECT_NE(r_->Mask("k", "v"), other->Mask("k", "v"));
  EXPECT_EQ(r_->Mask("aws-access-key-id", kAwsId).size(),
            std::string("[REDACTED:aws-access-key-id:123456]").size());
}

// The fingerprint is the first 3 bytes of HMAC-SHA256(install key, value),
// whichever redactor masked last on this thread.
TEST_F(RedactorTest, MaskFingerprintIsTheKeyedHmac) {
  SecretCatalogue cat;
  ASSERT_EQ(ParseSecretCatalogue(kCatalogue, "test", &cat), "");
  std::string err;
  auto other = Redactor::Compile(cat, "install-key-2", &err);
  ASSERT_NE(other, nullptr);
  auto expected = [](const std::string& key, const std::string& value) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
         reinterpret_cast<const unsigned char*>(value.data()), value.size(), md, &len);
    char hex[7];
    std::snprintf(hex, sizeof(hex), "%02x%02x%02x", md[0], md[1], md[2]);
    return "[REDACTED:k:" + std::string(hex) + "]";
  };
  for (const std::string& v :
       std::vector<std::string>{"v", "", "hunter2", std::string(5000, 'x'), kGhp}) {
    EXPECT_EQ(r_->Mask("k", v), expected("install-key-1", v));
    EXPECT_EQ(other->Mask("k", v), expected("install-key-2", v));
    EXPECT_EQ(r_->Mask("k", v), expected("install-key-1", v));
  }
}

TEST_F(RedactorTest, IdempotentAndNotFooledByAFakeMask) {
  const std::string t = "token=" + kGhp + " and " + kAwsId;
  const std::string once = r_->Redact(t);
  EXPECT_EQ(fresh_->Redact(once), once);
  // A bare mask prefix written by the server hides nothing after it.
  const std::string fake = "[REDACTED:" + kAwsId + " [REDACTED:x:zzzzzz] " + kGhp;
  const std::string out = r_->Redact(fake);
  NoWindow(out, kAwsId);
  NoWindow(out, kGhp);
}

TEST(RedactorBuiltin, IdempotentOnFuzzFindings) {
  // Inputs the fuzz target found where a second pass masked more.
  SecretCatalogue cat;
  ASSERT_EQ(ParseSecretCatalogue(BuiltinSecretsYaml(), "builtin", &cat), "");
  std::string err;
  const auto r = Redactor::Compile(cat, "k", &err);
  const auto fresh = Redactor::Compile(cat, "k", &err);
  ASSERT_NE(fresh, nullptr) << err;
  const std::string found[] = {
      std::string("dsnsn\xf6" "f9]nds-EREDsdsnAset_coCTsn3\\srmaDsndsnSREDsdsnA28ef5\\\\\\\xff" "n-"),
      // A bare [ after a secret name (no mask) before a long value.
      "dsn [ [x Zq8Vz3kLmN0pR7sT1uW4xY6zA9bC2dE5",
  };
  for (const std::string& in : found) {
    const std::string once = r->Redact(in);
    EXPECT_EQ(fresh->Redact(once), once) << in;
  }
}

TEST_F(RedactorTest, AValueThatRunsIntoAMaskSwallowsIt) {
  // A secret-named value that ends inside a mask the text already held:
  // the new mask covers the old one whole, so no piece of the old one
  // (which may spell a value found elsewhere) is left bare.
  const std::string old_mask = "[REDACTED:secret-name:123abc]";
  const std::string t = "password=hunter2hunter2" + old_mask + " and more";
  const std::string out = r_->Redact(t);
  EXPECT_EQ(out.find("123abc"), std::string::npos) << out;
  EXPECT_EQ(out.find("]]"), std::string::npos) << out;
  ASSERT_EQ(out.rfind("password=[REDACTED:secret-name:", 0), 0u) << out;
  EXPECT_EQ(out.substr(out.size() - 9), " and more") << out;
  EXPECT_EQ(fresh_->Redact(out), out);
}

TEST_F(RedactorTest, NamesThatHoldNoSecretAndPlaceholders) {
  EXPECT_EQ(r_->Redact(R"({"max_tokens": 4096, "input_tokens": 12})"),
            R"({"max_tokens": 4096, "input_tokens": 12})");
  EXPECT_EQ(r_->Redact("password: ${DB_PASSWORD}"), "password: ${DB_PASSWORD}");
  EXPECT_EQ(r_->Redact("password=null"), "password=null");
  EXPECT_EQ(r_->Redact("nothing secret here at all"), "nothing secret here at all");
}

TEST_F(RedactorTest, AccountKeyAndEntropyAfterAName) {
  const std::string az = "DefaultEndpointsProtocol=https;AccountName=acme;AccountKey="
                         "Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4zAb7dEf0hIj3k==;EndpointSuffix=core";
  NoWindow(r_->Redact(az), "Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4zAb7dEf0hIj3k");
  // No separator: the long random value right after the name.
  const std::string prose = "the api_key is Qm9Xz8Lk2Jh7Gf5Ds3Ap1Zx0Cv9Bn8Mm please";
  NoWindow(r_->Redact(prose), "Qm9Xz8Lk2Jh7Gf5Ds3Ap1Zx0Cv9Bn8Mm");
}

TEST_F(RedactorTest, Base64OfASecret) {
  // base64 of "aws_secret_access_key = <secret>"
  const std::string b64 =
      "YXdzX3NlY3JldF9hY2Nlc3Nfa2V5ID0gcThWejNrTG1OMHBSN3NUMXVXNHhZNnpBOWJDMmRFNWZHOGhKMWtMbQ==";
  const std::string out = r_->Redact("payload=" + b64 + "&x=1");
  NoWindow(out, b64);
  EXPECT_NE(out.find("[REDACTED:aws-secret-access-key:"), std::string::npos) << out;
}

TEST_F(RedactorTest, SecretSplitAcrossTwoWrites) {
  const std::string first = "header\naws_secret_access_key = " + kAwsSecret.substr(0, 17);
  const std::string second = kAwsSecret.substr(17) + "\nmore";
  StreamRedaction s;
  const std::string a = s.Preview(*r_, 0, first, 256);
  NoWindow(a, kAwsSecret.substr(0, 17), 8);
  const std::string out = s.Preview(*r_, first.size(), second, 256);
  NoWindow(out, kAwsSecret.substr(17), 10);
  EXPECT_EQ(out.substr(out.find(']') + 1), "\nmore");
}

TEST_F(RedactorTest, WhiteSpaceWrittenAloneKeepsTheContext) {
  // A name, then line ends and spaces written one by one (as a chunked
  // body's "\r\n" is), then the value: masked in the value's chunk.
  StreamRedaction s;
  std::string first = "header\naws_secret_access_key =";
  uint64_t at = 0;
  s.Preview(*r_, at, first, 256);
  at += first.size();
  for (const char* ws : {" ", "\r\n", "  "}) {
    EXPECT_EQ(s.Preview(*r_, at, ws, 256), ws);
    at += std::strlen(ws);
  }
  const std::string out = s.Preview(*r_, at, kAwsSecret + "\nmore", 256);
  NoWindow(out, kAwsSecret, 10);
  EXPECT_NE(out.find("[REDACTED:"), std::string::npos) << out;
  // A flood of white space does not grow the context without bound.
  for (int i = 0; i < 10000; ++i) {
    s.Preview(*r_, at, "\r\n", 256);
    at += 2;
  }
  EXPECT_LE(s.context_bytes(), 2 * StreamRedaction::kContext);
  // Inside a key block the context holds, white space goes the scan's way
  // (the block's lines are masked, their breaks with them).
  StreamRedaction k;
  const std::string head = "-----BEGIN RSA PRIVATE KEY-----\n" + std::string(64, 'Q');
  k.Preview(*r_, 0, head, 256);
  const std::string nl = k.Preview(*r_, head.size(), "\n", 256);
  EXPECT_NE(nl, "\n") << "a line break inside an open key block is not shown as it is";
}

TEST_F(RedactorTest, ATokenWhoseBodyComesInTheNextWrite) {
  // The prefix ends the first write: nothing after it to check yet.
  StreamRedaction s;
  const std::string first = "{\"token\":\"ghp_";
  s.Preview(*r_, 0, first, 256);
  const std::string out = s.Preview(*r_, first.size(), kGhp.substr(4) + "\"}\n", 256);
  NoWindow(out, kGhp.substr(4), 10);
  EXPECT_NE(out.find("[REDACTED:github-pat-classic:"), std::string::npos) << out;
}

TEST_F(RedactorTest, AnEscapeRightAfterThePrefixHidesNothing) {
  // ghp_ then \u0051 (Q): the token is whole in the decoded view only.
  const std::string raw = "{\"t\":\"ghp_\\u0051" + kGhp.substr(5) + "\"}";
  const std::string out = r_->Redact(raw);
  NoWindow(out, kGhp.substr(5), 12);
  EXPECT_NE(out.find("[REDACTED:github-pat-classic:"), std::string::npos) << out;
}

// A redactor of a catalogue written in the test (null, and a failure,
// when it does not parse or compile).
std::shared_ptr<const Redactor> CompileCatalogue(const char* yaml) {
  SecretCatalogue cat;
  const std::string parsed = ParseSecretCatalogue(yaml, "test", &cat);
  EXPECT_EQ(parsed, "");
  std::string err;
  auto r = Redactor::Compile(cat, "k", &err);
  EXPECT_NE(r, nullptr) << err;
  return parsed.empty() ? r : nullptr;
}

TEST(RedactorKeywords, ARuleRunsWhereAllItsKeywordsAre) {
  const auto r = CompileCatalogue(R"(
rules:
  - id: acme-secret
    regex: '(?i:acme_?secret)\s*=\s*([A-Za-z0-9]{24})'
    keywords: [acme, secret]
)");
  ASSERT_NE(r, nullptr);
  const std::string v = "Zq8Vz3kLmN0pR7sT1uW4xY6z";
  EXPECT_NE(r->Redact("ACME_SECRET = " + v).find("[REDACTED:acme-secret:"), std::string::npos);
  EXPECT_EQ(r->Redact("acme_public = " + v), "acme_public = " + v);
  // The second keyword only in a decoded view (s as \u0073) still counts.
  const std::string out = r->Redact("{\"cfg\":\"acme_\\u0073ecret = " + v + "\"}");
  EXPECT_EQ(out.find(v), std::string::npos) << out;
}

TEST(RedactorKeywords, WhatThePrefilterMustNotDrop) {
  // Rules a user could write: alternatives listed as keywords, an
  // alternative after the prefix, an i flag among others, a mask before a
  // value after a name, and a value that goes on after an escape.
  const auto r = CompileCatalogue(R"(
rules:
  - id: aws-key
    regex: '\b((?:AKIA|ASIA)[0-9A-Z]{16})\b'
    keywords: [akia, asia]
  - id: zq-token
    regex: '\b(zqtok_[0-9]{8}|zqtok_live[a-z]{6})\b'
    keywords: [zqtok_]
  - id: my-token
    regex: '(?si)\b(mytok_[a-z0-9]{10})'
    keywords: [mytok_]
secret_names: ["*secret*", "*token*", "*apikey*"]
)");
  ASSERT_NE(r, nullptr);
  const std::string texts[][2] = {
      {"key ASIAZ7QPLM3XW9RT4BNE", "ASIAZ7QPLM3XW9RT4BNE"},
      {"t=zqtok_liveabcdef", "zqtok_liveabcdef"},
      {"t=MYTOK_abcdefghij", "MYTOK_abcdefghij"},
      {"secret [REDACTED:github-pat-classic:0a1b2c] Xk9mP2qR7sT4vW8yZ1bC3dF6", "Xk9mP2qR7sT4vW8yZ1bC3dF6"},
      {"token [REDACTED:high-entropy:0a1b2c] Xk9mP2qR7sT4vW8yZ1bC3dF6", "Xk9mP2qR7sT4vW8yZ1bC3dF6"},
      {"APIKEY=xe3474d97c6c70297cdf690f08891b0ef14bd8824d26db-v4UhhMFvJfadp9Dx\\u00e9Session",
       "Session"},
  };
  for (const auto& [text, secret] : texts) {
    const std::string out = r->Redact(text);
    EXPECT_EQ(out.find(secret), std::string::npos) << text << " -> " << out;
  }
}

TEST(RedactorKeywords, ShortKeywordsAreLookedForAsLongerLiterals) {
  // The built-in catalogue's keywords of two bytes (AC, SK, EZ, sq, Q~,
  // :$) are looked for as the literals of three bytes and more that every
  // match holds (AC and each byte that may follow it, RE2's required
  // literals for the others): the keyword pass has none shorter.
  SecretCatalogue cat;
  ASSERT_EQ(ParseSecretCatalogue(BuiltinSecretsYaml(), "builtin", &cat), "");
  std::string err;
  const auto r = Redactor::Compile(cat, "k", &err);
  ASSERT_NE(r, nullptr) << err;
  EXPECT_GE(r->shortest_literal(), 3u);
  const std::string hex = "0123456789abcdef0123456789abcdef";
  const std::string texts[][2] = {
      {"sid AC" + hex + " here", "AC" + hex},
      {"\"key\":\"SK" + hex + "\"", "SK" + hex},
      {"EZAK" + hex + hex.substr(0, 22), "EZAK" + hex + hex.substr(0, 22)},
      {"t=sqp_" + hex + "01234567", "sqp_" + hex + "01234567"},
      {"AZURE=cz59Q~EXAMPLErLzOTsacjish.fnDou.8fd9QhnV", "cz59Q~EXAMPLErLzOTsacjish.fnDou.8fd9QhnV"},
      {"root:$6$saltsalt$abcdefghijklmnopqrstuvwxyzABCDEF0123456789./abcdef:19000:0:99999:7:::",
       "$6$saltsalt$abcdefghijklmnopqrstuvwxyzABCDEF0123456789./abcdef"},
  };
  for (const auto& [text, secret] : texts) {
    const std::string out = r->Redact(text);
    EXPECT_EQ(out.find(secret), std::string::npos) << text << " -> " << out;
    EXPECT_NE(out.find(kRedactedPrefix), std::string::npos) << text << " -> " << out;
  }
  // Inside a word AC starts no SID (as before); in another case no match.
  EXPECT_EQ(r->Redact("xAC" + hex + " "), "xAC" + hex + " ");
  EXPECT_EQ(r->Redact("ac" + hex + " "), "ac" + hex + " ");
  // Split right after the two bytes, across two writes of a stream: the
  // context holds them and the SID is masked when its body comes.
  StreamRedaction s;
  const std::string a = s.Preview(*r, 0, "{\"sid\":\"AC", 256);
  const std::string b = s.Preview(*r, a.size(), hex + "\"}", 256);
  EXPECT_EQ((a + b).find(hex.substr(0, 12)), std::string::npos) << a << " | " << b;
  // Its body behind an escape (\u0030 for 0) is found in the decoded view.
  const std::string esc = r->Redact("{\"sid\":\"AC\\u0030" + hex.substr(1) + "\"}");
  EXPECT_EQ(esc.find(hex.substr(1, 12)), std::string::npos) << esc;
}

TEST(RedactorKeywords, CaseOfAKeyword) {
  SecretRule rule;
  rule.regex = "\\b(ghp_[A-Za-z0-9]{36})\\b";
  EXPECT_TRUE(KeywordExactCase(rule, "ghp_"));
  rule.regex = "(?i)\\b(ghp_[A-Za-z0-9]{36})\\b";
  EXPECT_FALSE(KeywordExactCase(rule, "ghp_"));
  EXPECT_TRUE(KeywordExactCase(rule, "GHP_"));  // an upper-case letter: as written
  rule.regex = "\\b((?:xoxb|XOXB)-[0-9]{10})";
  EXPECT_FALSE(KeywordExactCase(rule, "xoxb"));
  rule.regex = "\\b(ghp_[a-z]{36}|GHP_[A-Z]{36})";
  EXPECT_FALSE(KeywordExactCase(rule, "ghp_"));
  rule.regex = "\\b([Gg]hp_[A-Za-z0-9]{36})";
  EXPECT_FALSE(KeywordExactCase(rule, "ghp_"));  // not spelt: [Gg]
  EXPECT_TRUE(KeywordExactCase(rule, "hp_"));    // in one case only
}

TEST_F(RedactorTest, KeyBlockLongerThanTheContextAcrossManyChunks) {
  // A PEM key cut into small chunks: every chunk after the BEGIN line is
  // the key's body, masked though its start is far behind.
  std::string body;
  for (int line = 0; line < 60; ++line) {
    for (int i = 0; i < 64; ++i) body.push_back("ABCDEFGHabcdefgh0123456789+/QRSTuvwx"[(line * 7 + i * 13) % 36]);
    body += "\n";
  }
  const std::string pem = "-----BEGIN RSA PRIVATE KEY-----\n" + body + "-----END RSA PRIVATE KEY-----\n";
  StreamRedaction s;
  std::string all;
  for (size_t at = 0; at < pem.size(); at += 300) {
    all += s.Preview(*r_, at, pem.substr(at, 300), 4096);
  }
  for (size_t at = 0; at + 24 < body.size(); at += 24) NoWindow(all, body.substr(at, 24), 12);
  EXPECT_NE(all.find("[REDACTED:private-key"), std::string::npos) << all.substr(0, 400);
}

std::string Base64(std::string_view in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (size_t i = 0; i < in.size(); i += 3) {
    uint32_t v = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) v |= static_cast<unsigned char>(in[i + 1]) << 8;
    if (i + 2 < in.size()) v |= static_cast<unsigned char>(in[i + 2]);
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(i + 1 < in.size() ? kAlphabet[(v >> 6) & 63] : '=');
    out.push_back(i + 2 < in.size() ? kAlphabet[v & 63] : '=');
  }
  return out;
}

// A long chunk's preview scans only what it shows and what reaches its
// end: chunk by chunk, the previews and the context kept are those of a
// scan of every byte (streams of filler, escapes and distinct secrets, cut
// at random, some with gaps; the test catalogue and the built-in one).
TEST_F(RedactorTest, PartialPreviewScanEqualsTheWholeScan) {
  std::mt19937 rng(15);
  auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };
  auto random_of = [&](const std::string& alphabet, size_t len) {
    std::string out;
    for (size_t i = 0; i < len; ++i) out.push_back(alphabet[pick(alphabet.size())]);
    return out;
  };
  const std::string alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  const std::string upper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  auto piece = [&]() -> std::string {
    switch (pick(15)) {
      case 0:
        return "ghp_" + random_of(alnum, 36);
      case 1:
        return "AKIA" + random_of(upper, 16);
      case 2:
        return "aws_secret_access_key = " + random_of(alnum, 40);
      case 3:
        return "\\\"password\\\":\\\"" + random_of(alnum, 14) + "\\\"";
      case 4:
        return "token=" + random_of(alnum, 24) + "&x=1";
      case 5:
        return "-----BEGIN RSA PRIVATE KEY-----\\n" + random_of(alnum, 300) +
               "\\n-----END RSA PRIVATE KEY-----";
      case 6:
        return "Mcp-Session-Id: " + random_of(alnum, 32) + "\r\n";
      case 7:
        return "\\u0041\\/";
      case 8:
        return "%41%2F";
      case 9:
        return "\\n";
      case 10:
        return "\n";
      case 11:
        return random_of(alnum + "+/", 40 + pick(40));
      case 12:
        return " " + Base64("password=" + random_of(alnum, 20 + pick(200))) + " ";
      default:
        return "{\"jsonrpc\":\"2.0\",\"id\":" + std::to_string(pick(100)) + ",\"text\":\"" +
               random_of("abc def ghi jkl ", 20 + pick(200)) + "\"} ";
    }
  };
  for (const Redactor* r : {r_.get(), DefaultRedactor().get()}) {
    for (int stream = 0; stream < 60; ++stream) {
      std::string text;
      while (text.size() < 24 * 1024) text += piece();
      StreamRedaction part, whole;
      whole.set_scan_whole(true);
      const size_t max_len = stream % 3 == 0 ? 4096 : 256;
      uint64_t offset = 0;
      for (size_t at = 0; at < text.size();) {
        const size_t len =
            std::min(text.size() - at, pick(4) == 0 ? 1 + pick(600) : 1 + pick(4096));
        const std::string_view chunk = std::string_view(text).substr(at, len);
        if (pick(10) == 0) offset += 7;  // a gap
        ASSERT_EQ(part.Preview(*r, offset, chunk, max_len),
                  whole.Preview(*r, offset, chunk, max_len))
            << "stream " << stream << " at " << at;
        ASSERT_EQ(part.context_bytes(), whole.context_bytes())
            << "stream " << stream << " at " << at;
        at += len;
        offset += len;
      }
    }
  }
}

TEST_F(RedactorTest, AStreamGapDropsTheContext) {
  StreamRedaction s;
  s.Preview(*r_, 0, "token=abc", 256);
  EXPECT_GT(s.context_bytes(), 0u);
  // Not the continuation (another offset): redacted on its own.
  EXPECT_EQ(s.Preview(*r_, 100, "plain words", 256), "plain words");
  // A JSON message's end: nothing continues from it.
  s.Preview(*r_, 111, "{\"jsonrpc\":\"2.0\",\"id\":1}\n", 256);
  EXPECT_EQ(s.context_bytes(), 0u);
}

TEST_F(RedactorTest, SliceOfAWholeTextShowsMasks) {
  // An excerpt cut out of a longer secret: the excerpt is masked, not 48
  // bytes of the token.
  const std::string t = "data " + kGhp + " end";
  const std::string ex = r_->RedactSlice(t, 5, 5 + 20, 48);
  NoWindow(ex, kGhp.substr(0, 20), 8);
  EXPECT_NE(ex.find("[REDACTED:"), std::string::npos) << ex;
  EXPECT_EQ(r_->RedactSlice(t, 0, 4, 48), "data");
}

TEST_F(RedactorTest, CutNeverSplitsAMask) {
  const std::string t = std::string(20, 'x') + " token=" + kGhp + " tail";
  for (size_t max = 1; max < 90; ++max) {
    const std::string out = r_->Redact(t, max);
    NoWindow(out, kGhp);
    const size_t open = out.find("[REDACTED:");
    if (open != std::string::npos) EXPECT_NE(out.find(']', open), std::string::npos) << out;
  }
}

TEST_F(RedactorTest, MessageFieldsShareWhatWasFound) {
  v1::Event ev;
  ev.mutable_exec()->add_argv("psql");
  ev.mutable_exec()->add_argv("--password=Corr3ct-Horse-Battery");
  ev.mutable_process()->set_exe("/usr/bin/psql");
  // The same password bare in another field: masked as well.
  ev.mutable_process()->set_comm("Corr3ct-Horse-Battery");
  r_->RedactMessage(&ev);
  ASSERT_EQ(ev.exec().argv_size(), 2);
  EXPECT_EQ(ev.exec().argv(0), "psql");
  NoWindow(ev.exec().argv(1), "Corr3ct-Horse-Battery", 8);
  NoWindow(ev.process().comm(), "Corr3ct-Horse-Battery", 8);
  EXPECT_EQ(ev.process().exe(), "/usr/bin/psql");
}

TEST_F(RedactorTest, AFlagsValueInTheNextArgumentIsMasked) {
  // "--api-key VALUE": the value alone is no known format; the flag before
  // it says what it is.
  const std::string key = "k3Jd8Xq2Lm7Vp9Rt4Wz6Ys1Nb5Hc0Fg3Ae8Ku";
  v1::Event ev;
  for (const char* a : {"node", "server.js", "--api-key", key.c_str(), "--root", "/srv/data"})
    ev.mutable_exec()->add_argv(a);
  r_->RedactMessage(&ev);
  ASSERT_EQ(ev.exec().argv_size(), 6);
  NoWindow(ev.exec().argv(3), key, 8);
  EXPECT_EQ(ev.exec().argv(2), "--api-key");
  EXPECT_EQ(ev.exec().argv(5), "/srv/data") << "a flag with no secret name keeps its value";
  const std::vector<std::string> all =
      r_->RedactAll({"node", "--token", key, "--verbose", "/srv/data", "--secret", "-x"});
  NoWindow(all[2], key, 8);
  EXPECT_EQ(all[4], "/srv/data");
  EXPECT_EQ(all[6], "-x") << "a flag after a flag is no value";
}

// Every string field is read, at any depth: repeated, map values and
// keys, a oneof's message, repeated messages (a distinct token in each, so
// no mask comes from another field's value).
TEST_F(RedactorTest, MessageFieldsAtAnyDepthAreMasked) {
  std::vector<std::string> tokens;
  for (int i = 0; i < 6; ++i) {
    std::string t = kGhp;
    t[10] = static_cast<char>('a' + i);
    tokens.push_back(t);
  }
  v1::Event ev;
  ev.mutable_process()->set_exe("/bin/x " + tokens[0]);
  v1::Alert* a = ev.mutable_alert();
  a->set_summary("read " + tokens[1]);
  v1::Evidence* e = a->add_evidence();
  e->set_description("and " + tokens[2]);
  (*e->mutable_fields())["path"] = tokens[3];
  (*e->mutable_fields())[tokens[4]] = "key";
  a->add_evidence()->set_description(tokens[5]);
  r_->RedactMessage(&ev);
  const std::string all = ev.DebugString();
  for (const std::string& t : tokens) NoWindow(all, t, 12);
  EXPECT_EQ(ev.alert().evidence(0).fields().at("path").rfind("[REDACTED:", 0), 0u) << all;
  EXPECT_EQ(ev.process().exe().rfind("/bin/x [REDACTED:", 0), 0u) << all;
}

TEST(RedactorCatalogue, BadRegexIsAnErrorNamingTheRule) {
  SecretCatalogue cat;
  ASSERT_EQ(ParseSecretCatalogue("rules:\n  - id: broken\n    regex: '(('\n    keywords: [x]\n",
                                 "local.yaml", &cat),
            "");
  std::string err;
  EXPECT_EQ(Redactor::Compile(cat, "k", &err), nullptr);
  EXPECT_NE(err.find("local.yaml: rule broken"), std::string::npos) << err;
  SecretCatalogue bad;
  EXPECT_NE(ParseSecretCatalogue("rules:\n  - id: Not_Kebab\n    regex: x\n    keywords: [x]\n",
                                 "f.yaml", &bad)
                .find("not kebab-case"),
            std::string::npos);
  EXPECT_NE(ParseSecretCatalogue("rules:\n  - id: nokw\n    regex: x\n", "f.yaml", &bad)
                .find("needs keywords"),
            std::string::npos);
}

TEST(RedactorDefault, BuiltinCatalogueCompiles) {
  auto r = DefaultRedactor();
  ASSERT_NE(r, nullptr);
  EXPECT_GT(r->rule_count(), 0u);
  EXPECT_EQ(r->Redact("x " + kGhp).find(kGhp), std::string::npos);
}

}  // namespace
}  // namespace agentwatch

namespace agentwatch {
namespace {

TEST(RedactorBlocks, TruncatedPuttyKeyInsideAJsonResult) {
  // A .ppk whose line ends are themselves escapes (\r\n as text), inside a
  // tool result's JSON string: escaped once more.
  const std::string body = "zP4tkZ0WFtiW8AiSQzrJN8dlJ5kK2rwmWq+kIcIgG9sTk7B+M4tDFBv7M5WHeSSW";
  const std::string ppk = "PuTTY-User-Key-File-2: ssh-rsa\\r\\nEncryption: none\\r\\nPublic-Lines: 1"
                          "\\r\\nAAAAB3NzaC1yc2EAAAAExample\\r\\nPrivate-Lines: 14\\r\\n" +
                          body + "\\r\\n0azEHfm";
  const std::string result = "{\"content\":[{\"type\":\"text\",\"text\":\"" + ppk + "\"}]}";
  const std::string out = DefaultRedactor()->Redact(result, 1024);
  EXPECT_EQ(out.find(body.substr(10, 12)), std::string::npos) << out;
}

TEST(RedactorBlocks, AGreedyBodyDoesNotHideTheNextKey) {
  // Two cut-off keys in a row: the first one's body (base64 and escapes)
  // runs into the second one's header; the second is found all the same.
  const std::string first =
      "PuTTY-User-Key-File-3: ssh-ed25519\\nPublic-Lines: 1\\nAAAAC3NzaC1lZDI1NTE5AAAAIEx\\n"
      "Private-Lines: 1\\nAAAAIExampleZx8cVb2nM5q0Qw3rTy7uIo9pAs1dFg4hJk6l";
  const std::string body = "cJ6nbD1SKmuU5ZuJRekST3ziH6jQ8sadQr+qNkFmM2xSc8C+N8nEZCp4L0ELqHJE";
  const std::string second =
      "PuTTY-User-Key-File-2: ssh-rsa\\r\\nPublic-Lines: 1\\r\\nAAAAB3NzaC1yc2EAAAAEx\\r\\n"
      "Private-Lines: 14\\r\\n" + body;
  const std::string out = DefaultRedactor()->Redact("{\"text\":\"" + first + "\\n" + second + "\"}");
  EXPECT_EQ(out.find(body.substr(20, 12)), std::string::npos) << out;
  EXPECT_EQ(out.find("Zx8cVb2nM5q0"), std::string::npos) << out;
}

}  // namespace
}  // namespace agentwatch

namespace agentwatch {
namespace {

TEST(RedactionKey, AReplayReadsTheKeyTheDaemonMade) {
  char dir[] = "/tmp/aw-key-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  EXPECT_EQ(ReadRedactionKey(dir), "");
  std::string err;
  const std::string made = LoadOrCreateRedactionKey(dir, &err);
  ASSERT_EQ(made.size(), 64u) << err;
  // The file ends in a line end; what a replay reads is the same key.
  EXPECT_EQ(ReadRedactionKey(dir), made);
  EXPECT_EQ(LoadOrCreateRedactionKey(dir, &err), made);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace agentwatch

namespace agentwatch {
namespace {

TEST(RedactorHostile, RepeatedKeywordsAndNamesStayBounded) {
  // Inputs made of one keyword, one name or one secret format repeated:
  // each is redacted in one pass's work (not one pass per hit), and every
  // key in them is masked.
  auto r = DefaultRedactor();
  std::string names;
  while (names.size() < (1u << 20)) names += "token";
  EXPECT_FALSE(r->Redact(names).empty());
  std::string values;
  while (values.size() < (1u << 20)) values += "a_token=";
  EXPECT_EQ(r->Redact(values).find("a_token=a_token=a_token=a_token="), std::string::npos);
  std::string keys;
  while (keys.size() < (1u << 20)) keys += "AKIAQW3RTY7UIOZPASLD ";
  const std::string out = r->Redact(keys);
  EXPECT_EQ(out.find("AKIAQW3RTY7UIOZPASLD"), std::string::npos) << out.substr(0, 200);
}

TEST(RedactorEscapes, ATokenRightAfterAJsonLineEnd) {
  // In JSON text the n of \n runs into the token after it: still a token.
  const std::string t = "{\"text\":\"keys:\\nsk_live_4eC39HqLyjWDarjtT1zdp7dc\"}";
  const std::string out = DefaultRedactor()->Redact(t);
  EXPECT_EQ(out.find("4eC39HqLyjWDarjtT1zdp7dc"), std::string::npos) << out;
}

}  // namespace
}  // namespace agentwatch
