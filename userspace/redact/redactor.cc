#include "redact/redactor.h"

#include <re2/re2.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <bitset>
#include <cmath>
#include <cstring>
#include <mutex>
#include <set>
#include <unordered_map>

#include <fmt/format.h>

#include "common/text.h"
#include "redact/keyword_index.h"
#include "redact/match_length.h"
#include "redact/redactor_internal.h"
#include "redact/views.h"

namespace agentwatch {

struct Redactor::Rule {
  std::string id;
  std::unique_ptr<re2::RE2> re;
  double entropy = 0;
  size_t span = SecretRule::kDefaultSpan;
  bool block = false;
  // The rule's other keywords (their numbers in the keyword index): the
  // regex runs only on a window that holds them all.
  std::vector<uint32_t> also;
  // Its other keywords of one byte (a literal database is slowed down by
  // them): looked for in the window itself. Both cases of a letter that is
  // not matched in its case.
  std::vector<std::pair<char, char>> also_bytes;
  // A regex that starts with its keyword and then a character class
  // repeated at least `follow_min` times (\b(ghp_[A-Za-z0-9]{36})): the
  // bytes of that class; a keyword not followed by them starts no match.
  size_t follow_min = 0;
  std::bitset<256> follow;
  // How many of those bytes the literal it was found by holds already (1
  // for the forms of a short keyword: AC0 ... ACf for AC).
  size_t follow_from = 0;
};

// How often a redacted text is redacted again for what its masks moved.
constexpr int kSettleRounds = 4;

// keyword_rule_ of a rule's other keyword (not the one it is tried at).
constexpr int kAlsoKeyword = -2;

// What the first pass over a text finds besides keywords: whether an
// escape could hide one, the escapes that change its shape near one, and
// the runs of base64 bytes long enough to decode.
struct Redactor::Prescan {
  bool hides = false;
  std::vector<size_t> esc;
  std::vector<size_t> weak;  // \n \r \t \b \f: they only matter just before a keyword
  std::vector<size_t> base64;  // where runs long enough to decode start
};

struct Redactor::Near {
  size_t begin, end;                // a keyword and a few bytes around it
  size_t region_begin, region_end;  // where its match could lie
  size_t keyword;                   // where the keyword (or name) begins
};

struct Redactor::RuleHit {
  uint32_t rule;
  uint32_t begin;  // the keyword's bytes
  uint32_t end;
};

size_t MaskEnd(std::string_view text, size_t at) {
  size_t i = at + sizeof(kRedactedPrefix) - 1;
  const size_t kind = i;
  while (i < text.size() && i - kind < 64 &&
         (std::islower(static_cast<unsigned char>(text[i])) ||
          std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '-'))
    ++i;
  if (i == kind || i >= text.size() || text[i] != ':') return 0;
  ++i;
  for (int k = 0; k < 6; ++k, ++i) {
    if (i >= text.size() || !std::isxdigit(static_cast<unsigned char>(text[i])) ||
        std::isupper(static_cast<unsigned char>(text[i])))
      return 0;
  }
  return i < text.size() && text[i] == ']' ? i + 1 : 0;
}

std::vector<std::pair<size_t, size_t>> MaskRanges(std::string_view text) {
  std::vector<std::pair<size_t, size_t>> masks;
  for (size_t at = text.find(kRedactedPrefix); at != std::string_view::npos;
       at = text.find(kRedactedPrefix, at + 1)) {
    if (const size_t end = MaskEnd(text, at); end != 0) masks.emplace_back(at, end);
  }
  return masks;
}

namespace {

constexpr size_t kMaxValue = 16384;  // longest secret-named value taken
constexpr size_t kMinValue = 3;
constexpr size_t kMaxName = 128;     // longest key name looked at
// More findings than this in one text: the whole text is masked (an input
// made of secrets, or made to look like it, costs bounded work).
constexpr size_t kMaxFindings = 4096;
constexpr size_t kMaxSpread = 256;   // distinct values searched for again
constexpr int kMaxJsonDepth = 3;     // nested JSON held in strings
// Around a secret-like name: the rest of the name before it, and the
// separator and value after it (a decoded view is made of that region).
constexpr size_t kNameLead = 64;
constexpr size_t kNameReach = 2048;
// Searches started again inside a match, per window (bounds the work an
// input full of one keyword can cause).
constexpr size_t kMaxRestarts = 64;
// Base64 runs shorter than this are not decoded.
constexpr size_t kMinBase64 = 24;
// A \n \r \t escape this close before a keyword may break a \b the
// match needs (its letter runs into the next word).
constexpr size_t kWeakNear = 48;
// An escape this close to a keyword may hide the shape around it.
constexpr size_t kEscapeNear = 64;
// Literals shorter than this slow the literal database down on every byte
// (Hyperscan's literal matcher falls back to a slower scheme for them).
constexpr size_t kMinLiteral = 3;

// Whether the regex has a flag group with i ((?i), (?si:...)).
bool FoldsCase(const std::string& rx) {
  for (size_t at = rx.find("(?"); at != std::string::npos; at = rx.find("(?", at + 2)) {
    for (size_t i = at + 2; i < rx.size() && std::isalpha(static_cast<unsigned char>(rx[i])); ++i) {
      if (rx[i] == 'i') return true;
    }
  }
  return false;
}

bool KeyChar(unsigned char c) {
  return std::isalnum(c) || c == '_' || c == '-' || c == '.';
}

std::string NormalizeName(std::string_view n) {
  std::string out;
  out.reserve(n.size());
  for (unsigned char c : n) {
    if (c == '-' || c == '.') {
      out.push_back('_');
    } else {
      out.push_back(static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c));  // ASCII
    }
  }
  return out;
}

// The literal pieces of a glob ("*api_key*" -> "api_key"), the keywords
// that find candidate names in a text.
std::vector<std::string> GlobLiterals(const std::string& glob) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : glob) {
    if (c == '*' || c == '?' || c == '[' || c == ']') {
      if (cur.size() >= 3) out.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(c == '-' || c == '.' ? '_' : c);
    }
  }
  if (cur.size() >= 3) out.push_back(cur);
  return out;
}

bool Placeholder(std::string_view v) {
  static const std::set<std::string, std::less<>> kWords = {
      "null", "true", "false", "none", "undefined", "nil", "redacted", "changeme",
      "example", "password", "secret", "token", "string", "required", "optional"};
  if (v.size() < kMinValue) return true;
  if (v.rfind(kRedactedPrefix, 0) == 0 || v.rfind("[REDACTED", 0) == 0) return true;
  if (v.rfind("${", 0) == 0 || v.rfind("$(", 0) == 0 || v.rfind("{{", 0) == 0 ||
      v.front() == '<' || v.front() == '{' || v.front() == '[')
    return true;
  if (std::all_of(v.begin(), v.end(), [&](char c) { return c == v.front(); })) return true;
  return kWords.count(NormalizeName(v)) > 0;
}

