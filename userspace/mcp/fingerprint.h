// Content fingerprints for data-flow links: does a tool call's argument
// carry a substantial piece of an earlier call's result? Text is taken from
// JSON string values (or the raw text if it is not JSON), normalized
// (lowercased, runs of whitespace and punctuation folded), and also decoded
// where it looks encoded (base64, percent-encoding), then winnowed: the
// minimum hash of every window of k-grams is kept (Schleimer et al.), so any
// shared run of at least kGram + kWindow - 1 normalized characters yields a
// shared fingerprint. Pure functions.
#ifndef AGENTWATCH_MCP_FINGERPRINT_H_
#define AGENTWATCH_MCP_FINGERPRINT_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace agentwatch {

inline constexpr size_t kFingerprintGram = 24;    // characters per k-gram
inline constexpr size_t kFingerprintWindow = 8;   // k-grams per window
// A shared run this long is guaranteed to share a fingerprint.
inline constexpr size_t kFingerprintGuarantee =
    kFingerprintGram + kFingerprintWindow - 1;

// The normalized text of a JSON value (its string values, joined) or of
// plain text; decoded forms of encoded-looking runs are appended.
std::string FingerprintText(std::string_view json_or_text);
// The same from text already taken out of its JSON (JsonStringValues).
std::string NormalizedText(std::string_view raw);

// The string values of a JSON value, unescaped and joined by newlines (at
// most max bytes), or the text itself if it is not JSON.
std::string JsonStringValues(std::string_view json_or_text, size_t max = 1u << 20);

// Sorted, unique fingerprints of normalized text (at most max_out).
std::vector<uint64_t> Fingerprints(std::string_view normalized,
                                   size_t max_out = 4096);

// How many of a's fingerprints are in b (both sorted).
size_t SharedFingerprints(const std::vector<uint64_t>& a,
                          const std::vector<uint64_t>& b);

}  // namespace agentwatch

#endif  // AGENTWATCH_MCP_FINGERPRINT_H_
