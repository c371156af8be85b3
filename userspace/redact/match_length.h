// The most bytes a match of an RE2 regex can span, read from the regex's
// text: what sizes the window a catalogue rule runs on around its keyword.
// An underestimate would cut matches short (a secret missed), so anything
// this does not know counts as unbounded.
#ifndef AGENTWATCH_REDACT_MATCH_LENGTH_H_
#define AGENTWATCH_REDACT_MATCH_LENGTH_H_

#include <cstddef>
#include <string_view>

namespace agentwatch {

// SIZE_MAX: unbounded (* + {n,}) or a construct it does not know. Literal
// bytes and ASCII classes count 1; . and classes or escapes that admit
// non-ASCII 4; letters under (?i) 3 (K also matches the Kelvin sign);
// anchors and \b 0; a group its longest alternative; a repetition its
// upper bound times its item.
size_t MaxMatchLength(std::string_view re);

}  // namespace agentwatch

#endif  // AGENTWATCH_REDACT_MATCH_LENGTH_H_
