// Fairness in the real kernel: a watched process that floods payload spends
// its own budget (its captures are left out, as gaps in its stream) while
// another watched process's payload is captured whole; and payload never
// takes the last quarter of the ring buffer, so the exit of a process is
// seen even while nobody reads and payload has filled the ring. A process
// that floods file records spends its own record budget. And a write
// longer than payload_max is captured as its head and its last bytes.
#include <fcntl.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "common/clock.h"
#include "events.h"
#include "sensor/decode.h"
#include "sensor/sensor.h"

namespace agentwatch {
namespace {

bool RequireBpf() {
  const char* v = getenv("AGENTWATCH_REQUIRE_BPF");
  return v != nullptr && std::string(v) == "1";
}

// Writes n blocks of size bytes into a pipe of its own, reading each back,
// pause_us apart, as uid (0: as it is).
[[noreturn]] void Flood(int go_fd, int n, size_t size, int pause_us, uid_t uid = 0) {
  char c;
  if (read(go_fd, &c, 1) != 1) _exit(90);
  if (uid != 0 && (setgid(uid) != 0 || setuid(uid) != 0)) _exit(94);
  int pp[2];
  if (pipe(pp) != 0) _exit(91);
  static char buf[65536];
  memset(buf, 'f', sizeof(buf));
  for (int i = 0; i < n; ++i) {
    if (write(pp[1], buf, size) != static_cast<ssize_t>(size)) _exit(92);
    if (read(pp[0], buf, size) != static_cast<ssize_t>(size)) _exit(93);
    if (pause_us > 0) usleep(pause_us);
  }
  _exit(0);
}

// Writes n small numbered lines into a pipe of its own, 1 ms apart.
[[noreturn]] void Quiet(int go_fd, int n) {
  char c;
  if (read(go_fd, &c, 1) != 1) _exit(90);
  int pp[2];
  if (pipe(pp) != 0) _exit(91);
  char line[64];
  for (int i = 0; i < n; ++i) {
    const int len = snprintf(line, sizeof(line), "quiet-%03d\n", i);
    if (write(pp[1], line, len) != len) _exit(92);
    if (read(pp[0], line, sizeof(line)) != len) _exit(93);
    usleep(1000);
  }
  _exit(0);
}

// Opens path n times as uid (0: as it is), as fast as it can.
[[noreturn]] void OpenFlood(int go_fd, int n, const char* path, uid_t uid) {
  char c;
  if (read(go_fd, &c, 1) != 1) _exit(90);
  if (uid != 0 && (setgid(uid) != 0 || setuid(uid) != 0)) _exit(94);
  for (int i = 0; i < n; ++i) {
    const int fd = open(path, O_RDONLY);
    if (fd < 0) _exit(91);
    close(fd);
  }
  _exit(0);
}

// Opens dir/quiet-000 .. dir/quiet-(n-1), 1 ms apart.
[[noreturn]] void QuietOpens(int go_fd, int n, const std::string& dir) {
  char c;
  if (read(go_fd, &c, 1) != 1) _exit(90);
  for (int i = 0; i < n; ++i) {
    char path[512];
    snprintf(path, sizeof(path), "%s/quiet-%03d", dir.c_str(), i);
    const int fd = open(path, O_RDONLY);
    if (fd < 0) _exit(91);
    close(fd);
    usleep(1000);
  }
  _exit(0);
}

class SensorFairnessTest : public ::testing::Test {
 protected:
  bool Start(const SensorOptions& opts) {
    std::string err;
    bool ok = geteuid() == 0;
    if (ok) {
      ok = sensor_.Start(
          opts,
          [this](std::span<const uint8_t> rec) {
            v1::Event ev;
            std::string e;
            if (DecodeRecord(rec, offset_, &ev, &e) != DecodeStatus::kOk) return;
            std::lock_guard<std::mutex> lock(mu_);
            events_.push_back(std::move(ev));
          },
          &err);
    } else {
      err = "not root";
    }
    if (!ok) {
      if (RequireBpf()) ADD_FAILURE() << "BPF required but unavailable: " << err;
      return false;
    }
    return true;
  }

  void StartPolling() {
    poller_ = std::thread([this] {
      while (!stop_) sensor_.Poll(20);
    });
  }

  void TearDown() override {
    stop_ = true;
    if (poller_.joinable()) poller_.join();
    sensor_.Stop();
  }

  std::vector<v1::Event> Snapshot() {
    std::lock_guard<std::mutex> lock(mu_);
    return events_;
  }

