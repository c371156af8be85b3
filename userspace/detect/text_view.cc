#include "detect/text_view.h"

#include <unicode/bytestream.h>
#include <unicode/normalizer2.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>
#include <string>

#include <re2/re2.h>
#include <simdjson.h>

#include "common/text.h"

namespace agentwatch {
namespace {

// Decodes one UTF-8 code point at s[*i]; U+FFFD and one byte on a bad one.
uint32_t Next(std::string_view s, size_t* i) {
  const auto c = static_cast<unsigned char>(s[*i]);
  const int len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
  if (len == 0 || *i + len > s.size()) {
    ++*i;
    return 0xFFFD;
  }
  uint32_t cp = len == 1 ? c : c & (0xFF >> (len + 1));
  for (int k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[*i + k]);
    if ((b & 0xC0) != 0x80) {
      ++*i;
      return 0xFFFD;
    }
    cp = (cp << 6) | (b & 0x3F);
  }
  *i += len;
  return cp;
}

void Put(uint32_t cp, std::string* out) {
  if (cp < 0x110000) AppendUtf8(cp, out);
}

bool AsciiAlnum(uint32_t cp) { return cp < 0x80 && std::isalnum(static_cast<int>(cp)) != 0; }

bool ZeroWidth(uint32_t cp) {
  return (cp >= 0x200B && cp <= 0x200D) || (cp >= 0x2060 && cp <= 0x2064) || cp == 0xFEFF ||
         cp == 0x00AD || cp == 0x180E || cp == 0x034F || cp == 0x115F || cp == 0x1160 ||
         cp == 0x3164 || cp == 0xFFA0;
}

bool Bidi(uint32_t cp) {
  return (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069);
}

// A variation selector as the byte it can smuggle (FE00..FE0F: 0..15,
// E0100..E01EF: 16..255), or -1.
int VariationByte(uint32_t cp) {
  if (cp >= 0xFE00 && cp <= 0xFE0F) return static_cast<int>(cp - 0xFE00);
  if (cp >= 0xE0100 && cp <= 0xE01EF) return static_cast<int>(cp - 0xE0100 + 16);
  return -1;
}

// &lt; &#39; &#x41; ... decoded (the numeric ones to UTF-8, so encoded
// invisible characters are seen as such).
std::string DecodeEntities(std::string_view in) {
  if (in.find('&') == std::string_view::npos) return std::string(in);
  static constexpr std::pair<std::string_view, std::string_view> kNamed[] = {
      {"lt;", "<"}, {"gt;", ">"}, {"amp;", "&"}, {"quot;", "\""}, {"apos;", "'"},
      {"nbsp;", " "}, {"zwj;", "\u200d"}, {"zwnj;", "\u200c"}, {"shy;", "\u00ad"}};
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '&') {
      out.push_back(in[i]);
      continue;
    }
    std::string_view rest = in.substr(i + 1);
    bool done = false;
    for (const auto& [name, value] : kNamed) {
      if (rest.substr(0, name.size()) == name) {
        out += value;
        i += name.size();
        done = true;
        break;
      }
    }
    if (!done && !rest.empty() && rest[0] == '#') {
      size_t k = 1;
      const bool hex = k < rest.size() && (rest[k] == 'x' || rest[k] == 'X');
      if (hex) ++k;
      uint32_t cp = 0;
      size_t digits = 0;
      while (k < rest.size() && digits < 8 &&
             (hex ? std::isxdigit(static_cast<unsigned char>(rest[k])) != 0
                  : std::isdigit(static_cast<unsigned char>(rest[k])) != 0)) {
        const char c = static_cast<char>(std::tolower(static_cast<unsigned char>(rest[k])));
        cp = cp * (hex ? 16 : 10) + static_cast<uint32_t>(c <= '9' ? c - '0' : c - 'a' + 10);
        ++k;
        ++digits;
      }
      if (digits > 0 && k < rest.size() && rest[k] == ';' && cp < 0x110000) {
        Put(cp, &out);
        i += k + 1;
        done = true;
      }
    }
    if (!done) out.push_back('&');
  }
  return out;
}

