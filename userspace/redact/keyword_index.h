// Many literal keywords found in one pass over a text, ASCII
// case-insensitive: an Aho-Corasick automaton compiled to a dense
// transition table (one lookup per byte), the prefilter that decides which
// redaction rules a text needs at all.
#ifndef AGENTWATCH_REDACT_KEYWORD_INDEX_H_
#define AGENTWATCH_REDACT_KEYWORD_INDEX_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace agentwatch {

class KeywordIndex {
 public:
  // Keyword i is reported as i; duplicates are allowed (each reported).
  explicit KeywordIndex(const std::vector<std::string>& keywords);

  // Calls hit(keyword, end offset) for every occurrence, in text order.
  void Scan(std::string_view text,
            const std::function<void(uint32_t keyword, size_t end)>& hit) const;
  // Marks seen[i] for every keyword that occurs (seen sized to keywords).
  void Seen(std::string_view text, std::vector<bool>* seen) const;
  // Whether any keyword occurs.
  bool Any(std::string_view text) const;

  size_t size() const { return lengths_.size(); }
  uint32_t length(uint32_t keyword) const { return lengths_[keyword]; }

 private:
  std::vector<uint32_t> next_;                 // state * 256 + byte -> state
  std::vector<std::vector<uint32_t>> output_;  // state -> keywords ending here
  std::vector<uint32_t> lengths_;
};

}  // namespace agentwatch

#endif  // AGENTWATCH_REDACT_KEYWORD_INDEX_H_
