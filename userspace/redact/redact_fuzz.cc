// Fuzzes the redactor over arbitrary bytes: it never crashes, is
// idempotent (a redacted text redacts to itself), and never lets a secret
// it found through: no finding's value is left in the output outside the
// masks.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "redact/redactor.h"

namespace {

// s with every well-formed mask taken out (a bare prefix hides nothing).
std::string WithoutMasks(const std::string& s) {
  std::string out;
  size_t pos = 0;
  for (size_t at = s.find(agentwatch::kRedactedPrefix); at != std::string::npos;
       at = s.find(agentwatch::kRedactedPrefix, at + 1)) {
    if (at < pos) continue;
    const size_t end = agentwatch::MaskEnd(s, at);
    if (end == 0) continue;
    out.append(s, pos, at - pos);
    out += '\x01';  // joins nothing across the cut
    pos = end;
  }
  out.append(s, pos, std::string::npos);
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
  const std::string bare = WithoutMasks(once);
  for (const auto& f : r->Find(in)) {
    if (f.value.size() >= 12 && bare.find(f.value) != std::string::npos) abort();
  }
  const std::string cut = r->Redact(in, 64);
  (void)cut;
  return 0;
}
