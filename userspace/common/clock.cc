#include "common/clock.h"

#include <time.h>

#include <fmt/format.h>

namespace agentwatch {
namespace {
int64_t Read(clockid_t id) {
  timespec ts{};
  clock_gettime(id, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}
}  // namespace

int64_t NowUnixNs() { return Read(CLOCK_REALTIME); }
uint64_t NowBoottimeNs() { return static_cast<uint64_t>(Read(CLOCK_BOOTTIME)); }

int64_t BootToUnixOffsetNs() {
  // Bracket the boottime read with two realtime reads to halve the error.
  int64_t r1 = Read(CLOCK_REALTIME);
  int64_t b = Read(CLOCK_BOOTTIME);
  int64_t r2 = Read(CLOCK_REALTIME);
  return r1 + (r2 - r1) / 2 - b;
}

std::string FormatClock(int64_t unix_ns) {
  time_t secs = unix_ns / 1000000000;
  tm t{};
  localtime_r(&secs, &t);
  return fmt::format("{:02}:{:02}:{:02}.{:03}", t.tm_hour, t.tm_min, t.tm_sec,
                     (unix_ns / 1000000) % 1000);
}

std::string FormatRfc3339(int64_t unix_ns) {
  time_t secs = unix_ns / 1000000000;
  tm t{};
  gmtime_r(&secs, &t);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
                     t.tm_year + 1900, t.tm_mon + 1, t.tm_mday, t.tm_hour,
                     t.tm_min, t.tm_sec, (unix_ns / 1000) % 1000000);
}

std::string ProcessInstanceId(uint32_t pid, uint64_t start_boottime_ns) {
  // /proc reports start times in USER_HZ (100 on every Linux ABI) ticks.
  constexpr uint64_t kTickNs = 10000000;
  return fmt::format("{}-{}", pid, start_boottime_ns / kTickNs * (kTickNs / 1000000));
}

}  // namespace agentwatch
