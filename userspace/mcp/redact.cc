#include "mcp/redact.h"

#include <re2/re2.h>

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

// user:password@ in URLs.
const RE2& UrlPassword() {
  static const RE2 re(R"re(([a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s"]+:)[^@/\s"]+@)re");
  return re;
}

}  // namespace

std::string Redact(std::string_view text, size_t max_len) {
  std::string s(text);
  RE2::GlobalReplace(&s, SecretKey(), R"(\1"[REDACTED]")");
  RE2::GlobalReplace(&s, SecretShape(), kRedacted);
  RE2::GlobalReplace(&s, UrlPassword(), R"(\1[REDACTED]@)");
  if (s.size() <= max_len) return s;
  size_t cut = max_len;
  // Do not split a UTF-8 sequence.
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  const size_t dropped = s.size() - cut;
  s.resize(cut);
  s += fmt::format("…[+{} bytes]", dropped);
  return s;
}

}  // namespace agentwatch