// Removes what a reader does not see, counting it; tag characters and
// variation-selector runs are decoded into *tags and *selectors.
std::string StripInvisible(std::string_view in, TextView* v, std::string* tags,
                           std::string* selectors) {
  std::string out;
  out.reserve(in.size());
  uint32_t prev = 0;  // the last code point kept
  std::string run;    // bytes of the current variation-selector run
  auto end_run = [&] {
    if (run.size() >= 4) {
      ++v->variation_payload;
      if (!selectors->empty()) selectors->push_back('\n');
      *selectors += run;
    }
    run.clear();
  };
  for (size_t i = 0; i < in.size();) {
    const uint32_t cp = Next(in, &i);
    const int vb = VariationByte(cp);
    if (vb >= 0) {
      run.push_back(static_cast<char>(vb));
      continue;
    }
    end_run();
    if (cp >= 0xE0000 && cp <= 0xE007F && prev == 0x1F3F4) {
      // A subdivision flag (U+1F3F4, tags, U+E007F): an emoji, not text.
      size_t j = i;
      while (j < in.size()) {
        size_t k = j;
        const uint32_t t = Next(in, &k);
        if (t < 0xE0000 || t > 0xE007F) break;
        j = k;
        if (t == 0xE007F) break;
      }
      i = j;
      continue;
    }
    if (cp >= 0xE0000 && cp <= 0xE007F) {
      ++v->tag_chars;
      if (cp >= 0xE0020 && cp <= 0xE007E) tags->push_back(static_cast<char>(cp - 0xE0000));
      continue;
    }
    if (ZeroWidth(cp)) {
      size_t j = i;
      const uint32_t next = j < in.size() ? Next(in, &j) : 0;
      if (AsciiAlnum(prev) && AsciiAlnum(next)) ++v->zero_width_in_words;
      continue;
    }
    if (Bidi(cp)) {
      ++v->bidi_controls;
      continue;
    }
    if (cp == 0x200E || cp == 0x200F) continue;
    if (cp == 0x1B) {
      // A CSI or OSC sequence goes with it. Colours (SGR) are what test
      // runners print; concealed text (SGR 8), cursor moves and OSC are not.
      if (i < in.size() && in[i] == '[') {
        const size_t from = ++i;
        while (i < in.size() && !(in[i] >= 0x40 && in[i] <= 0x7E)) ++i;
        const std::string_view params = in.substr(from, i - from);
        const bool sgr = i < in.size() && in[i] == 'm';
        bool conceal = false;
        for (size_t k = 0; k < params.size(); ++k) {
          if (params[k] == '8' && (k == 0 || params[k - 1] == ';') &&
              (k + 1 == params.size() || params[k + 1] == ';'))
            conceal = true;
        }
        if (!sgr || conceal) ++v->escapes;
        if (i < in.size()) ++i;
      } else if (i < in.size() && in[i] == ']') {
        ++v->escapes;
        while (i < in.size() && in[i] != '\a' && in[i] != 0x1B) ++i;
        if (i < in.size()) ++i;
      } else {
        ++v->escapes;
      }
      out.push_back(' ');
      continue;
    }
    if (cp < 0x20 && cp != '\n' && cp != '\t' && cp != '\r') {
      // Form feeds, vertical tabs, backspaces: layout of extracted text.
      out.push_back(' ');
      continue;
    }
    Put(cp, &out);
    prev = cp;
  }
  end_run();
  return out;
}

bool CombiningMark(uint32_t cp) {
  return (cp >= 0x0300 && cp <= 0x036F) || (cp >= 0x1AB0 && cp <= 0x1AFF) ||
         (cp >= 0x1DC0 && cp <= 0x1DFF) || (cp >= 0x20D0 && cp <= 0x20FF) ||
         (cp >= 0xFE20 && cp <= 0xFE2F);
}

// Latin small capitals as the letters they show.
uint32_t SmallCapital(uint32_t cp) {
  switch (cp) {
    case 0x1D00: return 'a';
    case 0x0299: return 'b';
    case 0x1D04: return 'c';
    case 0x1D05: return 'd';
    case 0x1D07: return 'e';
    case 0xA730: return 'f';
    case 0x0262: return 'g';
    case 0x029C: return 'h';
    case 0x026A: return 'i';
    case 0x1D0A: return 'j';
    case 0x1D0B: return 'k';
    case 0x029F: return 'l';
    case 0x1D0D: return 'm';
    case 0x0274: return 'n';
    case 0x1D0F: return 'o';
    case 0x1D18: return 'p';
    case 0x0280: return 'r';
    case 0xA731: return 's';
    case 0x1D1B: return 't';
    case 0x1D1C: return 'u';
    case 0x1D20: return 'v';
    case 0x1D21: return 'w';
    case 0x028F: return 'y';
    case 0x1D22: return 'z';
    default: return 0;
  }
}