// After a key name at text[i]: the separator and the value, or false.
bool ValueAfter(std::string_view text, size_t i, bool whole_line, size_t* vb, size_t* ve) {
  const size_t n = text.size();
  if (i < n && (text[i] == '"' || text[i] == '\'')) ++i;  // the key's closing quote
  while (i < n && (text[i] == ' ' || text[i] == '\t')) ++i;
  if (i >= n) return false;
  if (text[i] == '=') {
    if (i + 1 < n && text[i + 1] == '=') return false;
  } else if (text[i] == ':') {
    if (i + 1 < n && (text[i + 1] == ':' || text[i + 1] == '/')) return false;
  } else {
    return false;
  }
  ++i;
  while (i < n && (text[i] == ' ' || text[i] == '\t')) ++i;
  if (i >= n) return false;
  if (text[i] == '"' || text[i] == '\'') {
    const char q = text[i++];
    size_t j = i;
    while (j < n && j - i < kMaxValue && text[j] != q && text[j] != '\n') j += text[j] == '\\' ? 2 : 1;
    if (j > n) j = n;
    *vb = i;
    *ve = j;
    return j > i;
  }
  size_t j = i;
  auto stop = [&](char c) {
    if (whole_line) return c == '\n' || c == '\r' || c == '"';
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '&' || c == ',' || c == ';' ||
           c == '"' || c == '\'' || c == '}' || c == ']' || c == ')' || c == '<' || c == '>' ||
           c == '\\';
  };
  while (j < n && j - i < kMaxValue && !stop(text[j])) ++j;
  // An auth scheme: the credential is the word after it.
  static const std::set<std::string, std::less<>> kSchemes = {"bearer", "basic", "token",
                                                               "digest", "negotiate", "apikey"};
  if (!whole_line && j < n && text[j] == ' ' && kSchemes.count(NormalizeName(text.substr(i, j - i)))) {
    size_t k = j + 1;
    size_t e = k;
    if (NormalizeName(text.substr(i, j - i)) == "digest") {
      // Digest's credential is a list of quoted parameters: to the line's
      // end (a raw line end or a JSON \r \n escape).
      while (e < n && e - k < kMaxValue && text[e] != '\n' && text[e] != '\r' &&
             !(text[e] == '\\' && e + 1 < n && (text[e + 1] == 'r' || text[e + 1] == 'n')))
        ++e;
    } else {
      while (e < n && e - k < kMaxValue && !stop(text[e])) ++e;
    }
    if (e == k) return false;  // a scheme with no credential after it
    *vb = k;
    *ve = e;
    return true;
  }
  *vb = i;
  *ve = j;
  return j > i;
}

// A generated credential, not a word or a path: digits and letters of
// both cases, or 32+ hex digits.
bool LooksRandom(std::string_view t) {
  bool digit = false, upper = false, lower = false, hex = true;
  for (unsigned char c : t) {
    digit |= std::isdigit(c) != 0;
    upper |= std::isupper(c) != 0;
    lower |= std::islower(c) != 0;
    hex &= std::isxdigit(c) != 0;
  }
  return (digit && upper && lower) || (hex && t.size() >= 32);
}

// Whether a found value is masked wherever else it appears: long enough,
// or short but not a plain word (a password "hunter2" is, "nodejs" is not).
bool Spreads(std::string_view v) {
  if (v.size() >= 8) return true;
  if (v.size() < 6) return false;
  bool alpha = false, other = false;
  for (unsigned char c : v) {
    if (std::isalpha(c)) {
      alpha = true;
    } else {
      other = true;
    }
  }
  return alpha && other;
}

void AddFinding(std::vector<Redactor::Finding>* out, size_t b, size_t e, std::string rule,
                std::string_view text) {
  out->push_back({b, e, std::move(rule), std::string(text.substr(b, e - b))});
}

// The spans of one view, mapped to the original.
void MapBack(const DecodedView& v, std::vector<Redactor::Finding>* f) {
  for (auto& x : *f) {
    const size_t b = v.MapBegin(x.begin);
    const size_t e = v.MapEnd(x.end);
    if (x.match_begin != SIZE_MAX) x.match_begin = v.MapBegin(x.match_begin);
    x.begin = b;
    x.end = e;
  }
}

// Whether text[wb, we) holds each of the keywords also (hits: where the
// rules' other keywords occur, as (keyword, begin), sorted) and each of
// the bytes (either of a pair).
bool HoldsAll(std::string_view text, const std::vector<std::pair<uint32_t, uint32_t>>& hits,
              const std::vector<uint32_t>& also, const std::vector<std::pair<char, char>>& bytes,
              const KeywordIndex& index, size_t wb, size_t we) {
  const std::string_view window = text.substr(wb, we - wb);
  for (const auto& [a, b] : bytes) {
    const bool found = window.find(a) != std::string_view::npos ||
                       (a != b && window.find(b) != std::string_view::npos);
    if (!found) return false;
  }
  for (const uint32_t k : also) {
    // The first occurrence at or after wb ends first (one keyword, one length).
    const auto it = std::lower_bound(hits.begin(), hits.end(),
                                     std::pair<uint32_t, uint32_t>(k, static_cast<uint32_t>(wb)));
    if (it == hits.end() || it->first != k || it->second + index.length(k) > we) return false;
  }
  return true;
}

// Whether [b, e) meets one of wanted's ranges (always without them).
bool Reaches(const std::vector<std::pair<size_t, size_t>>* wanted, size_t b, size_t e) {
  if (wanted == nullptr) return true;
  for (const auto& [wb, we] : *wanted) {
    if (b < we && e > wb) return true;
  }
  return false;
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::mutex g_default_mu;
std::shared_ptr<const Redactor> g_default;
// Bumped by every SetDefaultRedactor: a thread's cached copy of g_default
// is good while the number it was taken at is current.
std::atomic<uint64_t> g_default_version{1};

}  // namespace

// The longest well-formed mask: the prefix, a kind of 64 bytes, ':', 6
// hex digits and ']' (MaskEnd).
constexpr size_t kMaxMask = sizeof(kRedactedPrefix) - 1 + 64 + 1 + 6 + 1;

