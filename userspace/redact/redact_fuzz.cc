// Fuzzes the redactor over arbitrary bytes: it never crashes, is
// idempotent (a redacted text redacts to itself), and never lets a secret
// it found through: no finding's value is left in the output.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "redact/redactor.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto r = agentwatch::DefaultRedactor();
  const std::string in(reinterpret_cast<const char*>(data), size);
  const std::string once = r->Redact(in);
  if (r->Redact(once) != once) abort();
  for (const auto& f : r->Find(in)) {
    if (f.value.size() >= 12 && once.find(f.value) != std::string::npos) abort();
  }
  const std::string cut = r->Redact(in, 64);
  (void)cut;
  return 0;
}
