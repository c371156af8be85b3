#include "redact/views.h"

#include <algorithm>
#include <array>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

#include "common/text.h"

namespace agentwatch {
namespace {

int Hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// \uXXXX at text[i] (the backslash), or -1.
int32_t Hex4(std::string_view text, size_t i) {
  if (i + 6 > text.size() || text[i] != '\\' || text[i + 1] != 'u') return -1;
  int32_t v = 0;
  for (size_t k = i + 2; k < i + 6; ++k) {
    const int h = Hex(text[k]);
    if (h < 0) return -1;
    v = v * 16 + h;
  }
  return v;
}

void Emit(DecodedView* v, std::string_view bytes, size_t b, size_t e) {
  for (char c : bytes) {
    v->text.push_back(c);
    v->begin.push_back(static_cast<uint32_t>(b));
    v->end.push_back(static_cast<uint32_t>(e));
  }
}

// text[b, e) copied as it is, each byte mapped to itself.
void EmitSame(DecodedView* v, std::string_view text, size_t b, size_t e) {
  if (e <= b) return;
  v->text.append(text.data() + b, e - b);
  const size_t at = v->begin.size();
  v->begin.resize(at + (e - b));
  v->end.resize(at + (e - b));
  uint32_t* bp = v->begin.data() + at;
  uint32_t* ep = v->end.data() + at;
  for (size_t k = 0; k < e - b; ++k) {
    bp[k] = static_cast<uint32_t>(b + k);
    ep[k] = static_cast<uint32_t>(b + k + 1);
  }
}

void Reset(DecodedView* v, DecodedView::Kind kind, size_t reserve) {
  v->kind = kind;
  v->base = 0;
  v->text.clear();
  v->begin.clear();
  v->end.clear();
  v->text.reserve(reserve);
  v->begin.reserve(reserve);
  v->end.reserve(reserve);
}

// The escape at text[i] (a backslash): its decoding and its length, or
// length 0 when it is not one.
size_t DecodeEscape(std::string_view text, size_t i, std::string* bytes) {
  bytes->clear();
  if (i + 1 >= text.size()) return 0;
  switch (text[i + 1]) {
    case '"': *bytes = "\""; return 2;
    case '\\': *bytes = "\\"; return 2;
    case '/': *bytes = "/"; return 2;
    case 'b': *bytes = "\b"; return 2;
    case 'f': *bytes = "\f"; return 2;
    case 'n': *bytes = "\n"; return 2;
    case 'r': *bytes = "\r"; return 2;
    case 't': *bytes = "\t"; return 2;
    case 'u': break;
    default: return 0;
  }
  const int32_t hi = Hex4(text, i);
  if (hi < 0) return 0;
  if (hi >= 0xD800 && hi <= 0xDBFF) {
    const int32_t lo = Hex4(text, i + 6);
    if (lo >= 0xDC00 && lo <= 0xDFFF) {
      AppendUtf8(0x10000 + ((static_cast<uint32_t>(hi) - 0xD800) << 10) +
                     (static_cast<uint32_t>(lo) - 0xDC00),
                 bytes);
      return 12;
    }
    AppendUtf8(0xFFFD, bytes);
    return 6;
  }
  AppendUtf8(hi >= 0xDC00 && hi <= 0xDFFF ? 0xFFFD : static_cast<uint32_t>(hi), bytes);
  return 6;
}

inline bool IsBase64Char(unsigned char c) { return kBase64Bytes[c]; }

// The length of the UTF-8 sequence at d[i] (2-4), or 0 when it is not one.
size_t Utf8Sequence(std::string_view d, size_t i) {
  const unsigned char c = static_cast<unsigned char>(d[i]);
  const size_t n = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 && c <= 0xDF ? 2 : 0;
  if (n == 0 || i + n > d.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((static_cast<unsigned char>(d[i + k]) & 0xC0) != 0x80) return 0;
  }
  return n;
}

// Text: printable ASCII, whitespace and valid UTF-8 (95 %).
bool MostlyText(std::string_view d) {
  if (d.size() < 12) return false;
  size_t printable = 0;
  for (size_t i = 0; i < d.size();) {
    const unsigned char c = static_cast<unsigned char>(d[i]);
    if ((c >= 0x20 && c < 0x7F) || c == '\n' || c == '\r' || c == '\t') {
      ++printable;
      ++i;
    } else if (const size_t n = c >= 0x80 ? Utf8Sequence(d, i) : 0; n > 0) {
      printable += n;
      i += n;
    } else {
      ++i;
    }
  }
  return printable * 100 >= d.size() * 95;
}

}  // namespace

bool JsonUnescapeView(std::string_view text, DecodedView* out) {
  if (text.find('\\') == std::string_view::npos) return false;
  Reset(out, DecodedView::Kind::kJson, text.size());
  bool any = false;
  std::string bytes;
  const size_t n = text.size();
  for (size_t i = 0; i < n;) {
    // The bytes up to the next backslash as they are.
    const void* at = std::memchr(text.data() + i, '\\', n - i);
    const size_t j = at == nullptr ? n : static_cast<const char*>(at) - text.data();
    EmitSame(out, text, i, j);
    if (j == n) break;
    const size_t len = DecodeEscape(text, j, &bytes);
    if (len > 0) {
      Emit(out, bytes, j, j + len);
      i = j + len;
      any = true;
    } else {
      EmitSame(out, text, j, j + 1);
      i = j + 1;
    }
  }
  return any;
}

bool PercentDecodeView(std::string_view text, DecodedView* out) {
  if (text.find('%') == std::string_view::npos) return false;
  Reset(out, DecodedView::Kind::kPercent, text.size());
  bool any = false;
  const size_t n = text.size();
  for (size_t i = 0; i < n;) {
    const void* at = std::memchr(text.data() + i, '%', n - i);
    const size_t j = at == nullptr ? n : static_cast<const char*>(at) - text.data();
    EmitSame(out, text, i, j);
    if (j == n) break;
    const int h = j + 2 < n ? Hex(text[j + 1]) : -1;
    const int l = j + 2 < n ? Hex(text[j + 2]) : -1;
    if (h >= 0 && l >= 0) {
      const char c = static_cast<char>(h * 16 + l);
      Emit(out, std::string_view(&c, 1), j, j + 3);
      i = j + 3;
      any = true;
    } else {
      EmitSame(out, text, j, j + 1);
      i = j + 1;
    }
  }
  return any;
}

bool Base64TextRun(std::string_view text, size_t i, size_t j, size_t min_len, Base64Run* out) {
  if (j - i < min_len) return false;
  size_t end = j;
  while (end < text.size() && text[end] == '=' && end - j < 2) ++end;
  // The base64 of a text has both cases (a word or an identifier run
  // together is not decoded). Per byte: 1 upper case, 2 lower case.
  static constexpr auto kCase = [] {
    std::array<uint8_t, 256> t{};
    for (int c = 'A'; c <= 'Z'; ++c) t[c] = 1;
    for (int c = 'a'; c <= 'z'; ++c) t[c] = 2;
    return t;
  }();
  unsigned cases = 0;
  for (size_t k = i; k < j && cases != 3; ++k) cases |= kCase[static_cast<unsigned char>(text[k])];
  if (cases != 3) return false;
  // Decoded into a buffer of the thread's; bytes that no text holds (C0
  // controls but white space, DEL, 0xC0 and 0xC1) past the 5 %
  // MostlyText allows end it early: most runs (identifiers, paths) are
  // rejected within their first bytes.
  const size_t total = (j - i) * 6 / 8;
  if (total < 12) return false;
  const size_t allowed = total * 5 / 100;
  thread_local std::string d;
  d.resize(total);
  size_t len = 0, hopeless = 0;
  uint32_t acc = 0;
  int bits = 0;
  for (size_t k = i; k < j; ++k) {
    acc = (acc << 6) | static_cast<uint32_t>(Base64Value(static_cast<unsigned char>(text[k])));
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      const unsigned char c = static_cast<unsigned char>((acc >> bits) & 0xFF);
      d[len++] = static_cast<char>(c);
      const bool never = (c < 0x20 && c != '\n' && c != '\r' && c != '\t') || c == 0x7F ||
                         c == 0xC0 || c == 0xC1;  // (MostlyText reads 0xF5.. as leads)
      if (never && ++hopeless > allowed) return false;
    }
  }
  const std::string_view decoded(d.data(), len);
  if (!MostlyText(decoded)) return false;
  *out = {i, end, std::string(decoded)};
  return true;
}

