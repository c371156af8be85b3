#include "session/call_history.h"

#include <gtest/gtest.h>

#include <vector>

namespace agentwatch {
namespace {

v1::McpCall Call(uint64_t id, uint32_t server_pid) {
  v1::McpCall c;
  c.set_call_id(id);
  c.set_server_pid(server_pid);
  return c;
}

std::vector<uint64_t> Newest(const CallHistory& h, size_t n = 1000) {
  std::vector<uint64_t> ids;
  h.ForEachNewest([&](const v1::McpCall& c) {
    ids.push_back(c.call_id());
    return ids.size() < n;
  });
  return ids;
}

TEST(CallHistoryTest, ListsNewestFirstAcrossServers) {
  CallHistory h(10);
  h.Add(0, 1, Call(1, 1));
  h.Add(1000, 2, Call(2, 2));
  h.Add(0, 1, Call(3, 1));
  h.Add(0, 3, Call(4, 3));
  EXPECT_EQ(Newest(h), (std::vector<uint64_t>{4, 3, 2, 1}));
  EXPECT_EQ(Newest(h, 2), (std::vector<uint64_t>{4, 3}));
}

TEST(CallHistoryTest, AloneAServerMayFillTheWholeHistory) {
  CallHistory h(5);
  for (uint64_t i = 1; i <= 8; ++i) h.Add(0, 1, Call(i, 1));
  EXPECT_EQ(h.size(), 5u);
  EXPECT_EQ(Newest(h), (std::vector<uint64_t>{8, 7, 6, 5, 4}));
}

TEST(CallHistoryTest, ANeighboursFloodEvictsItsOwnCalls) {
  CallHistory h(100);
  for (uint64_t i = 1; i <= 40; ++i) h.Add(0, 7, Call(i, 7));
  // Another user's server finishes 10,000 calls after them.
  for (uint64_t i = 0; i < 10000; ++i) h.Add(1000, 9, Call(100 + i, 9));
  EXPECT_EQ(h.size(), 100u);
  EXPECT_EQ(h.CallsOf(7), 40u);
  EXPECT_EQ(h.CallsOf(9), 60u);
  // The flooder keeps its newest.
  EXPECT_EQ(Newest(h, 1), (std::vector<uint64_t>{10099}));
}

TEST(CallHistoryTest, ManyServersOfOneUserShareOneUsersPart) {
  CallHistory h(100);
  for (uint64_t i = 1; i <= 40; ++i) h.Add(0, 7, Call(i, 7));
  // One user runs 50 servers of 10 calls each: the user, not each server,
  // is weighed against root.
  uint64_t id = 1000;
  for (int round = 0; round < 10; ++round)
    for (uint32_t pid = 100; pid < 150; ++pid) h.Add(1000, pid, Call(id++, pid));
  EXPECT_EQ(h.CallsOf(7), 40u);
  size_t theirs = 0;
  for (uint32_t pid = 100; pid < 150; ++pid) theirs += h.CallsOf(pid);
  EXPECT_EQ(theirs, 60u);
}

TEST(CallHistoryTest, TwoBusyServersEndWithEqualShares) {
  CallHistory h(100);
  for (uint64_t i = 0; i < 1000; ++i) {
    h.Add(0, 1, Call(2 * i, 1));
    h.Add(0, 2, Call(2 * i + 1, 2));
  }
  EXPECT_EQ(h.CallsOf(1), 50u);
  EXPECT_EQ(h.CallsOf(2), 50u);
  EXPECT_EQ(Newest(h, 3), (std::vector<uint64_t>{1999, 1998, 1997}));
}

TEST(CallHistoryTest, APidReusedByAnotherUserIsAnotherProcess) {
  CallHistory h(10);
  for (uint64_t i = 1; i <= 5; ++i) h.Add(0, 7, Call(i, 7));
  // Pid 7 ends; a process of user 1000 gets pid 7 and floods: it is
  // weighed as user 1000's, and root's 5 calls stay.
  for (uint64_t i = 0; i < 100; ++i) h.Add(1000, 7, Call(100 + i, 7));
  EXPECT_EQ(h.size(), 10u);
  size_t roots = 0;
  h.ForEachNewest([&](const v1::McpCall& c) {
    roots += c.call_id() <= 5;
    return true;
  });
  EXPECT_EQ(roots, 5u);
}

TEST(CallHistoryTest, ZeroKeepsNothing) {
  CallHistory h(0);
  h.Add(0, 1, Call(1, 1));
  EXPECT_EQ(h.size(), 0u);
  EXPECT_TRUE(Newest(h).empty());
}

}  // namespace
}  // namespace agentwatch
