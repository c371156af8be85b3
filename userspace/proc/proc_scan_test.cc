#include "proc/proc_scan.h"

#include <unistd.h>

#include <gtest/gtest.h>

namespace agentwatch {
namespace {

TEST(ProcScanTest, ParseStatWithOddComm) {
  std::string comm;
  uint32_t ppid = 0;
  uint64_t start = 0;
  ASSERT_TRUE(ParseProcStat(
      "4242 (a) b (c)) S 17 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 "
      "987654 1000 100 18446744073709551615",
      &comm, &ppid, &start));
  EXPECT_EQ(comm, "a) b (c)");
  EXPECT_EQ(ppid, 17u);
  EXPECT_EQ(start, 987654u);
  EXPECT_FALSE(ParseProcStat("garbage", &comm, &ppid, &start));
}

TEST(ProcScanTest, SnapshotsSelf) {
  v1::Event ev;
  ASSERT_TRUE(SnapshotProcess("/proc", getpid(), &ev));
  EXPECT_EQ(ev.type(), v1::EVENT_TYPE_PROCESS_SNAPSHOT);
  EXPECT_EQ(ev.process().pid(), static_cast<uint32_t>(getpid()));
  EXPECT_EQ(ev.process().ppid(), static_cast<uint32_t>(getppid()));
  EXPECT_NE(ev.exec().filename().find("proc_test"), std::string::npos);
  char cwd[4096];
  ASSERT_NE(getcwd(cwd, sizeof(cwd)), nullptr);
  EXPECT_EQ(ev.exec().cwd(), cwd);
  EXPECT_GT(ev.process().start_time_ns(), 0u);

  auto all = ScanProc("/proc");
  bool found_self = false, found_init = false;
  for (const auto& e : all) {
    found_self |= e.process().pid() == static_cast<uint32_t>(getpid());
    found_init |= e.process().pid() == 1;
  }
  EXPECT_TRUE(found_self);
  EXPECT_TRUE(found_init);
}

}  // namespace
}  // namespace agentwatch