// Sorted by start; overlapping findings merged into the first's kind.
std::vector<Redactor::Finding> MergeFindings(std::vector<Redactor::Finding> f) {
  // Stable: of findings with the same span, the first found names the
  // kind (a catalogue rule before a secret name, the raw text before a
  // view), whatever else the text holds.
  std::stable_sort(f.begin(), f.end(), [](const auto& a, const auto& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end > b.end;
  });
  std::vector<Redactor::Finding> out;
  for (auto& x : f) {
    if (x.end <= x.begin) continue;
    if (!out.empty() && x.begin < out.back().end) {
      out.back().end = std::max(out.back().end, x.end);
      out.back().match_begin = std::min(out.back().match_begin, x.match_begin);
      continue;
    }
    out.push_back(std::move(x));
  }
  return out;
}

// Cuts s to max_len at a UTF-8 boundary outside any mask; notes what went
// (dropped_extra: bytes of the input already left out of s).
std::string CutRendered(std::string s, size_t max_len, size_t dropped_extra) {
  if (s.size() <= max_len && dropped_extra == 0) return s;
  size_t cut = std::min(max_len, s.size());
  while (cut > 0 && cut < s.size() && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  // A mask is kept whole or dropped whole. One the cut splits starts less
  // than kMaxMask bytes before it, and no prefix lies inside a well-formed
  // mask: only those bytes are searched.
  const size_t from = cut > kMaxMask ? cut - kMaxMask : 0;
  size_t open = std::string_view(s).substr(from).rfind(kRedactedPrefix, cut == 0 ? 0 : cut - 1 - from);
  if (open != std::string_view::npos) open += from;
  if (open != std::string::npos && open < cut) {
    const size_t end = MaskEnd(s, open);
    if (end > cut) cut = open;
  }
  const size_t dropped = s.size() - cut + dropped_extra;
  s.resize(cut);
  s += fmt::format("…[+{} bytes]", dropped);
  return s;
}

// Token bytes: what a secret is made of (no space, quote or bracket).
bool TokenByte(unsigned char c) {
  return c > 0x20 && c != '"' && c != '\'' && c != '<' && c != '>' && c != '{' && c != '}' &&
         c != '[' && c != ']' && c != ',' && c != ';' && c != 0x7F;
}

double Entropy(std::string_view s) {
  if (s.empty()) return 0;
  std::array<uint32_t, 256> n{};
  for (unsigned char c : s) ++n[c];
  double h = 0;
  for (uint32_t k : n) {
    if (k == 0) continue;
    const double p = static_cast<double>(k) / static_cast<double>(s.size());
    h -= p * std::log2(p);
  }
  return h;
}

Redactor::~Redactor() = default;

size_t Redactor::rule_count() const { return rules_.size(); }

size_t Redactor::shortest_literal() const {
  size_t least = SIZE_MAX;
  for (uint32_t k = 0; k < keywords_->size(); ++k) least = std::min<size_t>(least, keywords_->length(k));
  return least;
}

std::shared_ptr<const Redactor> Redactor::Compile(const SecretCatalogue& cat, std::string key,
                                                  std::string* err) {
  static std::atomic<uint64_t> ids{0};
  std::shared_ptr<Redactor> r(new Redactor());
  r->id_ = ++ids;
  r->key_ = std::move(key);
  r->secret_names_ = cat.secret_names;
  r->not_secret_names_ = cat.not_secret_names;
  for (auto& n : r->secret_names_) n = NormalizeName(n);
  for (auto& n : r->not_secret_names_) n = NormalizeName(n);
  r->entropy_min_length_ = cat.entropy_min_length;
  r->entropy_min_ = cat.entropy_min;
  std::vector<std::string> keywords;
  std::vector<bool> exact;  // per keyword: matched in its written case
  std::vector<std::string> word_source;  // per keyword: what word_prefix_ is read from
  RE2::Options o;
  o.set_log_errors(false);
  o.set_max_mem(8 << 20);
  for (const auto& sr : cat.rules) {
    Rule rule;
    rule.id = sr.id;
    rule.entropy = sr.entropy;
    rule.block = sr.block;
    // The window a match can reach around its keyword: what the regex can
    // match at most (0: any length, to the text's end).
    if (sr.span != SecretRule::kDefaultSpan) {
      rule.span = sr.span;
    } else {
      const size_t most = MaxMatchLength(sr.regex);
      rule.span = most == SIZE_MAX ? 0 : std::max<size_t>(most, 16);
    }
    rule.re = std::make_unique<re2::RE2>(sr.regex, o);
    if (!rule.re->ok()) {
      *err = fmt::format("{}: rule {}: {}", sr.file, sr.id, rule.re->error());
      return nullptr;
    }
    if (rule.re->NumberOfCapturingGroups() > 1) {
      *err = fmt::format("{}: rule {}: at most one capture group (the secret)", sr.file, sr.id);
      return nullptr;
    }
    // Every keyword occurs in every match (the catalogue's contract), so
    // the longest one decides whether the rule is tried and where, and the
    // others must be near it.
    const std::string* kw = &sr.keywords.front();
    for (const auto& k : sr.keywords) {
      if (k.size() > kw->size()) kw = &k;
    }
    const bool kw_exact = KeywordExactCase(sr, *kw);
    bool follow_ascii = false;
    if (kw_exact) rule.follow_min = FollowingClass(sr.regex, *kw, &rule.follow, &follow_ascii);
    const int rule_index = static_cast<int>(r->rules_.size());
    // A keyword that tries the rule. One shorter than kMinLiteral bytes (AC,
    // SK, Q~, :$) slows the literal pass over every byte by a third: it is
    // looked for as the longer literals every match holds instead (its
    // forms), when the regex tells them; the rule's contract (each match
    // holds one of the literals it is tried at) is kept.
    auto add_trigger = [&](const std::string& k, bool k_exact, bool leading) {
      std::vector<std::string> forms;
      bool forms_exact = false;
      if (k.size() < kMinLiteral) {
        if (leading && rule.follow_min > 0) {
          // The keyword and each byte that can follow it (the class of
          // FollowingClass: escapes and, where the class admits more than
          // ASCII, bytes past ASCII too), in its case.
          for (int c = 0; c < 256; ++c) {
            if (!rule.follow[static_cast<size_t>(c)]) continue;
            if (c >= 0x80 && follow_ascii) continue;  // no character of the class
            forms.push_back(k + static_cast<char>(c));
          }
          forms_exact = true;
        } else if (!FoldsCase(sr.regex)) {
          // The literals RE2's prefilter finds every match holds (0q~ ...
          // 9q~ for [0-9]Q~), in either case.
          forms = RequiredLiterals(sr.regex, kMinLiteral);
        }
      }
      if (forms.empty()) {
        keywords.push_back(k);
        exact.push_back(k_exact);
        r->keyword_rule_.push_back(rule_index);
        word_source.push_back(k);
        return;
      }
      for (auto& f : forms) {
        keywords.push_back(std::move(f));
        exact.push_back(forms_exact);
        r->keyword_rule_.push_back(rule_index);
        // A form of the keyword that leads it starts where it does.
        word_source.push_back(forms_exact ? k : keywords.back());
      }
      // The bytes after the keyword the form holds are checked already.
      if (forms_exact) rule.follow_from = 1;
    };
    add_trigger(*kw, kw_exact, true);
    for (const auto& k : sr.keywords) {
      if (&k == kw || k.empty()) continue;
      // Only one that every match holds (RE2's prefilter tells) is
      // required; a listed alternative (akia, asia for AKIA|ASIA) tries
      // the rule where it occurs too, as the longest does.
      if (!RequiredLiteral(sr.regex, k)) {
        add_trigger(k, KeywordExactCase(sr, k), false);
        rule.follow_min = 0;  // the class read was after the longest only
        continue;
      }
      if (k.size() == 1) {
        const char c = k[0];
        const bool exact_case = KeywordExactCase(sr, k);
        rule.also_bytes.emplace_back(
            exact_case ? c : static_cast<char>(std::tolower(static_cast<unsigned char>(c))),
            exact_case ? c : static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
        continue;
      }
      rule.also.push_back(static_cast<uint32_t>(keywords.size()));
      keywords.push_back(k);
      exact.push_back(KeywordExactCase(sr, k));
      r->keyword_rule_.push_back(kAlsoKeyword);
      word_source.push_back(k);
    }
    r->rules_.push_back(std::move(rule));
  }
  std::set<std::string> literals;
  for (const auto& g : r->secret_names_) {
    for (auto& l : GlobLiterals(g)) literals.insert(l);
  }
  for (const auto& l : literals) {
    keywords.push_back(l);
    exact.push_back(false);
    r->keyword_rule_.push_back(-1);
    word_source.push_back(l);
    // Names are matched normalised: a literal with _ also finds - and .
    if (l.find('_') != std::string::npos) {
      for (char sep : {'-', '.'}) {
        std::string v = l;
        std::replace(v.begin(), v.end(), '_', sep);
        keywords.push_back(v);
        exact.push_back(false);
        r->keyword_rule_.push_back(-1);
        word_source.push_back(v);
      }
    }
  }
  size_t total = 1;
  for (const auto& k : keywords) total += k.size();
  if (total > KeywordIndex::kMaxStates) {
    *err = fmt::format("the catalogue's keywords are {} bytes long in all; at most {}", total,
                       KeywordIndex::kMaxStates);
    return nullptr;
  }
  // (A keyword with an upper-case letter matches in that case only.)
  r->keywords_ = std::make_unique<KeywordIndex>(keywords, exact);
  // Short keywords of letters, digits, _ . - (sk_, hf_, eyJ) of rules whose
  // regex starts at a word boundary begin a token: only there do they count.
  // (A form of a short keyword that leads it counts where the keyword
  // would.)
  for (size_t i = 0; i < keywords.size(); ++i) {
    const std::string& k = word_source[i];
    const int rule = r->keyword_rule_[i];
    bool word = rule >= 0 && !k.empty() && k.size() < 4 &&
                std::isalnum(static_cast<unsigned char>(k[0])) &&
                cat.rules[static_cast<size_t>(rule)].regex.rfind("\\b", 0) == 0;
    for (unsigned char c : k) word &= std::isalnum(c) || c == '_' || c == '.' || c == '-';
    r->word_prefix_.push_back(word);
  }
  return r;
}

bool Redactor::SecretName(std::string_view name) const {
  // Names repeat (token, password, session...): the verdicts of the last
  // ones are kept per thread.
  thread_local uint64_t owner = 0;
  thread_local std::unordered_map<std::string, bool> cache;
  if (owner != id_ || cache.size() > 4096) {
    cache.clear();
    owner = id_;
  }
  std::string key(name);
  if (auto it = cache.find(key); it != cache.end()) return it->second;
  const bool verdict = SecretNameUncached(name);
  cache.emplace(std::move(key), verdict);
  return verdict;
}

bool Redactor::SecretNameUncached(std::string_view name) const {
  const std::string n = NormalizeName(name);
  bool secret = false;
  for (const auto& g : secret_names_) {
    if (GlobMatch(g, n)) {
      secret = true;
      break;
    }
  }
  if (!secret) return false;
  for (const auto& g : not_secret_names_) {
    if (GlobMatch(g, n)) return false;
  }
  return true;
}

void Redactor::ScanRules(std::string_view text, std::vector<RuleHit>& hits,
                         const std::vector<std::pair<uint32_t, uint32_t>>& also_hits,
                         std::vector<Finding>* out, const Ranges* wanted) const {
  std::sort(hits.begin(), hits.end(), [](const RuleHit& a, const RuleHit& b) {
    return a.rule != b.rule ? a.rule < b.rule : a.begin < b.begin;
  });
  const size_t n = text.size();
  const re2::StringPiece whole_text(text.data(), n);
  for (size_t i = 0; i < hits.size();) {
    const uint32_t ri = hits[i].rule;
    const Rule& r = rules_[ri];
    re2::StringPiece groups[2];
    const int ng = r.re->NumberOfCapturingGroups() + 1;
    // The regex runs only on windows around the rule's keywords (a match
    // holds one of them and spans at most `span` bytes), merged where they
    // overlap; RE2 still sees the whole text as context (\b, $).
    const size_t before = r.span == 0 ? kBlockLead : r.span;
    const size_t first = i;  // this rule's hits: hits[first, i_end)
    size_t i_end = i;
    while (i_end < hits.size() && hits[i_end].rule == ri) ++i_end;
    auto run = [&](size_t wb, size_t we) {
      size_t pos = wb;
      size_t restarts = 0;
      size_t cursor = first;
      while (pos < we && out->size() <= 2 * kMaxFindings &&
             r.re->Match(whole_text, pos, we, RE2::UNANCHORED, groups, ng)) {
        const size_t ms = static_cast<size_t>(groups[0].data() - text.data());
        const size_t me = ms + groups[0].size();
        const re2::StringPiece whole = groups[0];
        const re2::StringPiece secret = ng > 1 && groups[1].data() != nullptr ? groups[1] : whole;
        const size_t b = static_cast<size_t>(secret.data() - text.data());
        const size_t e = b + secret.size();
        if (e > b && (r.entropy <= 0 || Entropy(text.substr(b, e - b)) >= r.entropy)) {
          AddFinding(out, b, e, r.id, text);
          out->back().match_begin = static_cast<size_t>(whole.data() - text.data());
        }
        size_t next = me > pos ? me : pos + 1;
        // A keyword after the first inside this match may begin a match of
        // its own that this one swallowed (a greedy body running into the
        // next key's header): searched again from just after this start.
        // Match starts only grow: the hits before this one are behind.
        while (cursor < i_end && hits[cursor].begin < ms) ++cursor;
        if (restarts < kMaxRestarts) {
          bool own = false;
          for (size_t k = cursor; k < i_end && hits[k].begin < me; ++k) {
            if (hits[k].begin < ms) continue;
            if (!own) {
              own = true;
              continue;
            }
            next = std::min(next, std::max(ms + 1, hits[k].end > before ? hits[k].end - before : 0));
            ++restarts;
            break;
          }
        }
        pos = next;
      }
    };
    // The rule's other keywords in the window (a match holds them all).
    auto holds = [&](size_t b, size_t e) {
      return HoldsAll(text, also_hits, r.also, r.also_bytes, *keywords_, b, e);
    };
    size_t wb = 0, we = 0;
    bool open = false;
    for (; i < hits.size() && hits[i].rule == ri; ++i) {
      const size_t b = hits[i].end > before ? hits[i].end - before : 0;
      const size_t e = r.span == 0 ? n : std::min(n, static_cast<size_t>(hits[i].begin) + r.span);
      if (open && b <= we) {
        we = std::max(we, e);
        continue;
      }
      // A match lies inside its window: one that does not meet the wanted
      // ranges finds nothing there (the others are searched as they would
      // be without them).
      if (open && Reaches(wanted, wb, we) && holds(wb, we)) run(wb, we);
      wb = b;
      we = e;
      open = true;
    }
    if (open && Reaches(wanted, wb, we) && holds(wb, we)) run(wb, we);
  }
}

void Redactor::ScanNames(std::string_view text, const std::vector<size_t>& hits,
                         std::vector<Finding>* out, std::vector<Near>* near) const {
  // Where the last name (and the value taken after it) ended: a hit inside
  // them is not looked at again (a text of one long name, or of names
  // repeated, costs one pass, not one per hit).
  size_t done = 0;
  for (size_t h : hits) {
    if (h < done) continue;
    // The whole key name around the literal (bounded: a name is short).
    size_t b = h;
    while (b > 0 && h - b < kMaxName && KeyChar(static_cast<unsigned char>(text[b - 1]))) --b;
    size_t e = h;
    while (e < text.size() && e - h < kMaxName && KeyChar(static_cast<unsigned char>(text[e]))) ++e;
    done = e;
    if (e - b >= kMaxName) continue;  // not a name: a run of key characters
    const std::string_view name = text.substr(b, e - b);
    if (!SecretName(name)) continue;
    if (near != nullptr) {
      near->push_back({b > kEscapeNear ? b - kEscapeNear : 0, std::min(text.size(), e + kEscapeNear),
                       b > kNameLead ? b - kNameLead : 0, std::min(text.size(), e + kNameReach), b});
    }
    const std::string norm = NormalizeName(name);
    const bool whole_line = norm == "cookie" || norm == "set_cookie";
    size_t vb = 0, ve = 0;
    if (ValueAfter(text, e, whole_line, &vb, &ve)) {
      // A value that stops at an escape (\u00e9, \") may go on in the
      // decoded view, however far it is from the name.
      if (near != nullptr && ve + 1 < text.size() && text[ve] == '\\') {
        near->push_back({ve, ve + 2, b > kNameLead ? b - kNameLead : 0,
                         std::min(text.size(), ve + kNameReach), b});
      }
      if (!Placeholder(text.substr(vb, ve - vb))) AddFinding(out, vb, ve, "secret-name", text);
      done = std::max(done, ve);
      continue;
    }
    // No name=value shape: a long random value close after the name.
    const size_t limit = std::min(text.size(), e + 48);
    for (size_t i = e; i < limit;) {
      size_t j = i;
      while (j < text.size() && j - i <= kMaxValue &&
             (std::isalnum(static_cast<unsigned char>(text[j])) || text[j] == '+' ||
              text[j] == '/' || text[j] == '=' || text[j] == '_' || text[j] == '-'))
        ++j;
      done = std::max(done, j);
      if (j - i >= entropy_min_length_ && j - i <= kMaxValue &&
          LooksRandom(text.substr(i, j - i)) && Entropy(text.substr(i, j - i)) >= entropy_min_) {
        AddFinding(out, i, j, "high-entropy", text);
        break;
      }
      i = j + 1;
    }
  }
}

// What FindIn needs besides keywords: escapes (memchr finds their rare
// bytes) and the starts of base64 runs long enough to decode.
void Redactor::Survey(std::string_view text, bool slash, const Ranges* wanted, Prescan* pre) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  for (const void* at = std::memchr(p, '\\', n); at != nullptr;) {
    const size_t i = static_cast<const unsigned char*>(at) - p;
    if (i + 1 >= n) break;
    const unsigned char e = p[i + 1];
    if (e == '"' || e == '\\' || e == '/' || e == 'u') {
      pre->esc.push_back(i);
    } else if (e == 'n' || e == 'r' || e == 't' || e == 'b' || e == 'f') {
      pre->weak.push_back(i);
    }
    if (e == '/' && slash) pre->hides = true;
    if (e == 'u' && i + 5 < n && p[i + 2] == '0' && p[i + 3] == '0' && HexDigit(p[i + 4]) >= 0 &&
        HexDigit(p[i + 4]) < 8 && HexDigit(p[i + 5]) >= 0)
      pre->hides = true;
    at = std::memchr(p + i + 1, '\\', n - i - 1);
  }
  const size_t backslashes = pre->esc.size();
  for (const void* at = std::memchr(p, '%', n); at != nullptr;) {
    const size_t i = static_cast<const unsigned char*>(at) - p;
    pre->esc.push_back(i);
    if (i + 2 < n && HexDigit(p[i + 1]) >= 0 && HexDigit(p[i + 2]) >= 0) pre->hides = true;
    at = i + 1 < n ? std::memchr(p + i + 1, '%', n - i - 1) : nullptr;
  }
  std::inplace_merge(pre->esc.begin(), pre->esc.begin() + static_cast<std::ptrdiff_t>(backslashes),
                     pre->esc.end());
  // A run long enough to decode is noted where it starts; FindIn finds its
  // end.
  static_assert(kMinBase64 == 24, "Base64RunStarts finds runs of 24 bytes");
  if (wanted == nullptr) {
    Base64RunStarts(text, &pre->base64);
    return;
  }
  // Only the runs that can reach the wanted ranges: each range from the
  // start of the run it begins in, to where a run starting inside it
  // reaches decodable length.
  std::vector<size_t> starts;
  for (auto [b, e] : *wanted) {
    e = std::min(e, n);
    if (b >= e) continue;
    size_t s = b;
    while (s > 0 && kBase64Bytes[p[s - 1]]) --s;
    const size_t end = std::min(n, e + kMinBase64 - 1);
    starts.clear();
    Base64RunStarts(text.substr(s, end - s), &starts);
    for (size_t x : starts) pre->base64.push_back(s + x);
  }
  std::sort(pre->base64.begin(), pre->base64.end());
  pre->base64.erase(std::unique(pre->base64.begin(), pre->base64.end()), pre->base64.end());
}

bool Redactor::Scan(std::string_view text, std::vector<Finding>* out, std::vector<Near>* near,
                    std::vector<size_t>* blocks, Prescan* pre, Ranges* wanted,
                    Ranges* masks_out) const {
  Ranges own;
  Ranges& masks = masks_out != nullptr ? *masks_out : own;
  masks = MaskRanges(text);
  // Scratch kept per thread (Scan does not call itself): no allocation
  // per text.
  thread_local std::vector<RuleHit> rule_hits;
  thread_local std::vector<size_t> name_hits;
  thread_local std::vector<std::pair<uint32_t, uint32_t>> also_hits;
  rule_hits.clear();
  name_hits.clear();
  also_hits.clear();
  size_t mi = 0;
  auto on_hit = [&](uint32_t k, size_t end) {
    const size_t len = keywords_->length(k);
    const size_t begin = end - len;
    // A short keyword (sk, hf_, eyJ...) is a token's prefix: it counts only
    // at the start of a word, not inside one ("task", "ask").
    // (The letter of a \n \t ... escape before it is no word.)
    if (word_prefix_[k] && begin > 0 &&
        std::isalnum(static_cast<unsigned char>(text[begin - 1])) &&
        !(begin >= 2 && text[begin - 2] == '\\' && std::strchr("nrtbf", text[begin - 1]) != nullptr))
      return;
    // Not inside a mask already there (hits come in order of their ends).
    while (mi < masks.size() && masks[mi].second < end) ++mi;
    if (mi < masks.size() && begin >= masks[mi].first) return;
    const int r = keyword_rule_[k];
    if (r == kAlsoKeyword) {
      also_hits.emplace_back(k, static_cast<uint32_t>(begin));
    } else if (r >= 0) {
      // Where the regex starts with the keyword: the bytes after it (those
      // there are: a stream's next bytes may follow) must fit.
      const Rule& rule = rules_[static_cast<size_t>(r)];
      const size_t follow = rule.follow_min > rule.follow_from ? rule.follow_min - rule.follow_from : 0;
      for (size_t i = end; i < end + follow && i < text.size(); ++i) {
        if (!rule.follow[static_cast<unsigned char>(text[i])]) return;
      }
      rule_hits.push_back({static_cast<uint32_t>(r), static_cast<uint32_t>(begin),
                           static_cast<uint32_t>(end)});
    } else {
      name_hits.push_back(begin);
    }
  };
  thread_local std::vector<KeywordIndex::Hit> kw_hits;
  kw_hits.clear();
  keywords_->Hits(text, &kw_hits);
  for (const KeywordIndex::Hit& h : kw_hits) on_hit(h.keyword, h.end);
  if (blocks != nullptr) {
    for (const RuleHit& h : rule_hits) {
      if (!rules_[h.rule].block) continue;
      blocks->push_back(h.begin);
      // A stream's context asks whether a finding starts near a key
      // block's keyword (the block ended): those findings are wanted too.
      if (wanted != nullptr) {
        constexpr size_t kNear = StreamRedaction::kContext;
        wanted->emplace_back(h.begin > kNear ? h.begin - kNear : 0, h.begin + kNear + 1);
      }
    }
  }
  if (pre != nullptr) Survey(text, keywords_->InAlphabet('/'), wanted, pre);
  // A rule whose other keywords are not in the text has no match in it:
  // its hits go (the key blocks' headers are noted above, for a stream
  // whose next bytes may complete them). Escapes that could hide a
  // keyword make every view scanned (pre->hides) whatever the hits.
  std::sort(also_hits.begin(), also_hits.end());
  std::erase_if(rule_hits, [&](const RuleHit& h) {
    const Rule& r = rules_[h.rule];
    return (!r.also.empty() || !r.also_bytes.empty()) &&
           !HoldsAll(text, also_hits, r.also, r.also_bytes, *keywords_, 0, text.size());
  });
  if (rule_hits.empty() && name_hits.empty()) return false;
  if (near != nullptr) {
    // Where a decoded view could show more: around each keyword with an
    // escape close to it, the region its match could span.
    for (const RuleHit& h : rule_hits) {
      const size_t span = rules_[h.rule].span;
      const size_t before = span == 0 ? kBlockLead : span;
      near->push_back({h.begin > kEscapeNear ? h.begin - kEscapeNear : 0,
                       std::min(text.size(), h.end + kEscapeNear),
                       h.end > before ? h.end - before : 0,
                       span == 0 ? text.size() : std::min(text.size(), h.begin + span), h.begin});
    }
  }
  if (!rule_hits.empty()) ScanRules(text, rule_hits, also_hits, out, wanted);
  std::sort(name_hits.begin(), name_hits.end());
  ScanNames(text, name_hits, out, near);
  return true;
}

bool Redactor::Hides(std::string_view text) const {
  // \uXXXX of an ASCII byte and \/ (and the same escaped again, which
  // holds the same substring), %XX: escapes that can hide a keyword's byte
  // or the boundary before it (%22pk_live_...).
  const size_t n = text.size();
  const bool slash = keywords_->InAlphabet('/');
  for (size_t at = 0; at + 2 < n; ++at) {
    const char c = text[at];
    if (c == '\\') {
      const char e = text[at + 1];
      if (e == '/' && slash) return true;
      if (e == 'u' && at + 5 < n && text[at + 2] == '0' && text[at + 3] == '0' &&
          HexDigit(text[at + 4]) >= 0 && HexDigit(text[at + 4]) < 8 && HexDigit(text[at + 5]) >= 0)
        return true;
    } else if (c == '%' && HexDigit(text[at + 1]) >= 0 && HexDigit(text[at + 2]) >= 0) {
      return true;
    }
  }
  return false;
}

void Redactor::FindIn(std::string_view text, std::vector<Finding>* out, std::vector<size_t>* blocks,
                      const Ranges* wanted_in, Ranges* masks) const {
  // Decoded views only where they can show something the text does not:
  // around a keyword found near an escape (the value may be escaped:
  // nested JSON), or the whole text when an escape hides one of a
  // keyword's bytes.
  // Scratch kept per thread (FindIn does not call itself).
  thread_local std::vector<Near> near;
  thread_local Prescan pre;
  thread_local Ranges wanted_ranges;
  near.clear();
  pre.hides = false;
  pre.esc.clear();
  pre.weak.clear();
  pre.base64.clear();
  Ranges* wanted = nullptr;
  if (wanted_in != nullptr) {
    wanted_ranges = *wanted_in;
    wanted = &wanted_ranges;
  }
  Scan(text, out, &near, blocks, &pre, wanted, masks);
  std::vector<std::pair<size_t, size_t>> regions;
  if (pre.hides) {
    regions.emplace_back(0, text.size());
  } else if (!near.empty()) {
    // Escapes that change a text's shape around a keyword: quotes and
    // backslashes of nested JSON, \/, \uXXXX, %XX (not \n \t, which
    // decode to the white space a value ends at anyway).
    const std::vector<size_t>& esc = pre.esc;
    std::sort(near.begin(), near.end(),
              [](const Near& a, const Near& b) { return a.region_begin < b.region_begin; });
    for (const Near& n : near) {
      const auto it = std::lower_bound(esc.begin(), esc.end(), n.begin);
      // A \n before a token glues its n to it in the text (no \b there):
      // close before the keyword, it counts as well.
      const auto w = std::lower_bound(pre.weak.begin(), pre.weak.end(),
                                      n.keyword > kWeakNear ? n.keyword - kWeakNear : 0);
      const bool weak = w != pre.weak.end() && *w < n.keyword;
      if ((it == esc.end() || *it >= n.end) && !weak) continue;
      if (!regions.empty() && n.region_begin <= regions.back().second) {
        regions.back().second = std::max(regions.back().second, n.region_end);
      } else {
        regions.emplace_back(n.region_begin, n.region_end);
      }
    }
  }
  std::vector<DecodedView> json_views;
  for (const auto& [rb, re] : regions) {
    // A view's findings lie in its region.
    if (Reaches(wanted, rb, re)) ScanViews(text, rb, re, out, &json_views);
  }
  // Base64 runs that decode to text: a secret inside masks the whole run.
  auto base64_run = [&](const Base64Run& run, const DecodedView* via) {
    {
      std::vector<Finding> f;
      Scan(run.decoded, &f, nullptr);
      DecodedView inner;
      if (f.empty() && JsonUnescapeView(run.decoded, &inner)) {
        Scan(inner.text, &f, nullptr);
      }
      if (f.empty()) return;
      size_t b = run.begin, e = run.end;
      if (via != nullptr) {
        b = via->MapBegin(b);
        e = via->MapEnd(e);
      }
      out->push_back({b, e, f.front().rule, f.front().value});
    }
  };
  for (const size_t start : pre.base64) {
    size_t e = start;
    while (e < text.size() && kBase64Bytes[static_cast<unsigned char>(text[e])]) ++e;
    // The run's finding is the run and its padding.
    if (!Reaches(wanted, start, e + 2)) continue;
    Base64Run run;
    if (Base64TextRun(text, start, e, kMinBase64, &run)) base64_run(run, nullptr);
  }
  for (const auto& v : json_views) {
    for (const auto& run : FindBase64Text(v.text)) base64_run(run, &v);
  }
  AddKnown(text, {}, out);
}

void Redactor::ScanViews(std::string_view text, size_t rb, size_t re, std::vector<Finding>* out,
                         std::vector<DecodedView>* first_json) const {
  const std::string_view region = text.substr(rb, re - rb);
  std::vector<DecodedView> views;
  auto scan_view = [&](DecodedView& v) {
    v.base = rb;
    std::vector<Finding> f;
    const bool h = Scan(v.text, &f, nullptr);
    MapBack(v, &f);
    for (auto& x : f) out->push_back(std::move(x));
    return h;
  };
  // Nested JSON one level per pass, then percent-encoding of the region
  // and of each JSON level.
  for (int depth = 0; depth < kMaxJsonDepth; ++depth) {
    DecodedView next;
    const std::string_view t = views.empty() ? region : std::string_view(views.back().text);
    if (!JsonUnescapeView(t, &next)) break;
    bool h;
    if (views.empty()) {
      h = scan_view(next);
    } else {
      ComposeView(views.back(), &next);
      std::vector<Finding> f;
      h = Scan(next.text, &f, nullptr);
      MapBack(next, &f);
      for (auto& x : f) out->push_back(std::move(x));
    }
    views.push_back(std::move(next));
    if (!h && !Hides(views.back().text)) break;
  }
  const size_t json_levels = views.size();
  DecodedView p;
  if (PercentDecodeView(region, &p)) {
    scan_view(p);
    views.push_back(std::move(p));
  }
  for (size_t i = 0; i < json_levels; ++i) {
    DecodedView q;
    if (PercentDecodeView(views[i].text, &q)) {
      ComposeView(views[i], &q);
      std::vector<Finding> f;
      Scan(q.text, &f, nullptr);
      MapBack(q, &f);
      for (auto& x : f) out->push_back(std::move(x));
    }
  }
  if (json_levels > 0) first_json->push_back(std::move(views.front()));
}

void Redactor::AddKnown(std::string_view text, const std::vector<std::string>& known,
                        std::vector<Finding>* out) const {
  // A value found anywhere is masked wherever it appears (raw, or with its
  // JSON escapes).
  std::set<std::string, std::less<>> values(known.begin(), known.end());
  for (const auto& x : *out) values.insert(x.value);
  std::vector<Finding> more;
  size_t spread = 0;
  for (const auto& v : values) {
    if (!Spreads(v)) continue;
    if (++spread > kMaxSpread) break;
    // Its JSON form, where it differs (a quote, a backslash or a control
    // byte in it: what AppendJsonString escapes).
    std::string escaped;
    const bool plain = std::none_of(v.begin(), v.end(), [](char ch) {
      return ch == '"' || ch == '\\' || static_cast<unsigned char>(ch) < 0x20;
    });
    if (!plain) {
      AppendJsonString(v, &escaped);
      escaped = escaped.substr(1, escaped.size() - 2);
    }
    for (const std::string* form : {&v, static_cast<const std::string*>(&escaped)}) {
      if (form == &escaped && (plain || escaped == v)) continue;
      for (size_t at = text.find(*form); at != std::string_view::npos;
           at = text.find(*form, at + 1)) {
        more.push_back({at, at + form->size(), "", v});
      }
    }
  }
  // Known values keep the kind they were found with.
  for (auto& m : more) {
    for (const auto& x : *out) {
      if (x.value == m.value) {
        m.rule = x.rule;
        break;
      }
    }
    if (m.rule.empty()) m.rule = "secret";
  }
  for (auto& m : more) out->push_back(std::move(m));
}

std::vector<Redactor::Finding> Redactor::Clean(std::string_view text, std::vector<Finding> f,
                                               const Ranges* known) const {
  // Never inside a mask already there (only a well-formed one: a bare
  // prefix hides nothing).
  Ranges own;
  if (known == nullptr) own = MaskRanges(text);
  const Ranges& masks = known != nullptr ? *known : own;
  if (!masks.empty()) {
    f.erase(std::remove_if(f.begin(), f.end(),
                           [&](const Finding& x) {
                             // The last mask starting at or before x (masks
                             // are in order and do not overlap).
                             auto it = std::upper_bound(
                                 masks.begin(), masks.end(), x.begin,
                                 [](size_t v, const auto& m) { return v < m.first; });
                             if (it == masks.begin()) return false;
                             --it;
                             return x.begin >= it->first && x.end <= it->second;
                           }),
            f.end());
    // One that reaches into a mask swallows it whole: a mask cut in two
    // would leave its inside (which may spell a value found elsewhere) as
    // bare text.
    for (Finding& x : f) {
      // Past the last mask that starts before x ends.
      auto it = std::upper_bound(masks.begin(), masks.end(), x.end,
                                 [](size_t v, const auto& m) { return v <= m.first; });
      while (it != masks.begin()) {
        --it;
        if (it->second <= x.begin) break;
        x.begin = std::min(x.begin, it->first);
        x.end = std::max(x.end, it->second);
      }
    }
  }
  if (f.size() > kMaxFindings) {
    std::vector<Finding> all;
    all.push_back({0, text.size(), "many-secrets", std::string(text.substr(0, 64))});
    return all;
  }
  return MergeFindings(std::move(f));
}

std::string Redactor::Render(std::string_view text, const std::vector<Finding>& f, size_t from,
                             size_t limit, size_t* consumed) const {
  // Writes past limit by at most one mask or one byte, so that the cut
  // (Cut) knows something was left out.
  std::string out;
  out.reserve(std::min(text.size() - from, limit) + 64);
  size_t pos = from;
  auto clear = [&](size_t upto) {  // false when the limit was reached
    const size_t room = limit > out.size() ? limit - out.size() : 0;
    if (upto - pos > room) {
      out.append(text.substr(pos, room + 1));
      pos += room + 1;
      return false;
    }
    out.append(text.substr(pos, upto - pos));
    pos = upto;
    return true;
  };
  bool full = false;
  for (const auto& x : f) {
    if (x.begin >= text.size()) break;
    if (x.end <= pos) continue;
    const size_t b = std::max(x.begin, pos);
    if (!clear(b) || out.size() > limit) {
      full = true;
      break;
    }
    out += Mask(x.rule, x.value);
    pos = x.end;
  }
  if (!full && out.size() <= limit && pos < text.size()) clear(text.size());
  if (consumed != nullptr) *consumed = std::min(pos, text.size());
  return out;
}

std::string Redactor::Settle(std::string out) const {
  // A mask moves what follows it and is itself text a second pass reads
  // (a long value looked for after a name now starts after the mask): what
  // was written is redacted again until nothing more is found, so that a
  // redacted text redacts to itself. Clean texts (most) never come here.
  for (int round = 0; round < kSettleRounds; ++round) {
    std::vector<Finding> more = Find(out);
    if (more.empty()) break;
    out = Render(out, more, 0, SIZE_MAX, nullptr);
  }
  return out;
}

std::string Redactor::Redact(std::string_view text) const {
  if (text.empty()) return std::string();
  std::vector<Finding> f = Find(text);
  const bool found = !f.empty();
  std::string out = Render(text, f, 0, SIZE_MAX, nullptr);
  if (found) out = Settle(std::move(out));
  NoteClean(out);
  return out;
}

std::string Redactor::Redact(std::string_view text, size_t max_len) const {
  // The whole text is scanned (a secret that starts before the cut and
  // ends after it is found whole), only what is kept is written.
  if (text.empty()) return std::string();
  size_t consumed = 0;
  std::vector<Finding> f = Find(text);
  const bool found = !f.empty();
  std::string out = Render(text, f, 0, max_len, &consumed);
  if (found) out = Settle(std::move(out));
  out = CutRendered(std::move(out), max_len, text.size() - consumed);
  NoteClean(out);
  return out;
}

std::string Redactor::RedactSlice(std::string_view text, size_t begin, size_t end,
                                  size_t max_len) const {
  end = std::min(end, text.size());
  begin = std::min(begin, end);
  std::vector<Finding> f = Find(text);
  std::string_view slice = text.substr(0, end);
  size_t consumed = 0;
  std::string out = Render(slice, f, begin, max_len, &consumed);
  return CutRendered(std::move(out), max_len, slice.size() - consumed);
}

bool Redactor::ContainsSecret(std::string_view text) const { return !Find(text).empty(); }

std::string CheckSecretCatalogue(const SecretCatalogue& catalogue) {
  std::string err;
  return Redactor::Compile(catalogue, "check", &err) ? "" : err;
}

std::shared_ptr<const Redactor> DefaultRedactor() {
  // Every redaction of the hot path asks: the thread's copy, without the
  // lock, while no SetDefaultRedactor came in between.
  thread_local std::shared_ptr<const Redactor> cached;
  thread_local uint64_t cached_version = 0;
  const uint64_t v = g_default_version.load(std::memory_order_acquire);
  if (cached && cached_version == v) return cached;
  std::lock_guard<std::mutex> lock(g_default_mu);
  if (!g_default) {
    SecretCatalogue cat;
    std::string err;
    ParseSecretCatalogue(BuiltinSecretsYaml(), "builtin", &cat);
    g_default = Redactor::Compile(cat, RandomRedactionKey(), &err);
  }
  cached = g_default;
  cached_version = g_default_version.load(std::memory_order_acquire);
  return cached;
}

void SetDefaultRedactor(std::shared_ptr<const Redactor> r) {
  std::lock_guard<std::mutex> lock(g_default_mu);
  g_default = std::move(r);
  g_default_version.fetch_add(1, std::memory_order_acq_rel);
}

}  // namespace agentwatch
