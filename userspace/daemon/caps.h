// The Linux capabilities agentwatchd uses, and which of them a process
// lacks, so that a least-privileged deployment is told exactly what to add.
#ifndef AGENTWATCH_DAEMON_CAPS_H_
#define AGENTWATCH_DAEMON_CAPS_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace agentwatch {

struct CapabilityNeed {
  int number;
  const char* name;  // CAP_BPF
  const char* why;
};

// BPF, PERFMON, SYS_RESOURCE, SYS_PTRACE and DAC_READ_SEARCH, each with
// what it is for.
const std::vector<CapabilityNeed>& NeededCapabilities();

// The effective set from the text of /proc/self/status ("CapEff:" line);
// false when there is none.
bool ParseCapEff(std::string_view status_text, uint64_t* caps);

// The needs missing from caps on a kernel of this release ("6.1.0-13").
// CAP_SYS_ADMIN stands in for BPF and PERFMON (kernels before 5.8 know only
// it), CAP_DAC_OVERRIDE for DAC_READ_SEARCH; SYS_RESOURCE is needed only
// before 5.11 (later kernels charge BPF memory to the cgroup, not
// RLIMIT_MEMLOCK).
std::vector<CapabilityNeed> MissingCapabilities(uint64_t caps, std::string_view kernel_release);

// "CAP_BPF (load the probes), CAP_PERFMON (...)".
std::string DescribeMissing(const std::vector<CapabilityNeed>& missing);

}  // namespace agentwatch

#endif  // AGENTWATCH_DAEMON_CAPS_H_
