#include "redact/redactor.h"

#include <fcntl.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <re2/re2.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <mutex>
#include <set>

#include <fmt/format.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <google/protobuf/reflection.h>

#include "common/text.h"
#include "redact/keyword_index.h"
#include "redact/views.h"

namespace agentwatch {

struct Redactor::Rule {
  std::string id;
  std::unique_ptr<re2::RE2> re;
  double entropy = 0;
};

namespace {

constexpr size_t kMaxValue = 16384;  // longest secret-named value taken
constexpr size_t kMinValue = 3;
constexpr int kMaxJsonDepth = 3;     // nested JSON held in strings
constexpr size_t kCutMargin = 1024;  // scanned past a cut

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
      out.push_back(static_cast<char>(std::tolower(c)));
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
    while (e < n && e - k < kMaxValue && !stop(text[e])) ++e;
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

// Sorted by start; overlapping findings merged into the first's kind.
std::vector<Redactor::Finding> Merge(std::vector<Redactor::Finding> f) {
  std::sort(f.begin(), f.end(), [](const auto& a, const auto& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end > b.end;
  });
  std::vector<Redactor::Finding> out;
  for (auto& x : f) {
    if (x.end <= x.begin) continue;
    if (!out.empty() && x.begin < out.back().end) {
      out.back().end = std::max(out.back().end, x.end);
      continue;
    }
    out.push_back(std::move(x));
  }
  return out;
}

// The spans of one view, mapped to the original.
void MapBack(const DecodedView& v, std::vector<Redactor::Finding>* f) {
  for (auto& x : *f) {
    const size_t b = v.MapBegin(x.begin);
    const size_t e = v.MapEnd(x.end);
    x.begin = b;
    x.end = e;
  }
}

std::mutex g_default_mu;
std::shared_ptr<const Redactor> g_default;

}  // namespace

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

std::shared_ptr<const Redactor> Redactor::Compile(const SecretCatalogue& cat, std::string key,
                                                  std::string* err) {
  std::shared_ptr<Redactor> r(new Redactor());
  r->key_ = std::move(key);
  r->secret_names_ = cat.secret_names;
  r->not_secret_names_ = cat.not_secret_names;
  for (auto& n : r->secret_names_) n = NormalizeName(n);
  for (auto& n : r->not_secret_names_) n = NormalizeName(n);
  r->entropy_min_length_ = cat.entropy_min_length;
  r->entropy_min_ = cat.entropy_min;
  std::vector<std::string> keywords;
  RE2::Options o;
  o.set_log_errors(false);
  o.set_max_mem(8 << 20);
  for (const auto& sr : cat.rules) {
    Rule rule;
    rule.id = sr.id;
    rule.entropy = sr.entropy;
    rule.re = std::make_unique<re2::RE2>(sr.regex, o);
    if (!rule.re->ok()) {
      *err = fmt::format("{}: rule {}: {}", sr.file, sr.id, rule.re->error());
      return nullptr;
    }
    if (rule.re->NumberOfCapturingGroups() > 1) {
      *err = fmt::format("{}: rule {}: at most one capture group (the secret)", sr.file, sr.id);
      return nullptr;
    }
    for (const auto& k : sr.keywords) {
      keywords.push_back(k);
      r->keyword_rule_.push_back(static_cast<int>(r->rules_.size()));
    }
    r->rules_.push_back(std::move(rule));
  }
  std::set<std::string> literals;
  for (const auto& g : r->secret_names_) {
    for (auto& l : GlobLiterals(g)) literals.insert(l);
  }
  for (const auto& l : literals) {
    keywords.push_back(l);
    r->keyword_rule_.push_back(-1);
    // Names are matched normalised: a literal with _ also finds - and .
    if (l.find('_') != std::string::npos) {
      for (char sep : {'-', '.'}) {
        std::string v = l;
        std::replace(v.begin(), v.end(), '_', sep);
        keywords.push_back(v);
        r->keyword_rule_.push_back(-1);
      }
    }
  }
  r->keywords_ = std::make_unique<KeywordIndex>(keywords);
  // Short keywords of letters, digits, _ . - (sk_, hf_, eyJ) begin a token.
  for (const auto& k : keywords) {
    bool word = !k.empty() && std::isalnum(static_cast<unsigned char>(k[0]));
    for (unsigned char c : k) word &= std::isalnum(c) || c == '_' || c == '.' || c == '-';
    r->word_prefix_.push_back(word);
  }
  return r;
}

bool Redactor::SecretName(std::string_view name) const {
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

void Redactor::ScanRules(std::string_view text, const std::vector<bool>& seen,
                         std::vector<Finding>* out) const {
  for (size_t ri = 0; ri < rules_.size(); ++ri) {
    if (!seen[ri]) continue;
    const Rule& r = rules_[ri];
    re2::StringPiece groups[2];
    const int ng = r.re->NumberOfCapturingGroups() + 1;
    size_t pos = 0;
    while (pos < text.size() &&
           r.re->Match(re2::StringPiece(text.data(), text.size()), pos, text.size(),
                       RE2::UNANCHORED, groups, ng)) {
      const re2::StringPiece whole = groups[0];
      const re2::StringPiece secret = ng > 1 && groups[1].data() != nullptr ? groups[1] : whole;
      const size_t b = static_cast<size_t>(secret.data() - text.data());
      const size_t e = b + secret.size();
      if (e > b && (r.entropy <= 0 || Entropy(text.substr(b, e - b)) >= r.entropy))
        AddFinding(out, b, e, r.id, text);
      const size_t next = static_cast<size_t>(whole.data() - text.data()) + whole.size();
      pos = next > pos ? next : pos + 1;
    }
  }
}

void Redactor::ScanNames(std::string_view text, const std::vector<size_t>& hits,
                         std::vector<Finding>* out) const {
  size_t last_token = SIZE_MAX;
  for (size_t h : hits) {
    // The whole key name around the literal.
    size_t b = h;
    while (b > 0 && KeyChar(static_cast<unsigned char>(text[b - 1]))) --b;
    size_t e = h;
    while (e < text.size() && KeyChar(static_cast<unsigned char>(text[e]))) ++e;
    if (b == last_token) continue;
    last_token = b;
    const std::string_view name = text.substr(b, e - b);
    if (!SecretName(name)) continue;
    const std::string norm = NormalizeName(name);
    const bool whole_line = norm == "cookie" || norm == "set_cookie";
    size_t vb = 0, ve = 0;
    if (ValueAfter(text, e, whole_line, &vb, &ve)) {
      if (!Placeholder(text.substr(vb, ve - vb))) AddFinding(out, vb, ve, "secret-name", text);
      continue;
    }
    // No name=value shape: a long random value close after the name.
    const size_t limit = std::min(text.size(), e + 48);
    for (size_t i = e; i < limit;) {
      size_t j = i;
      while (j < text.size() && (std::isalnum(static_cast<unsigned char>(text[j])) ||
                                 text[j] == '+' || text[j] == '/' || text[j] == '=' ||
                                 text[j] == '_' || text[j] == '-'))
        ++j;
      if (j - i >= entropy_min_length_ && j - i <= kMaxValue &&
          LooksRandom(text.substr(i, j - i)) && Entropy(text.substr(i, j - i)) >= entropy_min_) {
        AddFinding(out, i, j, "high-entropy", text);
        break;
      }
      i = j + 1;
    }
  }
}

void Redactor::Scan(std::string_view text, std::vector<Finding>* out) const {
  std::vector<bool> seen(rules_.size(), false);
  std::vector<size_t> name_hits;
  bool any = false;
  keywords_->Scan(text, [&](uint32_t k, size_t end) {
    const size_t len = keywords_->length(k);
    // A short keyword (sk, hf_, eyJ...) is a token's prefix: it counts only
    // at the start of a word, not inside one ("task", "ask").
    if (len < 4 && word_prefix_[k] && end > len &&
        std::isalnum(static_cast<unsigned char>(text[end - len - 1])))
      return;
    any = true;
    const int r = keyword_rule_[k];
    if (r >= 0) {
      seen[static_cast<size_t>(r)] = true;
    } else {
      name_hits.push_back(end - keywords_->length(k));
    }
  });
  if (!any) return;
  ScanRules(text, seen, out);
  std::sort(name_hits.begin(), name_hits.end());
  ScanNames(text, name_hits, out);
}

void Redactor::FindIn(std::string_view text, const std::vector<std::string>& known,
                      std::vector<Finding>* out) const {
  Scan(text, out);
  // Decoded views: nested JSON one level per pass, percent-encoding of the
  // text and of each JSON level.
  DecodedView cur;
  bool have = JsonUnescapeView(text, &cur);
  std::vector<DecodedView> views;
  for (int depth = 0; have && depth < kMaxJsonDepth; ++depth) {
    views.push_back(cur);
    DecodedView next;
    have = JsonUnescapeView(views.back().text, &next);
    if (have) ComposeView(views.back(), &next);
    cur = std::move(next);
  }
  {
    DecodedView p;
    if (PercentDecodeView(text, &p)) views.push_back(std::move(p));
    const size_t json_views = views.size();
    for (size_t i = 0; i < json_views; ++i) {
      if (views[i].kind != DecodedView::Kind::kJson) continue;
      DecodedView q;
      if (PercentDecodeView(views[i].text, &q)) {
        ComposeView(views[i], &q);
        views.push_back(std::move(q));
      }
    }
  }
  for (const auto& v : views) {
    std::vector<Finding> f;
    Scan(v.text, &f);
    MapBack(v, &f);
    for (auto& x : f) out->push_back(std::move(x));
  }
  // Base64 runs that decode to text: a secret inside masks the whole run.
  auto base64 = [&](std::string_view t, const DecodedView* via) {
    for (const auto& run : FindBase64Text(t)) {
      std::vector<Finding> f;
      Scan(run.decoded, &f);
      DecodedView inner;
      if (f.empty() && JsonUnescapeView(run.decoded, &inner)) {
        Scan(inner.text, &f);
      }
      if (f.empty()) continue;
      size_t b = run.begin, e = run.end;
      if (via != nullptr) {
        b = via->MapBegin(b);
        e = via->MapEnd(e);
      }
      out->push_back({b, e, f.front().rule, f.front().value});
    }
  };
  base64(text, nullptr);
  if (!views.empty() && views.front().kind == DecodedView::Kind::kJson) base64(views.front().text, &views.front());
  // A value found anywhere is masked wherever it appears (raw, or with its
  // JSON escapes).
  std::set<std::string> values(known.begin(), known.end());
  for (const auto& x : *out) values.insert(x.value);
  std::vector<Finding> more;
  for (const auto& v : values) {
    if (!Spreads(v)) continue;
    std::string escaped;
    AppendJsonString(v, &escaped);
    escaped = escaped.substr(1, escaped.size() - 2);
    for (const std::string* form : {static_cast<const std::string*>(&v), static_cast<const std::string*>(&escaped)}) {
      if (form == &escaped && escaped == v) continue;
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

namespace {

// The end of a well-formed mask starting at text[at], or 0.
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

}  // namespace

std::vector<Redactor::Finding> Redactor::FindWith(std::string_view text,
                                                  const std::vector<std::string>& known) const {
  std::vector<Finding> f;
  FindIn(text, known, &f);
  // Never inside a mask already there (only a well-formed one: a bare
  // prefix hides nothing).
  std::vector<std::pair<size_t, size_t>> masks;
  for (size_t at = text.find(kRedactedPrefix); at != std::string_view::npos;
       at = text.find(kRedactedPrefix, at + 1)) {
    if (const size_t end = MaskEnd(text, at); end != 0) masks.emplace_back(at, end);
  }
  if (!masks.empty()) {
    f.erase(std::remove_if(f.begin(), f.end(),
                           [&](const Finding& x) {
                             for (const auto& [b, e] : masks)
                               if (x.begin >= b && x.end <= e) return true;
                             return false;
                           }),
            f.end());
  }
  return Merge(std::move(f));
}

std::vector<Redactor::Finding> Redactor::Find(std::string_view text) const {
  return FindWith(text, {});
}

std::string Redactor::Mask(std::string_view kind, std::string_view value) const {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()),
       reinterpret_cast<const unsigned char*>(value.data()), value.size(), md, &len);
  return fmt::format("{}{}:{:02x}{:02x}{:02x}]", kRedactedPrefix, kind, md[0], md[1], md[2]);
}

std::string Redactor::Render(std::string_view text, const std::vector<Finding>& f,
                             size_t from) const {
  std::string out;
  out.reserve(text.size() - from);
  size_t pos = from;
  for (const auto& x : f) {
    if (x.end <= from) continue;
    const size_t b = std::max(x.begin, from);
    if (b > pos) out.append(text.substr(pos, b - pos));
    out += Mask(x.rule, x.value);
    pos = std::max(pos, x.end);
  }
  if (pos < text.size()) out.append(text.substr(pos));
  return out;
}

std::string Redactor::Redact(std::string_view text) const {
  if (text.empty()) return std::string();
  return Render(text, Find(text), 0);
}

namespace {

// Cuts s to max_len at a UTF-8 boundary outside any mask; notes what went.
std::string Cut(std::string s, size_t max_len, size_t dropped_extra) {
  if (s.size() <= max_len && dropped_extra == 0) return s;
  size_t cut = std::min(max_len, s.size());
  while (cut > 0 && cut < s.size() && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  // A mask is kept whole or dropped whole.
  const size_t open = s.rfind(kRedactedPrefix, cut == 0 ? 0 : cut - 1);
  if (open != std::string::npos && open < cut) {
    const size_t end = MaskEnd(s, open);
    if (end > cut) cut = open;
  }
  const size_t dropped = s.size() - cut + dropped_extra;
  s.resize(cut);
  s += fmt::format("…[+{} bytes]", dropped);
  return s;
}

}  // namespace

std::string Redactor::Redact(std::string_view text, size_t max_len) const {
  // Only what is kept is scanned, with a margin for a secret that starts
  // before the cut (a key block is matched to the end of what is scanned).
  if (text.size() > max_len + kCutMargin) {
    const std::string_view head = text.substr(0, max_len + kCutMargin);
    return Cut(Render(head, Find(head), 0), max_len, text.size() - head.size());
  }
  return Cut(Redact(text), max_len, 0);
}

std::string Redactor::RedactAfter(std::string_view context, std::string_view text,
                                  size_t max_len, bool open_end) const {
  std::string joined;
  const bool whole = text.size() <= max_len + kCutMargin;
  const std::string_view kept = whole ? text : text.substr(0, max_len + kCutMargin);
  joined.reserve(context.size() + kept.size());
  joined.append(context);
  joined.append(kept);
  std::vector<Finding> f = Find(joined);
  if (!whole) return Cut(Render(joined, f, context.size()), max_len, text.size() - kept.size());
  if (open_end && !text.empty()) {
    // The run of token characters the text ends in.
    auto token = [](unsigned char c) {
      return c > 0x20 && c != '"' && c != '\'' && c != '<' && c != '>' && c != '{' && c != '}' &&
             c != '[' && c != ']' && c != ',' && c != ';' && c != 0x7F;
    };
    size_t b = joined.size();
    while (b > 0 && token(static_cast<unsigned char>(joined[b - 1]))) --b;
    const bool covered = !f.empty() && f.back().end == joined.size();
    if (joined.size() - b >= 8 && !covered) {
      f.push_back({b, joined.size(), "cut", joined.substr(b)});
      f = Merge(std::move(f));
    }
  }
  return Cut(Render(joined, f, context.size()), max_len, 0);
}

bool Redactor::ContainsSecret(std::string_view text) const { return !Find(text).empty(); }

namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

// Calls fn on every string field value (singular, repeated, map values),
// recursively through messages.
template <typename Fn>
void ForEachString(Message* m, const Fn& fn) {
  const Reflection* r = m->GetReflection();
  std::vector<const FieldDescriptor*> fields;
  r->ListFields(*m, &fields);
  for (const FieldDescriptor* f : fields) {
    if (f->cpp_type() == FieldDescriptor::CPPTYPE_STRING && f->type() != FieldDescriptor::TYPE_BYTES) {
      if (f->is_repeated()) {
        for (int i = 0; i < r->FieldSize(*m, f); ++i) {
          std::string v = r->GetRepeatedString(*m, f, i);
          if (fn(&v)) r->SetRepeatedString(m, f, i, std::move(v));
        }
      } else {
        std::string v = r->GetString(*m, f);
        if (fn(&v)) r->SetString(m, f, std::move(v));
      }
    } else if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      if (f->is_repeated()) {
        for (int i = 0; i < r->FieldSize(*m, f); ++i) ForEachString(r->MutableRepeatedMessage(m, f, i), fn);
      } else {
        ForEachString(r->MutableMessage(m, f), fn);
      }
    }
  }
}

}  // namespace

void Redactor::RedactMessage(google::protobuf::Message* m) const {
  // First every value found in any field, then each field masked with all
  // of them.
  std::vector<std::string> values;
  std::set<std::string> seen;
  ForEachString(m, [&](std::string* s) {
    if (s->empty()) return false;
    for (auto& f : Find(*s)) {
      if (seen.insert(f.value).second) values.push_back(f.value);
    }
    return false;
  });
  ForEachString(m, [&](std::string* s) {
    if (s->empty()) return false;
    const std::vector<Finding> f = FindWith(*s, values);
    if (f.empty()) return false;
    std::string out = Render(*s, f, 0);
    if (out == *s) return false;
    *s = std::move(out);
    return true;
  });
}

std::string CheckSecretCatalogue(const SecretCatalogue& catalogue) {
  std::string err;
  return Redactor::Compile(catalogue, "check", &err) ? "" : err;
}

std::shared_ptr<const Redactor> DefaultRedactor() {
  std::lock_guard<std::mutex> lock(g_default_mu);
  if (!g_default) {
    SecretCatalogue cat;
    std::string err;
    ParseSecretCatalogue(BuiltinSecretsYaml(), "builtin", &cat);
    g_default = Redactor::Compile(cat, RandomRedactionKey(), &err);
  }
  return g_default;
}

void SetDefaultRedactor(std::shared_ptr<const Redactor> r) {
  std::lock_guard<std::mutex> lock(g_default_mu);
  g_default = std::move(r);
}

std::string RandomRedactionKey() {
  unsigned char k[32];
  RAND_bytes(k, sizeof k);
  std::string hex;
  for (unsigned char c : k) hex += fmt::format("{:02x}", c);
  return hex;
}

std::string LoadOrCreateRedactionKey(const std::string& state_dir, std::string* err) {
  const std::string path = state_dir + "/redaction.key";
  std::string text;
  if (ReadFileText(path, &text)) {
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    if (text.size() >= 32) return text;
  }
  unsigned char k[32];
  if (RAND_bytes(k, sizeof k) != 1) {
    *err = "no random bytes for the redaction key";
    return "";
  }
  std::string hex;
  for (unsigned char c : k) hex += fmt::format("{:02x}", c);
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    *err = fmt::format("cannot create {}: {}", path, ErrnoName(errno));
    return "";
  }
  const std::string line = hex + "\n";
  const bool ok = write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  close(fd);
  if (!ok) {
    *err = fmt::format("cannot write {}", path);
    return "";
  }
  return hex;
}

}  // namespace agentwatch
