#include "redact/catalogue.h"

#include <algorithm>
#include <cctype>
#include <filesystem>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "common/text.h"
#include "redact/match_length.h"

namespace agentwatch {
namespace {

constexpr size_t kMaxSpan = 1 << 20;  // a span above a MiB is "any length" (0)

std::string ReadStrings(const YAML::Node& n, const std::string& where,
                        std::vector<std::string>* out) {
  if (!n.IsSequence()) return where + ": expected a list of strings";
  for (const auto& v : n) {
    if (!v.IsScalar()) return where + ": expected a list of strings";
    out->push_back(v.Scalar());
  }
  return "";
}

std::string ParseRule(const YAML::Node& r, const std::string& where, SecretRule* rule) {
  if (!r.IsMap()) return where + ": expected a mapping";
  for (const auto& kv : r) {
    const std::string key = kv.first.as<std::string>();
    const YAML::Node& v = kv.second;
    std::string err;
    if (key == "keywords") {
      err = ReadStrings(v, where + ".keywords", &rule->keywords);
    } else if (key == "entropy") {
      try {
        rule->entropy = v.as<double>();
      } catch (const YAML::Exception&) {
        err = where + ".entropy: expected a number";
      }
    } else if (key == "block") {
      try {
        rule->block = v.as<bool>();
      } catch (const YAML::Exception&) {
        err = where + ".block: expected true or false";
      }
    } else if (key == "span") {
      try {
        rule->span = v.as<size_t>();
        if (rule->span > kMaxSpan)
          err = fmt::format("{}.span: at most {} (0: any length)", where, kMaxSpan);
      } catch (const YAML::Exception&) {
        err = where + ".span: expected a byte count";
      }
    } else if (!v.IsScalar()) {
      err = fmt::format("{}.{}: expected a string", where, key);
    } else if (key == "id") {
      rule->id = v.Scalar();
    } else if (key == "provider") {
      rule->provider = v.Scalar();
    } else if (key == "description") {
      rule->description = v.Scalar();
    } else if (key == "regex") {
      rule->regex = v.Scalar();
    } else {
      err = fmt::format("{}: unknown key '{}' (id, provider, description, regex, keywords, "
                        "entropy, span, block)",
                        where, key);
    }
    if (!err.empty()) return err;
  }
  if (rule->id.empty()) return where + ": a rule needs an id";
  if (rule->regex.empty()) return where + ": rule " + rule->id + " needs a regex";
  if (rule->keywords.empty()) return where + ": rule " + rule->id + " needs keywords";
  for (char c : rule->id) {
    if (!(std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) ||
          c == '-'))
      return fmt::format("{}: id '{}' is not kebab-case", where, rule->id);
  }
  return "";
}

}  // namespace

bool KeywordExactCase(const SecretRule& r, const std::string& keyword) {
  auto lower = [](std::string t) {
    for (char& c : t) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return t;
  };
  auto count = [](const std::string& hay, const std::string& needle) {
    size_t n = 0;
    for (size_t at = hay.find(needle); at != std::string::npos; at = hay.find(needle, at + 1)) ++n;
    return n;
  };
  if (keyword.empty()) return false;
  const auto upper = [](unsigned char c) { return c >= 'A' && c <= 'Z'; };
  if (std::any_of(keyword.begin(), keyword.end(), upper)) return true;
  // A flag group with i ((?i), (?si:...)) matches letters in any case; an
  // alternative may spell the keyword otherwise ((?:xoxb|[Xx]OXB)).
  for (size_t at = r.regex.find("(?"); at != std::string::npos; at = r.regex.find("(?", at + 2)) {
    for (size_t i = at + 2;
         i < r.regex.size() && std::isalpha(static_cast<unsigned char>(r.regex[i])); ++i) {
      if (r.regex[i] == 'i') return false;
    }
  }
  if (OutsideClassesHas(r.regex, '|')) return false;
  // Spelt in the regex, and never in another case ([Gg]hp_ or XOXB would
  // let another case match).
  const size_t verbatim = count(r.regex, keyword);
  return verbatim > 0 && count(lower(r.regex), lower(keyword)) == verbatim;
}