// Diacritics and overlays on Latin letters dropped (ïgnörë, i̶g̶n̶o̶r̶e̶),
// small capitals read as letters, and emphasis marks inside a word
// (ig**nore**) removed. in is NFKC-folded; marks are split off by NFD.
std::string Plain(const std::string& in) {
  bool any = false;
  for (unsigned char c : in) any |= c >= 0x80 || c == '*' || c == '~';
  if (!any) return in;
  std::string d = in;
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* nfd = icu::Normalizer2::getNFDInstance(status);
  if (U_SUCCESS(status) && nfd != nullptr) {
    std::string out;
    icu::StringByteSink<std::string> sink(&out);
    nfd->normalizeUTF8(0, icu::StringPiece(in.data(), static_cast<int32_t>(in.size())), sink,
                       nullptr, status);
    if (U_SUCCESS(status)) d = std::move(out);
  }
  std::string out;
  out.reserve(d.size());
  uint32_t prev = 0;
  for (size_t i = 0; i < d.size();) {
    uint32_t cp = Next(d, &i);
    if (CombiningMark(cp) && prev < 0x80 && std::isalpha(static_cast<int>(prev)) != 0) continue;
    if (const uint32_t l = SmallCapital(cp)) cp = l;
    if ((cp == '*' || cp == '~') && prev < 0x80 && std::isalpha(static_cast<int>(prev)) != 0) {
      size_t j = i;
      while (j < d.size() && (d[j] == '*' || d[j] == '~')) ++j;
      if (j < d.size() && std::isalpha(static_cast<unsigned char>(d[j])) != 0) {
        i = j;
        continue;
      }
    }
    Put(cp, &out);
    prev = cp;
  }
  return out;
}

// NFKC with case folding (ICU); the input itself when ICU refuses it.
std::string Fold(const std::string& in) {
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* n = icu::Normalizer2::getNFKCCasefoldInstance(status);
  if (U_FAILURE(status) || n == nullptr) return in;
  std::string out;
  out.reserve(in.size());
  icu::StringByteSink<std::string> sink(&out);
  n->normalizeUTF8(0, icu::StringPiece(in.data(), static_cast<int32_t>(in.size())), sink,
                   nullptr, status);
  if (U_FAILURE(status)) return in;
  return out;
}

// Cyrillic and Greek letters that read as Latin ones (lower case).
uint32_t LatinLookalike(uint32_t cp) {
  switch (cp) {
    case 0x0430: return 'a';
    case 0x0435: return 'e';
    case 0x043E: return 'o';
    case 0x0440: return 'p';
    case 0x0441: return 'c';
    case 0x0443: return 'y';
    case 0x0445: return 'x';
    case 0x0456: return 'i';
    case 0x0458: return 'j';
    case 0x0455: return 's';
    case 0x0501: return 'd';
    case 0x04BB: return 'h';
    case 0x051B: return 'q';
    case 0x051D: return 'w';
    case 0x04CF: return 'l';
    case 0x0261: return 'g';
    case 0x03B1: return 'a';
    case 0x03BF: return 'o';
    case 0x03B9: return 'i';
    case 0x03BA: return 'k';
    case 0x03BD: return 'v';
    case 0x03C1: return 'p';
    case 0x03C4: return 't';
    case 0x03C5: return 'u';
    case 0x03C7: return 'x';
    case 0x03B5: return 'e';
    default: return 0;
  }
}

// Folds look-alikes in words that also hold ASCII letters.
std::string FoldLookalikes(const std::string& in, TextView* v) {
  std::string out;
  out.reserve(in.size());
  size_t i = 0;
  while (i < in.size()) {
    size_t end = i;
    while (end < in.size() && !std::isspace(static_cast<unsigned char>(in[end]))) ++end;
    const std::string_view word(in.data() + i, end - i);
    bool ascii = false, alike = false;
    for (size_t k = 0; k < word.size();) {
      const uint32_t cp = Next(word, &k);
      ascii |= cp < 0x80 && std::isalpha(static_cast<int>(cp)) != 0;
      alike |= LatinLookalike(cp) != 0;
    }
    if (ascii && alike) {
      ++v->mixed_script_words;
      for (size_t k = 0; k < word.size();) {
        const uint32_t cp = Next(word, &k);
        const uint32_t l = LatinLookalike(cp);
        Put(l != 0 ? l : cp, &out);
      }
    } else {
      out.append(word);
    }
    while (end < in.size() && std::isspace(static_cast<unsigned char>(in[end]))) {
      out.push_back(in[end]);
      ++end;
    }
    i = end;
  }
  return out;
}

