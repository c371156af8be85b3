#include "daemon/config.h"

#include <sys/stat.h>

#include <set>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "common/text.h"
#include "daemon/settings.h"

namespace agentwatch {

std::vector<WatchRule> Config::EffectiveWatchRules() const {
  std::vector<WatchRule> out;
  if (builtin_watch_rules) out = BuiltinWatchRules();
  out.insert(out.end(), watch_rules.begin(), watch_rules.end());
  return out;
}

std::string Config::StorePath() const {
  return store_path.empty() ? state_dir + "/agentwatch.db" : store_path;
}

namespace {

// A top-level key that is a section: some setting's key starts with it
// and a dot.
bool IsSection(const std::string& key) {
  for (const Setting& s : Settings()) {
    if (s.key.size() > key.size() && s.key[key.size()] == '.' && s.key.rfind(key, 0) == 0) {
      return true;
    }
  }
  return false;
}

std::string ApplySection(const std::string& section, const YAML::Node& n, Config* cfg) {
  if (!n.IsMap()) return SectionNotAMap(section);
  for (const auto& kv : n) {
    const std::string key = kv.first.as<std::string>();
    const Setting* s = FindSetting(section + "." + key);
    if (s == nullptr || key.find('.') != std::string::npos) return SectionUnknownKey(section, key);
    if (std::string err = s->parse(kv.second, cfg); !err.empty()) return err;
  }
  return "";
}

// A key given twice in one mapping: YAML parsers keep one of the two
// silently, so what the file says and what runs would differ.
std::string DuplicateKey(const YAML::Node& n, const std::string& at) {
  if (n.IsSequence()) {
    for (size_t i = 0; i < n.size(); ++i)
      if (std::string e = DuplicateKey(n[i], fmt::format("{}[{}]", at, i)); !e.empty()) return e;
  }
  if (!n.IsMap()) return "";
  std::set<std::string> seen;
  for (const auto& kv : n) {
    if (!kv.first.IsScalar()) continue;
    const std::string key = kv.first.Scalar();
    const std::string path = at.empty() ? key : at + "." + key;
    if (!seen.insert(key).second)
      return fmt::format("{}: given twice (line {}); keep one", path, kv.first.Mark().line + 1);
    if (std::string e = DuplicateKey(kv.second, path); !e.empty()) return e;
  }
  return "";
}

std::string ApplyConfigYamlOrThrow(const std::string& text, Config* cfg) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return fmt::format("YAML syntax error at line {}, column {}: {}", e.mark.line + 1,
                       e.mark.column + 1, e.msg);
  }
  if (root.IsNull()) return "";
  if (!root.IsMap()) return "top level: expected a mapping";
  if (std::string e = DuplicateKey(root, ""); !e.empty()) return e;
  for (const auto& kv : root) {
    const std::string key = kv.first.as<std::string>();
    // A dotted key ("store.path: x") is not a way to name a section's key.
    const Setting* s = key.find('.') == std::string::npos ? FindSetting(key) : nullptr;
    std::string err;
    if (s != nullptr) {
      err = s->parse(kv.second, cfg);
    } else if (IsSection(key)) {
      err = ApplySection(key, kv.second, cfg);
    } else {
      err = fmt::format("unknown key '{}'", key);
    }
    if (!err.empty()) return err;
  }
  return "";
}

}  // namespace

std::string ApplyConfigYaml(const std::string& text, Config* cfg) {
  // yaml-cpp reports odd shapes (a sequence as a key, say) by throwing;
  // nothing crosses this function but an error string.
  try {
    return ApplyConfigYamlOrThrow(text, cfg);
  } catch (const YAML::Exception& e) {
    return fmt::format("line {}, column {}: {}", e.mark.line + 1, e.mark.column + 1, e.msg);
  } catch (const std::exception& e) {
    return e.what();
  }
}

std::string LoadConfigFile(const std::string& path, bool required, Config* cfg) {
  std::string text;
  if (!ReadFileText(path, &text)) {
    struct stat st {};
    if (!required && stat(path.c_str(), &st) != 0) return "";
    return fmt::format("{}: cannot read", path);
  }
  std::string err = ApplyConfigYaml(text, cfg);
  if (!err.empty()) return fmt::format("{}: {}", path, err);
  return "";
}

// Each setting's own check, in table order. The few that look at other
// settings say so in their entries: store.* only with the store on, sinks
// need the store, api.tcp_listen and metrics.tls_listen need tls.*.
namespace {

// Two listeners on one port whose hosts overlap (the same host, or either
// the wildcard) cannot both bind: said at --check-config, naming both keys.
std::string ListenersCollide(const Config& c) {
  const std::pair<const char*, const std::string*> listeners[] = {
      {"metrics.listen", &c.metrics_listen},
      {"metrics.tls_listen", &c.metrics_tls_listen},
      {"console.listen", &c.console_listen},
      {"api.tcp_listen", &c.api_tcp_listen}};
  auto wildcard = [](const std::string& h) { return h == "0.0.0.0" || h == "::" || h.empty(); };
  for (size_t i = 0; i < std::size(listeners); ++i) {
    for (size_t j = i + 1; j < std::size(listeners); ++j) {
      std::string hi, pi, hj, pj;
      if (!SplitHostPort(*listeners[i].second, &hi, &pi) ||
          !SplitHostPort(*listeners[j].second, &hj, &pj) || pi != pj || pi == "0")
        continue;
      if (hi == hj || wildcard(hi) || wildcard(hj))
        return fmt::format("{} ({}) and {} ({}) cannot both listen on port {}", listeners[i].first,
                           *listeners[i].second, listeners[j].first, *listeners[j].second, pi);
    }
  }
  return "";
}

}  // namespace

std::string ValidateConfig(const Config& c) {
  for (const Setting& s : Settings()) {
    if (!s.validate) continue;
    if (std::string err = s.validate(c); !err.empty()) return err;
  }
  return ListenersCollide(c);
}

std::vector<std::string> RestartOnlyChanges(const Config& running, const Config& next) {
  std::vector<std::string> changed;
  for (const Setting& s : Settings()) {
    if (!s.reloadable && !s.same(running, next)) changed.push_back(s.key);
  }
  return changed;
}

void ApplyReloadable(const Config& next, Config* running) {
  for (const Setting& s : Settings()) {
    if (s.reloadable) s.copy(next, running);
  }
}

const std::vector<SettingInfo>& SettingsTable() {
  static const auto* table = [] {
    auto* t = new std::vector<SettingInfo>;
    for (const Setting& s : Settings()) t->push_back({s.key, s.kind, s.reloadable, s.help});
    return t;
  }();
  return *table;
}

}  // namespace agentwatch
