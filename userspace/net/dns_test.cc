#include "net/dns.h"

#include <gtest/gtest.h>

#include <vector>

namespace agentwatch {
namespace {

// Builds a query the way a stub resolver does.
std::vector<uint8_t> Query(uint16_t id, const std::vector<std::string>& labels,
                           uint16_t qtype) {
  std::vector<uint8_t> d = {static_cast<uint8_t>(id >> 8),
                            static_cast<uint8_t>(id), 0x01, 0x00, 0, 1, 0, 0,
                            0, 0, 0, 0};
  for (const auto& l : labels) {
    d.push_back(static_cast<uint8_t>(l.size()));
    d.insert(d.end(), l.begin(), l.end());
  }
  d.push_back(0);
  d.push_back(static_cast<uint8_t>(qtype >> 8));
  d.push_back(static_cast<uint8_t>(qtype));
  d.push_back(0);
  d.push_back(1);
  return d;
}

TEST(DnsTest, SimpleQuery) {
  auto d = Query(0xBEEF, {"paste", "example", "com"}, 28);
  DnsQuery q = ParseDnsQuery(d);
  ASSERT_EQ(q.state, DnsParseState::kOk) << q.error;
  EXPECT_EQ(q.id, 0xBEEF);
  EXPECT_FALSE(q.is_response);
  ASSERT_EQ(q.questions.size(), 1u);
  EXPECT_EQ(q.questions[0].name, "paste.example.com.");
  EXPECT_EQ(DnsTypeName(q.questions[0].qtype), "AAAA");
  EXPECT_EQ(q.questions[0].qclass, 1);
}

TEST(DnsTest, EscapesOddBytes) {
  auto d = Query(1, {std::string("a.b\x01", 4), "x"}, 16);
  DnsQuery q = ParseDnsQuery(d);
  ASSERT_EQ(q.state, DnsParseState::kOk);
  EXPECT_EQ(q.questions[0].name, "a\\.b\\001.x.");
}

TEST(DnsTest, RootName) {
  auto d = Query(1, {}, 2);
  DnsQuery q = ParseDnsQuery(d);
  ASSERT_EQ(q.state, DnsParseState::kOk);
  EXPECT_EQ(q.questions[0].name, ".");
}

TEST(DnsTest, EveryTruncationIsReportedNotCrashed) {
  auto d = Query(7, {"exfil", "QUtJQUlPU0ZPRE5ON0VYQU1QTEU", "evil", "test"}, 16);
  for (size_t n = 0; n < d.size(); ++n) {
    DnsQuery q = ParseDnsQuery(std::span(d.data(), n));
    EXPECT_EQ(q.state, DnsParseState::kTruncated) << "cut at " << n;
    EXPECT_FALSE(q.error.empty());
  }
  EXPECT_EQ(ParseDnsQuery(d).state, DnsParseState::kOk);
}

TEST(DnsTest, PointerLoopIsInvalid) {
  std::vector<uint8_t> d = {0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0,
                            0xC0, 12, 0, 1, 0, 1};
  DnsQuery q = ParseDnsQuery(d);
  EXPECT_EQ(q.state, DnsParseState::kInvalid);
}

TEST(DnsTest, ZeroQuestionsInvalid) {
  std::vector<uint8_t> d(12, 0);
  EXPECT_EQ(ParseDnsQuery(d).state, DnsParseState::kInvalid);
}

TEST(DnsTest, OverlongNameInvalid) {
  std::vector<std::string> labels(10, std::string(60, 'a'));
  auto d = Query(1, labels, 1);
  DnsQuery q = ParseDnsQuery(d);
  EXPECT_EQ(q.state, DnsParseState::kInvalid);
}

}  // namespace
}  // namespace agentwatch