bool Base64Char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '+' || c == '/' || c == '-' ||
         c == '_';
}


// Text that base64 runs of 24 or more characters decode to (runs that do
// not decode to prose are ignored).
void Base64Texts(std::string_view in, std::vector<std::string>* out) {
  size_t i = 0, total = 0;
  while (i < in.size() && total < (256u << 10)) {
    if (!Base64Char(in[i])) {
      ++i;
      continue;
    }
    size_t end = i;
    while (end < in.size() && Base64Char(in[end])) ++end;
    const std::string_view run = in.substr(i, end - i);
    i = end;
    if (run.size() < 24) continue;
    std::string text;
    uint32_t acc = 0;
    int bits = 0;
    size_t printable = 0, spaces = 0;
    for (char c : run) {
      acc = (acc << 6) | static_cast<uint32_t>(Base64Value(static_cast<unsigned char>(c)));
      bits += 6;
      if (bits >= 8) {
        bits -= 8;
        const auto b = static_cast<unsigned char>((acc >> bits) & 0xFF);
        text.push_back(static_cast<char>(b));
        printable += (b >= 0x20 && b < 0x7F) || b == '\n' || b == '\t';
        spaces += b == ' ';
      }
    }
    if (text.size() >= 12 && printable * 10 >= text.size() * 9 && spaces >= 2) {
      total += text.size();
      out->push_back(std::move(text));
    }
  }
}

// Text that runs of 24 or more hex digits decode to.
void HexTexts(std::string_view in, std::vector<std::string>* out) {
  size_t i = 0, total = 0;
  while (i < in.size() && total < (256u << 10)) {
    if (std::isxdigit(static_cast<unsigned char>(in[i])) == 0) {
      ++i;
      continue;
    }
    size_t end = i;
    while (end < in.size() && std::isxdigit(static_cast<unsigned char>(in[end])) != 0) ++end;
    const std::string_view run = in.substr(i, (end - i) & ~size_t{1});
    i = end;
    if (run.size() < 24) continue;
    std::string text;
    size_t printable = 0, spaces = 0;
    for (size_t k = 0; k + 1 < run.size(); k += 2) {
      const auto b = static_cast<unsigned char>(std::stoi(std::string(run.substr(k, 2)), nullptr, 16));
      text.push_back(static_cast<char>(b));
      printable += (b >= 0x20 && b < 0x7F) || b == '\n' || b == '\t';
      spaces += b == ' ';
    }
    if (printable * 10 >= text.size() * 9 && spaces >= 2) {
      total += text.size();
      out->push_back(std::move(text));
    }
  }
}

// The text backwards (by code point), when bidi controls show it
// reversed or it says to reverse it.
void ReversedText(std::string_view in, bool bidi, std::vector<std::string>* out) {
  static const RE2 re("(?i)\\brevers");
  if (!bidi && !RE2::PartialMatch(in, re)) return;
  std::vector<uint32_t> cps;
  for (size_t i = 0; i < in.size();) cps.push_back(Next(in, &i));
  std::string t;
  t.reserve(in.size());
  for (auto it = cps.rbegin(); it != cps.rend(); ++it) Put(*it, &t);
  out->push_back(std::move(t));
}

// ROT13 of the whole text, when it says it holds some.
void Rot13Text(std::string_view in, std::vector<std::string>* out) {
  static const RE2 re("(?i)\\brot[ -]?13\\b");
  if (!RE2::PartialMatch(in, re)) return;
  std::string t(in);
  for (char& c : t) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>('a' + (c - 'a' + 13) % 26);
    else if (c >= 'A' && c <= 'Z') c = static_cast<char>('A' + (c - 'A' + 13) % 26);
  }
  out->push_back(std::move(t));
}

bool IsHtmlTagName(std::string_view name) {
  static constexpr std::string_view kTags[] = {
      "a", "abbr", "article", "aside", "b", "blockquote", "body", "br", "button", "caption",
      "center", "cite", "code", "dd", "del", "details", "div", "dl", "dt", "em", "figcaption",
      "figure", "font", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "head", "header",
      "hr", "html", "i", "iframe", "img", "input", "ins", "kbd", "label", "li", "link", "main",
      "mark", "meta", "nav", "noscript", "ol", "option", "p", "pre", "q", "s", "samp", "section",
      "select", "small", "source", "span", "strong", "sub", "summary", "sup", "svg", "table",
      "tbody", "td", "template", "textarea", "tfoot", "th", "thead", "time", "title", "tr", "u",
      "ul", "var", "video", "picture"};
  for (std::string_view t : kTags)
    if (t == name) return true;
  return false;
}

