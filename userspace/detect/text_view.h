// Text as a model reads it, for the text detectors (detect/text_score.h):
// a tool definition's field or a tool result, normalised and cut into the
// parts a reader would see and the parts hidden from them. Pure.
//
// Normalised: invisible characters (zero-width, bidi controls, terminal
// escapes) removed and counted, HTML entities decoded, Unicode NFKC with
// case folding (full-width and mathematical letters read as ASCII), Latin
// look-alikes from Cyrillic and Greek folded inside words that mix scripts.
// Hidden channels become segments of their own: Unicode tag characters and
// variation-selector payloads decoded, HTML comments, elements styled out
// of sight, markdown link titles and image alt text, base64 and hex runs
// that decode to text, ROT13 where a text names it. Structure: a
// directory listing's entries, the code of a
// source file (its comments are kept), a table's rules and the keys of JSON
// data are not prose addressed to anyone and are left out.
#ifndef AGENTWATCH_DETECT_TEXT_VIEW_H_
#define AGENTWATCH_DETECT_TEXT_VIEW_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace agentwatch {

struct TextSegment {
  // Normalised (lower case) text; sentences are split by SplitSentences.
  std::string text;
  // "" for what a reader sees; else the hidden channel it came from:
  // tag-characters, variation-selectors, html-comment, hidden-element,
  // link-title, image-alt, base64, hex, rot13 (the whole text, when it
  // says it holds ROT13), reversed (the whole text backwards, when bidi
  // controls are in it or it says to reverse).
  std::string channel;
};

struct TextView {
  std::vector<TextSegment> segments;
  // What normalisation removed or found.
  uint32_t tag_chars = 0;          // U+E0000..E007F
  uint32_t zero_width_in_words = 0;  // between two letters
  uint32_t bidi_controls = 0;      // embeddings, overrides, isolates
  uint32_t escapes = 0;            // ESC and other C0 controls
  uint32_t variation_payload = 0;  // a run of 4+ variation selectors
  uint32_t mixed_script_words = 0;  // Latin with Cyrillic/Greek look-alikes
  bool listing = false;            // the text was a directory listing
  bool code = false;               // the text was source code
  bool json = false;               // the text was JSON data
  bool truncated = false;          // longer than the bound; the rest not read
};

// Bound on the bytes read (the rest is marked truncated).
inline constexpr size_t kTextViewMaxBytes = 1u << 20;

TextView ViewText(std::string_view utf8, size_t max_bytes = kTextViewMaxBytes);

// Sentences of a segment: split after . ! ? followed by white space, at
// line ends and at blank lines; empty pieces dropped.
std::vector<std::string_view> SplitSentences(std::string_view text);

}  // namespace agentwatch

#endif  // AGENTWATCH_DETECT_TEXT_VIEW_H_
