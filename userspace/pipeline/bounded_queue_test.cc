#include "pipeline/bounded_queue.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace agentwatch {
namespace {

using Queue = BoundedQueue<std::string>;
using Lane = Queue::Lane;
constexpr std::chrono::milliseconds kNoWait{0};

// Pops everything, charging each item what costs(item) says.
std::vector<std::string> Drain(Queue& q, uint64_t (*costs)(const std::string&)) {
  std::vector<std::string> out;
  std::string v;
  while (q.Pop(&v, kNoWait)) {
    out.push_back(v);
    q.Charge(costs(v));
  }
  return out;
}

size_t At(const std::vector<std::string>& out, const std::string& v) {
  for (size_t i = 0; i < out.size(); ++i)
    if (out[i] == v) return i;
  return out.size();
}

TEST(BoundedQueueTest, OneFlowIsFifo) {
  Queue q(10);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(q.TryPush(std::to_string(i)));
  EXPECT_EQ(Drain(q, [](const std::string&) -> uint64_t { return 1; }),
            (std::vector<std::string>{"0", "1", "2", "3", "4"}));
}

TEST(BoundedQueueTest, AnExpensiveFlowGetsNoMoreThanACheapOne) {
  Queue q(1000);
  // Flow 1's items cost 100 each, flow 2's 1 each; both have a backlog.
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(q.TryPush("big" + std::to_string(i), Lane::kPriority, 0, 0, 1));
  for (int i = 0; i < 300; ++i) ASSERT_TRUE(q.TryPush("s" + std::to_string(i), Lane::kPriority, 0, 0, 2));
  auto out = Drain(q, [](const std::string& v) -> uint64_t { return v[0] == 'b' ? 100 : 1; });
  ASSERT_EQ(out.size(), 310u);
  // After flow 1's first big item, flow 2 runs about 100 cheap ones per
  // big one: by the time big2 starts, flow 2 has had ~200.
  const size_t big2 = At(out, "big2");
  size_t small_before = 0;
  for (size_t i = 0; i < big2; ++i) small_before += out[i][0] == 's';
  EXPECT_GE(small_before, 195u);
  EXPECT_LE(small_before, 205u);
}

TEST(BoundedQueueTest, AFlowThatComesBackWaitsForTheItemInHandOnly) {
  Queue q(1000);
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(q.TryPush("f" + std::to_string(i), Lane::kPriority, 0, 0, 1));
  std::string v;
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(q.Pop(&v, kNoWait));
    q.Charge(1000);
  }
  // A quiet flow's event arrives while the flooder's 50th item is in
  // hand: it is served next, not after the flooder's backlog.
  ASSERT_TRUE(q.TryPush("quiet", Lane::kPriority, 0, 0, 2));
  ASSERT_TRUE(q.Pop(&v, kNoWait));
  EXPECT_EQ(v, "quiet");
  q.Charge(1000);
  // And it does not then own the queue for the flooder's 50,000: the two
  // take turns.
  ASSERT_TRUE(q.TryPush("quiet2", Lane::kPriority, 0, 0, 2));
  ASSERT_TRUE(q.Pop(&v, kNoWait));
  EXPECT_EQ(v, "f50");
}

// Two flows that each drain after every item (one arrives while the other
// is served) cannot shed their charges by draining and keep a third, busy
// flow waiting: the three are served in turn.
TEST(BoundedQueueTest, ADrainedFlowKeepsItsCharges) {
  Queue q(1000);
  for (int i = 0; i < 300; ++i) ASSERT_TRUE(q.TryPush("c", Lane::kPriority, 0, 0, 3));
  ASSERT_TRUE(q.TryPush("a", Lane::kPriority, 0, 0, 1));
  std::string v;
  int served_c = 0;
  for (int i = 0; i < 300; ++i) {
    ASSERT_TRUE(q.Pop(&v, kNoWait));
    if (v == "a") ASSERT_TRUE(q.TryPush("b", Lane::kPriority, 0, 0, 2));
    if (v == "b") ASSERT_TRUE(q.TryPush("a", Lane::kPriority, 0, 0, 1));
    served_c += v == "c";
    q.Charge(10);
  }
  EXPECT_GE(served_c, 95) << "the busy flow was starved";
}

