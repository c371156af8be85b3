// Conversion between the kernel's CLOCK_BOOTTIME timestamps and wall time.
#ifndef AGENTWATCH_COMMON_CLOCK_H_
#define AGENTWATCH_COMMON_CLOCK_H_

#include <cstdint>
#include <string>

namespace agentwatch {

int64_t NowUnixNs();
uint64_t NowBoottimeNs();

// "<pid>-<start ms>": a process instance, the same whether its start time
// came from the kernel (ns) or from /proc/<pid>/stat (clock ticks of 10 ms),
// so an id stays the same across daemon restarts.
std::string ProcessInstanceId(uint32_t pid, uint64_t start_boottime_ns);

// realtime - boottime, sampled now; add to a CLOCK_BOOTTIME value to get
// Unix nanoseconds.
int64_t BootToUnixOffsetNs();

// "15:04:05.123" in local time.
std::string FormatClock(int64_t unix_ns);
// "2026-11-24T15:04:05.123456Z"
std::string FormatRfc3339(int64_t unix_ns);

}  // namespace agentwatch

#endif  // AGENTWATCH_COMMON_CLOCK_H_
