// What the redactor remembers per thread so that a text seen again is not
// scanned again: the findings of the last texts scanned, the texts it just
// wrote, and short fields of published events found clean.
#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "redact/redactor.h"

namespace agentwatch {

namespace {

// The findings (none, for most) of the last texts this thread scanned: the
// same text is often redacted twice in a row (a result as the message's
// preview and as the call's), and scanning is the cost. A copy of each text is kept and
// compared whole (no hash an input could be made to collide with).
struct Memo {
  uint64_t redactor = 0;  // Redactor::id_ (never reused, unlike an address)
  std::string text;
  std::vector<Redactor::Finding> found;
};
constexpr size_t kMemoSlots = 16;
constexpr size_t kMemoMin = 256;         // shorter texts are cheaper to scan than to keep
constexpr size_t kMemoMax = 1024 * 1024;  // longer ones are not kept

// Short texts this thread's redactor scanned and found nothing in:
// published events are mostly short fields that repeat (a process's exe,
// cwd and cgroup in every event of it, ids, names), and a look-up costs
// less than a scan. Kept whole and compared whole (the hash only picks the
// bucket: no text an input could be made to collide with); each counts its
// bytes and kCleanEntry, the oldest dropped first past kCleanBytes.
constexpr size_t kCleanMin = 5;
constexpr size_t kCleanMaxText = 256;
constexpr size_t kCleanEntry = 64;
constexpr size_t kCleanBytes = 4 * 1024 * 1024;

struct TextHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

class CleanTexts {
 public:
  bool Has(uint64_t redactor, std::string_view t) const {
    return redactor == redactor_ && texts_.find(t) != texts_.end();
  }
  void Add(uint64_t redactor, std::string_view t) {
    if (t.size() < kCleanMin || t.size() > kCleanMaxText) return;
    if (redactor != redactor_) {
      texts_.clear();
      order_.clear();
      bytes_ = 0;
      redactor_ = redactor;
    }
    const auto [it, added] = texts_.emplace(t);
    if (!added) return;
    order_.push_back(*it);  // set nodes do not move
    bytes_ += t.size() + kCleanEntry;
    while (bytes_ > kCleanBytes && !order_.empty()) {
      bytes_ -= order_.front().size() + kCleanEntry;
      texts_.erase(texts_.find(order_.front()));
      order_.pop_front();
    }
  }

 private:
  uint64_t redactor_ = 0;
  std::unordered_set<std::string, TextHash, std::equal_to<>> texts_;
  std::deque<std::string_view> order_;
  size_t bytes_ = 0;
};
thread_local CleanTexts g_clean;

// The last texts this thread's redactor wrote (a preview, a field): a
// redacted text redacts to itself (the fuzz target checks it), so one
// seen again (the same result in the call, its chain entry, the published
// event) has nothing left to find.
struct Written {
  uint64_t redactor = 0;
  std::string text;
};
constexpr size_t kWrittenSlots = 16;
constexpr size_t kWrittenMin = 32;
thread_local std::array<Written, kWrittenSlots> g_written;
thread_local size_t g_written_next = 0;

}  // namespace

void Redactor::NoteClean(std::string_view out) const {
  if (out.size() < kWrittenMin || out.size() > kMemoMax) return;
  Written& w = g_written[g_written_next++ % kWrittenSlots];
  w.redactor = id_;
  w.text.assign(out);
}

std::vector<Redactor::Finding> Redactor::Find(std::string_view text) const {
  return Find(text, false);
}

std::vector<Redactor::Finding> Redactor::Find(std::string_view text, bool keep_clean) const {
  thread_local std::array<Memo, kMemoSlots> memo;
  thread_local size_t next = 0;
  if (text.size() >= kWrittenMin) {
    for (const Written& w : g_written) {
      if (w.redactor == id_ && w.text.size() == text.size() && w.text == text) return {};
    }
  }
  if (text.size() >= kCleanMin && text.size() <= kCleanMaxText && g_clean.Has(id_, text)) return {};
  const bool keep = text.size() >= kMemoMin && text.size() <= kMemoMax;
  if (keep) {
    for (const Memo& m : memo) {
      if (m.redactor == id_ && m.text == text) return m.found;
    }
  }
  std::vector<Finding> f;
  thread_local Ranges masks;  // (Find does not call itself)
  FindIn(text, &f, nullptr, nullptr, &masks);
  f = Clean(text, std::move(f), &masks);
  if (f.empty() && keep_clean) g_clean.Add(id_, text);
  // Clean texts too: a result is redacted for the call and for the
  // message, each cut to its own length, so both scan it whole.
  if (keep) {
    Memo& m = memo[next++ % kMemoSlots];
    m.redactor = id_;
    m.text.assign(text);
    m.found = f;
  }
  return f;
}

}  // namespace agentwatch