bool IsInlineTag(std::string_view name) {
  static constexpr std::string_view kInline[] = {"a", "abbr", "b", "cite", "code", "del", "em",
                                                 "font", "i", "ins", "kbd", "mark", "q", "s",
                                                 "samp", "small", "span", "strong", "sub", "sup",
                                                 "u", "var", "time"};
  for (std::string_view t : kInline)
    if (t == name) return true;
  return false;
}

// An HTML tag at s[i] ('<' or '</' then a name): its name, or "".
std::string_view TagName(std::string_view s, size_t i, bool* closing) {
  size_t k = i + 1;
  *closing = k < s.size() && s[k] == '/';
  if (*closing) ++k;
  const size_t from = k;
  while (k < s.size() && std::isalnum(static_cast<unsigned char>(s[k])) != 0) ++k;
  if (k == from || k >= s.size()) return {};
  const char after = s[k];
  if (after != '>' && after != ' ' && after != '/' && after != '\n' && after != '\t') return {};
  return s.substr(from, k - from);
}

const RE2& HiddenStyle() {
  static const RE2 re(
      "(display\\s*:\\s*none|visibility\\s*:\\s*hidden|font-size\\s*:\\s*0(?:[^.0-9]|$)|"
      "opacity\\s*:\\s*0(?:[^.0-9]|$)|aria-hidden\\s*=\\s*[\"']?true|\\shidden(?:[\\s>=/]|$)|"
      "(?:^|[^-])color\\s*:\\s*(?:white|#fff\\b|#ffffff|transparent)|"
      "height\\s*:\\s*0(?:px)?\\s*;|left\\s*:\\s*-\\d{3,})");
  return re;
}