namespace {

#if defined(__x86_64__) && defined(__GNUC__)
// Bytes of x in [lo, lo + len): unsigned range tests as signed compares.
__attribute__((target("avx2"))) inline __m256i InRange(__m256i x, char lo, int len) {
  const __m256i v = _mm256_sub_epi8(x, _mm256_set1_epi8(static_cast<char>(lo + 128)));
  return _mm256_cmpgt_epi8(_mm256_set1_epi8(static_cast<char>(len - 128)), v);
}
// Base64Mask's tests 32 bytes at a time, where the CPU has AVX2.
__attribute__((target("avx2"))) uint64_t Base64MaskAvx2(const unsigned char* p) {
  uint64_t m = 0;
  for (int q = 0; q < 2; ++q) {
    const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 32 * q));
    __m256i is = InRange(_mm256_or_si256(x, _mm256_set1_epi8(0x20)), 'a', 26);
    is = _mm256_or_si256(is, InRange(x, '0', 10));
    is = _mm256_or_si256(is, _mm256_cmpeq_epi8(x, _mm256_set1_epi8('+')));
    is = _mm256_or_si256(is, _mm256_cmpeq_epi8(x, _mm256_set1_epi8('/')));
    is = _mm256_or_si256(is, _mm256_cmpeq_epi8(x, _mm256_set1_epi8('-')));
    is = _mm256_or_si256(is, _mm256_cmpeq_epi8(x, _mm256_set1_epi8('_')));
    m |= static_cast<uint64_t>(static_cast<uint32_t>(_mm256_movemask_epi8(is))) << (32 * q);
  }
  return m;
}
bool HasAvx2() {
  static const bool avx2 = [] {
    __builtin_cpu_init();  // (safe before other constructors too)
    return __builtin_cpu_supports("avx2") != 0;
  }();
  return avx2;
}
#endif

