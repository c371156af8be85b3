#include "pipeline/watch_rules.h"

#include "common/text.h"

namespace agentwatch {

const std::vector<WatchRule>& BuiltinWatchRules() {
  static const std::vector<WatchRule> kRules = {
      {"mcp-npm-official", "", "@modelcontextprotocol/server-", ""},
      {"mcp-server-name", "", "mcp-server", ""},
      {"mcp-server-exe", "*/mcp-server*", "", ""},
      {"fastmcp", "", "fastmcp", ""},
  };
  return kRules;
}

WatchMatcher::WatchMatcher(std::vector<WatchRule> rules,
                           std::vector<uint32_t> pids)
    : rules_(std::move(rules)), pids_(pids.begin(), pids.end()) {}

bool WatchMatcher::RuleMatches(const WatchRule& r, const ProcessInfo& p) {
  if (!r.exe.empty() && !GlobMatch(r.exe, p.exe)) return false;
  if (!r.comm.empty() && !GlobMatch(r.comm, p.comm)) return false;
  if (!r.argv_contains.empty()) {
    bool found = false;
    for (const auto& a : p.argv) {
      if (a.find(r.argv_contains) != std::string::npos) {
        found = true;
        break;
      }
    }
    if (!found) return false;
  }
  return !(r.exe.empty() && r.comm.empty() && r.argv_contains.empty());
}

std::string WatchMatcher::Match(const ProcessInfo& p) const {
  if (pids_.count(p.pid)) return "pid:" + std::to_string(p.pid);
  for (const auto& r : rules_) {
    if (RuleMatches(r, p)) return r.name;
  }
  return "";
}

}  // namespace agentwatch
