// Detection rules: the YAML format of the built-in pack and of local files
// in rules.d, parsed and checked (pure; every error names its file, line
// and what is wrong).
#ifndef AGENTWATCH_DETECT_RULES_H_
#define AGENTWATCH_DETECT_RULES_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/text.h"  // SeverityRank

namespace agentwatch {

// field matches one of the glob patterns (a leading '!' negates that
// pattern: the condition holds when no negated pattern matches). A value
// "@name" stands for every entry of list `name` ("!@name": none of them);
// the field `macro` names macros whose conditions stand in its place. Both
// are resolved when rules are loaded (ResolveRules).
struct Condition {
  std::string field;
  std::vector<std::string> values;
};

struct RuleStep {
  std::vector<std::string> signals;  // any of these
  std::vector<Condition> where;      // all of these
  uint32_t count = 1;                // matching signals needed
};

struct Rule {
  std::string id;
  std::string description;
  std::string severity = "medium";
  std::vector<std::string> attack;
  std::string scope = "agent";  // agent, server, host
  uint64_t within_ms = 10 * 60 * 1000;
  std::vector<RuleStep> steps;
  std::vector<Condition> exceptions;  // the alert is dropped if any holds
                                      // for any step's signal
  std::string key;       // field of the last step telling alerts apart
  std::string output;    // "{agent} read {1.path}": fields by step, and
                         // {agent}, {server}, {count}
  std::string response;
  bool enabled = true;
  // New alerts of this rule per minute at most; more are dropped and
  // counted (repeats of one alert are folded, not limited). 0 = no limit.
  uint32_t max_per_minute = 60;
  std::string source;    // "builtin" or the file
};

// Drops alerts that are known and accepted, across rules: an alert of a
// rule matching `rules` (ids or globs; empty = every rule) whose evidence
// satisfies every condition (each by some evidence signal, with the
// alert's own fields `rule`, `severity`, `agent_exe` and `key` too) is not
// raised; it is counted. `until` makes it lapse.
struct Suppression {
  std::string id;
  std::vector<std::string> rules;
  std::vector<Condition> where;
  int64_t until_unix_ns = 0;  // 0 = no end
  std::string comment;
  std::string source;
};

// One feature of the scored text detector (detect/text_score.h): RE2
// patterns over normalised, lower-case text (any match in a sentence fires
// it), or none for a channel feature that normalisation finds (hidden
// characters, hidden markup), and its weight in a tool definition's field
// and in content an agent reads.
struct TextFeature {
  std::string name;
  std::string description;
  double definition_weight = 0;
  double result_weight = 0;
  std::vector<std::string> patterns;
};

// `text_scoring:`: a text is flagged when the weights of the distinct
// features in `window` consecutive sentences (plus its channel features)
// reach the threshold of its kind.
struct TextScoring {
  double definition_threshold = 4;
  double result_threshold = 4;
  uint32_t window = 2;
  std::vector<TextFeature> features;  // in load order
};

// Channel features: fired by what normalisation finds, not by patterns.
const std::vector<std::string>& TextChannelFeatures();

struct RuleSet {
  TextScoring text;
  std::vector<Rule> rules;  // in load order
  std::vector<Suppression> suppressions;
  // Named condition sets (`macros:`), used as {macro: name} in conditions.
  std::map<std::string, std::vector<Condition>> macros;
  std::map<std::string, std::vector<std::string>> lists;
  std::vector<std::string> files;
};

// Signals the detectors produce, and the fields each carries.
const std::map<std::string, std::vector<std::string>>& KnownSignals();

// Applies one rule file to set: new rules are added; a rule whose id is
// already there has the fields this file sets overridden (exceptions are
// added to the rule's own); a list given as a sequence replaces the list,
// as {append: [...]} extends it. Returns "" or "<source>: line N: ...";
// on error set is unchanged.
std::string ApplyRulesYaml(const std::string& yaml, const std::string& source,
                           RuleSet* set);

// A copy of in with macros and list references expanded in every step's
// conditions, exception and suppression, checked against the fields the
// signals carry. Returns "" or the error.
std::string ResolveRules(const RuleSet& in, RuleSet* out);

// The built-in pack, then every *.yaml and *.yml in dir (name order; a missing dir
// is fine). Returns "" or the first error.
std::string LoadRules(const std::string& dir, RuleSet* set);

const std::string& BuiltinRulesYaml();

}  // namespace agentwatch

#endif  // AGENTWATCH_DETECT_RULES_H_
