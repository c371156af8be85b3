// The store's alert lane: an alert is committed before what runs after it
// (its publication), held in memory while the store cannot write or open,
// served from there, and written once it can.
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "store/store.h"

namespace agentwatch {
namespace {

v1::Alert MakeAlert(uint64_t id, const std::string& severity, size_t summary_bytes = 16) {
  v1::Alert a;
  a.set_id(id);
  a.set_rule_id("server-spawns-shell");
  a.set_severity(severity);
  a.set_count(1);
  a.set_summary(std::string(summary_bytes, 's'));
  return a;
}

bool WaitFor(const std::function<bool()>& fn, int ms = 5000) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (std::chrono::steady_clock::now() < end) {
    if (fn()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return fn();
}

class AlertLaneTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/aw-lane-XXXXXX";
    dir_ = mkdtemp(tmpl);
    opts_.path = dir_ + "/sub/agentwatch.db";
    opts_.max_age_ns = 0;
    opts_.max_bytes = 0;
    opts_.retry_interval_ms = 50;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Every alert id in the outbox (database and memory), checking the
  // sequence numbers only grow.
  static std::vector<uint64_t> OutboxIds(const Store& s) {
    std::string err;
    std::vector<uint64_t> ids;
    int64_t last = 0;
    for (const auto& e : s.OutboxAfter(0, 100000, &err)) {
      EXPECT_GT(e.seq, last);
      last = e.seq;
      ids.push_back(e.alert.id());
    }
    EXPECT_EQ(err, "");
    return ids;
  }

  std::string dir_;
  Store::Options opts_;
};

TEST_F(AlertLaneTest, AnAlertIsCommittedBeforeWhatRunsAfterIt) {
  std::string err;
  auto s = Store::Open(opts_, &err);
  ASSERT_TRUE(s) << err;
  s->Start(nullptr);
  std::atomic<int> ran{0};
  std::atomic<int> stored_first{0};
  for (uint64_t id = 1; id <= 20; ++id) {
    s->PutAlert(MakeAlert(id, "high"), [&, id] {
      // The API's connection sees it already (committed, not batched).
      v1::Alert got;
      std::string e;
      if (s->Alert(id, &got, &e)) ++stored_first;
      ++ran;
    });
  }
  ASSERT_TRUE(WaitFor([&] { return ran == 20; }));
  EXPECT_EQ(stored_first, 20);
  EXPECT_EQ(s->counters().alerts_committed, 20u);
  EXPECT_EQ(s->Trouble(), "");
  s->Stop();
}

// A full disk, as a file size limit: alerts are held (and still seen),
// the store says why it does not write, and writes them all once it can.
TEST_F(AlertLaneTest, AFullDiskHoldsAlertsAndWritesThemLater) {
  std::string err;
  auto s = Store::Open(opts_, &err);
  ASSERT_TRUE(s) << err;
  ASSERT_EQ(s->Flush(), "");
  struct rlimit old;
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &old), 0);
  signal(SIGXFSZ, SIG_IGN);
  uint64_t biggest = 0;
  for (const char* suffix : {"", "-wal"}) {
    std::error_code ec;
    const uint64_t n = std::filesystem::file_size(opts_.path + suffix, ec);
    if (!ec) biggest = std::max(biggest, n);
  }
  struct rlimit small = old;
  small.rlim_cur = biggest + 64 * 1024;
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &small), 0);
  std::atomic<int> ran{0};
  for (uint64_t id = 1; id <= 60; ++id) s->PutAlert(MakeAlert(id, "high", 8000), [&] { ++ran; });
  EXPECT_EQ(s->Flush(), "");  // the batch is empty; the alerts could not be written
  const std::string trouble = s->Trouble();
  const Store::Counters full = s->counters();
  // Served from memory meanwhile: every one, once.
  const std::vector<uint64_t> during = OutboxIds(*s);
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &old), 0);
  signal(SIGXFSZ, SIG_DFL);

  EXPECT_EQ(ran, 60) << "held alerts are published all the same";
  EXPECT_NE(trouble.find("cannot write alerts"), std::string::npos) << trouble;
  EXPECT_GT(full.alerts_held, 0u);
  EXPECT_EQ(full.alerts_shed, 0u);
  EXPECT_EQ(during.size(), 60u);
  EXPECT_EQ(std::set<uint64_t>(during.begin(), during.end()).size(), 60u);

  // Space again: the next retry writes them.
  EXPECT_EQ(s->Flush(), "");
  EXPECT_EQ(s->Trouble(), "");
  EXPECT_EQ(s->counters().alerts_held, 0u);
  EXPECT_EQ(OutboxIds(*s), during);
  v1::ListAlertsRequest q;
  q.set_limit(1000);
  EXPECT_EQ(s->Alerts(q, &err).size(), 60u) << err;
}

