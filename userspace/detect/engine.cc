#include "detect/engine.h"

#include <algorithm>
#include <set>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/text.h"

namespace agentwatch {
namespace {

constexpr size_t kEvidencePerStep = 10;

bool IsEffect(v1::EventType t) {
  return t == v1::EVENT_TYPE_EXEC || t == v1::EVENT_TYPE_FILE_OPEN ||
         t == v1::EVENT_TYPE_NET_CONNECT || t == v1::EVENT_TYPE_DNS_QUERY ||
         t == v1::EVENT_TYPE_CAPTURE_EVADED;
}

bool FieldMatches(const Condition& c, const std::map<std::string, std::string>& fields) {
  auto it = fields.find(c.field);
  const std::string value = it == fields.end() ? "" : it->second;
  bool any_positive = false, positive_hit = false;
  for (const auto& v : c.values) {
    if (!v.empty() && v[0] == '!') {
      if (GlobMatch(std::string_view(v).substr(1), value)) return false;
    } else {
      any_positive = true;
      positive_hit = positive_hit || GlobMatch(v, value);
    }
  }
  return !any_positive || positive_hit;
}

using EvidenceList = std::vector<std::pair<size_t, Signal>>;  // (step, signal)

// An exception of the rule holds for a signal of the evidence.
bool Excepted(const Rule& r, const EvidenceList& evidence) {
  for (const auto& c : r.exceptions) {
    for (const auto& [step, sig] : evidence) {
      bool positive = false;
      for (const auto& v : c.values) positive = positive || (v.empty() || v[0] != '!');
      if (positive && FieldMatches(c, sig.fields)) return true;
    }
  }
  return false;
}

void AddEvidence(const EvidenceList& evidence, v1::Alert* a) {
  for (const auto& [step, sig] : evidence) {
    v1::Evidence* e = a->add_evidence();
    e->set_step(static_cast<uint32_t>(step + 1));
    e->set_signal(sig.name);
    e->set_seq(sig.seq);
    e->set_time_unix_ns(sig.time_unix_ns);
    e->set_call_id(sig.call_id);
    e->set_pid(sig.pid);
    e->set_description(sig.description);
    for (const auto& [k, v] : sig.fields) (*e->mutable_fields())[k] = v;
  }
}

// The value of a {name} of the rule's output template: {agent}, {server},
// {count}, or {STEP.field} from the last signal of a step; "" if none.
std::string TemplateValue(const std::string& name, const Rule& r, const Signal& final_sig,
                          const std::map<size_t, const Signal*>& last) {
  std::string value;
  if (name == "agent" || name == "server") {
    auto f = final_sig.fields.find(name);
    value = f != final_sig.fields.end() ? f->second : "";
    if (value.empty()) value = name == "agent" ? "an unknown agent" : "an unknown server";
  } else if (name == "count") {
    value = std::to_string(r.steps.back().count);
  } else if (const size_t dot = name.find('.'); dot != std::string::npos) {
    size_t step = 0;
    try {
      step = std::stoul(name.substr(0, dot));
    } catch (const std::exception&) {
    }
    auto s = last.find(step - 1);
    if (step >= 1 && s != last.end()) {
      auto f = s->second->fields.find(name.substr(dot + 1));
      if (f != s->second->fields.end()) value = f->second;
    }
  }
  return value;
}

// The one-sentence summary from the rule's template.
std::string Summary(const Rule& r, const Signal& final_sig,
                    const std::map<size_t, const Signal*>& last) {
  std::string text = r.output.empty() ? r.description : r.output;
  std::string summary;
  for (size_t i = 0; i < text.size();) {
    if (text[i] != '{') {
      summary += text[i++];
      continue;
    }
    const size_t close = text.find('}', i);
    if (close == std::string::npos) {
      summary += text.substr(i);
      break;
    }
    const std::string name = text.substr(i + 1, close - i - 1);
    i = close + 1;
    const std::string value = TemplateValue(name, r, final_sig, last);
    summary += value.empty() ? "?" : value;
  }
  return summary;
}

// An alert (new or repeated) as the event the pipeline publishes.
v1::Event AlertEvent(v1::Alert a, int64_t now) {
  v1::Event e;
  e.set_type(v1::EVENT_TYPE_ALERT);
  e.set_time_unix_ns(now);
  *e.mutable_alert() = std::move(a);
  return e;
}

}  // namespace

v1::Rule Engine::RuleInfo(const Rule& r) {
  v1::Rule out;
  out.set_id(r.id);
  out.set_description(r.description);
  out.set_severity(r.severity);
  out.set_enabled(r.enabled);
  out.set_source(r.source);
  for (const auto& a : r.attack) out.add_attack(a);
  for (const auto& s : r.steps) {
    std::string sigs;
    for (const auto& n : s.signals) sigs += (sigs.empty() ? "" : "|") + n;
    if (s.count > 1) sigs += fmt::format(" x{}", s.count);
    out.add_signals(sigs);
  }
  out.set_scope(r.scope);
  out.set_within_ms(r.within_ms);
  return out;
}

std::string Engine::Lint(const std::string& yaml, const std::string& name, RuleSet* set) {
  std::string e = LoadRules("", set);
  if (e.empty()) e = ApplyRulesYaml(yaml, name, set);
  if (e.empty()) {
    Detectors d;
    e = d.Compile(set->lists, set->text);
  }
  return e;
}

std::string Engine::SetRules(const RuleSet& rules) {
  Detectors d;
  if (std::string e = d.Compile(rules.lists, rules.text); !e.empty()) return e;
  RuleSet resolved;
  if (std::string e = ResolveRules(rules, &resolved); !e.empty()) return e;
  std::lock_guard<std::mutex> lock(mu_);
  rules_ = std::move(resolved);
  detectors_ = std::make_shared<const Detectors>(std::move(d));
  states_.assign(rules_.rules.size(), {});
  folded_.clear();
  ++counters_.rule_loads;
  return "";
}

void Engine::SetNextAlertId(uint64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  next_alert_ = std::max<uint64_t>(id, next_alert_);
}

void Engine::Fields(Signal* sig, const Attribution& who) const {
  sig->fields["actor"] = who.server != 0 ? "server" : "agent";
  // The agent process itself (not a process it started): its own
  // connections are its model API traffic.
  sig->fields["self"] = who.agent != 0 && sig->pid == who.agent ? "true" : "false";
  std::string server;
  if (who.server != 0) {
    server = lookups_.server_name ? lookups_.server_name(who.server) : "";
    server = fmt::format("{} (pid {})", server.empty() ? "server" : server, who.server);
  }
  sig->fields["server"] = server;
  sig->fields["agent"] = who.agent != 0
                             ? fmt::format("{} (pid {})", Basename(who.agent_exe), who.agent)
                             : "";
  if (!sig->fields.count("via"))
    sig->fields["via"] = who.server != 0 ? "through " + server : "the agent itself";
}

void Engine::OnEvent(const v1::Event& ev, Attribution who, std::vector<v1::Event>* out) {
  std::lock_guard<std::mutex> lock(mu_);
  if (rules_.rules.empty()) return;
  const int64_t now = ev.time_unix_ns();
  if (now >= next_sweep_) {
    next_sweep_ = now + 1000000000;
    Sweep(now);
  }
  std::vector<Signal> sigs;
  if (IsEffect(ev.type())) {
    // Only watched and probed processes report an evasion: one on
    // probation (no known server yet) is named by its own pid.
    if (ev.type() == v1::EVENT_TYPE_CAPTURE_EVADED && who.agent == 0 && who.server == 0)
      who.server = ev.process().pid();
    if (who.agent == 0 && who.server == 0) return;  // nobody's: not ours
    EffectSignals(ev, who, &sigs);
  } else if (ev.type() == v1::EVENT_TYPE_MCP_CALL) {
    who.server = ev.call().server_pid();
    CallSignals(ev, who, now, &sigs);
  } else if (ev.type() == v1::EVENT_TYPE_PAYLOAD) {
    if (!ev.payload().has_remote() || (who.agent == 0 && who.server == 0)) return;
    OutboundSignals(ev, who, &sigs);
  } else if (ev.type() == v1::EVENT_TYPE_POSTURE) {
    // A credential the server or the agent itself holds: the process the
    // event names is the subject.
    if (ev.posture().subject() == "agent") {
      who.agent = ev.process().pid();
      who.agent_exe = ev.process().exe();
    } else {
      who.server = ev.process().pid();
    }
    // One alert per credential, not per agent session that saw it.
    who.chain = 0;
    detectors_->Effect(ev, &sigs);
  } else if (ev.type() == v1::EVENT_TYPE_MCP_TOOLS_CHANGED) {
    const v1::McpToolChange& ch = ev.tool_change();
    who.server = ch.server_pid() != 0 ? ch.server_pid() : ev.process().pid();
    sigs.push_back(ToolChangedSignal(ev, who.server, now));
  } else {
    return;
  }
  for (auto& s : sigs) {
    Fields(&s, who);
    ++counters_.signals;
    Evaluate(s, who, now, out);
  }
}

void Engine::EffectSignals(const v1::Event& ev, const Attribution& who,
                           std::vector<Signal>* sigs) {
  detectors_->Effect(ev, sigs);
  ServerFacts server;
  if (who.server == 0 || !lookups_.server_facts || !lookups_.server_facts(who.server, &server))
    return;
  if (lookups_.server_argv && ev.type() == v1::EVENT_TYPE_FILE_OPEN)
    detectors_->Scope(ev, lookups_.server_argv(who.server), server.roots, sigs);
  if (ev.type() == v1::EVENT_TYPE_NET_CONNECT || ev.type() == v1::EVENT_TYPE_DNS_QUERY) {
    // Egress of a server declared local-only.
    const bool local = detectors_->LocalOnly(server.names);
    for (auto& s : *sigs) {
      if (s.name == "egress" || s.name == "dns_query")
        s.fields["local_only"] = local ? "true" : "false";
    }
  }
  baselines_.Effect(server.identity, server.label, ev, sigs);
}

void Engine::CallSignals(const v1::Event& ev, const Attribution& who, int64_t now,
                         std::vector<Signal>* sigs) {
  const v1::McpCall& c = ev.call();
  if (c.method() == "tools/call" && c.status() != "error")
    used_tools_[c.server_identity()].insert(c.tool());
  detectors_->Call(ev, sigs);
  if (c.status() != "error")
    baselines_.Call(c.server_identity(),
                    lookups_.server_name ? lookups_.server_name(c.server_pid()) : "", ev, sigs);
  if (c.method() == "tools/list" && c.status() == "ok" && lookups_.inventory) {
    // Every definition is looked at once (by hash), including the first
    // listing, which is no change.
    v1::McpToolInventory inv;
    const std::string identity = c.server_identity();
    if (!identity.empty() && lookups_.inventory(identity, &inv)) {
      if (who.agent != 0) ShadowedToolSignals(ev, who.agent, identity, inv, now, sigs);
      NewToolSignals(ev, identity, inv, now, sigs);
    }
  }
}

void Engine::ShadowedToolSignals(const v1::Event& ev, uint32_t agent,
                                 const std::string& identity,
                                 const v1::McpToolInventory& inv, int64_t now,
                                 std::vector<Signal>* sigs) {
  const v1::McpCall& c = ev.call();
  // One agent, two servers, one tool name.
  if (agent_tools_.size() > 1024 && !agent_tools_.count(agent))
    agent_tools_.erase(agent_tools_.begin());
  auto& names = agent_tools_[agent];
  for (const auto& t : inv.tools()) {
    auto [it, fresh] = names.emplace(t.name(), identity);
    if (fresh || it->second == identity) continue;
    Signal& s = sigs->emplace_back();
    s.name = "tool_shadowed";
    s.description = fmt::format("tool {} also offered by server {}", t.name(), it->second);
    s.seq = ev.seq();
    s.time_unix_ns = now;
    s.call_id = c.call_id();
    s.pid = c.server_pid();
    s.fields["tool"] = t.name();
    s.fields["other_server"] = it->second;
    it->second = identity;  // reported once per change of hands
  }
}

void Engine::NewToolSignals(const v1::Event& ev, const std::string& identity,
                            const v1::McpToolInventory& inv, int64_t now,
                            std::vector<Signal>* sigs) {
  const v1::McpCall& c = ev.call();
  auto& seen = scanned_tools_[identity];
  // Who offers which tool, host-wide (the first server to list a name owns
  // it; bounded).
  for (const auto& t : inv.tools()) {
    if (tool_owner_.size() >= 65536) break;
    tool_owner_.emplace(t.name(), identity);
  }
  // A name this server offers too is its own sibling, not another's.
  std::set<std::string, std::less<>> own;
  for (const auto& t : inv.tools()) own.insert(t.name());
  auto other_tool = [&](std::string_view name) {
    if (own.count(name) != 0) return false;
    auto it = tool_owner_.find(std::string(name));
    return it != tool_owner_.end() && it->second != identity;
  };
  for (const auto& t : inv.tools()) {
    if (!seen.insert(t.hash()).second) continue;
    std::vector<Signal> ts;
    detectors_->Tool(t, &ts, other_tool);
    for (auto& s : ts) {
      s.seq = ev.seq();
      s.call_id = c.call_id();
      s.pid = c.server_pid();
      s.time_unix_ns = now;
      sigs->push_back(std::move(s));
    }
  }
}

void Engine::OutboundSignals(const v1::Event& ev, const Attribution& who,
                             std::vector<Signal>* sigs) const {
  detectors_->Outbound(ev, sigs);
  for (auto& s : *sigs) {
    if (s.name != "data_flow") continue;
    // Another server's result leaving through this server's connection.
    const std::string& from = s.fields["from_server"];
    const std::string from_pid = from.substr(0, from.find('-'));
    s.fields["cross"] =
        who.server != 0 && from_pid != std::to_string(who.server) ? "true" : "false";
  }
}

Signal Engine::ToolChangedSignal(const v1::Event& ev, uint32_t server, int64_t now) const {
  const v1::McpToolChange& ch = ev.tool_change();
  Signal s;
  s.name = "tool_changed";
  s.description = fmt::format("tool {} {}: {} -> {}", ch.tool(), ch.change(),
                              ch.old_hash().substr(0, 12), ch.new_hash().substr(0, 12));
  s.seq = ev.seq();
  s.time_unix_ns = now;
  s.pid = server;
  s.fields["tool"] = ch.tool();
  s.fields["change"] = ch.change();
  bool used = false;
  for (const auto& [identity, tools] : used_tools_) used = used || tools.count(ch.tool());
  s.fields["used"] = used ? "true" : "false";
  return s;
}

bool Engine::Matches(const RuleStep& step, const Signal& sig) const {
  if (std::find(step.signals.begin(), step.signals.end(), sig.name) == step.signals.end())
    return false;
  for (const auto& c : step.where)
    if (!FieldMatches(c, sig.fields)) return false;
  return true;
}

void Engine::Evaluate(const Signal& sig, const Attribution& who, int64_t now,
                      std::vector<v1::Event>* out) {
  // The keys of the three scopes, once per signal.
  const std::string agent_scope =
      who.agent != 0 ? fmt::format("a{}", who.agent) : fmt::format("s{}", who.server);
  const std::string server_scope =
      who.server != 0 ? fmt::format("s{}", who.server) : fmt::format("a{}", who.agent);
  static const std::string kHost = "host";
  for (size_t i = 0; i < rules_.rules.size(); ++i) {
    const Rule& r = rules_.rules[i];
    if (!r.enabled) continue;
    const std::string& scope =
        r.scope == "agent" ? agent_scope : r.scope == "server" ? server_scope : kHost;
    auto& states = states_[i];
    auto it = states.find(scope);
    if (it != states.end() && now - it->second.first_unix_ns >
                                  static_cast<int64_t>(r.within_ms) * 1000000) {
      states.erase(it);
      it = states.end();
    }
    const size_t next = it == states.end() ? 0 : it->second.step;
    if (!Matches(r.steps[next], sig)) {
      // The first step again while waiting for the second: the window
      // runs from the latest one (a read 9 minutes ago still counts for an
      // egress now, under a 10 minute window).
      if (it != states.end() && next == 1 && r.steps[0].count == 1 &&
          Matches(r.steps[0], sig)) {
        Partial& p = it->second;
        p.first_unix_ns = now;
        p.who = who;
        if (p.evidence.size() < kEvidencePerStep) p.evidence.emplace_back(0, sig);
      }
      continue;
    }
    if (it == states.end()) {
      if (states.size() >= opts_.max_states) {
        states.erase(states.begin());
        ++counters_.states_evicted;
      }
      it = states.emplace(scope, Partial{}).first;
      it->second.first_unix_ns = now;
    }
    Partial& p = it->second;
    p.who = who;
    size_t in_step = 0;
    for (const auto& e : p.evidence) in_step += e.first == next;
    if (in_step < kEvidencePerStep) p.evidence.emplace_back(next, sig);
    if (++p.matched < r.steps[next].count) continue;
    p.matched = 0;
    if (++p.step < r.steps.size()) continue;
    Partial done = std::move(p);
    states.erase(it);
    Raise(i, scope, std::move(done), now, out);
  }
}

void Engine::Raise(size_t rule_index, const std::string& scope, Partial&& p, int64_t now,
                   std::vector<v1::Event>* out) {
  const Rule& r = rules_.rules[rule_index];
  if (Excepted(r, p.evidence)) {
    ++counters_.alerts_excepted;
    return;
  }
  // The last signal of each step, for the output and the key.
  std::map<size_t, const Signal*> last;
  for (const auto& [step, sig] : p.evidence) last[step] = &sig;
  const Signal& final_sig = *last.rbegin()->second;
  std::string key;
  if (!r.key.empty()) {
    auto f = final_sig.fields.find(r.key);
    if (f != final_sig.fields.end()) key = f->second;
  }
  if (Suppressed(r, key, p, now)) return;
  ++rule_matches_[{r.id, r.severity}];
  // One alert per rule, scope, chain and key within the rule's window.
  const std::string fold_key = fmt::format("{}|{}|{}|{}", r.id, scope, p.who.chain, key);
  if (FoldRepeat(r, fold_key, now, out)) return;
  if (RateLimited(r, scope, now)) return;
  v1::Alert a = NewAlert(r, key, p, final_sig, now);
  a.set_summary(Summary(r, final_sig, last));
  folded_[fold_key] = {a.id(), now};
  ++counters_.alerts;
  alerts_.push_back(a);
  while (alerts_.size() > opts_.max_alerts) alerts_.pop_front();
  out->push_back(AlertEvent(std::move(a), now));
}

bool Engine::FoldRepeat(const Rule& r, const std::string& fold_key, int64_t now,
                        std::vector<v1::Event>* out) {
  auto f = folded_.find(fold_key);
  if (f == folded_.end() ||
      now - f->second.last_unix_ns > static_cast<int64_t>(r.within_ms) * 1000000)
    return false;
  f->second.last_unix_ns = now;
  ++counters_.alerts_folded;
  for (auto& a : alerts_) {
    if (a.id() != f->second.alert_id) continue;
    a.set_count(a.count() + 1);
    a.set_last_unix_ns(now);
    out->push_back(AlertEvent(a, now));
    break;
  }
  return true;
}

bool Engine::RateLimited(const Rule& r, const std::string& scope, int64_t now) {
  if (r.max_per_minute == 0) return false;
  constexpr int64_t kMinute = 60ll * 1000000000;
  // Per rule and scope (a server, an agent): one noisy server cannot
  // use up another's alerts. Windows of a minute ago go when there are many.
  if (rate_.size() >= 4096) {
    for (auto it = rate_.begin(); it != rate_.end();)
      it = now - it->second.start_unix_ns >= kMinute ? rate_.erase(it) : std::next(it);
  }
  RateWindow& w = rate_[r.id + "|" + scope];
  if (now - w.start_unix_ns >= kMinute) w = {now, 0};
  if (w.count >= r.max_per_minute) {
    ++counters_.alerts_rate_limited;
    if (w.count++ == r.max_per_minute)
      spdlog::warn("msg=\"alerts rate-limited: more are dropped this minute\" rule={} scope={} "
                   "max_per_minute={}",
                   r.id, scope, r.max_per_minute);
    return true;
  }
  ++w.count;
  return false;
}

v1::Alert Engine::NewAlert(const Rule& r, const std::string& key, const Partial& p,
                           const Signal& final_sig, int64_t now) {
  v1::Alert a;
  a.set_id(next_alert_++);
  a.set_time_unix_ns(now);
  a.set_last_unix_ns(now);
  a.set_count(1);
  a.set_rule_id(r.id);
  a.set_rule_source(r.source);
  a.set_severity(r.severity);
  a.set_description(r.description);
  a.set_response(r.response);
  for (const auto& t : r.attack) a.add_attack(t);
  a.set_key(key);
  a.set_agent_pid(p.who.agent);
  a.set_agent_id(p.who.agent_id);
  a.set_agent_exe(p.who.agent_exe);
  a.set_server_pid(p.who.server);
  if (p.who.server != 0 && lookups_.server_name)
    a.set_server_name(lookups_.server_name(p.who.server));
  a.set_chain_id(p.who.chain);
  a.set_node(lookups_.node);
  if (lookups_.kubernetes) {
    v1::Kubernetes k;
    if (lookups_.kubernetes(p.who.agent, &k)) *a.mutable_agent_kubernetes() = std::move(k);
    k.Clear();
    if (p.who.server != 0 && lookups_.kubernetes(p.who.server, &k))
      *a.mutable_server_kubernetes() = std::move(k);
  }
  if (auto sc = final_sig.fields.find("score"); sc != final_sig.fields.end()) {
    try {
      a.set_score(std::stod(sc->second));
    } catch (const std::exception&) {
    }
  }
  AddEvidence(p.evidence, &a);
  return a;
}

bool Engine::Suppressed(const Rule& r, const std::string& key, const Partial& p, int64_t now) {
  for (const auto& s : rules_.suppressions) {
    if (s.until_unix_ns != 0 && now > s.until_unix_ns) continue;
    bool rule_ok = s.rules.empty();
    for (const auto& g : s.rules) rule_ok = rule_ok || GlobMatch(g, r.id);
    if (!rule_ok) continue;
    bool all = true;
    for (const auto& c : s.where) {
      bool held = false;
      for (const auto& [step, sig] : p.evidence) {
        std::map<std::string, std::string> fields = sig.fields;
        fields["rule"] = r.id;
        fields["severity"] = r.severity;
        fields["agent_exe"] = p.who.agent_exe;
        fields["key"] = key;
        if (FieldMatches(c, fields)) {
          held = true;
          break;
        }
      }
      if (!held) {
        all = false;
        break;
      }
    }
    if (!all) continue;
    ++counters_.alerts_suppressed;
    ++suppression_hits_[s.id];
    return true;
  }
  return false;
}

void Engine::Sweep(int64_t now) {
  for (size_t i = 0; i < states_.size() && i < rules_.rules.size(); ++i) {
    const int64_t within = static_cast<int64_t>(rules_.rules[i].within_ms) * 1000000;
    for (auto it = states_[i].begin(); it != states_[i].end();) {
      it = now - it->second.first_unix_ns > within ? states_[i].erase(it) : std::next(it);
    }
  }
  for (auto it = folded_.begin(); it != folded_.end();) {
    // Kept a day at most: a repeat after that is a new alert.
    it = now - it->second.last_unix_ns > 86400ll * 1000000000 ? folded_.erase(it)
                                                              : std::next(it);
  }
}

std::vector<v1::Alert> Engine::Alerts(const v1::ListAlertsRequest& req) const {
  std::lock_guard<std::mutex> lock(mu_);
  const size_t limit = req.limit() == 0 ? 100 : req.limit();
  const int min = req.min_severity().empty() ? 0 : SeverityRank(req.min_severity());
  const bool by_rule = std::any_of(req.rule_ids().begin(), req.rule_ids().end(),
                                   [](const std::string& r) { return !r.empty(); });
  std::vector<v1::Alert> out;
  for (auto it = alerts_.rbegin(); it != alerts_.rend() && out.size() < limit; ++it) {
    if (it->last_unix_ns() < req.since_unix_ns()) continue;
    if (SeverityRank(it->severity()) < min) continue;
    if (req.agent_pid() != 0 && it->agent_pid() != req.agent_pid()) continue;
    if (req.chain_id() != 0 && it->chain_id() != req.chain_id()) continue;
    if (req.before_id() != 0 && it->id() >= req.before_id()) continue;
    if (!req.agent_id().empty() && it->agent_id() != req.agent_id()) continue;
    if (!req.server().empty() && it->server_id() != req.server() &&
        it->server_name() != req.server())
      continue;
    if (by_rule && std::find(req.rule_ids().begin(), req.rule_ids().end(), it->rule_id()) ==
                       req.rule_ids().end())
      continue;
    out.push_back(*it);
  }
  return out;
}

bool Engine::Alert(uint64_t id, v1::Alert* out) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& a : alerts_) {
    if (a.id() == id) {
      *out = a;
      return true;
    }
  }
  return false;
}

