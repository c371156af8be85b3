// The one redaction stage: every string that leaves agentwatch (events,
// store rows, API answers, sinks, logs, metrics) passes through a
// Redactor. It finds secrets with the credential catalogue (provider
// formats, secret-named keys, long random values next to such names) in
// the text and in its decoded views (JSON escapes, nested JSON, percent
// encoding, base64 runs), maps each back to the bytes it came from, masks
// every place a found value appears, and writes masks that keep the kind
// and a keyed fingerprint: [REDACTED:aws-secret-access-key:3f9a1c]. The
// key is per install, so the same secret reads the same across records
// and the fingerprint cannot be brute-forced from the store alone.
#ifndef AGENTWATCH_REDACT_REDACTOR_H_
#define AGENTWATCH_REDACT_REDACTOR_H_

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "redact/catalogue.h"

namespace google::protobuf {
class Message;
}  // namespace google::protobuf

namespace re2 {
class RE2;
}  // namespace re2

namespace agentwatch {

class KeywordIndex;

// What every mask starts with; a text holding it had a secret.
inline constexpr char kRedactedPrefix[] = "[REDACTED:";

class Redactor {
 public:
  struct Finding {
    size_t begin = 0;  // in the text given
    size_t end = 0;
    std::string rule;   // catalogue id, "secret-name" or "high-entropy"
    std::string value;  // the secret as decoded (what the fingerprint keys)
  };

  // Compiles a catalogue; null and *err on a regex that does not compile.
  static std::shared_ptr<const Redactor> Compile(const SecretCatalogue& catalogue,
                                                 std::string key, std::string* err);
  ~Redactor();

  // Secrets in text, in its coordinates, sorted, not overlapping.
  std::vector<Finding> Find(std::string_view text) const;
  // text with every secret masked.
  std::string Redact(std::string_view text) const;
  // The same, then cut to max_len bytes at a UTF-8 boundary that splits no
  // mask, with "…[+N bytes]" when cut.
  std::string Redact(std::string_view text, size_t max_len) const;
  // text redacted as the continuation of context (bytes just before it in
  // the same stream): a secret that starts in context is masked in text.
  // open_end: more of the stream may follow, so a run of token characters
  // (8 or more) that reaches text's end may be the first part of a secret
  // and is masked as "cut".
  std::string RedactAfter(std::string_view context, std::string_view text, size_t max_len,
                          bool open_end = false) const;
  bool ContainsSecret(std::string_view text) const;
  std::string Mask(std::string_view kind, std::string_view value) const;

  // Every string field of m, recursively: a value found in any field is
  // masked in all of them.
  void RedactMessage(google::protobuf::Message* m) const;

  size_t rule_count() const;

 private:
  Redactor() = default;
  struct Rule;
  void Scan(std::string_view text, std::vector<Finding>* out) const;
  void ScanRules(std::string_view text, const std::vector<bool>& seen,
                 std::vector<Finding>* out) const;
  void ScanNames(std::string_view text, const std::vector<size_t>& hits,
                 std::vector<Finding>* out) const;
  bool SecretName(std::string_view name) const;
  void FindIn(std::string_view text, const std::vector<std::string>& known,
              std::vector<Finding>* out) const;
  std::vector<Finding> FindWith(std::string_view text, const std::vector<std::string>& known) const;
  std::string Render(std::string_view text, const std::vector<Finding>& f, size_t from) const;

  std::vector<Rule> rules_;
  std::vector<std::string> secret_names_;
  std::vector<std::string> not_secret_names_;
  size_t entropy_min_length_ = 20;
  double entropy_min_ = 3.5;
  std::unique_ptr<KeywordIndex> keywords_;
  std::vector<int> keyword_rule_;  // keyword -> rule index, -1 for a name literal
  std::vector<bool> word_prefix_;  // keyword -> counts only at a word start when short
  std::string key_;
};

// Compiles the catalogue to check it (regexes, capture groups): "" or the
// error naming the file and rule.
std::string CheckSecretCatalogue(const SecretCatalogue& catalogue);

// The process's redactor: the built-in catalogue with a random key until
// the daemon installs its own (catalogue from rules dirs, key per install).
std::shared_ptr<const Redactor> DefaultRedactor();
void SetDefaultRedactor(std::shared_ptr<const Redactor> r);

// The install's fingerprint key in state_dir/redaction.key (created, 0600,
// 32 random bytes hex, when missing). "" and *err when neither works.
std::string LoadOrCreateRedactionKey(const std::string& state_dir, std::string* err);

// 32 random bytes as hex: a key for a run that has no install key.
std::string RandomRedactionKey();

// Shannon entropy of s in bits per byte.
double Entropy(std::string_view s);

}  // namespace agentwatch

#endif  // AGENTWATCH_REDACT_REDACTOR_H_
