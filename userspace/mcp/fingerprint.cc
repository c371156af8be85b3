#include "mcp/fingerprint.h"

#include <algorithm>
#include <cctype>

#include <simdjson.h>

#include "common/text.h"

namespace agentwatch {
namespace {

// Lowercase letters and digits pass; every run of anything else becomes
// one space (so formatting, quoting and escaping do not matter). A JSON
// escape left in text (JSON held in a string, as server-memory returns its
// graph) is a separator too: "a\nb" reads as "a b" on both sides of a flow.
void Normalize(std::string_view in, std::string* out) {
  bool sep = !out->empty() && out->back() == ' ';
  for (size_t i = 0; i < in.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(in[i]);
    if (c == '\\' && i + 1 < in.size()) {
      const char e = in[i + 1];
      if (e == 'u' && i + 5 < in.size() && std::isxdigit(static_cast<unsigned char>(in[i + 2])) &&
          std::isxdigit(static_cast<unsigned char>(in[i + 3])) &&
          std::isxdigit(static_cast<unsigned char>(in[i + 4])) &&
          std::isxdigit(static_cast<unsigned char>(in[i + 5]))) {
        i += 5;
      } else if (e == 'n' || e == 't' || e == 'r' || e == 'b' || e == 'f' || e == '"' ||
                 e == '\\' || e == '/') {
        ++i;
      }
      if (!sep) {
        out->push_back(' ');
        sep = true;
      }
      continue;
    }
    if (std::isalnum(c) || c >= 0x80) {
      out->push_back(static_cast<char>(std::tolower(c)));
      sep = false;
    } else if (!sep) {
      out->push_back(' ');
      sep = true;
    }
  }
  if (!sep) out->push_back(' ');
}

void Strings(simdjson::dom::element e, int depth, std::string* out) {
  if (depth > 64) return;
  switch (e.type()) {
    case simdjson::dom::element_type::STRING:
      out->append(std::string_view(e));
      out->push_back('\n');
      break;
    case simdjson::dom::element_type::ARRAY:
      for (auto v : simdjson::dom::array(e)) Strings(v, depth + 1, out);
      break;
    case simdjson::dom::element_type::OBJECT:
      for (auto f : simdjson::dom::object(e)) Strings(f.value, depth + 1, out);
      break;
    default:
      break;
  }
}


// Decodes runs of 24+ base64 characters (standard or URL alphabet).
void DecodeBase64Runs(std::string_view s, std::string* out) {
  size_t i = 0;
  while (i < s.size()) {
    size_t j = i;
    while (j < s.size() && Base64Value(static_cast<unsigned char>(s[j])) >= 0) ++j;
    if (j - i >= 24) {
      uint32_t acc = 0;
      int bits = 0;
      for (size_t k = i; k < j; ++k) {
        acc = (acc << 6) | static_cast<uint32_t>(Base64Value(static_cast<unsigned char>(s[k])));
        bits += 6;
        if (bits >= 8) {
          bits -= 8;
          out->push_back(static_cast<char>((acc >> bits) & 0xff));
        }
      }
      out->push_back('\n');
    }
    i = j + 1;
  }
}

int Hex(unsigned char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void DecodePercent(std::string_view s, std::string* out) {
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && Hex(s[i + 1]) >= 0 && Hex(s[i + 2]) >= 0) {
      out->push_back(static_cast<char>(Hex(s[i + 1]) * 16 + Hex(s[i + 2])));
      i += 2;
    } else if (s[i] == '+') {
      out->push_back(' ');
    } else {
      out->push_back(s[i]);
    }
  }
  out->push_back('\n');
}

uint64_t Mix(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 33;
  return h;
}

}  // namespace

std::string JsonStringValues(std::string_view json_or_text, size_t max) {
  std::string raw;
  thread_local simdjson::dom::parser parser;  // reused: no allocation per call
  simdjson::dom::element root;
  if (parser.parse(json_or_text.data(), json_or_text.size()).get(root) == simdjson::SUCCESS) {
    Strings(root, 0, &raw);
  } else {
    raw.assign(json_or_text.substr(0, max));
  }
  if (raw.size() > max) raw.resize(max);
  return raw;
}

std::string NormalizedText(std::string_view raw) {
  std::string decoded;
  if (raw.find('%') != std::string_view::npos) DecodePercent(raw, &decoded);
  DecodeBase64Runs(raw, &decoded);
  std::string out;
  out.reserve(raw.size() + decoded.size());
  Normalize(raw, &out);
  Normalize(decoded, &out);
  return out;
}

std::string FingerprintText(std::string_view json_or_text) {
  return NormalizedText(JsonStringValues(json_or_text, json_or_text.size()));
}

std::vector<uint64_t> Fingerprints(std::string_view s, size_t max_out) {
  std::vector<uint64_t> out;
  if (s.size() < kFingerprintGram) return out;
  // Polynomial rolling hash of each k-gram, mixed.
  constexpr uint64_t kBase = 1099511628211ull;
  uint64_t pow = 1;
  for (size_t i = 1; i < kFingerprintGram; ++i) pow *= kBase;
  uint64_t h = 0;
  std::vector<uint64_t> grams;
  grams.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (i >= kFingerprintGram)
      h -= pow * static_cast<unsigned char>(s[i - kFingerprintGram]);
    h = h * kBase + static_cast<unsigned char>(s[i]);
    if (i + 1 >= kFingerprintGram) grams.push_back(Mix(h));
  }
  // Winnowing: the minimum of each window (rightmost on ties).
  size_t last = SIZE_MAX;
  for (size_t w = 0; w + kFingerprintWindow <= grams.size() ||
                     (w == 0 && !grams.empty());
       ++w) {
    const size_t end = std::min(grams.size(), w + kFingerprintWindow);
    size_t m = w;
    for (size_t i = w; i < end; ++i) {
      if (grams[i] <= grams[m]) m = i;
    }
    if (m != last) {
      out.push_back(grams[m]);
      last = m;
    }
    if (end == grams.size()) break;
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  if (out.size() > max_out) out.resize(max_out);
  return out;
}

size_t SharedFingerprints(const std::vector<uint64_t>& a,
                          const std::vector<uint64_t>& b) {
  size_t n = 0;
  auto i = a.begin(), j = b.begin();
  while (i != a.end() && j != b.end()) {
    if (*i < *j) {
      ++i;
    } else if (*j < *i) {
      ++j;
    } else {
      ++n;
      ++i;
      ++j;
    }
  }
  return n;
}

}  // namespace agentwatch
