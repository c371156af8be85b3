// Deciding which processes to watch: the configured rules and pids.
#ifndef AGENTWATCH_DAEMON_WATCH_RULES_H_
#define AGENTWATCH_DAEMON_WATCH_RULES_H_

#include <string>
#include <unordered_set>
#include <vector>

#include "daemon/config.h"
#include "proc/process_table.h"

namespace agentwatch {

class WatchMatcher {
 public:
  WatchMatcher() = default;
  WatchMatcher(std::vector<WatchRule> rules, std::vector<uint32_t> pids);

  // The name of the first rule that matches, or "" (a pid match is
  // "pid:<n>").
  std::string Match(const ProcessInfo& p) const;

  static bool RuleMatches(const WatchRule& r, const ProcessInfo& p);

 private:
  std::vector<WatchRule> rules_;
  std::unordered_set<uint32_t> pids_;
};

}  // namespace agentwatch

#endif  // AGENTWATCH_DAEMON_WATCH_RULES_H_
