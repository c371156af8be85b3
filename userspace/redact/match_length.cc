#include "redact/match_length.h"

#include <re2/filtered_re2.h>
#include <re2/re2.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <string>
#include <vector>

namespace agentwatch {
namespace {

// The most bytes a match of an RE2 regex can span (SIZE_MAX: unbounded,
// * + {n,}, or a construct this does not know). Literal bytes and classes
// count 1 (4 for . and classes or escapes that admit non-ASCII), anchors
// and \b 0, a group its longest alternative, a repetition its bound.
class MatchLength {
 public:
  // Under (?i) an ASCII letter also matches a longer character (K: the
  // Kelvin sign, 3 bytes; s: the long s, 2).
  explicit MatchLength(std::string_view re)
      : re_(re), fold_(re.find("(?i") != std::string_view::npos) {}
  size_t Run() {
    const size_t n = Alternation();
    return i_ == re_.size() ? n : SIZE_MAX;
  }

 private:
  static size_t Add(size_t a, size_t b) { return a == SIZE_MAX || b == SIZE_MAX ? SIZE_MAX : a + b; }
  static size_t Mul(size_t a, size_t n) {
    if (a == SIZE_MAX) return SIZE_MAX;
    return a == 0 ? 0 : (n > SIZE_MAX / a ? SIZE_MAX : a * n);
  }
  size_t Alternation() {
    size_t most = Sequence();
    while (i_ < re_.size() && re_[i_] == '|') {
      ++i_;
      most = std::max(most, Sequence());
    }
    return most;
  }
  size_t Sequence() {
    size_t n = 0;
    while (i_ < re_.size() && re_[i_] != '|' && re_[i_] != ')') n = Add(n, Quantified(Atom()));
    return n;
  }
  size_t Quantified(size_t atom) {
    if (i_ >= re_.size()) return atom;
    size_t n = atom;
    const char c = re_[i_];
    if (c == '*' || c == '+') {
      ++i_;
      n = atom == 0 ? 0 : SIZE_MAX;
    } else if (c == '?') {
      ++i_;
    } else if (c == '{') {
      const size_t close = re_.find('}', i_);
      if (close == std::string_view::npos) return SIZE_MAX;
      const std::string_view body = re_.substr(i_ + 1, close - i_ - 1);
      i_ = close + 1;
      const size_t comma = body.find(',');
      const std::string_view hi = comma == std::string_view::npos ? body : body.substr(comma + 1);
      if (hi.empty()) {
        n = atom == 0 ? 0 : SIZE_MAX;
      } else {
        size_t m = 0;
        for (char d : hi) {
          if (!std::isdigit(static_cast<unsigned char>(d))) return SIZE_MAX;
          m = m * 10 + static_cast<size_t>(d - '0');
        }
        n = Mul(atom, m);
      }
    } else {
      return atom;
    }
    if (i_ < re_.size() && re_[i_] == '?') ++i_;  // lazy
    return n;
  }
  size_t Atom() {
    const char c = re_[i_];
    if (c == '(') {
      ++i_;
      if (i_ < re_.size() && re_[i_] == '?') {
        // (?flags) sets flags: no width; (?flags: ...) and (?P<name> ...) group.
        size_t j = i_ + 1;
        if (j < re_.size() && (re_[j] == 'P' || (re_[j] == '<' && j + 1 < re_.size() &&
                                                 re_[j + 1] != '=' && re_[j + 1] != '!'))) {
          const size_t gt = re_.find('>', j);
          if (gt == std::string_view::npos) return Fail();
          j = gt + 1;
        } else {
          while (j < re_.size() && re_[j] != ':' && re_[j] != ')') ++j;
          if (j >= re_.size()) return Fail();
          if (re_[j] == ')') {
            i_ = j + 1;
            return 0;
          }
          ++j;
        }
        i_ = j;
      }
      const size_t n = Alternation();
      if (i_ >= re_.size() || re_[i_] != ')') return Fail();
      ++i_;
      return n;
    }
    if (c == '[') {
      size_t j = i_ + 1;
      if (j < re_.size() && re_[j] == '^') ++j;
      if (j < re_.size() && re_[j] == ']') ++j;
      bool ascii = i_ + 1 < re_.size() && re_[i_ + 1] != '^' && !fold_;
      for (; j < re_.size() && re_[j] != ']'; ++j) {
        if (re_[j] == '\\') {
          ++j;
          if (j < re_.size() && std::strchr("pPxSWDC", re_[j]) != nullptr) ascii = false;
        } else if (static_cast<unsigned char>(re_[j]) >= 0x80) {
          ascii = false;
        } else if (re_[j] == '[' && j + 1 < re_.size() && re_[j + 1] == ':') {
          const size_t end = re_.find(":]", j);
          if (end == std::string_view::npos) return Fail();
          j = end + 1;
        }
      }
      if (j >= re_.size()) return Fail();
      i_ = j + 1;
      return ascii ? 1 : 4;
    }
    if (c == '\\') {
      if (i_ + 1 >= re_.size()) return Fail();
      const char e = re_[i_ + 1];
      i_ += 2;
      if (e == 'b' || e == 'B' || e == 'A' || e == 'z') return 0;
      if (e == 'S' || e == 'W' || e == 'D') return 4;  // any character but ...
      if (e == 'p' || e == 'P' || e == 'x' || e == 'C' || e == 'Q') {
        if (i_ < re_.size() && re_[i_] == '{') {
          const size_t close = re_.find('}', i_);
          if (close == std::string_view::npos) return Fail();
          i_ = close + 1;
        } else if (e == 'x') {
          i_ += 2;
        } else if (e == 'p' || e == 'P') {
          ++i_;
        } else if (e == 'Q') {
          return Fail();
        }
        return 4;
      }
      return 1;
    }
    if (c == '^' || c == '$') {
      ++i_;
      return 0;
    }
    ++i_;
    if (c == '.') return 4;
    if (fold_ && std::isalpha(static_cast<unsigned char>(c))) return 3;
    return 1;
  }
  size_t Fail() {
    i_ = re_.size() + 1;
    return SIZE_MAX;
  }