// A store that cannot open at start: alerts are held and served, reads
// fail, and once it opens (retried by its thread) they are written,
// numbered past what the database had.
TEST_F(AlertLaneTest, AStoreThatCannotOpenIsRetriedAndCatchesUp) {
  const std::string sub = dir_ + "/sub";
  int64_t last_stored = 0;
  {
    std::string err;
    auto s = Store::Open(opts_, &err);
    ASSERT_TRUE(s) << err;
    for (uint64_t id = 1; id <= 3; ++id) s->PutAlert(MakeAlert(id, "low"));
    ASSERT_EQ(s->Flush(), "");
    last_stored = s->OutboxEnd();
  }
  // The directory is a file now: nothing opens there.
  std::filesystem::rename(sub, sub + ".away");
  std::ofstream(sub) << "not a directory";
  std::string err;
  auto s = Store::OpenOrDefer(opts_, &err);
  ASSERT_TRUE(s);
  EXPECT_NE(err, "");
  EXPECT_FALSE(s->available());
  EXPECT_EQ(s->generation(), 0u);
  // Ids from the clock: past any the database handed out.
  EXPECT_GT(s->max_alert_id(), 1000000000000000u);
  s->Start(nullptr);
  std::atomic<int> ran{0};
  const uint64_t id = s->max_alert_id() + 1;
  s->PutAlert(MakeAlert(id, "critical"), [&] { ++ran; });
  ASSERT_TRUE(WaitFor([&] { return ran == 1; }));
  EXPECT_EQ(OutboxIds(*s), std::vector<uint64_t>{id});
  EXPECT_NE(s->Trouble().find("cannot open"), std::string::npos) << s->Trouble();
  v1::ListAlertsRequest q;
  q.set_limit(100);
  std::string rerr;
  s->Alerts(q, &rerr);
  EXPECT_NE(rerr, "");
  EXPECT_TRUE(WaitFor([&] { return s->counters().open_retries > 0; }));

  std::filesystem::remove(sub);
  std::filesystem::rename(sub + ".away", sub);
  ASSERT_TRUE(WaitFor([&] { return s->available() && s->counters().alerts_held == 0; }));
  EXPECT_EQ(s->generation(), 1u);
  EXPECT_EQ(s->Trouble(), "");
  EXPECT_EQ(OutboxIds(*s), (std::vector<uint64_t>{1, 2, 3, id}));
  EXPECT_GT(s->OutboxEnd(), last_stored);
  rerr.clear();
  EXPECT_EQ(s->Alerts(q, &rerr).size(), 4u) << rerr;
  s->Stop();
}

TEST_F(AlertLaneTest, HeldAlertsOverTheBoundShedLowestSeverityFirst) {
  opts_.path = dir_ + "/file/agentwatch.db";
  std::ofstream(dir_ + "/file") << "x";
  opts_.held_max = 3;
  std::string err;
  auto s = Store::OpenOrDefer(opts_, &err);
  ASSERT_TRUE(s);
  const char* severities[] = {"low", "high", "info", "critical", "medium"};
  for (uint64_t i = 0; i < 5; ++i) s->PutAlert(MakeAlert(i + 1, severities[i]));
  s->Flush();
  EXPECT_EQ(OutboxIds(*s), (std::vector<uint64_t>{2, 4, 5}));
  EXPECT_EQ(s->counters().alerts_shed, 2u);
  EXPECT_NE(s->Trouble().find("2 shed"), std::string::npos) << s->Trouble();
}

}  // namespace
}  // namespace agentwatch
