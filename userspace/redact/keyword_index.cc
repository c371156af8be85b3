#include "redact/keyword_index.h"

#include <hs/hs.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <cstring>
#include <queue>

namespace agentwatch {
namespace {

unsigned char Lower(unsigned char c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

std::atomic<uint64_t> g_next_id{1};

// A thread's Hyperscan scratch space, grown for each database it scans
// with (one scan at a time per thread: Hits does not call itself).
struct Scratch {
  hs_scratch_t* space = nullptr;
  uint64_t sized_for = 0;
  ~Scratch() {
    if (space != nullptr) hs_free_scratch(space);
  }
};

int OnMatch(unsigned int id, unsigned long long /*from*/, unsigned long long to,
            unsigned int /*flags*/, void* ctx) {
  static_cast<std::vector<KeywordIndex::Hit>*>(ctx)->push_back({id, static_cast<uint32_t>(to)});
  return 0;
}

}  // namespace

struct KeywordIndex::Database {
  hs_database_t* db = nullptr;
  ~Database() { hs_free_database(db); }
};

KeywordIndex::~KeywordIndex() = default;

KeywordIndex::KeywordIndex(const std::vector<std::string>& keywords,
                           const std::vector<bool>& exact) {
  // The trie, with -1 (as UINT32_MAX) for missing edges.
  constexpr uint32_t kNone = UINT32_MAX;
  std::vector<uint32_t> trie(256, kNone);
  output_.emplace_back();
  for (uint32_t k = 0; k < keywords.size(); ++k) {
    lengths_.push_back(static_cast<uint32_t>(keywords[k].size()));
    const bool upper = std::any_of(keywords[k].begin(), keywords[k].end(),
                                   [](unsigned char c) { return c >= 'A' && c <= 'Z'; });
    const bool written = upper || (k < exact.size() && exact[k]);
    exact_.push_back(written ? keywords[k] : std::string());
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
  // Keywords ending in one state in the order of their numbers.
  for (auto& o : output_) std::sort(o.begin(), o.end());
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
  // The same keywords as one Hyperscan literal database (case-insensitive
  // like the automaton); without it, the automaton scans.
  std::vector<const char*> lits;
  std::vector<size_t> lens;
  std::vector<unsigned> flags, ids;
  for (uint32_t k = 0; k < keywords.size(); ++k) {
    if (keywords[k].empty()) continue;
    lits.push_back(keywords[k].data());
    lens.push_back(keywords[k].size());
    flags.push_back(exact_[k].empty() ? HS_FLAG_CASELESS : 0);
    ids.push_back(k);
  }
  if (lits.empty() || hs_valid_platform() != HS_SUCCESS) return;
  hs_database_t* db = nullptr;
  hs_compile_error_t* err = nullptr;
  if (hs_compile_lit_multi(lits.data(), flags.data(), ids.data(), lens.data(),
                           static_cast<unsigned>(lits.size()), HS_MODE_BLOCK, nullptr, &db,
                           &err) != HS_SUCCESS) {
    hs_free_compile_error(err);
    return;
  }
  db_ = std::make_unique<Database>();
  db_->db = db;
  id_ = g_next_id.fetch_add(1);
}

void KeywordIndex::AutomatonHits(std::string_view text, std::vector<Hit>* hits) const {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  uint32_t s = 0;
  for (size_t i = 0; i < n; ++i) {
    s = Step(s, p[i]);
    if (Final(s)) {
      for (uint32_t k : Ending(s)) {
        // The automaton folds case; an exact keyword is checked here.
        if (!exact_[k].empty() &&
            std::memcmp(p + i + 1 - lengths_[k], exact_[k].data(), lengths_[k]) != 0)
          continue;
        hits->push_back({k, static_cast<uint32_t>(i + 1)});
      }
    }
  }
}

void KeywordIndex::Hits(std::string_view text, std::vector<Hit>* hits) const {
  if (db_ == nullptr || text.size() > UINT_MAX) {
    AutomatonHits(text, hits);
    return;
  }
  thread_local Scratch scratch;
  if (scratch.sized_for != id_) {
    if (hs_alloc_scratch(db_->db, &scratch.space) != HS_SUCCESS) {
      AutomatonHits(text, hits);
      return;
    }
    scratch.sized_for = id_;
  }
  const size_t first = hits->size();
  if (hs_scan(db_->db, text.data(), static_cast<unsigned>(text.size()), 0, scratch.space,
              OnMatch, hits) != HS_SUCCESS) {
    hits->resize(first);
    AutomatonHits(text, hits);
    return;
  }
  // Hyperscan does not promise its order.
  std::sort(hits->begin() + static_cast<std::ptrdiff_t>(first), hits->end(),
            [](const Hit& a, const Hit& b) {
              return a.end != b.end ? a.end < b.end : a.keyword < b.keyword;
            });
}

void KeywordIndex::Scan(std::string_view text,
                        const std::function<void(uint32_t, size_t)>& hit) const {
  std::vector<Hit> hits;
  Hits(text, &hits);
  for (const Hit& h : hits) hit(h.keyword, h.end);
}

void KeywordIndex::Seen(std::string_view text, std::vector<bool>* seen) const {
  seen->assign(lengths_.size(), false);
  Scan(text, [&](uint32_t k, size_t) { (*seen)[k] = true; });
}

bool KeywordIndex::Any(std::string_view text) const {
  std::vector<Hit> hits;
  Hits(text, &hits);
  return !hits.empty();
}

}  // namespace agentwatch
