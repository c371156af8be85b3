// The anomaly engine: stateless detectors (detect/signals.h) tag events with
// signals; sequence rules (detect/rules.h) over an agent's, a server's or
// the host's signals produce alerts with their evidence. Deterministic and
// fed in order by the pipeline thread (so a replay raises the same alerts);
// rules are swapped and alerts read from other threads (internally locked).
#ifndef AGENTWATCH_DETECT_ENGINE_H_
#define AGENTWATCH_DETECT_ENGINE_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "agentwatch/v1/agentwatch.pb.h"
#include "detect/baseline.h"
#include "detect/rules.h"
#include "detect/signals.h"
#include "model/attribution.h"

namespace agentwatch {

class Engine {
 public:
  struct Options {
    size_t max_alerts = 10000;   // kept in memory, oldest dropped
    size_t max_states = 100000;  // partial matches, oldest dropped
    Baselines::Options baseline;
  };
  struct Counters {
    uint64_t signals = 0;
    uint64_t alerts = 0;           // distinct alerts raised
    uint64_t alerts_folded = 0;    // repeats counted into an existing alert
    uint64_t alerts_excepted = 0;  // matched, dropped by an exception
    uint64_t alerts_suppressed = 0;  // matched, dropped by a suppression
    uint64_t alerts_rate_limited = 0;  // new alerts over a rule's max_per_minute
    uint64_t states_evicted = 0;
    uint64_t rule_loads = 0;
  };
  // Lookups into the rest of the pipeline (may be empty in tests).
  struct Lookups {
    // The server's serverInfo name (or exe), "" if unknown.
    std::function<std::string(uint32_t server_pid)> server_name;
    // The current tool definitions of a server identity.
    std::function<bool(const std::string& identity, v1::McpToolInventory*)> inventory;
    // The server's command line (for the roots it declares), empty if unknown.
    std::function<std::vector<std::string>(uint32_t server_pid)> server_argv;
    // What the engine asks of a server on each of its effects, in one
    // lookup: false if unknown.
    std::function<bool(uint32_t server_pid, ServerFacts* out)> server_facts;
    // The pod a process runs in: false when in none.
    std::function<bool(uint32_t pid, v1::Kubernetes* out)> kubernetes;
    // The node (host) name alerts carry.
    std::string node;
  };

  Engine() : Engine(Options{}) {}
  explicit Engine(Options opts) : opts_(opts), baselines_(opts.baseline) {}
  void SetLookups(Lookups l) { lookups_ = std::move(l); }

  // Compiles and swaps in the rules; on error the old ones stay.
  std::string SetRules(const RuleSet& rules);
  void SetNextAlertId(uint64_t id);

  // Pipeline thread: one published event, and whom it belongs to (the
  // correlator's attribution); alerts raised (or updated) are appended to
  // out as EVENT_TYPE_ALERT events.
  void OnEvent(const v1::Event& ev, Attribution who, std::vector<v1::Event>* out);

  // Any thread.
  std::vector<v1::Alert> Alerts(const v1::ListAlertsRequest& req) const;
  bool Alert(uint64_t id, v1::Alert* out) const;
  std::vector<v1::Rule> Rules() const;
  std::vector<std::string> RuleFiles() const;
  // The suppressions in force, with how many alerts each dropped.
  std::vector<v1::Suppression> Suppressions() const;
  Counters counters() const;
  // Matches per (rule id, severity) that raised or were folded into an
  // alert (after exceptions and suppressions), since start.
  std::map<std::pair<std::string, std::string>, uint64_t> RuleMatches() const;

  // Any thread, no engine lock held while scanning: content an agent read,
  // scored by the text detector (the rules' text_scoring).
  bool ScanContent(const std::string& text, std::string* reason, std::string* excerpt) const;
  // A prompts/resources/templates listing (Detectors::ScanDefinitionList):
  // reason "prompt NAME: instructions to the model ...".
  bool ScanDefinitions(const std::string& method, const std::string& result,
                       std::string* reason, std::string* excerpt) const;
  // Any thread: the destination is outside the allow-lists (egress).
  bool IsEgress(const v1::SockAddr& remote) const;

