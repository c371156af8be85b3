// The scored text detector: tool poisoning, shadowing and injected content
// judged by features over normalised text (detect/text_view.h), not by
// single regex hits. A sentence fires the features whose patterns it
// matches; a window of consecutive sentences scores the weights of its
// distinct features, a text its best window plus its channel features
// (hidden characters, and hidden markup holding the window). The features,
// their weights and the thresholds are rule data (`text_scoring:` in the
// rule pack, detect/rules.h). Pure once compiled; thread-safe to use.
#ifndef AGENTWATCH_DETECT_TEXT_SCORE_H_
#define AGENTWATCH_DETECT_TEXT_SCORE_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "agentwatch/v1/agentwatch.pb.h"
#include "detect/rules.h"

namespace re2 {
class RE2;
}

namespace agentwatch {

// One text of a definition a model reads, and where it is
// ("inputSchema.properties.path.description").
struct TextField {
  std::string path;
  std::string text;
};

// Every text of a definition object as listed (a tool, prompt, resource or
// resource template, JSON text), prefix naming where it sits: string
// values anywhere in it but identifiers (name, uri, mimeType, type,
// format, pattern, $ref, $schema, required). Property names of a schema
// are kept in the path, not scanned. Non-JSON input is one field.
void DefinitionFields(std::string_view json, std::string_view prefix,
                      std::vector<TextField>* out);
// The texts of a listed tool: title, description, and the fields of its
// schemas and annotations.
void ToolFields(const v1::McpTool& tool, std::vector<TextField>* out);

class TextScorer {
 public:
  enum class Kind { kDefinition, kResult };

  struct Verdict {
    double score = 0;
    bool flagged = false;
    std::string field;                  // ScoreFields: the field
    std::vector<std::string> features;  // channel features, then the window's
    std::string channel;                // the window's hidden channel, or ""
    std::string excerpt;                // the window, normalised, redacted
    // "instructions to the model in description (score 6.5: override,
    // concealment)"
    std::string Reason() const;
  };

  TextScorer();
  ~TextScorer();
  TextScorer(TextScorer&&) noexcept;
  TextScorer& operator=(TextScorer&&) noexcept;

  // Compiles the features. Returns "" or the error (naming the feature and
  // the pattern).
  std::string Compile(const TextScoring& scoring);
  bool compiled() const;

  Verdict Score(std::string_view text, Kind kind) const;
  // A definition: its best-scoring field.
  Verdict ScoreFields(const std::vector<TextField>& fields) const;
  // Adds a channel feature found outside the text (other_server_tool: the
  // engine saw the name of another server's tool in it) to v, and judges
  // it again.
  void AddFeature(const std::string& name, Kind kind, Verdict* v) const;

 private:
  // What of a long text is read: its start and its end. Bounded because an
  // adversarial text costs about 7 ms per KiB to score.
  static constexpr size_t kHead = 96u << 10;
  static constexpr size_t kTail = 32u << 10;
  Verdict ScoreBounded(std::string_view text, Kind kind) const;
  struct Compiled;
  std::unique_ptr<Compiled> c_;
};

}  // namespace agentwatch

#endif  // AGENTWATCH_DETECT_TEXT_SCORE_H_
