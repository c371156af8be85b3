// The redaction stage's short form, for the places that mask one text:
// the process's redactor (DefaultRedactor) applied to text, then cut.
#ifndef AGENTWATCH_REDACT_REDACT_H_
#define AGENTWATCH_REDACT_REDACT_H_

#include <cstddef>
#include <string>
#include <string_view>

#include <vector>

#include "common/text.h"
#include "redact/redactor.h"

namespace agentwatch {

// Masks secrets in all of text (JSON or not), then cuts it to max_len
// bytes (at a UTF-8 boundary that splits no mask), appending "…[+N bytes]"
// when it was cut.
inline std::string Redact(std::string_view text, size_t max_len) {
  return DefaultRedactor()->Redact(text, max_len);
}

// Whether text holds a secret the catalogue knows.
inline bool ContainsSecret(std::string_view text) {
  return DefaultRedactor()->ContainsSecret(text);
}

// argv for display: each element redacted (secrets found in one masked
// in all), then quoted as a shell would read it.
inline std::string RedactedArgv(std::vector<std::string> argv) {
  return JoinArgv(DefaultRedactor()->RedactAll(std::move(argv)));
}

// Every string field of m.
inline void RedactMessage(google::protobuf::Message* m) { DefaultRedactor()->RedactMessage(m); }

}  // namespace agentwatch

#endif  // AGENTWATCH_REDACT_REDACT_H_