  // Learned baselines (family 10), any thread: loaded from the store at
  // start, the changed ones for the store's batches, listed (export) and
  // started over.
  void LoadBaselines(const std::vector<v1::Baseline>& profiles);
  void ChangedBaselines(int64_t since_unix_ns, std::vector<v1::Baseline>* out) const;
  std::vector<v1::Baseline> ListBaselines(const std::string& server) const;
  uint32_t ResetBaselines(const std::string& server, bool all, int64_t now_unix_ns);

  static v1::Rule RuleInfo(const Rule& r);
  // Checks a rule file as the daemon would load it (over the built-in
  // pack, lists compiled), loading nothing. "" or the error; set gets the
  // resulting rules.
  static std::string Lint(const std::string& yaml, const std::string& name, RuleSet* set);

 private:
  struct Partial {
    size_t step = 0;       // next step to match
    uint32_t matched = 0;  // signals matched for that step so far
    int64_t first_unix_ns = 0;
    std::vector<std::pair<size_t, Signal>> evidence;  // (step, signal)
    Attribution who;
  };
  struct Folded {
    uint64_t alert_id = 0;
    int64_t last_unix_ns = 0;
  };

  // The signals of one event, by kind: a kernel effect, an MCP call (with
  // the tools a listing shadows or shows for the first time), a payload
  // leaving the host, a changed tool.
  void EffectSignals(const v1::Event& ev, const Attribution& who, std::vector<Signal>* sigs);
  void CallSignals(const v1::Event& ev, const Attribution& who, int64_t now,
                   std::vector<Signal>* sigs);
  void ShadowedToolSignals(const v1::Event& ev, uint32_t agent, const std::string& identity,
                           const v1::McpToolInventory& inv, int64_t now,
                           std::vector<Signal>* sigs);
  void NewToolSignals(const v1::Event& ev, const std::string& identity,
                      const v1::McpToolInventory& inv, int64_t now, std::vector<Signal>* sigs);
  void OutboundSignals(const v1::Event& ev, const Attribution& who,
                       std::vector<Signal>* sigs) const;
  Signal ToolChangedSignal(const v1::Event& ev, uint32_t server, int64_t now) const;
  void Evaluate(const Signal& sig, const Attribution& who, int64_t now,
                std::vector<v1::Event>* out);
  bool Matches(const RuleStep& step, const Signal& sig) const;
  void Raise(size_t rule_index, const std::string& scope_key, Partial&& p, int64_t now,
             std::vector<v1::Event>* out);
  // The steps of Raise: a repeat within the window counts into the alert
  // it repeats; a new alert over the rule's rate is dropped; the alert.
  bool FoldRepeat(const Rule& r, const std::string& fold_key, int64_t now,
                  std::vector<v1::Event>* out);
  bool RateLimited(const Rule& r, const std::string& scope, int64_t now);
  v1::Alert NewAlert(const Rule& r, const std::string& key, const Partial& p,
                     const Signal& final_sig, int64_t now);
  void Sweep(int64_t now);
  bool Suppressed(const Rule& r, const std::string& key, const Partial& p, int64_t now);
  void Fields(Signal* sig, const Attribution& who) const;

  const Options opts_;
  Lookups lookups_;
  mutable std::mutex mu_;
  RuleSet rules_;
  std::shared_ptr<const Detectors> detectors_;  // null until rules are set
  Baselines baselines_;
  // rule index -> scope key -> partial match
  std::vector<std::map<std::string, Partial>> states_;
  std::map<std::string, Folded> folded_;  // rule|scope|key -> alert
  std::deque<v1::Alert> alerts_;          // oldest first
  std::map<std::string, std::set<std::string>> used_tools_;    // identity -> tools
  std::map<std::string, std::set<std::string>> scanned_tools_; // identity -> hashes
  std::map<uint32_t, std::map<std::string, std::string>> agent_tools_;
  std::map<std::string, std::string> tool_owner_;  // tool name -> identity  // agent -> tool -> identity
  std::map<std::string, uint64_t> suppression_hits_;
  struct RateWindow {
    int64_t start_unix_ns = 0;
    uint32_t count = 0;
  };
  std::map<std::string, RateWindow> rate_;  // rule id|scope -> this minute's alerts
  uint64_t next_alert_ = 1;
  int64_t next_sweep_ = 0;
  Counters counters_;
  std::map<std::pair<std::string, std::string>, uint64_t> rule_matches_;
};

}  // namespace agentwatch

#endif  // AGENTWATCH_DETECT_ENGINE_H_
