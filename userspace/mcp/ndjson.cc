#include "mcp/ndjson.h"

namespace agentwatch {

void NdjsonFramer::Emit(std::string_view line,
                        const std::function<void(const Frame&)>& out) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.find_first_not_of(" \t") == std::string_view::npos) {
    ++counters_.empty_lines;
    return;
  }
  ++counters_.frames;
  out(Frame{line});
}

void NdjsonFramer::Feed(std::string_view data,
                        const std::function<void(const Frame&)>& out) {
  while (!data.empty()) {
    if (state_ == State::kAfterGap) {
      // Writers put whole messages in one write, so a gap (a write cut at
      // the capture limit, lost records) usually ends where a message
      // starts. If it does not, the bytes up to the next '\n' make one
      // invalid frame, as skipping would have lost them anyway.
      state_ = data[0] == '{' || data[0] == '[' ? State::kInLine : State::kSkipping;
    }
    size_t nl = data.find('\n');
    if (state_ == State::kSkipping) {
      if (nl == std::string_view::npos) {
        counters_.skipped_bytes += data.size();
        return;
      }
      counters_.skipped_bytes += nl + 1;
      data.remove_prefix(nl + 1);
      state_ = State::kInLine;
      continue;
    }
    if (nl == std::string_view::npos) {
      if (partial_.size() + data.size() > max_line_) {
        ++counters_.oversize;
        counters_.skipped_bytes += partial_.size() + data.size();
        partial_.clear();
        state_ = State::kSkipping;
        return;
      }
      partial_.append(data);
      return;
    }
    std::string_view head = data.substr(0, nl);
    if (partial_.size() + head.size() > max_line_) {
      ++counters_.oversize;
      counters_.skipped_bytes += partial_.size() + head.size() + 1;
      partial_.clear();
    } else if (partial_.empty()) {
      Emit(head, out);  // the common case: no copy
    } else {
      partial_.append(head);
      Emit(partial_, out);
      partial_.clear();
    }
    data.remove_prefix(nl + 1);
  }
}

void NdjsonFramer::Gap() {
  if (!partial_.empty()) {
    ++counters_.gaps;
    counters_.skipped_bytes += partial_.size();
    partial_.clear();
  }
  // Whatever follows the gap may be the middle of a line: a new frame if
  // it opens JSON, else resynchronise at the next newline.
  state_ = State::kAfterGap;
}

}  // namespace agentwatch