// Bit k set when text[base + k] is a base64 byte (bytes past the end: 0);
// avx2: HasAvx2(), read once by the caller.
uint64_t Base64Mask(const unsigned char* p, size_t base, size_t n, bool avx2) {
  (void)avx2;  // (x86-64 only)
  uint64_t m = 0;
#if defined(__x86_64__) && defined(__GNUC__)
  if (avx2 && base + 64 <= n) return Base64MaskAvx2(p + base);
#endif
#if defined(__SSE2__)
  if (base + 64 <= n) {
    // Unsigned range tests as signed compares: (c - lo - 128) < (len - 128).
    auto range = [](__m128i x, char lo, int len) {
      const __m128i v = _mm_sub_epi8(x, _mm_set1_epi8(static_cast<char>(lo + 128)));
      return _mm_cmplt_epi8(v, _mm_set1_epi8(static_cast<char>(len - 128)));
    };
    for (int q = 0; q < 4; ++q) {
      const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + base + 16 * q));
      __m128i is = range(_mm_or_si128(x, _mm_set1_epi8(0x20)), 'a', 26);
      is = _mm_or_si128(is, range(x, '0', 10));
      is = _mm_or_si128(is, _mm_cmpeq_epi8(x, _mm_set1_epi8('+')));
      is = _mm_or_si128(is, _mm_cmpeq_epi8(x, _mm_set1_epi8('/')));
      is = _mm_or_si128(is, _mm_cmpeq_epi8(x, _mm_set1_epi8('-')));
      is = _mm_or_si128(is, _mm_cmpeq_epi8(x, _mm_set1_epi8('_')));
      m |= static_cast<uint64_t>(static_cast<uint16_t>(_mm_movemask_epi8(is))) << (16 * q);
    }
    return m;
  }
  if (base < n) {
    // The last bytes, padded with zeros (no base64 byte): the same tests.
    unsigned char last[64] = {};
    std::memcpy(last, p + base, n - base);
    return Base64Mask(last, 0, 64, avx2);
  }
