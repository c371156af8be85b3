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
  // The same, inlined (the redactor's hot loop).
  template <typename Hit>
  void ForEach(std::string_view text, const Hit& hit) const {
    uint32_t s = 0;
    const auto* p = reinterpret_cast<const unsigned char*>(text.data());
    const size_t n = text.size();
    for (size_t i = 0; i < n; ++i) {
      s = next_[s * classes_ + class_[p[i]]];
      if (final_[s]) {
        for (uint32_t k : output_[s]) hit(k, i + 1);
      }
    }
  }
  // Whether byte c occurs in some keyword (either case).
  bool InAlphabet(unsigned char c) const { return class_[c] != 0; }
  // Marks seen[i] for every keyword that occurs (seen sized to keywords).
  void Seen(std::string_view text, std::vector<bool>* seen) const;
  // Whether any keyword occurs.
  bool Any(std::string_view text) const;

  size_t size() const { return lengths_.size(); }
  uint32_t length(uint32_t keyword) const { return lengths_[keyword]; }

 private:
  // Bytes that occur in no keyword share class 0, so the table is states x
  // classes (small enough to stay in cache), not states x 256.
  uint8_t class_[256] = {};
  uint32_t classes_ = 1;
  std::vector<uint32_t> next_;                 // state * classes_ + class -> state
  std::vector<std::vector<uint32_t>> output_;  // state -> keywords ending here
  std::vector<uint8_t> final_;                 // state -> whether output_ is not empty
  std::vector<uint32_t> lengths_;
};

}  // namespace agentwatch

#endif  // AGENTWATCH_REDACT_KEYWORD_INDEX_H_
