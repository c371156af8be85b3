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
        // Over the bound: its head is what there is of it.
        ++counters_.oversize;
        const size_t keep = max_line_ - partial_.size();
        partial_.append(data.substr(0, keep));
        counters_.skipped_bytes += data.size() - keep;
        EmitCut(out);
        state_ = State::kSkipping;
        return;
      }
      partial_.append(data);
      return;
    }
    std::string_view head = data.substr(0, nl);
    if (partial_.size() + head.size() > max_line_) {
      ++counters_.oversize;
      partial_.append(head.substr(0, max_line_ - partial_.size()));
      counters_.skipped_bytes += head.size() + 1;
      EmitCut(out);
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

void NdjsonFramer::EmitCut(const std::function<void(const Frame&)>& out) {
  const std::string_view line = partial_;
  const size_t start = line.find_first_not_of(" \t");
  if (start != std::string_view::npos && (line[start] == '{' || line[start] == '[')) {
    ++counters_.frames;
    ++counters_.cut_frames;
    out(Frame{line.substr(start), true});
  } else {
    counters_.skipped_bytes += partial_.size();
  }
  partial_.clear();
}

void NdjsonFramer::Gap(const std::function<void(const Frame&)>& out) {
  if (!partial_.empty()) {
    ++counters_.gaps;
    EmitCut(out);
  }
  // Whatever follows the gap may be the middle of a line: a new frame if
  // it opens JSON, else resynchronise at the next newline.
  state_ = State::kAfterGap;
}

}  // namespace agentwatch
