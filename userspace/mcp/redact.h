// Redaction of captured content before it is stored, served or exported:
// values of secret-named JSON keys and strings shaped like credentials are
// masked, and the text is bounded. A pure function.
#ifndef AGENTWATCH_MCP_REDACT_H_
#define AGENTWATCH_MCP_REDACT_H_

#include <cstddef>
#include <string>
#include <string_view>

namespace agentwatch {

inline constexpr char kRedacted[] = "[REDACTED]";

// Masks secrets in text (JSON or not), then cuts it to max_len bytes (at a
// UTF-8 boundary), appending "…[+N bytes]" when it was cut.
std::string Redact(std::string_view text, size_t max_len);
// Whether Redact would mask anything in text (all of it, not cut).
bool ContainsSecret(std::string_view text);

}  // namespace agentwatch

#endif  // AGENTWATCH_MCP_REDACT_H_
