#include "redact/keyword_index.h"

#include <queue>

namespace agentwatch {
namespace {

unsigned char Lower(unsigned char c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

}  // namespace

KeywordIndex::KeywordIndex(const std::vector<std::string>& keywords) {
  // The trie, with -1 (as UINT32_MAX) for missing edges.
  constexpr uint32_t kNone = UINT32_MAX;
  std::vector<uint32_t> trie(256, kNone);
  output_.emplace_back();
  for (uint32_t k = 0; k < keywords.size(); ++k) {
    lengths_.push_back(static_cast<uint32_t>(keywords[k].size()));
    if (keywords[k].empty()) continue;
    uint32_t s = 0;
    for (unsigned char c : keywords[k]) {
      c = Lower(c);
      if (trie[s * 256 + c] == kNone) {
        trie[s * 256 + c] = static_cast<uint32_t>(output_.size());
        output_.emplace_back();
        trie.resize(trie.size() + 256, kNone);
      }
      s = trie[s * 256 + c];
    }
    output_[s].push_back(k);
  }
  // Failure links by breadth-first order, folded into a full table.
  const size_t states = output_.size();
  std::vector<uint32_t> fail(states, 0);
  next_.assign(states * 256, 0);
  std::queue<uint32_t> q;
  for (int c = 0; c < 256; ++c) {
    const uint32_t t = trie[c];
    if (t != kNone) {
      next_[c] = t;
      q.push(t);
    }
  }
  while (!q.empty()) {
    const uint32_t s = q.front();
    q.pop();
    const auto& out_f = output_[fail[s]];
    output_[s].insert(output_[s].end(), out_f.begin(), out_f.end());
    for (int c = 0; c < 256; ++c) {
      const uint32_t t = trie[s * 256 + c];
      if (t != kNone) {
        fail[t] = next_[fail[s] * 256 + c];
        next_[s * 256 + c] = t;
        q.push(t);
      } else {
        next_[s * 256 + c] = next_[fail[s] * 256 + c];
      }
    }
  }
  // Upper-case bytes go where their lower case goes.
  for (size_t s = 0; s < states; ++s) {
    for (int c = 'A'; c <= 'Z'; ++c) next_[s * 256 + c] = next_[s * 256 + c + 32];
  }
  // Byte classes: each byte that occurs in a keyword (either case) its own
  // class; all others behave alike (they only ever lead back towards the
  // root), so they share class 0.
  bool used[256] = {};
  for (const auto& k : keywords) {
    for (unsigned char c : k) used[Lower(c)] = true;
  }
  for (int c = 0; c < 256; ++c) {
    if (used[Lower(static_cast<unsigned char>(c))] && c == Lower(static_cast<unsigned char>(c)))
      class_[c] = static_cast<uint8_t>(classes_++);
  }
  for (int c = 'A'; c <= 'Z'; ++c) class_[c] = class_[c + 32];
  // A byte of class 0: pick one such byte to read its transitions.
  int other = -1;
  for (int c = 0; c < 256 && other < 0; ++c) {
    if (class_[c] == 0) other = c;
  }
  // Rows of a power-of-two width, 16-bit entries: the state's number with
  // kFinal set when keywords end there (the rows the text keeps visiting
  // stay in the first-level cache).
  while ((1u << shift_) < classes_) ++shift_;
  table_.assign(states << shift_, 0);
  for (size_t s = 0; s < states; ++s) {
    for (int c = 0; c < 256; ++c) {
      if (class_[c] != 0 || c == other) {
        const uint32_t target = next_[s * 256 + c];
        table_[(s << shift_) | class_[c]] =
            static_cast<uint16_t>(target | (output_[target].empty() ? 0 : kFinal));
      }
    }
  }
  next_.clear();
  next_.shrink_to_fit();
}

void KeywordIndex::Scan(std::string_view text,
                        const std::function<void(uint32_t, size_t)>& hit) const {
  ForEach(text, hit);
}

void KeywordIndex::Seen(std::string_view text, std::vector<bool>* seen) const {
  seen->assign(lengths_.size(), false);
  ForEach(text, [&](uint32_t k, size_t) { (*seen)[k] = true; });
}

bool KeywordIndex::Any(std::string_view text) const {
  uint32_t s = 0;
  for (unsigned char c : text) {
    s = Step(s, c);
    if (Final(s)) return true;
  }
  return false;
}

}  // namespace agentwatch