TEST(BoundedQueueTest, ABarrierHoldsAnItemBehindAnotherFlowsItems) {
  Queue q(1000);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(q.TryPush("a" + std::to_string(i), Lane::kPriority, 0, 0, 1));
  // A process whose events move from flow 1 to flow 2 (setuid): its next
  // event waits for what flow 1 had queued, however cheap flow 2 is.
  ASSERT_TRUE(q.TryPush("moved", Lane::kPriority, 0, 0, 2, nullptr, Queue::Barrier{1, q.pushed()}));
  ASSERT_TRUE(q.TryPush("moved2", Lane::kPriority, 0, 0, 2));
  ASSERT_TRUE(q.TryPush("a5", Lane::kPriority, 0, 0, 1));
  auto out = Drain(q, [](const std::string& v) -> uint64_t { return v[0] == 'a' ? 1000 : 1; });
  ASSERT_EQ(out.size(), 8u);
  EXPECT_GT(At(out, "moved"), At(out, "a4"));
  EXPECT_LT(At(out, "moved"), At(out, "moved2"));
  EXPECT_LT(At(out, "moved"), At(out, "a5")) << "held for the items before it only";
}

TEST(BoundedQueueTest, OrderWithinAFlowIsKeptAcrossTurns) {
  Queue q(1000);
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(q.TryPush("a" + std::to_string(i), Lane::kPriority, 0, 0, 1));
    ASSERT_TRUE(q.TryPush("b" + std::to_string(i), Lane::kBulk, 10, 2, 2));
  }
  auto out = Drain(q, [](const std::string& v) -> uint64_t { return v[0] == 'a' ? 3 : 7; });
  for (int i = 1; i < 20; ++i) {
    EXPECT_LT(At(out, "a" + std::to_string(i - 1)), At(out, "a" + std::to_string(i)));
    EXPECT_LT(At(out, "b" + std::to_string(i - 1)), At(out, "b" + std::to_string(i)));
  }
}

TEST(BoundedQueueTest, OneOwnerFillsAQuarterOfTheBulkBytes) {
  Queue q(100, 100, 4000);
  // Owner 1: its first item always fits, then up to 1000 bytes in all.
  EXPECT_TRUE(q.TryPush("x", Lane::kBulk, 1500, 1, 1));
  EXPECT_FALSE(q.TryPush("x", Lane::kBulk, 10, 1, 1));
  EXPECT_TRUE(q.TryPush("y", Lane::kBulk, 600, 2, 1));
  EXPECT_TRUE(q.TryPush("y", Lane::kBulk, 400, 2, 1));
  EXPECT_FALSE(q.TryPush("y", Lane::kBulk, 1, 2, 1));
  // Another owner in the same flow still gets its share, and priority
  // items are not weighed.
  EXPECT_TRUE(q.TryPush("z", Lane::kBulk, 900, 3, 1));
  EXPECT_TRUE(q.TryPush("p", Lane::kPriority, 0, 1, 1));
  // Taking owner 1's item gives its share back.
  std::string v;
  ASSERT_TRUE(q.Pop(&v, kNoWait));
  EXPECT_EQ(v, "x");
  EXPECT_TRUE(q.TryPush("x", Lane::kBulk, 10, 1, 1));
}

TEST(BoundedQueueTest, AMarkGoesInWithItsEventOrNotAtAll) {
  Queue q(4);
  std::string mark = "loss";
  ASSERT_TRUE(q.TryPush("a"));
  EXPECT_TRUE(q.TryPush("b", Lane::kPriority, 0, 0, 0, &mark));
  std::string mark2 = "loss2";
  EXPECT_FALSE(q.TryPush("c", Lane::kPriority, 0, 0, 0, &mark2)) << "one place left, two needed";
  EXPECT_EQ(Drain(q, [](const std::string&) -> uint64_t { return 1; }),
            (std::vector<std::string>{"a", "loss", "b"}));
}

TEST(BoundedQueueTest, TakenThroughFollowsEveryFlow) {
  Queue q(10);
  ASSERT_TRUE(q.TryPush("a", Lane::kPriority, 0, 0, 1));
  const uint64_t n = q.pushed();
  ASSERT_TRUE(q.TryPush("b", Lane::kPriority, 0, 0, 2));
  EXPECT_FALSE(q.TakenThrough(n));
  std::string v;
  ASSERT_TRUE(q.Pop(&v, kNoWait));
  EXPECT_EQ(v, "a");
  EXPECT_TRUE(q.TakenThrough(n));
  EXPECT_FALSE(q.TakenThrough(q.pushed()));
}

}  // namespace
}  // namespace agentwatch