// Takes HTML comments, elements styled out of sight, markdown link titles
// and image alt text out of *text into hidden segments, and strips HTML
// tags (not pseudo tags such as <important>, which are a feature).
void TakeMarkup(std::string* text, TextView* v) {
  const std::string& in = *text;
  if (in.find_first_of("<[") == std::string::npos) return;
  std::string out;
  out.reserve(in.size());
  auto hidden = [&](std::string_view content, const char* channel) {
    if (content.find_first_not_of(" \t\r\n") == std::string_view::npos) return;
    v->segments.push_back({std::string(content), channel});
  };
  static const RE2 attr(
      "(?:alt|title|aria-label|value|placeholder|content|label|data-[a-z0-9-]+)\\s*=\\s*"
      "(?:\"([^\"]{8,})\"|'([^']{8,})')");
  size_t i = 0;
  while (i < in.size()) {
    const char c = in[i];
    if (c == '<' && in.compare(i, 4, "<!--") == 0) {
      size_t end = in.find("-->", i + 4);
      if (end == std::string::npos) end = in.size();
      hidden(std::string_view(in).substr(i + 4, end - i - 4), "html-comment");
      i = std::min(in.size(), end + 3);
      continue;  // no space: ign<!-- -->ore reads as one word
    }
    bool closing = false;
    const std::string_view name = c == '<' ? TagName(in, i, &closing) : std::string_view();
    if (!name.empty() && IsHtmlTagName(name)) {
      const size_t close = in.find('>', i);
      if (close == std::string::npos) {
        out.append(in, i, std::string::npos);
        break;
      }
      const std::string_view tag = std::string_view(in).substr(i, close - i + 1);
      re2::StringPiece a, b;
      re2::StringPiece rest(tag.data(), tag.size());
      while (RE2::FindAndConsume(&rest, attr, &a, &b)) {
        hidden(a.empty() ? std::string_view(b.data(), b.size()) : std::string_view(a.data(), a.size()),
               "image-alt");
      }
      size_t next = close + 1;
      if (!closing && (name == "style" || name == "script" || RE2::PartialMatch(tag, HiddenStyle()))) {
        // The element's content, to its closing tag (nesting not followed).
        // Looked for within 64 KiB (many unclosed tags cost no more).
        const std::string end_tag = "</" + std::string(name);
        const size_t span = std::min<size_t>(in.size() - next, 64u << 10);
        size_t end = std::string_view(in).substr(next, span).find(end_tag);
        end = end == std::string_view::npos ? next + span : next + end;
        if (name != "style") hidden(std::string_view(in).substr(next, end - next), "hidden-element");
        const size_t end_close = in.find('>', end);
        next = end_close == std::string::npos ? in.size() : end_close + 1;
      }
      // Inline elements join what is around them (ign<b></b>ore); blocks
      // separate.
      if (!IsInlineTag(name)) out.push_back(' ');
      i = next;
      continue;
    }
    if (c == ']' && i + 1 < in.size() && in[i + 1] == '(') {
      // [text](url "title"): the title (looked for within 1 KiB).
      const std::string_view ahead = std::string_view(in).substr(i + 2, 1024);
      const size_t close = ahead.find(')');
      if (close != std::string_view::npos && ahead.substr(0, close).find('\n') == std::string_view::npos) {
        const std::string_view inside = ahead.substr(0, close);
        const size_t q = inside.find_first_of("\"'");
        if (q != std::string_view::npos && q > 0) {
          const size_t q2 = inside.find(inside[q], q + 1);
          if (q2 != std::string_view::npos) hidden(inside.substr(q + 1, q2 - q - 1), "link-title");
        }
      }
    }
    if (c == '!' && i + 1 < in.size() && in[i + 1] == '[') {
      const std::string_view ahead = std::string_view(in).substr(i + 2, 512);
      const size_t end = ahead.find("](");
      if (end != std::string_view::npos && ahead.substr(0, end).find('\n') == std::string_view::npos)
        hidden(ahead.substr(0, end), "image-alt");
    }
    out.push_back(c);
    ++i;
  }
  *text = std::move(out);
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

size_t Words(std::string_view s) {
  size_t n = 0;
  bool in = false;
  for (char c : s) {
    const bool sp = std::isspace(static_cast<unsigned char>(c)) != 0;
    n += !sp && !in;
    in = !sp;
  }
  return n;
}

// A line of a directory listing: the entry's name after its marker, or
// nullopt.
bool ListingLine(std::string_view line, std::string_view* name) {
  static const RE2 re(
      "^\\s*(?:\\[(?:file|dir|directory|link|symlink)\\]\\s*|(?:[│|`+ ]\\s*)*[├└`+][─-]+\\s*|"
      "[dlcbsp-][rwxstST-]{9}[@+.]?\\s+\\S+\\s+\\S+\\s+\\S+\\s+\\S+\\s+\\S+\\s+\\S+\\s+\\S+\\s+|"
      "(?:📁|📄|📂)\\s*)(.*)$");
  re2::StringPiece n;
  if (RE2::FullMatch(line, re, &n)) {
    *name = std::string_view(n.data(), n.size());
    return true;
  }
  // A path alone on its line (a search result, a tree without glyphs).
  const std::string_view t = Trim(line);
  if (!t.empty() && t.find(' ') == std::string_view::npos &&
      (t.find('/') != std::string_view::npos || t.front() == '.')) {
    *name = t;
    return true;
  }
  return false;
}

bool CodeLine(std::string_view line) {
  const std::string_view t = Trim(line);
  if (t.empty()) return false;
  static const RE2 start(
      "^(?:import\\s|from\\s+\\S+\\s+import|export\\s|const\\s|let\\s|var\\s|function[\\s(]|"
      "def\\s|class\\s|return[\\s;]|if\\s*\\(|for\\s*\\(|while\\s*\\(|} ?else|#include|"
      "#define|package\\s|public\\s|private\\s|protected\\s|static\\s|async\\s|await\\s|"
      "fn\\s|pub\\s|use\\s|func\\s|try\\s*[{:]|catch\\s*\\(|elif\\s|else:|except|with\\s.*:$|"
      "@\\w+\\(|#!|[a-z_]\\w*\\s*=\\s*\\S|\\w+(?:\\.\\w+)*\\([^ ]*\\);?$)");
  // Line ends that prose and CSV also have (',' and ')') are no evidence.
  const char last = t.back();
  return last == ';' || last == '{' || last == '}' || RE2::PartialMatch(t, start);
}

// The comment part of a line of code, or "".
std::string_view CodeComment(std::string_view line, bool* in_block) {
  std::string_view t = Trim(line);
  if (*in_block) {
    const size_t end = t.find("*/");
    if (end != std::string_view::npos) {
      *in_block = false;
      t = t.substr(0, end);
    }
    if (!t.empty() && t.front() == '*') t.remove_prefix(1);
    return t;
  }
  size_t at = t.find("/*");
  if (at != std::string_view::npos) {
    std::string_view c = t.substr(at + 2);
    const size_t end = c.find("*/");
    if (end == std::string_view::npos) *in_block = true;
    else c = c.substr(0, end);
    return c;
  }
  for (size_t i = 0; i + 1 < t.size(); ++i) {
    if (t[i] == '/' && t[i + 1] == '/' && (i == 0 || t[i - 1] != ':')) return t.substr(i + 2);
  }
  if (!t.empty() && t.front() == '#' && t.substr(0, 2) != "#!" && t.substr(0, 8) != "#include" &&
      t.substr(0, 7) != "#define")
    return t.substr(1);
  if (t.substr(0, 2) == "--") return t.substr(2);
  if (t.substr(0, 3) == "\"\"\"" || t.substr(0, 3) == "'''") return t.substr(3);
  return {};
}

// Keeps of the visible text what is prose: listing entries, code (but its
// comments) and table rules are left out.
std::string Prose(std::string_view text, TextView* v) {
  std::vector<std::string_view> lines;
  for (size_t i = 0; i <= text.size();) {
    size_t end = text.find('\n', i);
    if (end == std::string_view::npos) end = text.size();
    lines.push_back(text.substr(i, end - i));
    i = end + 1;
  }
  size_t nonempty = 0, listing = 0, code = 0;
  std::string_view name;
  for (std::string_view l : lines) {
    if (Trim(l).empty()) continue;
    ++nonempty;
    listing += ListingLine(l, &name);
    code += CodeLine(l);
  }
  v->listing = nonempty >= 2 && listing * 2 >= nonempty;
  v->code = !v->listing && nonempty >= 4 && code * 5 >= nonempty * 2;
  // A fence that is never closed opens nothing (the rest is not code).
  size_t fences = 0;
  for (std::string_view l : lines) {
    const std::string_view t = Trim(l);
    fences += t.substr(0, 3) == "```" || t.substr(0, 3) == "~~~";
  }
  std::string out;
  out.reserve(text.size());
  bool fence = false, block = false;
  size_t fence_seen = 0;
  for (std::string_view l : lines) {
    const std::string_view t = Trim(l);
    if (t.substr(0, 3) == "```" || t.substr(0, 3) == "~~~") {
      if (++fence_seen <= fences - fences % 2) fence = !fence;
      out.push_back('\n');
      continue;
    }
    if (fence || v->code) {
      // Code is left out, but its comments and any line that is not code
      // (prose between the statements) are read.
      const std::string_view c = CodeComment(l, &block);
      if (!c.empty() && Words(c) >= 3) {
        out.append(c);
      } else if (!CodeLine(l) && Words(l) >= 3) {
        out.append(l);
      }
      out.push_back('\n');
      continue;
    }
    if (v->listing && ListingLine(l, &name)) {
      if (Words(name) >= 5) out.append(name);
      out.push_back('\n');
      continue;
    }
    if (t.size() >= 2 && t.front() == '|' && t.back() == '|') {
      if (t.find_first_not_of("|-:= \t") == std::string_view::npos) {
        out.push_back('\n');
        continue;
      }
      for (char c : t) out.push_back(c == '|' ? '\n' : c);
      out.push_back('\n');
      continue;
    }
    out.append(l);
    out.push_back('\n');
  }
  return out;
}

// The string values of JSON data (keys and structure are not prose), or
// false when text is not JSON.
bool JsonStrings(std::string_view text, std::vector<std::string>* out) {
  const std::string_view t = Trim(text);
  if (t.size() < 2 || (t.front() != '{' && t.front() != '[')) return false;
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(t.data(), t.size()).get(root) != simdjson::SUCCESS) return false;
  // Depth first, in document order (children pushed in reverse), the first
  // strings kept up to a bound on their bytes; keys that are sentences
  // count as text too.
  std::vector<simdjson::dom::element> stack{root};
  size_t bytes = 0;
  auto keep = [&](std::string_view s) {
    bytes += s.size();
    out->emplace_back(s);
  };
  while (!stack.empty() && bytes < kTextViewMaxBytes && out->size() < 200000) {
    const simdjson::dom::element e = stack.back();
    stack.pop_back();
    switch (e.type()) {
      case simdjson::dom::element_type::STRING: {
        std::string_view s;
        if (e.get_string().get(s) == simdjson::SUCCESS) keep(s);
        break;
      }
      case simdjson::dom::element_type::ARRAY: {
        const size_t at = stack.size();
        for (simdjson::dom::element c : e.get_array()) stack.push_back(c);
        std::reverse(stack.begin() + static_cast<std::ptrdiff_t>(at), stack.end());
        break;
      }
      case simdjson::dom::element_type::OBJECT: {
        const size_t at = stack.size();
        for (auto kv : e.get_object()) {
          if (Words(kv.key) >= 3) keep(kv.key);
          stack.push_back(kv.value);
        }
        std::reverse(stack.begin() + static_cast<std::ptrdiff_t>(at), stack.end());
        break;
      }
      default:
        break;
    }
  }
  return true;
}

