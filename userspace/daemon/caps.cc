#include "daemon/caps.h"

#include <cctype>
#include <cstdio>
#include <cstdlib>

namespace agentwatch {

namespace {
constexpr int kCapSysAdmin = 21;
constexpr int kCapBpf = 39;
constexpr int kCapPerfmon = 38;
constexpr int kCapSysResource = 24;
constexpr int kCapDacOverride = 1;
constexpr int kCapDacReadSearch = 2;
}  // namespace

const std::vector<CapabilityNeed>& NeededCapabilities() {
  static const std::vector<CapabilityNeed> kNeeds = {
      {kCapBpf, "CAP_BPF", "load the BPF programs and maps"},
      {kCapPerfmon, "CAP_PERFMON", "attach tracepoints and uprobes, read kernel memory in probes"},
      {kCapSysResource, "CAP_SYS_RESOURCE", "lock the ring buffer and maps in memory (RLIMIT_MEMLOCK)"},
      {19, "CAP_SYS_PTRACE", "read other processes' /proc entries (exe, fds, cgroups)"},
      {kCapDacReadSearch, "CAP_DAC_READ_SEARCH", "read MCP server files and /proc regardless of their modes"},
  };
  return kNeeds;
}

bool ParseCapEff(std::string_view text, uint64_t* caps) {
  constexpr std::string_view kKey = "CapEff:";
  size_t p = text.find(kKey);
  if (p == std::string_view::npos || (p > 0 && text[p - 1] != '\n')) return false;
  p += kKey.size();
  while (p < text.size() && (text[p] == ' ' || text[p] == '\t')) ++p;
  size_t e = p;
  while (e < text.size() && std::isxdigit(static_cast<unsigned char>(text[e]))) ++e;
  if (e == p || e - p > 16) return false;
  *caps = std::strtoull(std::string(text.substr(p, e - p)).c_str(), nullptr, 16);
  return true;
}

std::vector<CapabilityNeed> MissingCapabilities(uint64_t caps, std::string_view release) {
  auto has = [caps](int n) { return (caps >> n) & 1; };
  int major = 0, minor = 0;
  std::sscanf(std::string(release).c_str(), "%d.%d", &major, &minor);
  const bool memcg_accounting = major > 5 || (major == 5 && minor >= 11);
  std::vector<CapabilityNeed> out;
  for (const auto& n : NeededCapabilities()) {
    if (has(n.number)) continue;
    if ((n.number == kCapBpf || n.number == kCapPerfmon) && has(kCapSysAdmin)) continue;
    if (n.number == kCapDacReadSearch && has(kCapDacOverride)) continue;
    if (n.number == kCapSysResource && memcg_accounting) continue;
    out.push_back(n);
  }
  return out;
}

std::string DescribeMissing(const std::vector<CapabilityNeed>& missing) {
  std::string s;
  for (const auto& n : missing) {
    if (!s.empty()) s += ", ";
    s += n.name;
    s += " (";
    s += n.why;
    s += ")";
  }
  return s;
}

}  // namespace agentwatch
