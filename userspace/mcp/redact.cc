#include "mcp/redact.h"

#include <re2/re2.h>

#include <algorithm>

#include <fmt/format.h>

namespace agentwatch {
namespace {

// "key": "value" where the key names a secret (case-insensitive).
const RE2& SecretKey() {
  static const RE2 re(
      R"re((?i)("(?:[a-z0-9_-]*(?:password|passwd|secret|token|api[_-]?key|apikey|authorization|cookie|private[_-]?key|access[_-]?key|credential)[a-z0-9_-]*)"\s*:\s*)"(?:[^"\\]|\\.)*")re");
  return re;
}

// Credential shapes, wherever they appear.
const RE2& SecretShape() {
  static const RE2 re(
      "(AKIA[0-9A-Z]{16}"                                   // AWS access key id
      "|ASIA[0-9A-Z]{16}"                                   // AWS temporary key id
      "|gh[pousr]_[A-Za-z0-9]{36,}"                         // GitHub tokens
      "|github_pat_[A-Za-z0-9_]{40,}"
      "|xox[abposr]-[A-Za-z0-9-]{10,}"                      // Slack
      "|sk-[A-Za-z0-9_-]{20,}"                              // OpenAI-style keys
      "|sk_(?:live|test)_[A-Za-z0-9]{16,}"                  // Stripe
      "|AIza[0-9A-Za-z_-]{35}"                              // Google API key
      "|eyJ[A-Za-z0-9_-]{8,}\\.eyJ[A-Za-z0-9_-]{8,}\\.[A-Za-z0-9_-]{8,}"  // JWT
      "|-----BEGIN [A-Z ]*PRIVATE KEY-----(?:.|\\\\n|\\n)*?-----END [A-Z ]*PRIVATE KEY-----"
      "|-----BEGIN [A-Z ]*PRIVATE KEY-----"
      ")");
  return re;
}

// Anything any of the patterns could match starts with one of these: one
// pass without submatches (RE2's DFA) spares the three rewriting passes for
// the text that has none, which is most of it.
const RE2& Candidate() {
  static const RE2 re(
      "(?i:password|passwd|secret|token|api[_-]?key|apikey|authorization|"
      "cookie|private[_-]?key|access[_-]?key|credential)"
      "|AKIA|ASIA|gh[pousr]_|github_pat_|xox[abposr]-|sk-|sk_|AIza|eyJ|"
      "-----BEGIN|://");
  return re;
}

// key=value and key: value outside JSON (env files, INI, headers, query
// strings) where the key names a secret.
const RE2& PlainSecret() {
  static const RE2 re(
      R"re((?i)(\b[a-z0-9_.-]*(?:password|passwd|secret|token|api[_-]?key|apikey|authorization|private[_-]?key|access[_-]?key|credential)[a-z0-9_.-]*[ \t]*[=:][ \t]*)((?:bearer|basic|token)[ \t]+)?[^\s"',;&]{4,})re");
  return re;
}

// user:password@ in URLs.
const RE2& UrlPassword() {
  static const RE2 re(R"re(([a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s"]+:)[^@/\s"]+@)re");
  return re;
}

// Bytes past the cut that are still redacted, so a secret that starts
// before the cut is replaced whole rather than left half visible (up to
// this long; a PEM key block is caught by its header alone).
constexpr size_t kMaxCutMargin = 512;

}  // namespace

bool ContainsSecret(std::string_view text) {
  if (!RE2::PartialMatch(text, Candidate())) return false;
  return RE2::PartialMatch(text, SecretKey()) || RE2::PartialMatch(text, SecretShape()) ||
         RE2::PartialMatch(text, PlainSecret()) || RE2::PartialMatch(text, UrlPassword());
}

std::string Redact(std::string_view text, size_t max_len) {
  // Only what can be shown is scanned (the rest is cut anyway).
  const size_t total = text.size();
  const size_t margin = std::clamp<size_t>(max_len, 128, kMaxCutMargin);
  std::string s(text.substr(0, max_len + margin));
  if (RE2::PartialMatch(s, Candidate())) {
    RE2::GlobalReplace(&s, SecretKey(), R"(\1"[REDACTED]")");
    RE2::GlobalReplace(&s, SecretShape(), kRedacted);
    RE2::GlobalReplace(&s, PlainSecret(), R"(\1\2[REDACTED])");
    RE2::GlobalReplace(&s, UrlPassword(), R"(\1[REDACTED]@)");
  }
  if (s.size() <= max_len && total <= max_len + margin) return s;
  size_t cut = std::min(max_len, s.size());
  // Do not split a UTF-8 sequence.
  while (cut > 0 && cut < s.size() &&
         (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80)
    --cut;
  // What was dropped, in bytes of the original text (redaction may have
  // changed the length of what was scanned).
  const size_t dropped = s.size() - cut + (total - std::min(total, max_len + margin));
  s.resize(cut);
  s += fmt::format("…[+{} bytes]", dropped);
  return s;
}

}  // namespace agentwatch
