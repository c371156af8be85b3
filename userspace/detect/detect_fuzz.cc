// Fuzzes what detection reads from outside: local rule files (over the
// built-in pack), and captured text through the detectors (markers,
// invisible Unicode, encoded runs, DNS labels), the redactor and the
// posture scanners (an environment, a command line, an MCP configuration
// file). The first byte picks which.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/text.h"
#include "detect/engine.h"
#include "detect/posture.h"
#include "detect/rules.h"
#include "detect/signals.h"
#include "detect/text_view.h"
#include "redact/redact.h"

namespace {

const agentwatch::RuleSet& Builtin() {
  static const agentwatch::RuleSet set = [] {
    agentwatch::RuleSet s;
    if (!agentwatch::LoadRules("", &s).empty()) __builtin_trap();
    return s;
  }();
  return set;
}

const agentwatch::Detectors& Compiled() {
  static const agentwatch::Detectors* d = [] {
    auto* x = new agentwatch::Detectors();
    if (!x->Compile(Builtin().lists).empty()) __builtin_trap();
    return x;
  }();
  return *d;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
  if (data[0] % 2 == 0) {
    // A rule file: accepted or rejected with a reason; a rejected file
    // leaves the set as it was.
    agentwatch::RuleSet set = Builtin();
    const size_t before = set.rules.size();
    std::string e = agentwatch::ApplyRulesYaml(text, "fuzz.yaml", &set);
    if (!e.empty() && set.rules.size() != before) __builtin_trap();
    if (e.empty()) {
      agentwatch::Engine engine;
      engine.SetRules(set);  // may refuse bad lists, never crash
    }
    return 0;
  }
  std::string reason, excerpt, label;
  Compiled().ScanText(text, &reason, &excerpt);
  // The text detector's other inputs: the text as a definition object and
  // as a prompts/resources listing; and the normalised view itself, whose
  // segments are bounded by what it read.
  {
    std::vector<agentwatch::TextField> fields;
    agentwatch::DefinitionFields(text, "f", &fields);
    agentwatch::v1::McpTool t;
    t.set_description(text);
    t.set_input_schema(text);
    std::vector<agentwatch::Signal> sigs;
    Compiled().Tool(t, &sigs, [](std::string_view n) { return n.size() % 2 == 0; });
    std::string item;
    agentwatch::TextScorer::Verdict v;
    Compiled().ScanDefinitionList("prompts/list", text, &item, &v);
    const agentwatch::TextView view = agentwatch::ViewText(text);
    size_t total = 0;
    for (const auto& seg : view.segments) total += seg.text.size();
    // Every segment comes from the input (decoded runs are shorter than
    // their text; folding grows a byte by at most a small factor).
    if (total > 64 * (text.size() + 16)) __builtin_trap();
  }
  agentwatch::Detectors::EncodedBlob(text, 48, &excerpt);
  agentwatch::Detectors::EncodedLabel(text, &label);
  const std::string r = agentwatch::Redact(text, 256);
  // Bounded: the preview plus the "…[+N bytes]" note.
  if (r.size() > 256 + 32) __builtin_trap();
  // Posture: a finding's name is identifier characters, a mask or a
  // placeholder of the scanner's own (never raw bytes of the input that
  // could be a value), its fingerprint 6 hex digits.
  const auto redactor = agentwatch::DefaultRedactor();
  std::vector<agentwatch::PostureFinding> found = agentwatch::ScanMcpConfig(*redactor, "f", text);
  for (auto& f : agentwatch::ScanEnvironment(*redactor, text)) found.push_back(std::move(f));
  for (auto& f : agentwatch::ScanArguments(*redactor, agentwatch::SplitNul(text)))
    found.push_back(std::move(f));
  for (const auto& f : found) {
    for (char c : f.name) {
      if (c == '\n' || c == '\r' || c == '"' || c == '\\' || c == '\0') __builtin_trap();
    }
    if (f.fingerprint.size() != 6 ||
        f.fingerprint.find_first_not_of("0123456789abcdef") != std::string::npos)
      __builtin_trap();
  }
  return 0;
}