  std::string_view re_;
  bool fold_ = false;
  size_t i_ = 0;
};

}  // namespace

size_t MaxMatchLength(std::string_view re) {
  MatchLength m(re);
  return m.Run();
}

bool OutsideClassesHas(std::string_view rx, char c) {
  bool in_class = false;
  for (size_t i = 0; i < rx.size(); ++i) {
    if (rx[i] == '\\') {
      ++i;
    } else if (in_class) {
      in_class = rx[i] != ']';
    } else if (rx[i] == '[') {
      in_class = true;
      if (i + 1 < rx.size() && rx[i + 1] == ']') ++i;  // []...] holds ]
    } else if (rx[i] == c) {
      return true;
    }
  }
  return false;
}

bool RequiredLiteral(std::string_view re, std::string_view keyword) {
  re2::FilteredRE2 f(1);
  RE2::Options o;
  o.set_log_errors(false);
  int id = 0;
  if (keyword.empty() || f.Add(re2::StringPiece(re.data(), re.size()), o, &id) != RE2::NoError)
    return false;
  std::vector<std::string> atoms;  // lower case
  f.Compile(&atoms);
  if (atoms.empty()) return false;  // no literal the prefilter could ask for
  std::string k(keyword);
  for (char& c : k) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  // Every atom set that lets the regex through holds one with the keyword
  // in it: with all the others found, it is still ruled out.
  std::vector<int> without;
  for (size_t i = 0; i < atoms.size(); ++i) {
    if (atoms[i].find(k) == std::string::npos) without.push_back(static_cast<int>(i));
  }
  std::vector<int> passing;
  f.AllPotentials(without, &passing);
  return passing.empty();
}

std::vector<std::string> RequiredLiterals(std::string_view re, size_t min_len) {
  re2::FilteredRE2 f(1);
  RE2::Options o;
  o.set_log_errors(false);
  int id = 0;
  if (f.Add(re2::StringPiece(re.data(), re.size()), o, &id) != RE2::NoError) return {};
  std::vector<std::string> atoms;  // lower case
  f.Compile(&atoms);
  std::vector<std::string> out;
  std::vector<int> without;
  for (size_t i = 0; i < atoms.size(); ++i) {
    if (atoms[i].size() >= min_len) {
      out.push_back(atoms[i]);
    } else {
      without.push_back(static_cast<int>(i));
    }
  }
  if (out.empty()) return {};
  // With only the shorter atoms found, the regex is ruled out: every match
  // holds one of the long ones. (An unfiltered regex always passes.)
  std::vector<int> passing;
  f.AllPotentials(without, &passing);
  if (!passing.empty()) return {};
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

size_t FollowingClass(std::string_view rx, std::string_view keyword, std::bitset<256>* out,
                      bool* ascii) {
  if (ascii != nullptr) *ascii = false;
  // An alternative may start otherwise (zq_[0-9]{8}|zq_live[a-z]{6}).
  if (OutsideClassesHas(rx, '|')) return 0;
  if (rx.starts_with("\\b")) rx.remove_prefix(2);
  if (rx.starts_with("(") && !rx.starts_with("(?")) rx.remove_prefix(1);
  if (!rx.starts_with(keyword)) return 0;
  rx.remove_prefix(keyword.size());
  if (!rx.starts_with("[") || rx.starts_with("[^")) return 0;
  const size_t close = rx.find(']', 2);
  if (close == std::string_view::npos) return 0;
  const std::string cls(rx.substr(0, close + 1));
  const bool plain = std::all_of(cls.begin() + 1, cls.end() - 1, [](char ch) {
    const auto u = static_cast<unsigned char>(ch);
    return u < 0x80 && ch != '\\' && ch != '[' && ch != '^';
  });
  rx.remove_prefix(close + 1);
  size_t n = 0;
  if (rx.starts_with("+")) {
    n = 1;
  } else if (rx.starts_with("{")) {
    size_t i = 1;
    while (i < rx.size() && std::isdigit(static_cast<unsigned char>(rx[i])))
      n = n * 10 + static_cast<size_t>(rx[i++] - '0');
    if (i == 1 || i >= rx.size() || (rx[i] != '}' && rx[i] != ',')) return 0;
  }
  if (n == 0) return 0;
  RE2::Options o;
  o.set_encoding(RE2::Options::EncodingLatin1);
  o.set_log_errors(false);
  const RE2 re(cls, o);
  if (!re.ok()) return 0;
  for (int c = 0; c < 256; ++c) {
    const char b = static_cast<char>(c);
    (*out)[static_cast<size_t>(c)] = RE2::FullMatch(re2::StringPiece(&b, 1), re);
  }
  // An escape (\uXXXX, %XX) may stand for a byte of the class, and a byte
  // past ASCII may begin a character of it (the rules run on UTF-8).
  (*out)['\\'] = (*out)['%'] = true;
  for (size_t c = 0x80; c < 256; ++c) (*out)[c] = true;
  if (ascii != nullptr) *ascii = plain;
  return std::min<size_t>(n, 8);
}

}  // namespace agentwatch
