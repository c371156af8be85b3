// Decoded views of a text, each with a map back to the bytes it came
// from, so that a secret found in decoded form is masked where it really
// is in the original: JSON string escapes undone (\n, \", \uXXXX, nested
// JSON held in a string: one level per pass), percent-decoding (URLs,
// query strings, form bodies) and base64 runs that decode to text. Pure
// functions over byte views.
#ifndef AGENTWATCH_REDACT_VIEWS_H_
#define AGENTWATCH_REDACT_VIEWS_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace agentwatch {

// A decoded text and, for each of its bytes, the range [begin, end) of
// the original it came from (an escape decodes to bytes that all map to
// the whole escape).
struct DecodedView {
  enum class Kind { kJson, kPercent, kBase64 };
  Kind kind = Kind::kJson;
  std::string text;
  std::vector<uint32_t> begin;  // per byte of text
  std::vector<uint32_t> end;
  // Added to both (a view of a part of a text, in the whole text's
  // coordinates, without rewriting every entry).
  size_t base = 0;
  // The original range of text[a, b).
  size_t MapBegin(size_t a) const { return begin[a] + base; }
  size_t MapEnd(size_t b) const { return end[b - 1] + base; }
};

// JSON escapes undone where they appear (\" \\ \/ \b \f \n \r \t \uXXXX,
// surrogate pairs joined, lone surrogates as U+FFFD). False when text has
// no escape (the view would equal the text).
bool JsonUnescapeView(std::string_view text, DecodedView* out);

// %XX decoded (any case). False when text has no valid %XX.
bool PercentDecodeView(std::string_view text, DecodedView* out);

// A run of base64 (standard or URL alphabet, padding optional) at least
// min_len long whose decoding is mostly printable text (tabs and newlines
// allowed): its decoding, every byte mapped to the whole run.
struct Base64Run {
  size_t begin = 0;
  size_t end = 0;
  std::string decoded;
};
std::vector<Base64Run> FindBase64Text(std::string_view text, size_t min_len = 24);
// Where each maximal run of at least 24 base64 bytes begins, in order
// (64 bytes per step where the CPU has SSE2).
void Base64RunStarts(std::string_view text, std::vector<size_t>* starts);
// The same for one maximal run of base64 bytes text[i, j) (padding after
// it is taken): false when it is short or does not decode to text.
bool Base64TextRun(std::string_view text, size_t i, size_t j, size_t min_len, Base64Run* out);

// Bytes of the standard and URL base64 alphabets (padding excluded).
constexpr std::array<bool, 256> MakeBase64Bytes() {
  std::array<bool, 256> is{};
  for (int c = 0; c < 256; ++c) {
    is[c] = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '+' || c == '/' || c == '-' || c == '_';
  }
  return is;
}
inline constexpr std::array<bool, 256> kBase64Bytes = MakeBase64Bytes();

// Composes a view of a view: the ranges of `inner` (over outer.text)
// mapped to outer's original.
void ComposeView(const DecodedView& outer, DecodedView* inner);

}  // namespace agentwatch

#endif  // AGENTWATCH_REDACT_VIEWS_H_