std::vector<v1::Rule> Engine::Rules() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<v1::Rule> out;
  for (const auto& r : rules_.rules) out.push_back(RuleInfo(r));
  return out;
}

std::vector<v1::Suppression> Engine::Suppressions() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<v1::Suppression> out;
  for (const auto& s : rules_.suppressions) {
    v1::Suppression& v = out.emplace_back();
    v.set_id(s.id);
    for (const auto& r : s.rules) v.add_rules(r);
    for (const auto& c : s.where) {
      std::string values;
      for (const auto& x : c.values) values += (values.empty() ? "" : "|") + x;
      v.add_where(c.field + "=" + values);
    }
    v.set_until_unix_ns(s.until_unix_ns);
    v.set_comment(s.comment);
    v.set_source(s.source);
    auto h = suppression_hits_.find(s.id);
    v.set_hits(h == suppression_hits_.end() ? 0 : h->second);
  }
  return out;
}

std::vector<std::string> Engine::RuleFiles() const {
  std::lock_guard<std::mutex> lock(mu_);
  return rules_.files;
}

bool Engine::ScanContent(const std::string& text, std::string* reason,
                         std::string* excerpt) const {
  std::shared_ptr<const Detectors> d;
  {
    std::lock_guard<std::mutex> lock(mu_);
    d = detectors_;
  }
  return d != nullptr && d->ScanText(text, reason, excerpt);
}

