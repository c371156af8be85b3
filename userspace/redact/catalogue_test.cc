// Checks the built-in credential catalogue (builtin_secrets.yaml) on its
// own and against its samples (testdata/samples.yaml): the file parses, ids
// are unique kebab-case, every regex compiles in RE2 with at most one
// capture group and bounded repetition, keywords occur in every positive
// sample, every positive sample of both halves is matched by its rule with
// a secret of 8+ characters, no negative sample is, and the whole catalogue
// compiles as one RE2::Set that finds each sample's rule; and the
// Redactor loads the catalogue and masks the secret of every positive
// sample. A failure prints a table with one row per rule and sample that
// failed.
#include "redact/catalogue.h"

#include <gtest/gtest.h>
#include <re2/re2.h>
#include <re2/set.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "common/text.h"
#include "redact/redactor.h"

namespace agentwatch {
namespace {

constexpr char kDir[] = AW_REDACT_DIR;
constexpr size_t kMinRules = 110;
constexpr size_t kMinSecretLength = 8;
// What the whole catalogue needs as one RE2::Set (the header of
// builtin_secrets.yaml says so); RE2's default of 8 MiB is too little.
constexpr int64_t kSetMaxMem = int64_t{32} << 20;

// Rules whose secret may be of any length: blocks with a distinctive end
// marker, or one base64 run after a distinctive start (see the header of
// builtin_secrets.yaml). Every other regex repeats only with an upper bound.
const std::set<std::string>& UnboundedAllowed() {
  static const std::set<std::string> ids = {
      "private-key-pem",
      "private-key-pem-truncated",
      "pgp-private-key-block",
      "pgp-private-key-block-truncated",
      "putty-private-key",
      "putty-private-key-truncated",
      // Long tokens with a distinctive prefix (RE2 caps a count at 1000):
      // the regex runs from the keyword to the text's end (span 0).
      "aws-session-token",
      "aws-bedrock-short-term-api-key",
      "flyio-access-token",
      "aws-presigned-security-token",
      "kubeconfig-client-key-data",
      "jwt",
      "gcp-service-account-private-key",
  };
  return ids;
}

struct Rule {
  std::string id, provider, description, regex;
  std::vector<std::string> keywords;
  std::optional<double> entropy;
  std::unique_ptr<RE2> re;         // UTF-8, RE2's default
  std::unique_ptr<RE2> re_latin1;  // the same regex on bytes
};

struct Samples {
  std::vector<std::string> positive, negative;
};
using Half = std::map<std::string, Samples>;  // rule id -> samples

struct Catalogue {
  std::string error;  // why loading failed, empty when it did not
  YAML::Node root;
  std::vector<Rule> rules;
  std::map<std::string, const Rule*> by_id;
  std::map<std::string, Half> halves;  // "tune", "eval"
};

RE2::Options Options(RE2::Options::Encoding encoding = RE2::Options::EncodingUTF8) {
  RE2::Options o;
  o.set_log_errors(false);
  o.set_encoding(encoding);
  return o;
}

std::string Str(const YAML::Node& n) { return n && n.IsScalar() ? n.as<std::string>() : ""; }

Half LoadHalf(const YAML::Node& n) {
  Half half;
  if (!n || !n.IsMap()) return half;
  for (const auto& kv : n) {
    Samples& s = half[kv.first.as<std::string>()];
    for (const auto& p : kv.second["positive"]) s.positive.push_back(p.as<std::string>());
    for (const auto& p : kv.second["negative"]) s.negative.push_back(p.as<std::string>());
  }
  return half;
}

const Catalogue& Load() {
  static const Catalogue* cat = [] {
    auto* c = new Catalogue;
    try {
      c->root = YAML::LoadFile(std::string(kDir) + "/builtin_secrets.yaml");
      for (const auto& n : c->root["rules"]) {
        Rule r;
        r.id = Str(n["id"]);
        r.provider = Str(n["provider"]);
        r.description = Str(n["description"]);
        r.regex = Str(n["regex"]);
        if (n["keywords"] && n["keywords"].IsSequence())
          for (const auto& k : n["keywords"]) r.keywords.push_back(k.as<std::string>());
        if (n["entropy"]) r.entropy = n["entropy"].as<double>();
        r.re = std::make_unique<RE2>(r.regex, Options());
        r.re_latin1 = std::make_unique<RE2>(r.regex, Options(RE2::Options::EncodingLatin1));
        c->rules.push_back(std::move(r));
      }
      for (const Rule& r : c->rules) c->by_id.emplace(r.id, &r);
      YAML::Node samples = YAML::LoadFile(std::string(kDir) + "/testdata/samples.yaml");
      c->halves["tune"] = LoadHalf(samples["tune"]);
      c->halves["eval"] = LoadHalf(samples["eval"]);
    } catch (const YAML::Exception& e) {
      c->error = e.what();
    }
    return c;
  }();
  return *cat;
}

// ---------------------------------------------------------------- helpers

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

double Entropy(std::string_view s) {
  if (s.empty()) return 0;
  size_t count[256] = {};
  for (unsigned char c : s) ++count[c];
  double h = 0;
  for (size_t n : count) {
    if (n == 0) continue;
    const double p = static_cast<double>(n) / static_cast<double>(s.size());
    h -= p * std::log2(p);
  }
  return h;
}

// The secrets a rule finds in text: group 1 of each match (the whole match
// for a rule without a group) that passes the rule's entropy threshold.
std::vector<std::string> Secrets(const Rule& rule, const RE2& re, std::string_view text) {
  std::vector<std::string> out;
  if (!re.ok()) return out;
  const int groups = re.NumberOfCapturingGroups();
  if (groups > 1) return out;
  const re2::StringPiece whole(text.data(), text.size());
  re2::StringPiece sub[2];
  size_t pos = 0;
  while (pos <= text.size() &&
         re.Match(whole, pos, text.size(), RE2::UNANCHORED, sub, groups + 1)) {
    const re2::StringPiece s = (groups == 1 && sub[1].data() != nullptr) ? sub[1] : sub[0];
    const std::string_view secret(s.data(), s.size());
    if (!rule.entropy || Entropy(secret) >= *rule.entropy) out.emplace_back(secret);
    const size_t end = static_cast<size_t>(sub[0].data() - text.data()) + sub[0].size();
    pos = end > pos ? end : pos + 1;
  }
  return out;
}

// Whether the regex repeats anything without an upper bound (*, +, {n,}).
bool HasUnboundedRepeat(std::string_view re) {
  bool in_class = false;
  for (size_t i = 0; i < re.size(); ++i) {
    const char c = re[i];
    if (c == '\\') {
      ++i;
      continue;
    }
    if (in_class) {
      if (c == ']') in_class = false;
      continue;
    }
    if (c == '[') {
      in_class = true;
      if (i + 1 < re.size() && re[i + 1] == '^') ++i;
      if (i + 1 < re.size() && re[i + 1] == ']') ++i;  // a literal ] first
      continue;
    }
    if (c == '*' || c == '+') return true;
    if (c == '{') {
      const size_t close = re.find('}', i);
      if (close == std::string_view::npos) continue;
      const std::string_view body = re.substr(i + 1, close - i - 1);
      if (!body.empty() && body.back() == ',') return true;
    }
  }
  return false;
}

// Key names as the Redactor compares them: lower case, - and . as _.
std::string NormaliseName(std::string_view name) {
  std::string n = Lower(name);
  std::replace(n.begin(), n.end(), '-', '_');
  std::replace(n.begin(), n.end(), '.', '_');
  return n;
}

bool AnyGlob(const YAML::Node& list, std::string_view name) {
  const std::string n = NormaliseName(name);
  for (const auto& g : list)
    if (GlobMatch(NormaliseName(g.as<std::string>()), n)) return true;
  return false;
}

bool IsSecretName(std::string_view name) {
  const Catalogue& c = Load();
  return AnyGlob(c.root["secret_names"], name) && !AnyGlob(c.root["not_secret_names"], name);
}

// ---------------------------------------------------------------- failure table

struct Failure {
  std::string id, half, problem, sample;
};

std::string Excerpt(std::string_view s, size_t max = 90) {
  std::string out;
  for (char c : s.substr(0, max)) {
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else {
      out += c;
    }
  }
  if (s.size() > max) out += "…";
  return out;
}

std::string Table(const std::vector<Failure>& failures) {
  size_t w_id = 7, w_half = 4, w_problem = 7;
  for (const Failure& f : failures) {
    w_id = std::max(w_id, f.id.size());
    w_half = std::max(w_half, f.half.size());
    w_problem = std::max(w_problem, f.problem.size());
  }
  std::ostringstream os;
  auto row = [&](std::string_view a, std::string_view b, std::string_view c, std::string_view d) {
    os << "  " << a << std::string(w_id - a.size() + 2, ' ') << b
       << std::string(w_half - b.size() + 2, ' ') << c << std::string(w_problem - c.size() + 2, ' ')
       << d << "\n";
  };
  os << failures.size() << " failure(s):\n";
  row("rule id", "half", "problem", "sample");
  for (const Failure& f : failures) row(f.id, f.half, f.problem, Excerpt(f.sample));
  return os.str();
}

#define EXPECT_NO_FAILURES(failures) EXPECT_TRUE((failures).empty()) << Table(failures)

// ---------------------------------------------------------------- the file

TEST(CatalogueTest, Parses) {
  const Catalogue& c = Load();
  ASSERT_EQ(c.error, "");
  ASSERT_TRUE(c.root["rules"].IsSequence());
  EXPECT_TRUE(c.root["secret_names"].IsSequence());
  EXPECT_TRUE(c.root["not_secret_names"].IsSequence());
  ASSERT_TRUE(c.root["entropy"].IsMap());
  EXPECT_GT(c.root["entropy"]["min_length"].as<int>(), 0);
  EXPECT_GT(c.root["entropy"]["min_entropy"].as<double>(), 0.0);
  EXPECT_FALSE(c.halves.at("eval").empty());
  EXPECT_FALSE(c.halves.at("tune").empty());
}

TEST(CatalogueTest, HasAtLeast110Rules) { EXPECT_GE(Load().rules.size(), kMinRules); }

TEST(CatalogueTest, IdsAreUniqueAndKebabCase) {
  const RE2 kebab("[a-z0-9]+(?:-[a-z0-9]+)*");
  std::vector<Failure> failures;
  std::set<std::string> seen;
  for (const Rule& r : Load().rules) {
    if (!RE2::FullMatch(r.id, kebab)) failures.push_back({r.id, "", "id is not kebab-case", r.id});
    if (!seen.insert(r.id).second) failures.push_back({r.id, "", "duplicate id", r.id});
  }
  EXPECT_NO_FAILURES(failures);
}

TEST(CatalogueTest, EveryRuleIsComplete) {
  std::vector<Failure> failures;
  for (const Rule& r : Load().rules) {
    if (r.provider.empty()) failures.push_back({r.id, "", "no provider", ""});
    if (r.description.empty()) failures.push_back({r.id, "", "no description", ""});
    if (r.regex.empty()) failures.push_back({r.id, "", "no regex", ""});
    if (r.keywords.empty()) failures.push_back({r.id, "", "no keywords", ""});
    for (const std::string& k : r.keywords)
      if (k.empty()) failures.push_back({r.id, "", "empty keyword", ""});
    if (r.entropy && (*r.entropy <= 0 || *r.entropy > 8))
      failures.push_back({r.id, "", "entropy out of (0, 8]", std::to_string(*r.entropy)});
  }
  EXPECT_NO_FAILURES(failures);
}

TEST(CatalogueTest, RegexesCompileWithAtMostOneGroup) {
  std::vector<Failure> failures;
  for (const Rule& r : Load().rules) {
    if (!r.re->ok()) {
      failures.push_back({r.id, "", "does not compile: " + r.re->error(), r.regex});
    } else if (!r.re_latin1->ok()) {
      failures.push_back(
          {r.id, "", "does not compile in Latin-1: " + r.re_latin1->error(), r.regex});
    } else if (r.re->NumberOfCapturingGroups() > 1) {
      failures.push_back(
          {r.id, "", std::to_string(r.re->NumberOfCapturingGroups()) + " groups", r.regex});
    }
  }
  EXPECT_NO_FAILURES(failures);
}

TEST(CatalogueTest, RegexesAreBounded) {
  std::vector<Failure> failures;
  for (const Rule& r : Load().rules)
    if (HasUnboundedRepeat(r.regex) && !UnboundedAllowed().count(r.id))
      failures.push_back({r.id, "", "unbounded * + or {n,}", r.regex});
  EXPECT_NO_FAILURES(failures);
}

// ---------------------------------------------------------------- samples

TEST(CatalogueTest, SamplesCoverEveryRule) {
  const Catalogue& c = Load();
  std::vector<Failure> failures;
  for (const Rule& r : c.rules) {
    size_t pos = 0, neg = 0;
    for (const auto& [name, half] : c.halves) {
      auto it = half.find(r.id);
      if (it == half.end()) continue;
      pos += it->second.positive.size();
      neg += it->second.negative.size();
    }
    if (!c.halves.at("tune").count(r.id)) failures.push_back({r.id, "tune", "no tune samples", ""});
    if (pos < 2) failures.push_back({r.id, "", "fewer than 2 positive samples", ""});
    if (neg < 1) failures.push_back({r.id, "", "no negative sample", ""});
  }
  for (const auto& [name, half] : c.halves)
    for (const auto& [id, s] : half)
      if (!c.by_id.count(id)) failures.push_back({id, name, "samples for an unknown rule", ""});
  EXPECT_NO_FAILURES(failures);
}

TEST(CatalogueTest, KeywordsOccurInEveryPositive) {
  const Catalogue& c = Load();
  std::vector<Failure> failures;
  for (const auto& [name, half] : c.halves) {
    for (const auto& [id, s] : half) {
      auto it = c.by_id.find(id);
      if (it == c.by_id.end()) continue;
      SecretRule rule;  // what KeywordExactCase reads
      rule.regex = it->second->regex;
      for (const std::string& p : s.positive) {
        const std::string text = Lower(p);
        for (const std::string& k : it->second->keywords) {
          // In the case the redactor matches it in.
          const bool found = KeywordExactCase(rule, k)
                                 ? p.find(k) != std::string::npos
                                 : text.find(Lower(k)) != std::string::npos;
          if (!found) failures.push_back({id, name, "keyword '" + k + "' missing", p});
        }
      }
    }
  }
  EXPECT_NO_FAILURES(failures);
}

// Every positive of a half is matched with a secret of 8+ characters and no
// negative is matched, in UTF-8 and in Latin-1; prints how many matched
// (UTF-8), for the report.
void CheckHalf(const std::string& name) {
  const Catalogue& c = Load();
  ASSERT_EQ(c.error, "");
  std::vector<Failure> failures;
  size_t pos = 0, pos_ok = 0, neg = 0, neg_ok = 0;
  for (const auto& [id, s] : c.halves.at(name)) {
    auto it = c.by_id.find(id);
    if (it == c.by_id.end()) continue;
    const Rule& r = *it->second;
    for (const std::string& p : s.positive) {
      ++pos;
      if (Secrets(r, *r.re_latin1, p).empty())
        failures.push_back({id, name, "Latin-1: positive not matched", p});
      const std::vector<std::string> found = Secrets(r, *r.re, p);
      if (found.empty()) {
        failures.push_back({id, name, "positive not matched", p});
      } else if (std::none_of(found.begin(), found.end(),
                              [](const std::string& f) { return f.size() >= kMinSecretLength; })) {
        failures.push_back({id, name, "secret shorter than 8: " + found.front(), p});
      } else {
        ++pos_ok;
      }
    }
    for (const std::string& n : s.negative) {
      ++neg;
      if (!Secrets(r, *r.re_latin1, n).empty())
        failures.push_back({id, name, "Latin-1: negative matched", n});
      const std::vector<std::string> found = Secrets(r, *r.re, n);
      if (found.empty()) {
        ++neg_ok;
      } else {
        failures.push_back({id, name, "negative matched: " + Excerpt(found.front(), 30), n});
      }
    }
  }
  std::cout << "[ " << name << " ] " << pos_ok << " of " << pos << " positive samples matched, "
            << neg_ok << " of " << neg << " negative samples not matched\n";
  EXPECT_NO_FAILURES(failures);
}

TEST(CatalogueTest, TuneSamples) { CheckHalf("tune"); }
TEST(CatalogueTest, EvalSamples) { CheckHalf("eval"); }

// ---------------------------------------------------------------- one RE2::Set

std::unique_ptr<RE2::Set> CompileSet(std::vector<Failure>* failures) {
  RE2::Options options = Options();
  options.set_max_mem(kSetMaxMem);
  auto set = std::make_unique<RE2::Set>(options, RE2::UNANCHORED);
  for (const Rule& r : Load().rules) {
    std::string error;
    if (set->Add(r.regex, &error) < 0)
      failures->push_back({r.id, "", "Set::Add: " + error, r.regex});
  }
  if (!set->Compile()) failures->push_back({"", "", "Set::Compile failed (out of memory?)", ""});
  return set;
}

TEST(CatalogueTest, CompilesAsOneSetAndFindsEverySamplesRule) {
  const Catalogue& c = Load();
  std::vector<Failure> failures;
  auto set = CompileSet(&failures);
  ASSERT_TRUE(failures.empty()) << Table(failures);
  std::map<std::string, int> index;
  for (size_t i = 0; i < c.rules.size(); ++i) index[c.rules[i].id] = static_cast<int>(i);
  for (const auto& [name, half] : c.halves) {
    for (const auto& [id, s] : half) {
      auto it = index.find(id);
      if (it == index.end()) continue;
      const Rule& r = c.rules[it->second];
      // Whether the Set reports this sample's rule; an error is a failure.
      auto finds_rule = [&](const std::string& text) -> std::optional<bool> {
        std::vector<int> v;
        RE2::Set::ErrorInfo info;
        set->Match(text, &v, &info);
        if (info.kind != RE2::Set::kNoError) {
          failures.push_back({id, name, "Set::Match error " + std::to_string(info.kind), text});
          return std::nullopt;
        }
        return std::find(v.begin(), v.end(), it->second) != v.end();
      };
      for (const std::string& p : s.positive)
        if (finds_rule(p) == false) failures.push_back({id, name, "Set misses the rule", p});
      // The Set is the first pass: a negative that only the entropy
      // threshold rejects is found by it, by design.
      if (r.entropy) continue;
      for (const std::string& n : s.negative)
        if (finds_rule(n) == true)
          failures.push_back({id, name, "Set finds the rule in a negative", n});
    }
  }
  EXPECT_NO_FAILURES(failures);
}

// Long runs of token alphabets (what a base64 blob or a hex dump looks like)
// neither exhaust the Set's DFA nor produce matches of unbounded size.
TEST(CatalogueTest, SetSurvivesLargeInputs) {
  std::vector<Failure> failures;
  auto set = CompileSet(&failures);
  ASSERT_TRUE(failures.empty()) << Table(failures);
  std::mt19937 rng(7);
  const std::string alphabets[] = {
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
      "0123456789abcdef",
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_ .:=\n",
  };
  for (const std::string& alphabet : alphabets) {
    std::string text(256 << 10, ' ');
    for (char& ch : text) ch = alphabet[rng() % alphabet.size()];
    std::vector<int> v;
    RE2::Set::ErrorInfo info;
    set->Match(text, &v, &info);
    EXPECT_EQ(info.kind, RE2::Set::kNoError) << "alphabet " << alphabet;
  }
}

// ---------------------------------------------------------------- the Redactor

std::string FileText() {
  std::string text;
  ReadFileText(std::string(kDir) + "/builtin_secrets.yaml", &text);
  return text;
}

TEST(CatalogueTest, TheRedactorLoadsTheCatalogue) {
  const size_t rules = Load().rules.size();
  SecretCatalogue file;
  ASSERT_EQ(ParseSecretCatalogue(FileText(), "builtin_secrets.yaml", &file), "");
  EXPECT_EQ(file.rules.size(), rules);
  // The compiled-in copy is this file.
  SecretCatalogue builtin;
  ASSERT_EQ(ParseSecretCatalogue(BuiltinSecretsYaml(), "builtin", &builtin), "");
  EXPECT_EQ(builtin.rules.size(), rules);
  std::string err;
  auto redactor = Redactor::Compile(builtin, "catalogue-test-key", &err);
  ASSERT_NE(redactor, nullptr) << err;
  EXPECT_EQ(redactor->rule_count(), rules);
}

// End to end: what the Redactor writes for each positive sample holds a
// mask and no longer holds the secret the sample's rule captures.
TEST(CatalogueTest, TheRedactorMasksEveryPositiveSample) {
  const Catalogue& c = Load();
  SecretCatalogue cat;
  ASSERT_EQ(ParseSecretCatalogue(FileText(), "builtin_secrets.yaml", &cat), "");
  std::string err;
  auto redactor = Redactor::Compile(cat, "catalogue-test-key", &err);
  ASSERT_NE(redactor, nullptr) << err;
  std::vector<Failure> failures;
  size_t samples = 0, own_kind = 0;
  for (const auto& [name, half] : c.halves) {
    for (const auto& [id, s] : half) {
      auto it = c.by_id.find(id);
      if (it == c.by_id.end()) continue;
      for (const std::string& p : s.positive) {
        ++samples;
        const std::string out = redactor->Redact(p);
        if (out.find(kRedactedPrefix) == std::string::npos) {
          failures.push_back({id, name, "not masked", p});
          continue;
        }
        if (out.find(std::string(kRedactedPrefix) + id + ":") != std::string::npos) ++own_kind;
        for (const std::string& secret : Secrets(*it->second, *it->second->re, p))
          if (secret.size() >= kMinSecretLength && out.find(secret) != std::string::npos)
            failures.push_back({id, name, "secret still visible", out});
      }
    }
  }
  // Where findings overlap the Redactor keeps the first one's kind, so a
  // mask may name another rule (or secret-name); counted, not required.
  std::cout << "[ redactor ] " << samples << " positive samples masked, " << own_kind
            << " with a mask naming their own rule\n";
  EXPECT_NO_FAILURES(failures);
}

// ---------------------------------------------------------------- names

TEST(CatalogueTest, SecretNames) {
  for (const char* name : {"password",
                           "DB_PASSWORD",
                           "db-pass",
                           "SMTP_PASS",
                           "X-Api-Key",
                           "apiKey",
                           "client_secret",
                           "AccountKey",
                           "GITHUB_TOKEN",
                           "Authorization",
                           "auth",
                           "aws_secret_access_key",
                           "AWS_ACCESS_KEY_ID",
                           "SENTRY_DSN",
                           "sessionId",
                           "Cookie",
                           "Set-Cookie",
                           "private_key",
                           "X-Hub-Signature-256",
                           "mnemonic",
                           "basic_auth",
                           "credentials",
                           "ssh.passphrase"})
    EXPECT_TRUE(IsSecretName(name)) << name;
  for (const char* name : {"max_tokens",
                           "token_count",
                           "total_tokens",
                           "input_tokens",
                           "token_type",
                           "author",
                           "author_email",
                           "authors",
                           "certificate_authority",
                           "password_policy",
                           "authorization_endpoint",
                           "token_uri",
                           "secretName",
                           "GOOGLE_APPLICATION_CREDENTIALS",
                           "credential_process",
                           "path",
                           "user",
                           "public_key",
                           "signature_version",
                           "id",
                           "X-Auth-Token-Expiry",
                           "token_expires_at",
                           "SharedAccessKeyName",
                           "DATABASE_URL"})
    EXPECT_FALSE(IsSecretName(name)) << name;
}

TEST(CatalogueTest, EntropySettings) {
  const YAML::Node e = Load().root["entropy"];
  EXPECT_GE(e["min_length"].as<int>(), 16);
  EXPECT_GE(e["min_entropy"].as<double>(), 3.0);
  // A random 32-character hex string passes, a repeated word does not.
  EXPECT_GE(Entropy("9f2c4e7a1b3d5f60a8c2e4f6b1d3a5c7"), 3.5);
  EXPECT_LT(Entropy("passwordpasswordpassword"), 3.5);
}

}  // namespace
}  // namespace agentwatch
