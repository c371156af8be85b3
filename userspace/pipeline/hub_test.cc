#include "pipeline/hub.h"

#include <gtest/gtest.h>

#include "testing/events.h"

namespace agentwatch {
namespace {

using std::chrono::milliseconds;

v1::Event Ev(uint64_t seq, uint32_t pid, v1::EventType t, bool watched = false) {
  return events::Event(t).Seq(seq).Pid(pid).Watched(watched);
}

TEST(HubTest, BacklogThenLive) {
  Hub hub(100);
  for (int i = 1; i <= 5; ++i) hub.Publish(Ev(i, 10, v1::EVENT_TYPE_EXEC), {10});
  auto sub = hub.Subscribe({}, 3, true);
  v1::Event e;
  for (uint64_t want : {3, 4, 5}) {
    ASSERT_TRUE(sub->Next(&e, milliseconds(10)));
    EXPECT_EQ(e.seq(), want);
  }
  EXPECT_FALSE(sub->Next(&e, milliseconds(10)));
  hub.Publish(Ev(6, 10, v1::EVENT_TYPE_EXEC), {10});
  ASSERT_TRUE(sub->Next(&e, milliseconds(100)));
  EXPECT_EQ(e.seq(), 6u);
  hub.Unsubscribe(sub);
  EXPECT_EQ(hub.subscribers(), 0u);
}

TEST(HubTest, FiltersByLineageTypeAndWatch) {
  Hub hub(100);
  EventFilter f;
  f.pids = {100};
  f.types = {v1::EVENT_TYPE_FILE_OPEN};
  f.watched_only = true;
  auto sub = hub.Subscribe(f, 0, true);
  hub.Publish(Ev(1, 200, v1::EVENT_TYPE_FILE_OPEN, true), {200, 100, 1});  // child
  hub.Publish(Ev(2, 300, v1::EVENT_TYPE_FILE_OPEN, true), {300, 1});  // other tree
  hub.Publish(Ev(3, 100, v1::EVENT_TYPE_EXEC, true), {100, 1});  // other type
  hub.Publish(Ev(4, 100, v1::EVENT_TYPE_FILE_OPEN, false), {100, 1});  // unwatched
  v1::Event e;
  ASSERT_TRUE(sub->Next(&e, milliseconds(10)));
  EXPECT_EQ(e.seq(), 1u);
  EXPECT_FALSE(sub->Next(&e, milliseconds(10)));
}

TEST(HubTest, NonFollowEnds) {
  Hub hub(10);
  hub.Publish(Ev(1, 1, v1::EVENT_TYPE_EXEC), {1});
  auto sub = hub.Subscribe({}, 10, false);
  v1::Event e;
  EXPECT_TRUE(sub->Next(&e, milliseconds(10)));
  EXPECT_FALSE(sub->Next(&e, milliseconds(10)));
  EXPECT_EQ(hub.subscribers(), 0u);
}

TEST(HubTest, SlowSubscriberGetsLossMarker) {
  Hub hub(0);
  auto sub = hub.Subscribe({}, 0, true);
  const int kMany = 9000;  // beyond the subscriber queue
  for (int i = 1; i <= kMany; ++i) hub.Publish(Ev(i, 1, v1::EVENT_TYPE_EXEC), {1});
  EXPECT_GT(sub->dropped(), 0u);
  v1::Event e;
  ASSERT_TRUE(sub->Next(&e, milliseconds(10)));
  EXPECT_EQ(e.type(), v1::EVENT_TYPE_LOSS);
  EXPECT_EQ(e.lost(), sub->dropped());
  uint64_t delivered = 0;
  while (sub->Next(&e, milliseconds(1))) ++delivered;
  EXPECT_EQ(delivered + sub->dropped(), static_cast<uint64_t>(kMany));
}

}  // namespace
}  // namespace agentwatch
