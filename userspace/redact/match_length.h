// The most bytes a match of an RE2 regex can span, read from the regex's
// text: what sizes the window a catalogue rule runs on around its keyword.
// An underestimate would cut matches short (a secret missed), so anything
// this does not know counts as unbounded.
#ifndef AGENTWATCH_REDACT_MATCH_LENGTH_H_
#define AGENTWATCH_REDACT_MATCH_LENGTH_H_

#include <bitset>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace agentwatch {

// SIZE_MAX: unbounded (* + {n,}) or a construct it does not know. Literal
// bytes and ASCII classes count 1; . and classes or escapes that admit
// non-ASCII 4; letters under (?i) 3 (K also matches the Kelvin sign);
// anchors and \b 0; a group its longest alternative; a repetition its
// upper bound times its item.
size_t MaxMatchLength(std::string_view re);

// For a regex that starts (after \b and an opening parenthesis) with
// keyword as written and then a character class repeated {n,...} or +
// (\b(ghp_[A-Za-z0-9]{36})\b): the bytes that can follow the keyword in
// *follow and n (at most 8), else 0. Every match starts at that keyword,
// so a keyword not followed by such bytes begins none. Backslash and %
// (an escape may stand for a byte of the class) and bytes past ASCII (a
// UTF-8 character may be in it) always count as such bytes.
// *ascii (when given): whether the class admits ASCII bytes only (no
// negation, escape, named class or byte past ASCII in it), so that no
// UTF-8 character can stand where the bytes past ASCII are counted.
size_t FollowingClass(std::string_view re, std::string_view keyword, std::bitset<256>* follow,
                      bool* ascii = nullptr);

// Whether every match of the regex holds keyword (ASCII case-insensitive),
// by RE2's prefilter (its required literals); false when it cannot tell.
bool RequiredLiteral(std::string_view re, std::string_view keyword);

// Literals of at least min_len bytes (lower case) such that every match of
// the regex holds one of them, by RE2's prefilter (its atoms: each of those
// atoms that long, when the others alone let no match through); empty
// when it cannot tell. The regex must not fold case ((?i)): the atoms are
// then matched in either ASCII case, which is what they stand for.
std::vector<std::string> RequiredLiterals(std::string_view re, size_t min_len);

// Whether c occurs in the regex outside character classes and escapes.
bool OutsideClassesHas(std::string_view re, char c);

}  // namespace agentwatch

#endif  // AGENTWATCH_REDACT_MATCH_LENGTH_H_
