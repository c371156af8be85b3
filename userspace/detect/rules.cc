#include "detect/rules.h"

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <yaml-cpp/yaml.h>

#include "common/text.h"

namespace agentwatch {

const std::map<std::string, std::vector<std::string>>& KnownSignals() {
  // Every signal also has: actor (server, agent), self (true for the agent
  // process itself), via (the tool, or "agent"), server, agent, pid, comm.
  static const std::map<std::string, std::vector<std::string>> kSignals = {
      {"sensitive_read", {"path", "flags"}},
      {"egress", {"target", "protocol", "verb", "local_only"}},
      {"dns_query", {"target", "verb", "local_only"}},
      {"process_exec", {"exe", "argv", "kind"}},
      {"secret_argument", {"tool", "outbound"}},
      {"encoded_blob", {"where", "excerpt", "tool", "target", "exe", "outbound"}},
      {"data_flow", {"tool", "from_tool", "from_server", "cross", "outbound", "where", "target",
                     "cross_agent", "written_by", "written_from_tool"}},
      {"cross_agent_content", {"tool", "from_agent", "from_tool", "from_call", "from_server",
                               "injected", "reason"}},
      {"secret_sent", {"target"}},
      {"injection_in_result", {"tool", "reason", "excerpt", "features", "score", "channel"}},
      {"tool_shadowed", {"tool", "other_server"}},
      {"out_of_scope", {"path", "roots"}},
      {"tool_poisoned", {"tool", "reason", "excerpt", "field", "features", "score", "channel"}},
      {"tool_changed", {"tool", "change", "used"}},
      {"call_failed", {"tool", "status"}},
      {"novel_behavior", {"kind", "value", "score", "confident", "identity", "learned", "tool"}},
      {"volume_outlier", {"kind", "value", "score", "identity", "learned", "tool"}},
      {"capture_evaded", {"mechanism", "detail"}},
      {"static_credential", {"subject", "source", "name", "kind", "fingerprint",
                             "previous_fingerprint", "rotated", "detail", "finding"}},
  };
  return kSignals;
}

const std::vector<std::string>& TextChannelFeatures() {
  static const std::vector<std::string> kChannels = {
      "tag_characters", "variation_selectors", "zero_width_in_words", "bidi_controls",
      "terminal_escapes", "mixed_script", "hidden_channel", "other_server_tool"};
  return kChannels;
}


namespace {

const std::set<std::string>& CommonFields() {
  static const std::set<std::string> kCommon = {"actor", "via", "server", "agent",
                                                "pid",   "comm", "self"};
  return kCommon;
}

class Error : public std::runtime_error {
 public:
  Error(const YAML::Node& n, const std::string& what)
      : std::runtime_error(n.Mark().is_null()
                               ? what
                               : fmt::format("line {}: {}", n.Mark().line + 1, what)) {}
};

std::string Scalar(const YAML::Node& n, const std::string& what) {
  if (!n.IsScalar()) throw Error(n, what + ": expected a string");
  return n.Scalar();
}

std::vector<std::string> Strings(const YAML::Node& n, const std::string& what) {
  std::vector<std::string> out;
  if (n.IsScalar()) {
    out.push_back(n.Scalar());
  } else if (n.IsSequence()) {
    for (const auto& v : n) out.push_back(Scalar(v, what));
  } else {
    throw Error(n, what + ": expected a string or a list of strings");
  }
  return out;
}

std::vector<Condition> Conditions(const YAML::Node& n, const std::string& what) {
  std::vector<Condition> out;
  if (n.IsMap()) {  // {field: value-or-list, ...}
    for (const auto& kv : n) {
      out.push_back({Scalar(kv.first, what), Strings(kv.second, what)});
    }
    return out;
  }
  if (n.IsSequence()) {  // [{field: f, values: [...]}, ...]
    for (const auto& c : n) {
      if (!c.IsMap() || !c["field"] || !c["values"])
        throw Error(c, what + ": each entry needs field and values");
      out.push_back({Scalar(c["field"], what), Strings(c["values"], what)});
    }
    return out;
  }
  throw Error(n, what + ": expected a map of field: values, or a list of {field, values}");
}

void CheckFields(const YAML::Node& at, const std::vector<Condition>& conds,
                 const std::set<std::string>& allowed, const std::string& what) {
  for (const auto& c : conds) {
    if (c.field != "macro" && !allowed.count(c.field)) {
      std::string known;
      for (const auto& f : allowed) known += (known.empty() ? "" : ", ") + f;
      throw Error(at, fmt::format("{}: unknown field '{}' (known: {})", what, c.field, known));
    }
  }
}

RuleStep Step(const YAML::Node& n, const std::string& rule) {
  const std::string what = "rule " + rule + ": step";
  if (!n.IsMap()) throw Error(n, what + ": expected a map");
  RuleStep s;
  for (const auto& kv : n) {
    const std::string key = Scalar(kv.first, what);
    if (key == "signal") {
      s.signals = Strings(kv.second, what + ".signal");
      for (const auto& sig : s.signals) {
        if (!KnownSignals().count(sig)) {
          std::string known;
          for (const auto& [k, v] : KnownSignals()) known += (known.empty() ? "" : ", ") + k;
          throw Error(kv.second, fmt::format("{}: unknown signal '{}' (known: {})", what,
                                             sig, known));
        }
      }
    } else if (key == "where") {
      s.where = Conditions(kv.second, what + ".where");
    } else if (key == "count") {
      const std::string v = Scalar(kv.second, what + ".count");
      try {
        size_t pos = 0;
        const unsigned long c = std::stoul(v, &pos);
        if (pos != v.size() || c < 1 || c > 100000) throw std::exception();
        s.count = static_cast<uint32_t>(c);
      } catch (const std::exception&) {
        throw Error(kv.second, what + ".count: '" + v + "' is not a number from 1 to 100000");
      }
    } else {
      throw Error(kv.first, fmt::format("{}: unknown key '{}'", what, key));
    }
  }
  if (s.signals.empty()) throw Error(n, what + ": needs a signal");
  std::set<std::string> allowed = CommonFields();
  for (const auto& sig : s.signals)
    for (const auto& f : KnownSignals().at(sig)) allowed.insert(f);
  CheckFields(n, s.where, allowed, what + ".where");
  return s;
}

// Fields set by this document, applied over r.
void ApplyRule(const YAML::Node& n, Rule* r, bool is_new) {
  for (const auto& kv : n) {
    const std::string key = Scalar(kv.first, "rule key");
    const YAML::Node& v = kv.second;
    const std::string what = "rule " + r->id + ": " + key;
    if (key == "id") {
      continue;
    } else if (key == "description") {
      r->description = Scalar(v, what);
    } else if (key == "severity") {
      r->severity = Scalar(v, what);
      if (SeverityRank(r->severity) < 0)
        throw Error(v, what + ": '" + r->severity +
                           "' is not info, low, medium, high or critical");
    } else if (key == "attack") {
      r->attack = Strings(v, what);
    } else if (key == "scope") {
      r->scope = Scalar(v, what);
      if (r->scope != "agent" && r->scope != "server" && r->scope != "host")
        throw Error(v, what + ": '" + r->scope + "' is not agent, server or host");
    } else if (key == "within") {
      if (std::string e = ParseDurationMs(Scalar(v, what), &r->within_ms); !e.empty())
        throw Error(v, what + ": " + e);
      if (r->within_ms == 0) throw Error(v, what + ": must be more than 0");
    } else if (key == "steps") {
      if (!v.IsSequence() || v.size() == 0) throw Error(v, what + ": expected a list of steps");
      r->steps.clear();
      for (const auto& st : v) r->steps.push_back(Step(st, r->id));
    } else if (key == "exceptions") {
      auto more = Conditions(v, what);
      r->exceptions.insert(r->exceptions.end(), more.begin(), more.end());
    } else if (key == "key") {
      r->key = Scalar(v, what);
    } else if (key == "output") {
      r->output = Scalar(v, what);
    } else if (key == "response") {
      r->response = Scalar(v, what);
    } else if (key == "max_per_minute") {
      const std::string m = Scalar(v, what);
      try {
        size_t pos = 0;
        const unsigned long n = std::stoul(m, &pos);
        if (pos != m.size() || n > 1000000) throw std::exception();
        r->max_per_minute = static_cast<uint32_t>(n);
      } catch (const std::exception&) {
        throw Error(v, what + ": '" + m + "' is not a number (0 = no limit)");
      }
    } else if (key == "enabled") {
      const std::string b = Scalar(v, what);
      if (b == "true" || b == "yes" || b == "on") {
        r->enabled = true;
      } else if (b == "false" || b == "no" || b == "off") {
        r->enabled = false;
      } else {
        throw Error(v, what + ": '" + b + "' is not true or false");
      }
    } else {
      throw Error(kv.first, fmt::format("rule {}: unknown key '{}'", r->id, key));
    }
  }
  if (is_new && r->steps.empty()) throw Error(n, "rule " + r->id + ": needs steps");
  std::set<std::string> fields = CommonFields();
  for (const auto& st : r->steps)
    for (const auto& sig : st.signals)
      for (const auto& f : KnownSignals().at(sig)) fields.insert(f);
  CheckFields(n, r->exceptions, fields, "rule " + r->id + ": exceptions");
  if (!r->key.empty() && !fields.count(r->key))
    throw Error(n, "rule " + r->id + ": key: unknown field '" + r->key + "'");
}

Suppression ReadSuppression(const YAML::Node& n, const std::string& source) {
  if (!n.IsMap() || !n["id"]) throw Error(n, "a suppression needs an id");
  Suppression s;
  s.id = Scalar(n["id"], "suppression id");
  s.source = source;
  const std::string what = "suppression " + s.id;
  for (const auto& kv : n) {
    const std::string key = Scalar(kv.first, what);
    if (key == "id") {
      continue;
    } else if (key == "rules") {
      s.rules = Strings(kv.second, what + ": rules");
    } else if (key == "where") {
      s.where = Conditions(kv.second, what + ": where");
    } else if (key == "comment") {
      s.comment = Scalar(kv.second, what + ": comment");
    } else if (key == "until") {
      // RFC 3339 date or time, UTC: 2026-12-31 or 2026-12-31T18:00:00Z.
      const std::string v = Scalar(kv.second, what + ": until");
      std::tm tm{};
      const char* end = strptime(v.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
      if (end == nullptr) {
        tm = {};
        end = strptime(v.c_str(), "%Y-%m-%d", &tm);
      }
      if (end == nullptr || (*end != '\0' && std::string(end) != "Z"))
        throw Error(kv.second, what + ": until: '" + v + "' is not YYYY-MM-DD[THH:MM:SSZ]");
      s.until_unix_ns = static_cast<int64_t>(timegm(&tm)) * 1000000000;
    } else {
      throw Error(kv.first, what + ": unknown key '" + key + "' (rules, where, until, comment)");
    }
  }
  if (s.where.empty() && s.rules.empty())
    throw Error(n, what + ": needs rules or where (it would drop every alert)");
  std::set<std::string> fields = CommonFields();
  for (const auto& [sig, names] : KnownSignals()) fields.insert(names.begin(), names.end());
  fields.insert({"rule", "severity", "agent_exe", "key"});
  CheckFields(n, s.where, fields, what + ": where");
  return s;
}

// A sequence replaces *dst; {append: [...]} extends it.
void ReplaceOrAppend(const YAML::Node& n, const std::string& what, std::vector<std::string>* dst) {
  if (n.IsMap()) {
    if (!n["append"] || n.size() != 1) throw Error(n, what + ": expected a list or {append: [...]}");
    auto more = Strings(n["append"], what);
    dst->insert(dst->end(), more.begin(), more.end());
  } else {
    *dst = Strings(n, what);
  }
}

double Weight(const YAML::Node& n, const std::string& what) {
  try {
    const double w = n.as<double>();
    if (!(w >= 0 && w <= 100)) throw Error(n, what + ": a weight is a number from 0 to 100");
    return w;
  } catch (const YAML::Exception&) {
    throw Error(n, what + ": a weight is a number from 0 to 100");
  }
}

void ApplyTextScoring(const YAML::Node& n, TextScoring* t) {
  if (!n.IsMap()) throw Error(n, "text_scoring: expected a map (thresholds, window, features)");
  for (const auto& kv : n) {
    const std::string key = Scalar(kv.first, "text_scoring key");
    if (key == "thresholds") {
      if (!kv.second.IsMap()) throw Error(kv.second, "text_scoring: thresholds: expected {definition: N, result: N}");
      for (const auto& th : kv.second) {
        const std::string kind = Scalar(th.first, "threshold");
        const double v = Weight(th.second, "text_scoring: thresholds: " + kind);
        if (v <= 0) throw Error(th.second, "text_scoring: thresholds: " + kind + ": must be above 0");
        if (kind == "definition") {
          t->definition_threshold = v;
        } else if (kind == "result") {
          t->result_threshold = v;
        } else {
          throw Error(th.first, "text_scoring: thresholds: unknown kind '" + kind + "' (definition, result)");
        }
      }
    } else if (key == "window") {
      int w = 0;
      try {
        w = kv.second.as<int>();
      } catch (const YAML::Exception&) {
      }
      if (w < 1 || w > 8) throw Error(kv.second, "text_scoring: window: sentences, 1 to 8");
      t->window = static_cast<uint32_t>(w);
    } else if (key == "features") {
      if (!kv.second.IsMap()) throw Error(kv.second, "text_scoring: features: expected a map of name: {weight, patterns}");
      for (const auto& f : kv.second) {
        const std::string name = Scalar(f.first, "feature name");
        const std::string what = "text_scoring: feature " + name;
        if (name.empty() || name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") != std::string::npos)
          throw Error(f.first, what + ": a name is lower case letters, digits and _");
        if (!f.second.IsMap()) throw Error(f.second, what + ": expected {weight, patterns, description}");
        auto it = std::find_if(t->features.begin(), t->features.end(),
                               [&](const TextFeature& x) { return x.name == name; });
        if (it == t->features.end()) {
          t->features.push_back(TextFeature{name, "", 0, 0, {}});
          it = t->features.end() - 1;
        }
        for (const auto& fk : f.second) {
          const std::string k = Scalar(fk.first, what + " key");
          if (k == "weight") {
            if (fk.second.IsMap()) {
              for (const auto& w : fk.second) {
                const std::string kind = Scalar(w.first, what + ": weight kind");
                if (kind == "definition") {
                  it->definition_weight = Weight(w.second, what);
                } else if (kind == "result") {
                  it->result_weight = Weight(w.second, what);
                } else {
                  throw Error(w.first, what + ": weight: unknown kind '" + kind + "' (definition, result)");
                }
              }
            } else {
              it->definition_weight = it->result_weight = Weight(fk.second, what);
            }
          } else if (k == "patterns") {
            ReplaceOrAppend(fk.second, what + ": patterns", &it->patterns);
          } else if (k == "description") {
            it->description = Scalar(fk.second, what + ": description");
          } else {
            throw Error(fk.first, what + ": unknown key '" + k + "' (weight, patterns, description)");
          }
        }
        const auto& channels = TextChannelFeatures();
        const bool channel = std::find(channels.begin(), channels.end(), name) != channels.end();
        if (channel && !it->patterns.empty())
          throw Error(f.second, what + ": a channel feature has no patterns");
        if (!channel && it->patterns.empty())
          throw Error(f.second, what + ": needs patterns (or is one of the channel features: " +
                                    fmt::format("{}", fmt::join(channels, ", ")) + ")");
      }
    } else {
      throw Error(kv.first, "text_scoring: unknown key '" + key + "' (thresholds, window, features)");
    }
  }
}

void Apply(const YAML::Node& root, const std::string& source, RuleSet* set) {
  if (root.IsNull()) return;
  if (!root.IsMap()) throw Error(root, "expected a map with lists: and rules:");
  for (const auto& kv : root) {
    const std::string key = Scalar(kv.first, "top-level key");
    if (key == "lists") {
      if (!kv.second.IsMap()) throw Error(kv.second, "lists: expected a map");
      for (const auto& l : kv.second) {
        const std::string name = Scalar(l.first, "list name");
        ReplaceOrAppend(l.second, "list " + name, &set->lists[name]);
      }
    } else if (key == "rules") {
      if (!kv.second.IsSequence()) throw Error(kv.second, "rules: expected a list");
      for (const auto& rn : kv.second) {
        if (!rn.IsMap() || !rn["id"]) throw Error(rn, "a rule needs an id");
        const std::string id = Scalar(rn["id"], "id");
        if (id.empty() || id.find_first_of(" \t\n") != std::string::npos)
          throw Error(rn["id"], "rule id '" + id + "' must be one word");
        auto it = std::find_if(set->rules.begin(), set->rules.end(),
                               [&](const Rule& r) { return r.id == id; });
        if (it != set->rules.end()) {
          ApplyRule(rn, &*it, false);
          it->source += " + " + source;
        } else {
          Rule r;
          r.id = id;
          r.source = source;
          ApplyRule(rn, &r, true);
          set->rules.push_back(std::move(r));
        }
      }
    } else if (key == "text_scoring") {
      ApplyTextScoring(kv.second, &set->text);
    } else if (key == "macros") {
      if (!kv.second.IsMap()) throw Error(kv.second, "macros: expected a map of name: {field: values}");
      for (const auto& m : kv.second) {
        const std::string name = Scalar(m.first, "macro name");
        if (!m.second.IsMap()) throw Error(m.second, "macro " + name + ": expected {field: values}");
        set->macros[name] = Conditions(m.second, "macro " + name);
      }
    } else if (key == "suppress") {
      if (!kv.second.IsSequence()) throw Error(kv.second, "suppress: expected a list");
      for (const auto& sn : kv.second) {
        Suppression s = ReadSuppression(sn, source);
        auto it = std::find_if(set->suppressions.begin(), set->suppressions.end(),
                               [&](const Suppression& x) { return x.id == s.id; });
        if (it != set->suppressions.end()) {
          *it = std::move(s);  // the later file's wins
        } else {
          set->suppressions.push_back(std::move(s));
        }
      }
    } else {
      throw Error(kv.first,
                  "unknown top-level key '" + key +
                      "' (lists, macros, rules, suppress, text_scoring)");
    }
  }
}

// Conditions with macros and list references expanded.
std::vector<Condition> Expand(const RuleSet& set, const std::vector<Condition>& in, int depth,
                              const std::string& what) {
  if (depth > 8) throw std::runtime_error(what + ": macros nest too deep (a cycle?)");
  std::vector<Condition> out;
  for (const auto& c : in) {
    if (c.field == "macro") {
      for (const auto& name : c.values) {
        auto m = set.macros.find(name);
        if (m == set.macros.end()) throw std::runtime_error(what + ": unknown macro '" + name + "'");
        auto more = Expand(set, m->second, depth + 1, what + " (macro " + name + ")");
        out.insert(out.end(), more.begin(), more.end());
      }
      continue;
    }
    Condition r{c.field, {}};
    for (const auto& v : c.values) {
      const bool neg = !v.empty() && v[0] == '!';
      const std::string_view body = std::string_view(v).substr(neg ? 1 : 0);
      if (body.empty() || body[0] != '@') {
        r.values.push_back(v);
        continue;
      }
      auto l = set.lists.find(std::string(body.substr(1)));
      if (l == set.lists.end())
        throw std::runtime_error(what + ": unknown list '" + std::string(body.substr(1)) + "'");
      for (const auto& e : l->second) r.values.push_back(neg ? "!" + e : e);
    }
    out.push_back(std::move(r));
  }
  return out;
}

void CheckResolved(const std::vector<Condition>& conds, const std::set<std::string>& allowed,
                   const std::string& what) {
  for (const auto& c : conds) {
    if (!allowed.count(c.field))
      throw std::runtime_error(fmt::format("{}: unknown field '{}'", what, c.field));
  }
}

}  // namespace

std::string ResolveRules(const RuleSet& in, RuleSet* out) {
  RuleSet r = in;
  try {
    for (auto& rule : r.rules) {
      std::set<std::string> all = CommonFields();
      for (auto& st : rule.steps) {
        std::set<std::string> allowed = CommonFields();
        for (const auto& sig : st.signals)
          for (const auto& f : KnownSignals().at(sig)) allowed.insert(f);
        all.insert(allowed.begin(), allowed.end());
        st.where = Expand(in, st.where, 0, "rule " + rule.id + ": where");
        CheckResolved(st.where, allowed, "rule " + rule.id + ": where");
      }
      rule.exceptions = Expand(in, rule.exceptions, 0, "rule " + rule.id + ": exceptions");
      CheckResolved(rule.exceptions, all, "rule " + rule.id + ": exceptions");
    }
    std::set<std::string> fields = CommonFields();
    for (const auto& [sig, names] : KnownSignals()) fields.insert(names.begin(), names.end());
    fields.insert({"rule", "severity", "agent_exe", "key"});
    for (auto& s : r.suppressions) {
      s.where = Expand(in, s.where, 0, "suppression " + s.id);
      CheckResolved(s.where, fields, "suppression " + s.id);
    }
  } catch (const std::exception& e) {
    return e.what();
  }
  *out = std::move(r);
  return "";
}

std::string ApplyRulesYaml(const std::string& yaml, const std::string& source,
                           RuleSet* set) {
  RuleSet next = *set;
  try {
    Apply(YAML::Load(yaml), source, &next);
  } catch (const YAML::Exception& e) {
    return fmt::format("{}: line {}, column {}: {}", source, e.mark.line + 1,
                       e.mark.column + 1, e.msg);
  } catch (const std::exception& e) {
    return fmt::format("{}: {}", source, e.what());
  }
  // Macros and lists used by the rules must exist once this file is in.
  RuleSet resolved;
  if (std::string e = ResolveRules(next, &resolved); !e.empty())
    return fmt::format("{}: {}", source, e);
  next.files.push_back(source);
  *set = std::move(next);
  return "";
}

std::string LoadRules(const std::string& dir, RuleSet* set) {
  RuleSet next;
  if (std::string e = ApplyRulesYaml(BuiltinRulesYaml(), "builtin", &next); !e.empty())
    return e;
  std::error_code ec;
  std::vector<std::string> files;
  if (!dir.empty() && std::filesystem::is_directory(dir, ec)) {
    for (const auto& f : std::filesystem::directory_iterator(dir, ec)) {
      if (f.path().extension() == ".yaml" || f.path().extension() == ".yml")
        files.push_back(f.path().string());
    }
  }
  std::sort(files.begin(), files.end());
  for (const auto& path : files) {
    std::string text;
    if (!ReadFileText(path, &text)) return path + ": cannot read";
    if (std::string e = ApplyRulesYaml(text, path, &next); !e.empty()) return e;
  }
  *set = std::move(next);
  return "";
}

}  // namespace agentwatch
