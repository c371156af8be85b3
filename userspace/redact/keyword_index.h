// Many literal keywords found in one pass over a text, ASCII
// case-insensitive (a keyword written with an upper-case letter in that
// case only): the prefilter that decides which redaction rules a
// text needs at all. Scanned by a Hyperscan (vectorscan) literal database
// (many bytes per step); an Aho-Corasick automaton compiled to a dense
// transition table (one lookup per byte) is the fallback where Hyperscan
// cannot run (a CPU it does not support, a database it cannot build, a
// text over 4 GiB) and the reference the tests compare it with.
#ifndef AGENTWATCH_REDACT_KEYWORD_INDEX_H_
#define AGENTWATCH_REDACT_KEYWORD_INDEX_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace agentwatch {

class KeywordIndex {
 public:
  // Keyword i is reported as i; duplicates are allowed (each reported).
  // A keyword with an upper-case letter (AC, SK, EAA: formats whose
  // prefix has a fixed case), or with exact[i] set, matches in exactly
  // the case written.
  explicit KeywordIndex(const std::vector<std::string>& keywords,
                        const std::vector<bool>& exact = {});
  ~KeywordIndex();
  KeywordIndex(const KeywordIndex&) = delete;
  KeywordIndex& operator=(const KeywordIndex&) = delete;

  // An occurrence: the keyword and the offset where it ends.
  struct Hit {
    uint32_t keyword;
    uint32_t end;
    bool operator==(const Hit& o) const { return keyword == o.keyword && end == o.end; }
  };
  // Every occurrence, appended to *hits in order of their ends (keywords
  // ending at one offset in the order of their numbers).
  void Hits(std::string_view text, std::vector<Hit>* hits) const;
  // The same with the automaton alone (the fallback, and the reference).
  void AutomatonHits(std::string_view text, std::vector<Hit>* hits) const;
  // Calls hit(keyword, end offset) for every occurrence, in text order.
  void Scan(std::string_view text,
            const std::function<void(uint32_t keyword, size_t end)>& hit) const;
  // Whether texts are scanned by Hyperscan (else by the automaton).
  bool accelerated() const { return db_ != nullptr; }
  // The most states a KeywordIndex can have (keywords' total length).
  static constexpr size_t kMaxStates = 0x7FFF;

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
  std::vector<uint32_t> next_;                 // while building: state * 256 + byte -> state
  std::vector<std::vector<uint32_t>> output_;  // state -> keywords ending here
  static constexpr uint32_t kFinal = 0x8000u;
  uint32_t Step(uint32_t s, unsigned char c) const {
    return table_[((s & ~kFinal) << shift_) | class_[c]];
  }
  static bool Final(uint32_t s) { return (s & kFinal) != 0; }
  const std::vector<uint32_t>& Ending(uint32_t s) const { return output_[s & ~kFinal]; }
  uint32_t shift_ = 0;
  std::vector<uint16_t> table_;  // (state << shift_) | class -> state | kFinal
  std::vector<uint32_t> lengths_;
  std::vector<std::string> exact_;  // per keyword: its text when matched in its case only
  struct Database;  // the Hyperscan database, when it could be built
  std::unique_ptr<Database> db_;
  uint64_t id_ = 0;  // which database a thread's scratch space was sized for
};

}  // namespace agentwatch

#endif  // AGENTWATCH_REDACT_KEYWORD_INDEX_H_
