#include "daemon/caps.h"

#include <gtest/gtest.h>

namespace agentwatch {
namespace {

constexpr uint64_t Bit(int n) { return 1ull << n; }

TEST(CapsTest, ParsesCapEff) {
  uint64_t caps = 0;
  ASSERT_TRUE(ParseCapEff("Name:\tx\nCapInh:\t0000000000000000\nCapEff:\t000001fffeffffff\n", &caps));
  EXPECT_EQ(caps, 0x000001fffeffffffull);
  EXPECT_FALSE(ParseCapEff("Name:\tx\n", &caps));
  EXPECT_FALSE(ParseCapEff("XCapEff:\t1\n", &caps));
  EXPECT_FALSE(ParseCapEff("CapEff:\tzz\n", &caps));
}

std::string Names(const std::vector<CapabilityNeed>& v) {
  std::string s;
  for (const auto& n : v) s += std::string(s.empty() ? "" : " ") + n.name;
  return s;
}

TEST(CapsTest, LeastPrivilegedSetIsEnough) {
  const uint64_t least = Bit(39) | Bit(38) | Bit(24) | Bit(19) | Bit(2);
  EXPECT_EQ(Names(MissingCapabilities(least, "5.4.0")), "");
  EXPECT_EQ(Names(MissingCapabilities(least, "6.18.44")), "");
}

TEST(CapsTest, NamesWhatIsMissing) {
  EXPECT_EQ(Names(MissingCapabilities(0, "5.10.0")),
            "CAP_BPF CAP_PERFMON CAP_SYS_RESOURCE CAP_SYS_PTRACE CAP_DAC_READ_SEARCH");
  // Memory accounting by cgroup from 5.11: no RLIMIT_MEMLOCK to raise.
  EXPECT_EQ(Names(MissingCapabilities(0, "6.1.0-13-amd64")),
            "CAP_BPF CAP_PERFMON CAP_SYS_PTRACE CAP_DAC_READ_SEARCH");
  // SYS_ADMIN covers BPF and PERFMON; DAC_OVERRIDE covers DAC_READ_SEARCH.
  EXPECT_EQ(Names(MissingCapabilities(Bit(21) | Bit(1) | Bit(19), "6.1.0")), "");
  const auto m = MissingCapabilities(Bit(38) | Bit(19) | Bit(2), "6.1.0");
  EXPECT_EQ(Names(m), "CAP_BPF");
  EXPECT_NE(DescribeMissing(m).find("CAP_BPF (load the BPF programs"), std::string::npos);
}

}  // namespace
}  // namespace agentwatch
