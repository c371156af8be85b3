// What the redactor's files share (redactor.cc, stream_redaction.cc): not
// part of the redaction stage's interface.
#ifndef AGENTWATCH_REDACT_REDACTOR_INTERNAL_H_
#define AGENTWATCH_REDACT_REDACTOR_INTERNAL_H_

#include <cstddef>
#include <string>
#include <vector>

#include "redact/redactor.h"

namespace agentwatch {

// Bytes before a block rule's keyword where its match may start.
inline constexpr size_t kBlockLead = 512;

// Sorted by start; overlapping findings merged into the first's kind.
std::vector<Redactor::Finding> MergeFindings(std::vector<Redactor::Finding> f);

// Cuts a rendered text s to max_len at a UTF-8 boundary outside any mask;
// notes what went (dropped_extra: bytes of the input already left out).
std::string CutRendered(std::string s, size_t max_len, size_t dropped_extra);

// Token bytes: what a secret is made of (no space, quote or bracket).
bool TokenByte(unsigned char c);

}  // namespace agentwatch

#endif  // AGENTWATCH_REDACT_REDACTOR_INTERNAL_H_