namespace {

std::string ParseEntropy(const YAML::Node& n, SecretCatalogue* out) {
  if (!n.IsMap()) return "entropy: expected a mapping";
  for (const auto& kv : n) {
    const std::string key = kv.first.as<std::string>();
    try {
      if (key == "min_length") {
        out->entropy_min_length = kv.second.as<size_t>();
      } else if (key == "min_entropy") {
        out->entropy_min = kv.second.as<double>();
      } else {
        return fmt::format("entropy: unknown key '{}' (min_length, min_entropy)", key);
      }
    } catch (const YAML::Exception&) {
      return fmt::format("entropy.{}: expected a number", key);
    }
  }
  return "";
}

std::string ParseOrThrow(const std::string& text, SecretCatalogue* out) {
  const YAML::Node root = YAML::Load(text);
  if (root.IsNull()) return "";
  if (!root.IsMap()) return "top level: expected a mapping";
  for (const auto& kv : root) {
    const std::string key = kv.first.as<std::string>();
    std::string err;
    if (key == "rules") {
      if (!kv.second.IsSequence()) return "rules: expected a list";
      for (size_t i = 0; i < kv.second.size(); ++i) {
        SecretRule r;
        err = ParseRule(kv.second[i], fmt::format("rules[{}]", i), &r);
        if (!err.empty()) return err;
        auto same = std::find_if(out->rules.begin(), out->rules.end(),
                                 [&](const SecretRule& o) { return o.id == r.id; });
        if (same != out->rules.end()) {
          *same = std::move(r);
        } else {
          out->rules.push_back(std::move(r));
        }
      }
    } else if (key == "secret_names") {
      err = ReadStrings(kv.second, key, &out->secret_names);
    } else if (key == "not_secret_names") {
      err = ReadStrings(kv.second, key, &out->not_secret_names);
    } else if (key == "entropy") {
      err = ParseEntropy(kv.second, out);
    } else {
      err = fmt::format("unknown key '{}' (rules, secret_names, not_secret_names, entropy)", key);
    }
    if (!err.empty()) return err;
  }
  return "";
}

}  // namespace

std::string ParseSecretCatalogue(const std::string& yaml, const std::string& name,
                                 SecretCatalogue* out) {
  SecretCatalogue next = *out;
  std::string err;
  try {
    err = ParseOrThrow(yaml, &next);
  } catch (const YAML::Exception& e) {
    err = fmt::format("line {}, column {}: {}", e.mark.line + 1, e.mark.column + 1, e.msg);
  } catch (const std::exception& e) {
    err = e.what();
  }
  if (!err.empty()) return name + ": " + err;
  for (auto& r : next.rules) {
    if (r.file.empty()) r.file = name;
  }
  *out = std::move(next);
  return "";
}

bool LooksLikeSecretCatalogue(const std::string& yaml) {
  try {
    const YAML::Node root = YAML::Load(yaml);
    if (!root.IsMap()) return false;
    if (root["secret_names"] || root["not_secret_names"] || root["entropy"]) return true;
    const YAML::Node rules = root["rules"];
    return rules && rules.IsSequence() && rules.size() > 0 && rules[0].IsMap() &&
           rules[0]["regex"];
  } catch (const std::exception&) {
    return false;
  }
}

std::string LoadSecretCatalogue(const std::string& dir, SecretCatalogue* out) {
  if (std::string e = ParseSecretCatalogue(BuiltinSecretsYaml(), "builtin", out); !e.empty())
    return e;
  std::error_code ec;
  if (dir.empty() || !std::filesystem::is_directory(dir, ec)) return "";
  std::vector<std::string> files;
  for (const auto& f : std::filesystem::directory_iterator(dir, ec)) {
    if (f.path().extension() == ".yaml" || f.path().extension() == ".yml")
      files.push_back(f.path().string());
  }
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    std::string text;
    if (!ReadFileText(f, &text)) return f + ": cannot read";
    if (std::string e = ParseSecretCatalogue(text, f, out); !e.empty()) return e;
  }
  return "";
}

}  // namespace agentwatch
