#include "detect/baseline.h"

#include <gtest/gtest.h>

#include "testing/events.h"

namespace agentwatch {
namespace {

constexpr int64_t kSec = 1000000000;

class BaselineTest : public ::testing::Test {
 protected:
  BaselineTest() {
    opts_.learning_ns = 60 * kSec;
    opts_.min_observations = 20;
    b_.SetOptions(opts_);
  }
  // The next event, `step` after the previous one (wall clock only).
  v1::Event Stamp(events::EventBuilder b, int64_t step = kSec) {
    now_ += step;
    return b.Seq(++seq_).Time(now_);
  }
  // An effect of the server (pid 20).
  v1::Event ByServer(events::EventBuilder b) { return Stamp(b.Pid(20)); }
  std::vector<Signal> Open(const std::string& path) {
    v1::Event e = ByServer(events::FileOpen(path).Result(3));
    std::vector<Signal> out;
    b_.Effect("ident", "files", e, &out);
    return out;
  }
  std::vector<Signal> Exec(const std::string& file) {
    v1::Event e = ByServer(events::Exec(file));
    std::vector<Signal> out;
    b_.Effect("ident", "files", e, &out);
    return out;
  }
  std::vector<Signal> Call(const std::string& tool, uint64_t bytes, int64_t step = kSec) {
    v1::Event e = Stamp(events::ToolCall(tool).ServerPid(20).Bytes(100, bytes), step);
    std::vector<Signal> out;
    b_.Call("ident", "files", e, &out);
    return out;
  }
  // A server that reads its project, calls read_file with ~1-2 KB
  // results, for the whole learning period.
  void Learn() {
    for (int i = 0; i < 70; ++i) {
      EXPECT_TRUE(Open("/home/dev/project/src/file" + std::to_string(i % 5) + ".c").empty());
      EXPECT_TRUE(Call("read_file", 1000 + (i % 7) * 150).empty());
    }
    ASSERT_EQ(b_.List("files").size(), 1u);
    ASSERT_EQ(b_.List("files")[0].state(), "active");
  }

  Baselines::Options opts_;
  Baselines b_;
  uint64_t seq_ = 0;
  int64_t now_ = 1700000000 * kSec;
};

TEST(BaselineArea, CutsAndGeneralises) {
  EXPECT_EQ(Baselines::Area("/home/dev/project/src/main.c"), "/home/dev/project");
  EXPECT_EQ(Baselines::Area("/proc/1234/status"), "/proc/*");
  EXPECT_EQ(Baselines::Area("/tmp/aw-e2e-kQ2xZp/doc.txt"), "/tmp/*");
  EXPECT_EQ(Baselines::Area("/tmp/tmp.AbCdEf/doc.txt"), "/tmp/*");
  EXPECT_EQ(Baselines::Area("/etc/passwd"), "/etc");
  EXPECT_EQ(Baselines::Area("/vmlinuz"), "/");
  EXPECT_EQ(Baselines::Area("relative/path"), "");
  EXPECT_EQ(Baselines::Area("/home/MyProject/x"), "/home/MyProject");
}

TEST(BaselineDomain, KeepsTheRegistrablePart) {
  EXPECT_EQ(Baselines::Domain("api.github.com."), "github.com");
  EXPECT_EQ(Baselines::Domain("a.b.example.co.uk"), "example.co.uk");
  EXPECT_EQ(Baselines::Domain("localhost"), "localhost");
  EXPECT_EQ(Baselines::Domain("WWW.Example.ORG"), "example.org");
}

TEST_F(BaselineTest, LearnsThenFlagsNovelty) {
  // While learning, nothing is new.
  EXPECT_TRUE(Exec("/usr/bin/git").empty());
  Learn();
  // Known behaviour stays quiet.
  EXPECT_TRUE(Open("/home/dev/project/README").empty());
  EXPECT_TRUE(Exec("/usr/bin/git").empty());
  // A program it never ran.
  auto s = Exec("/usr/bin/curl");
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].name, "novel_behavior");
  EXPECT_EQ(s[0].fields["kind"], "exe");
  EXPECT_EQ(s[0].fields["value"], "/usr/bin/curl");
  EXPECT_EQ(s[0].fields["confident"], "true");
  EXPECT_GE(std::stod(s[0].fields["score"]), 0.5);
  // Once: the novelty is now part of the profile.
  EXPECT_TRUE(Exec("/usr/bin/curl").empty());
  // A new area is novel but not "reaching out".
  s = Open("/root/.ssh/id_rsa");
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].fields["kind"], "file_area");
  EXPECT_EQ(s[0].fields["value"], "/root/.ssh");
  EXPECT_EQ(s[0].fields["confident"], "false");
  // A new tool.
  s = Call("write_file", 1200);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].fields["kind"], "tool");
  EXPECT_EQ(b_.List("ident")[0].novelties(), 3u);
}

