// The credential catalogue: provider formats (a regex per format, with the
// keywords that must occur for it to be tried), secret-named keys whose
// values are masked whatever they look like, and the entropy rule for
// long random values next to such names. Built in from
// builtin_secrets.yaml; users add files of the same shape (see README,
// "Redaction"), checked by `agentwatch rules --lint`.
#ifndef AGENTWATCH_REDACT_CATALOGUE_H_
#define AGENTWATCH_REDACT_CATALOGUE_H_

#include <string>
#include <vector>

namespace agentwatch {

struct SecretRule {
  std::string id;  // kebab-case; the kind in masks
  std::string provider;
  std::string description;
  std::string regex;  // RE2; capture group 1 is the secret (else the whole match)
  // Each occurs in every match. The longest is the prefilter; the regex
  // runs only on a window where the others occur too. Each is matched
  // case-insensitively, or in its written case (KeywordExactCase).
  std::vector<std::string> keywords;
  double entropy = 0;  // minimum bits per character of the secret (0: none)
  // How far a match reaches around any of its keywords, in bytes: the
  // regex runs only on that window around each keyword found (0: from the
  // keyword to the end of the text, for blocks of any length).
  size_t span = kDefaultSpan;
  // A multi-line block (a key file): a stream keeps the text from its
  // header on as context until a match ends before the stream's end.
  bool block = false;
  static constexpr size_t kDefaultSpan = 2560;
  std::string file;    // where it was defined
};

struct SecretCatalogue {
  std::vector<SecretRule> rules;
  std::vector<std::string> secret_names;      // globs on normalised key names
  std::vector<std::string> not_secret_names;  // exceptions to those
  size_t entropy_min_length = 20;
  double entropy_min = 3.5;
};

// Whether rule r's keyword is matched in its written case only: it has an
// upper-case letter (AKIA, SG.), or the regex has no i flag and no
// alternative and spells it in that one case (ghp_ in
// \b(ghp_[A-Za-z0-9]{36})\b; not xoxb in (?:xoxb|XOXB)-...), so a text
// with it in another case cannot match.
bool KeywordExactCase(const SecretRule& r, const std::string& keyword);

// The built-in catalogue's text.
const char* BuiltinSecretsYaml();

// Adds a catalogue file's rules and names to out (a rule with an id that
// is already there replaces it). "" or the error, naming the file.
std::string ParseSecretCatalogue(const std::string& yaml, const std::string& name,
                                 SecretCatalogue* out);

// Whether a YAML text is a credential catalogue (secret_names,
// not_secret_names or entropy at the top, or rules with a regex) rather
// than detection rules: how `agentwatch rules --lint` tells them apart.
bool LooksLikeSecretCatalogue(const std::string& yaml);

// The built-in catalogue, then every *.yaml and *.yml in dir (sorted; a missing dir
// is no error). "" or the first error.
std::string LoadSecretCatalogue(const std::string& dir, SecretCatalogue* out);

}  // namespace agentwatch

#endif  // AGENTWATCH_REDACT_CATALOGUE_H_
