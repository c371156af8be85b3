// Fuzzes the redactor over arbitrary bytes: it never crashes, is
// idempotent (a redacted text redacts to itself), and never lets a secret
// it found through: no finding's value is left in the output outside the
// masks.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "redact/redactor.h"

namespace {

// The pieces of s between its well-formed masks (a bare prefix hides
// nothing): a value must not be found in any of them.
std::vector<std::string> OutsideMasks(const std::string& s) {
  std::vector<std::string> out;
  size_t pos = 0;
  for (size_t at = s.find(agentwatch::kRedactedPrefix); at != std::string::npos;
       at = s.find(agentwatch::kRedactedPrefix, at + 1)) {
    if (at < pos) continue;
    const size_t end = agentwatch::MaskEnd(s, at);
    if (end == 0) continue;
    out.emplace_back(s, pos, at - pos);
    pos = end;
  }
  out.emplace_back(s, pos, std::string::npos);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto r = agentwatch::DefaultRedactor();
  const std::string in(reinterpret_cast<const char*>(data), size);
  const std::string once = r->Redact(in);
  if (r->Redact(once) != once) abort();
  // Outside the masks: a mask that was in the input already is kept as it
  // is, and what it spells may equal a value found elsewhere.
  const std::vector<std::string> bare = OutsideMasks(once);
  for (const auto& f : r->Find(in)) {
    if (f.value.size() < 12) continue;
    for (const std::string& piece : bare) {
      if (piece.find(f.value) != std::string::npos) abort();
    }
  }
  const std::string cut = r->Redact(in, 64);
  (void)cut;
  return 0;
}