void View(std::string_view raw, int depth, TextView* v) {
  if (depth < 3) {
    std::vector<std::string> strings;
    if (JsonStrings(raw, &strings)) {
      v->json = true;
      for (const std::string& s : strings) View(s, depth + 1, v);
      return;
    }
  }
  std::string tags, selectors;
  const std::string visible = StripInvisible(DecodeEntities(raw), v, &tags, &selectors);
  std::vector<std::string> decoded, hex, rot13, reversed;
  Base64Texts(visible, &decoded);
  HexTexts(visible, &hex);
  Rot13Text(visible, &rot13);
  ReversedText(visible, v->bidi_controls > 0, &reversed);
  std::string folded = FoldLookalikes(Plain(Fold(visible)), v);
  const size_t first_hidden = v->segments.size();
  TakeMarkup(&folded, v);
  TextView inner;  // structure of this text alone
  std::string prose = Prose(folded, &inner);
  v->listing |= inner.listing;
  v->code |= inner.code;
  v->segments.insert(v->segments.begin() + static_cast<std::ptrdiff_t>(first_hidden),
                     TextSegment{std::move(prose), ""});
  auto add_hidden = [&](const std::string& s, const char* channel) {
    TextView sub;
    std::string sub_tags, sub_selectors;
    std::string t =
        FoldLookalikes(Plain(Fold(StripInvisible(s, &sub, &sub_tags, &sub_selectors))), &sub);
    v->segments.push_back({std::move(t), channel});
  };
  if (!tags.empty()) add_hidden(tags, "tag-characters");
  if (!selectors.empty()) add_hidden(selectors, "variation-selectors");
  for (const std::string& d : decoded) add_hidden(d, "base64");
  for (const std::string& d : hex) add_hidden(d, "hex");
  for (const std::string& d : rot13) add_hidden(d, "rot13");
  for (const std::string& d : reversed) add_hidden(d, "reversed");
}

}  // namespace