  bool WaitExit(uint32_t pid) {
    for (int i = 0; i < 250; ++i) {
      for (const auto& e : Snapshot())
        if (e.type() == v1::EVENT_TYPE_EXIT && e.process().pid() == pid) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }

  uint64_t Counter(int idx) { return sensor_.KernelCounters()[idx]; }

  // Forks a flooder and a quiet process (each runs its function, which
  // waits for a go byte on the fd it is given and exits), watches both,
  // lets them go together and waits until both have exited 0.
  void FloodBesideQuiet(const std::function<void(int)>& flood,
                        const std::function<void(int)>& quiet, pid_t* flooder, pid_t* quieter) {
    int go_f[2], go_q[2];
    ASSERT_EQ(pipe2(go_f, O_CLOEXEC), 0);
    ASSERT_EQ(pipe2(go_q, O_CLOEXEC), 0);
    *flooder = fork();
    if (*flooder == 0) flood(go_f[0]);
    *quieter = fork();
    if (*quieter == 0) quiet(go_q[0]);
    ASSERT_TRUE(sensor_.Watch(*flooder, AW_WATCH_ON));
    ASSERT_TRUE(sensor_.Watch(*quieter, AW_WATCH_ON));
    ASSERT_EQ(write(go_f[1], "g", 1), 1);
    ASSERT_EQ(write(go_q[1], "g", 1), 1);
    int st = 0;
    ASSERT_EQ(waitpid(*flooder, &st, 0), *flooder);
    EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << st;
    ASSERT_EQ(waitpid(*quieter, &st, 0), *quieter);
    EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << st;
  }

  void LongWrite(const SensorOptions& opts, bool vec);

  Sensor sensor_;
  int64_t offset_ = BootToUnixOffsetNs();
  std::mutex mu_;
  std::vector<v1::Event> events_;
  std::atomic<bool> stop_{false};
  std::thread poller_;
};

// The flooder runs as another user (a user's processes also share a
// budget, four times a process's).
TEST_F(SensorFairnessTest, AFloodingProcessSpendsOnlyItsOwnPayloadBudget) {
  SensorOptions opts;
  opts.payload_rate = 256 << 10;
  opts.payload_burst = 128 << 10;
  if (!Start(opts)) GTEST_SKIP() << "BPF unavailable";
  StartPolling();
  const uint64_t throttled_before = Counter(AW_CTR_PAYLOAD_THROTTLED);

  constexpr int kBlocks = 2000;
  constexpr size_t kBlock = 4096;
  constexpr int kLines = 50;
  pid_t flooder = 0, quiet = 0;
  FloodBesideQuiet([&](int go) { Flood(go, kBlocks, kBlock, 200, 65534); },  // another user; >= 0.4 s
                   [&](int go) { Quiet(go, kLines); }, &flooder, &quiet);
  ASSERT_FALSE(HasFatalFailure());
  ASSERT_TRUE(WaitExit(flooder));
  ASSERT_TRUE(WaitExit(quiet));

  uint64_t flood_bytes = 0, next = 0, gaps = 0, reported = 0;
  std::set<std::string> lines;
  for (const auto& e : Snapshot()) {
    if (e.type() == v1::EVENT_TYPE_CAPTURE_EVADED &&
        e.process().pid() == static_cast<uint32_t>(flooder)) {
      EXPECT_EQ(e.evasion().mechanism(), "payload_budget");
      EXPECT_TRUE(e.evasion().stream_gap());
      reported += e.evasion().bytes();
    }
    if (e.type() != v1::EVENT_TYPE_PAYLOAD || e.payload().direction() != "out") continue;
    const v1::PayloadInfo& p = e.payload();
    if (e.process().pid() == static_cast<uint32_t>(flooder)) {
      flood_bytes += p.data().size();
      if (p.offset() > next) ++gaps;  // bytes before this one were left out
      next = p.offset() + p.data().size();
    } else if (e.process().pid() == static_cast<uint32_t>(quiet)) {
      lines.insert(p.data());
    }
  }
  // The flooder wrote 8 MiB; it got its burst and its rate, not more, and
  // went on being captured as its budget refilled.
  EXPECT_GT(flood_bytes, 0u);
  EXPECT_LT(flood_bytes, kBlocks * kBlock / 2) << "the flooder was not held to its budget";
  EXPECT_GT(gaps, 0u) << "what was left out is not a gap in the flooder's stream";
  EXPECT_GT(Counter(AW_CTR_PAYLOAD_THROTTLED), throttled_before);
  // And said so, with the bytes it left out (reported at most once a
  // second, so the last second's may still be unreported).
  EXPECT_GT(reported, 0u) << "no payload_budget evasion record";
  EXPECT_LE(reported, 2 * kBlocks * kBlock - flood_bytes);
  // The other process, at the same time, lost nothing.
  EXPECT_EQ(lines.size(), static_cast<size_t>(kLines));
  for (int i = 0; i < kLines; ++i) {
    char want[32];
    snprintf(want, sizeof(want), "quiet-%03d\n", i);
    EXPECT_EQ(lines.count(want), 1u) << "missing " << want;
  }
}

TEST_F(SensorFairnessTest, PayloadLeavesTheLastQuarterOfTheRingToLifecycleRecords) {
  SensorOptions opts;
  opts.ringbuf_bytes = 256 << 10;
  opts.payload_rate = 0;  // no per-process budget: only the ring's share
  if (!Start(opts)) GTEST_SKIP() << "BPF unavailable";
  const uint64_t shed_before = Counter(AW_CTR_PAYLOAD_SHED);

  // Nobody reads while a watched process writes 4 MiB and two processes
  // end: payload fills its three quarters, the exits still fit.
  int go_f[2];
  ASSERT_EQ(pipe2(go_f, O_CLOEXEC), 0);
  const pid_t flooder = fork();
  if (flooder == 0) Flood(go_f[0], 1000, 4096, 0);
  ASSERT_TRUE(sensor_.Watch(flooder, AW_WATCH_ON));
  ASSERT_EQ(write(go_f[1], "g", 1), 1);
  int st = 0;
  ASSERT_EQ(waitpid(flooder, &st, 0), flooder);
  const pid_t marker = fork();
  if (marker == 0) _exit(3);
  ASSERT_EQ(waitpid(marker, &st, 0), marker);
  EXPECT_GT(Counter(AW_CTR_PAYLOAD_SHED), shed_before);

  StartPolling();
  EXPECT_TRUE(WaitExit(flooder)) << "the flooder's exit was crowded out by its payload";
  EXPECT_TRUE(WaitExit(marker)) << "another process's exit was crowded out by payload";
  uint64_t payload = 0;
  for (const auto& e : Snapshot())
    if (e.type() == v1::EVENT_TYPE_PAYLOAD && e.process().pid() == static_cast<uint32_t>(flooder))
      payload += e.payload().data().size();
  EXPECT_GT(payload, 0u);
  EXPECT_LE(payload, opts.ringbuf_bytes - opts.ringbuf_bytes / 4);
}

// The flooder runs as another user, opening /dev/null 300,000 times.
TEST_F(SensorFairnessTest, AFloodOfFileRecordsSpendsOnlyItsOwnRecordBudget) {
  SensorOptions opts;
  opts.record_rate = 5000;
  opts.record_burst = 5000;
  if (!Start(opts)) GTEST_SKIP() << "BPF unavailable";
  StartPolling();
  const uint64_t throttled_before = Counter(AW_CTR_RECORDS_THROTTLED);
  char tmpl[] = "/tmp/aw-records-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  constexpr int kQuiet = 50;
  for (int i = 0; i < kQuiet; ++i) {
    char path[512];
    snprintf(path, sizeof(path), "%s/quiet-%03d", dir.c_str(), i);
    const int fd = open(path, O_CREAT | O_WRONLY, 0644);
    ASSERT_GE(fd, 0);
    close(fd);
  }
  constexpr int kOpens = 300000;
  pid_t flooder = 0, quiet = 0;
  FloodBesideQuiet([&](int go) { OpenFlood(go, kOpens, "/dev/null", 65534); },
                   [&](int go) { QuietOpens(go, kQuiet, dir); }, &flooder, &quiet);
  ASSERT_FALSE(HasFatalFailure());
  EXPECT_TRUE(WaitExit(flooder)) << "the flooder's exit was lost to its own flood";
  EXPECT_TRUE(WaitExit(quiet));

  uint64_t flood_opens = 0, reported = 0;
  std::set<std::string> quiet_paths;
  for (const auto& e : Snapshot()) {
    const bool theirs = e.process().pid() == static_cast<uint32_t>(flooder);
    if (e.type() == v1::EVENT_TYPE_CAPTURE_EVADED && theirs) {
      EXPECT_EQ(e.evasion().mechanism(), "record_budget");
      reported += e.evasion().bytes();
    }
    if (!e.has_file()) continue;
    if (theirs && e.file().path() == "/dev/null") ++flood_opens;
    if (e.process().pid() == static_cast<uint32_t>(quiet)) quiet_paths.insert(e.file().path());
  }
  for (int i = 0; i < kQuiet; ++i) {
    char path[512];
    snprintf(path, sizeof(path), "%s/quiet-%03d", dir.c_str(), i);
    EXPECT_EQ(quiet_paths.count(path), 1u) << "the quiet process's open of " << path << " was lost";
    unlink(path);
  }
  rmdir(dir.c_str());
  EXPECT_GT(flood_opens, 0u);
  EXPECT_LT(flood_opens, static_cast<uint64_t>(kOpens / 2)) << "not held to its record budget";
  EXPECT_GT(Counter(AW_CTR_RECORDS_THROTTLED), throttled_before);
  // Said, with the records left out (at most once a second, so the last
  // second's may be unreported).
  EXPECT_GT(reported, 0u) << "no record_budget evasion record";
  EXPECT_LE(reported, static_cast<uint64_t>(kOpens) - flood_opens);
}

// A write from one buffer, and the same bytes written with writev in three
// iovecs (the tail spans the last two).
TEST_F(SensorFairnessTest, ALongWriteIsCapturedAsItsHeadAndItsTail) {
  SensorOptions opts;
  if (!Start(opts)) GTEST_SKIP() << "BPF unavailable";
  StartPolling();
  for (bool vec : {false, true}) {
    SCOPED_TRACE(vec ? "writev" : "write");
    LongWrite(opts, vec);
  }
}

void SensorFairnessTest::LongWrite(const SensorOptions& opts, bool vec) {
  constexpr size_t kLen = 100000;
  int go[2];
  ASSERT_EQ(pipe2(go, O_CLOEXEC), 0);
  const pid_t child = fork();
  if (child == 0) {
    char c;
    if (read(go[0], &c, 1) != 1) _exit(90);
    int pp[2];
    if (pipe2(pp, O_NONBLOCK) != 0) _exit(91);
    if (fcntl(pp[1], F_SETPIPE_SZ, 1 << 20) < 0) _exit(92);
    static char buf[kLen];
    memset(buf, 'h', sizeof(buf));
    memcpy(buf + sizeof(buf) - 8, "THE-END\n", 8);
    if (vec) {
      struct iovec v[3] = {{buf, 60000}, {buf + 60000, 39500}, {buf + 99500, 500}};
      if (writev(pp[1], v, 3) != static_cast<ssize_t>(sizeof(buf))) _exit(94);
    } else if (write(pp[1], buf, sizeof(buf)) != static_cast<ssize_t>(sizeof(buf))) {
      _exit(93);
    }
    _exit(0);
  }
  ASSERT_TRUE(sensor_.Watch(child, AW_WATCH_ON));
  ASSERT_EQ(write(go[1], "g", 1), 1);
  int st = 0;
  ASSERT_EQ(waitpid(child, &st, 0), child);
  ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << st;
  ASSERT_TRUE(WaitExit(child));
  uint64_t head = 0, tail = 0, tail_offset = 0;
  bool announced = false;
  std::string tail_bytes;
  for (const auto& e : Snapshot()) {
    if (e.type() != v1::EVENT_TYPE_PAYLOAD || e.process().pid() != static_cast<uint32_t>(child) ||
        e.payload().direction() != "out")
      continue;  // (its read of the go byte)
    const v1::PayloadInfo& p = e.payload();
    EXPECT_EQ(p.syscall_length(), kLen);
    if (p.tail()) {
      if (tail == 0) tail_offset = p.offset();
      tail += p.data().size();
      tail_bytes += p.data();
    } else {
      head += p.data().size();
      if (p.tail_follows()) announced = p.truncated();
    }
  }
  EXPECT_EQ(head, opts.payload_max - AW_TAIL_BYTES);
  EXPECT_TRUE(announced) << "the head's last chunk says it is cut and a tail follows";
  EXPECT_EQ(tail, static_cast<uint64_t>(AW_TAIL_BYTES));
  EXPECT_EQ(tail_offset, kLen - AW_TAIL_BYTES) << "the tail sits at its stream offset";
  EXPECT_EQ(tail_bytes.substr(tail_bytes.size() - 8), "THE-END\n");
}

}  // namespace
}  // namespace agentwatch