TEST_F(BaselineTest, NeedsBothTimeAndObservations) {
  // Many events within the period: still learning.
  for (int i = 0; i < 40; ++i) Call("read_file", 1000, kSec / 10);
  EXPECT_EQ(b_.List("files")[0].state(), "learning");
  // The period over but only one more event: enough now (41 >= 20).
  Call("read_file", 1000, 120 * kSec);
  EXPECT_EQ(b_.List("files")[0].state(), "active");

  // A fresh profile past its period with too few events keeps learning.
  Baselines other(opts_);
  v1::Event e = ByServer(events::Exec("/bin/true"));
  std::vector<Signal> out;
  other.Effect("x", "x", e, &out);
  e.set_time_unix_ns(e.time_unix_ns() + 3600 * kSec);
  e.mutable_exec()->set_filename("/bin/false");
  other.Effect("x", "x", e, &out);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(other.List("x")[0].state(), "learning");
}

TEST_F(BaselineTest, VolumeOutliers) {
  Learn();
  // Within the learned spread: nothing.
  EXPECT_TRUE(Call("read_file", 1900).empty());
  // A bulk read far above it.
  auto s = Call("read_file", 5 << 20);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].name, "volume_outlier");
  EXPECT_EQ(s[0].fields["kind"], "bytes_per_call");
  EXPECT_GT(std::stod(s[0].fields["score"]), 0.9);
  // A burst of calls far above the learned rate (one a second): once per
  // minute.
  now_ = (now_ / (60 * kSec) + 1) * 60 * kSec;
  int rate = 0;
  for (int i = 0; i < 200; ++i)
    for (const auto& sig : Call("read_file", 1000, kSec / 1000))
      rate += sig.fields.at("kind") == "call_rate";
  EXPECT_EQ(rate, 1);
}

TEST_F(BaselineTest, SaturatedKindsAreNotJudged) {
  opts_.max_values = 8;
  b_.SetOptions(opts_);
  for (int i = 0; i < 30; ++i) Call("tool" + std::to_string(i), 1000, 3 * kSec);
  auto list = b_.List("files");
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].state(), "active");
  ASSERT_EQ(list[0].saturated_size(), 1);
  EXPECT_EQ(list[0].saturated(0), "tool");
  EXPECT_TRUE(Call("another_tool", 1000).empty());
}

TEST_F(BaselineTest, PersistsResetsAndExports) {
  Learn();
  std::vector<v1::Baseline> changed;
  b_.Changed(0, &changed);
  ASSERT_EQ(changed.size(), 1u);
  // A new daemon that loads the stored profile judges as the old one did.
  Baselines again(opts_);
  again.Load(changed);
  v1::Event e = ByServer(events::Exec("/usr/bin/nc"));
  std::vector<Signal> out;
  again.Effect("ident", "files", e, &out);
  ASSERT_EQ(out.size(), 1u);
  // Nothing changed since: no snapshot.
  changed.clear();
  b_.Changed(now_ + 1, &changed);
  EXPECT_TRUE(changed.empty());
  // Reset by name: learning again, the profile empty.
  EXPECT_EQ(b_.Reset("nope", false, now_), 0u);
  EXPECT_EQ(b_.Reset("files", false, now_), 1u);
  auto list = b_.List("");
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].state(), "learning");
  EXPECT_EQ(list[0].features_size(), 0);
  EXPECT_TRUE(Exec("/usr/bin/nc").empty());
  changed.clear();
  b_.Changed(now_ - kSec, &changed);
  EXPECT_EQ(changed.size(), 1u);
}

}  // namespace
}  // namespace agentwatch