TextView ViewText(std::string_view utf8, size_t max_bytes) {
  TextView v;
  if (utf8.size() > max_bytes) {
    v.truncated = true;
    utf8 = utf8.substr(0, max_bytes);
  }
  View(utf8, 0, &v);
  return v;
}

std::vector<std::string_view> SplitSentences(std::string_view text) {
  std::vector<std::string_view> out;
  size_t start = 0;
  auto cut = [&](size_t end) {
    std::string_view s = Trim(text.substr(start, end - start));
    // A run with no stop is cut every 400 bytes (at a space when there is one).
    while (s.size() > 400) {
      size_t at = s.rfind(' ', 400);
      if (at == std::string_view::npos || at < 200) at = 400;
      out.push_back(Trim(s.substr(0, at)));
      s = Trim(s.substr(at));
    }
    if (!s.empty()) out.push_back(s);
  };
  // A line break ends a sentence at a blank line, after a stop or a colon,
  // or before a list item, a heading or a quote; otherwise it is a wrapped
  // line and the sentence goes on.
  auto ends_here = [&](size_t nl) {
    size_t p = nl;
    while (p > start && (text[p - 1] == ' ' || text[p - 1] == '\t' || text[p - 1] == '\r')) --p;
    if (p == start) return true;
    const char last = text[p - 1];
    if (last == '.' || last == '!' || last == '?' || last == ':' || last == ';') return true;
    size_t q = nl + 1;
    while (q < text.size() && (text[q] == ' ' || text[q] == '\t')) ++q;
    if (q >= text.size() || text[q] == '\n') return true;
    const char next = text[q];
    return next == '-' || next == '*' || next == '#' || next == '>' || next == '|' ||
           next == '+' || std::isdigit(static_cast<unsigned char>(next)) != 0 ||
           static_cast<unsigned char>(next) >= 0x80;
  };
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\n') {
      if (!ends_here(i)) continue;
      cut(i);
      start = i + 1;
    } else if ((c == '.' || c == '!' || c == '?') && i + 1 < text.size() &&
               (text[i + 1] == ' ' || text[i + 1] == '\t')) {
      cut(i + 1);
      start = i + 1;
    }
  }
  cut(text.size());
  return out;
}

}  // namespace agentwatch