#endif
  const size_t end = std::min(n, base + 64);
  for (size_t i = base; i < end; ++i) m |= static_cast<uint64_t>(kBase64Bytes[p[i]]) << (i - base);
  return m;
}

}  // namespace

void Base64RunStarts(std::string_view text, std::vector<size_t>* starts) {
  // Over each 64 bytes and the 64 before them (w, 128 bits): bit k of
  // a24 is set when bytes k-23..k are all base64; a run reaches 24 bytes
  // where a24 is set and was not at the byte before.
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  uint64_t prev = 0;
#if defined(__x86_64__) && defined(__GNUC__)
  const bool avx2 = HasAvx2();
#else
  const bool avx2 = false;
#endif
  for (size_t base = 0; base < n; base += 64) {
    const uint64_t cur = Base64Mask(p, base, n, avx2);
    if (cur == 0) {
      prev = 0;
      continue;
    }
    // A run of 24 that ends in these 64 bytes starts at bit 41 of w or
    // later and holds two whole aligned bytes of base64 side by side (w's
    // bytes 5 to 15): without such a pair (most text) none ends here.
    // (The test flags every byte that is all base64, and may flag more.)
    auto full = [](uint64_t x) {
      const uint64_t y = ~x;
      return (y - 0x0101010101010101ULL) & ~y & 0x8080808080808080ULL;
    };
    const uint64_t fh = full(cur), fl = full(prev);
    if ((fh & (fh >> 8)) == 0 && ((fl >> 63) & (fh >> 7) & 1) == 0 &&
        (fl & (fl >> 8) & 0x0080800000000000ULL) == 0) {
      prev = cur;
      continue;
    }
    using U128 = unsigned __int128;
    const U128 w = (static_cast<U128>(cur) << 64) | prev;
    const U128 a2 = w & (w << 1);
    const U128 a4 = a2 & (a2 << 2);
    const U128 a8 = a4 & (a4 << 4);
    const U128 a16 = a8 & (a8 << 8);
    const U128 a24 = a16 & (a8 << 16);
    uint64_t reach = static_cast<uint64_t>((a24 & ~(a24 << 1)) >> 64);
    while (reach != 0) {
      const int k = __builtin_ctzll(reach);
      starts->push_back(base + static_cast<size_t>(k) - 23);
      reach &= reach - 1;
    }
    prev = cur;
  }
}

std::vector<Base64Run> FindBase64Text(std::string_view text, size_t min_len) {
  std::vector<Base64Run> runs;
  if (min_len == 24) {
    // The runs long enough found 64 bytes at a time.
    std::vector<size_t> starts;
    Base64RunStarts(text, &starts);
    size_t after = 0;  // where the last decoded run (and its padding) ended
    for (size_t i : starts) {
      if (i < after) continue;
      size_t j = i;
      while (j < text.size() && IsBase64Char(static_cast<unsigned char>(text[j]))) ++j;
      Base64Run run;
      if (Base64TextRun(text, i, j, min_len, &run)) {
        after = run.end;
        runs.push_back(std::move(run));
      }
    }
    return runs;
  }
  for (size_t i = 0; i < text.size();) {
    if (!IsBase64Char(static_cast<unsigned char>(text[i]))) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < text.size() && IsBase64Char(static_cast<unsigned char>(text[j]))) ++j;
    Base64Run run;
    if (Base64TextRun(text, i, j, min_len, &run)) {
      i = run.end;
      runs.push_back(std::move(run));
    } else {
      i = j;
    }
  }
  return runs;
}

void ComposeView(const DecodedView& outer, DecodedView* inner) {
  for (size_t k = 0; k < inner->text.size(); ++k) {
    const size_t b = inner->begin[k] + inner->base;
    const size_t e = inner->end[k] + inner->base;
    inner->begin[k] = static_cast<uint32_t>(outer.MapBegin(b));
    inner->end[k] = static_cast<uint32_t>(outer.MapEnd(e));
  }
  inner->base = 0;
}

}  // namespace agentwatch