bool Engine::ScanDefinitions(const std::string& method, const std::string& result,
                             std::string* reason, std::string* excerpt) const {
  std::shared_ptr<const Detectors> d;
  {
    std::lock_guard<std::mutex> lock(mu_);
    d = detectors_;
  }
  std::string item;
  TextScorer::Verdict v;
  if (d == nullptr || !d->ScanDefinitionList(method, result, &item, &v)) return false;
  *reason = fmt::format("{}: {}", item, v.Reason());
  *excerpt = v.excerpt;
  return true;
}

bool Engine::IsEgress(const v1::SockAddr& remote) const {
  std::shared_ptr<const Detectors> d;
  {
    std::lock_guard<std::mutex> lock(mu_);
    d = detectors_;
  }
  return d != nullptr && d->IsEgress(remote);
}

void Engine::LoadBaselines(const std::vector<v1::Baseline>& profiles) {
  std::lock_guard<std::mutex> lock(mu_);
  baselines_.Load(profiles);
}

void Engine::ChangedBaselines(int64_t since_unix_ns, std::vector<v1::Baseline>* out) const {
  std::lock_guard<std::mutex> lock(mu_);
  baselines_.Changed(since_unix_ns, out);
}

std::vector<v1::Baseline> Engine::ListBaselines(const std::string& server) const {
  std::lock_guard<std::mutex> lock(mu_);
  return baselines_.List(server);
}

uint32_t Engine::ResetBaselines(const std::string& server, bool all, int64_t now_unix_ns) {
  std::lock_guard<std::mutex> lock(mu_);
  return baselines_.Reset(server, all, now_unix_ns);
}

Engine::Counters Engine::counters() const {
  std::lock_guard<std::mutex> lock(mu_);
  return counters_;
}

std::map<std::pair<std::string, std::string>, uint64_t> Engine::RuleMatches() const {
  std::lock_guard<std::mutex> lock(mu_);
  return rule_matches_;
}

}  // namespace agentwatch
