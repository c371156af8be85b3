// Fuzzes the redactor over arbitrary bytes: it never crashes, is
// idempotent (a redacted text redacts to itself, scanned by a second
// redactor with the same catalogue and key), and never lets a secret
// it found through: no finding's value is left in the output outside the
// masks.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "redact/catalogue.h"
#include "redact/redactor.h"

namespace {

// The built-in catalogue with one key, compiled once per call site: the
// second pass must not be the redactor that wrote the text (it remembers
// what it wrote and hands it back unscanned).
std::shared_ptr<const agentwatch::Redactor> Builtin() {
  agentwatch::SecretCatalogue cat;
  agentwatch::ParseSecretCatalogue(agentwatch::BuiltinSecretsYaml(), "builtin", &cat);
  std::string err;
  auto r = agentwatch::Redactor::Compile(cat, "fuzz-key", &err);
  if (r == nullptr) abort();
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto r = Builtin();
  static const auto fresh = Builtin();
  const std::string in(reinterpret_cast<const char*>(data), size);
  const std::string once = r->Redact(in);
  if (fresh->Redact(once) != once) abort();
  // Outside the masks: a mask that was in the input already is kept as it
  // is, and what it spells may equal a value found elsewhere.
  const auto masks = agentwatch::MaskRanges(once);
  for (const auto& f : r->Find(in)) {
    if (f.value.size() < 12) continue;
    size_t pos = 0;
    for (size_t i = 0; i <= masks.size(); ++i) {
      const size_t end = i < masks.size() ? masks[i].first : once.size();
      if (std::string_view(once).substr(pos, end - pos).find(f.value) != std::string_view::npos)
        abort();
      if (i < masks.size()) pos = masks[i].second;
    }
  }
  const std::string cut = r->Redact(in, 64);
  (void)cut;
  return 0;
}
