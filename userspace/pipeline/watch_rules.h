// Deciding which processes to watch: the configured rules and pids.
#ifndef AGENTWATCH_PIPELINE_WATCH_RULES_H_
#define AGENTWATCH_PIPELINE_WATCH_RULES_H_

#include <string>
#include <unordered_set>
#include <vector>

#include "proc/process_table.h"

namespace agentwatch {

// A process is watched when every field that is set matches.
struct WatchRule {
  std::string name;
  std::string exe;            // glob on the executable path
  std::string argv_contains;  // substring of any argv element
  std::string comm;           // glob on the 15-char command name

  bool operator==(const WatchRule&) const = default;
};

// The built-in watch rules: command lines of common MCP servers.
const std::vector<WatchRule>& BuiltinWatchRules();

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

#endif  // AGENTWATCH_PIPELINE_WATCH_RULES_H_
