#include "mcp/sse.h"

namespace agentwatch {

void SseParser::Dispatch(const std::function<void(const SseEvent&)>& out) {
  if (has_data_) {
    if (!ev_.data.empty() && ev_.data.back() == '\n') ev_.data.pop_back();
    ev_.id = last_id_;
    ++counters_.events;
    out(ev_);
  }
  ev_ = SseEvent{};
  has_data_ = false;
  event_bytes_ = 0;
}

void SseParser::Line(std::string_view line,
                     const std::function<void(const SseEvent&)>& out) {
  if (line.empty()) {
    if (skipping_) {
      skipping_ = false;
      ev_ = SseEvent{};
      has_data_ = false;
      event_bytes_ = 0;
      return;
    }
    Dispatch(out);
    return;
  }
  if (skipping_) return;
  event_bytes_ += line.size() + 1;
  if (event_bytes_ > max_event_) {
    ++counters_.oversize;
    skipping_ = true;
    return;
  }
  if (line[0] == ':') {
    ++counters_.comments;
    return;
  }
  std::string_view field = line, value;
  size_t colon = line.find(':');
  if (colon != std::string_view::npos) {
    field = line.substr(0, colon);
    value = line.substr(colon + 1);
    if (!value.empty() && value[0] == ' ') value.remove_prefix(1);
  }
  if (field == "data") {
    ev_.data.append(value);
    ev_.data += '\n';
    has_data_ = true;
  } else if (field == "event") {
    ev_.type = std::string(value);
  } else if (field == "id") {
    if (value.find('\0') == std::string_view::npos) last_id_ = std::string(value);
  } else if (field == "retry") {
    if (!value.empty() &&
        value.find_first_not_of("0123456789") == std::string_view::npos &&
        value.size() <= 9) {
      ev_.retry = static_cast<uint32_t>(std::stoul(std::string(value)));
    }
  } else {
    ++counters_.unknown_fields;
  }
}

void SseParser::Feed(std::string_view data,
                     const std::function<void(const SseEvent&)>& out) {
  if (!bom_checked_ && !data.empty()) {
    // A UTF-8 BOM may open the stream (possibly split across Feeds; the
    // rare split case is handled by treating the bytes as line content).
    if (data.substr(0, 3) == "\xEF\xBB\xBF") data.remove_prefix(3);
    bom_checked_ = true;
  }
  size_t i = 0;
  while (i < data.size()) {
    if (state_ == State::kAfterCr) {
      state_ = State::kLineStart;
      if (data[i] == '\n') {
        ++i;
        continue;
      }
    }
    if (state_ == State::kSkipping) {
      // Drop up to the end of the current line, then skip whole lines
      // until a blank one (handled by Line with skipping_).
      size_t end = data.find_first_of("\r\n", i);
      if (end == std::string_view::npos) return;
      state_ = data[end] == '\r' ? State::kAfterCr : State::kLineStart;
      i = end + 1;
      skipping_ = true;
      continue;
    }
    size_t end = data.find_first_of("\r\n", i);
    if (end == std::string_view::npos) {
      if (line_.size() + (data.size() - i) > max_event_) {
        ++counters_.oversize;
        line_.clear();
        state_ = State::kSkipping;
        return;
      }
      line_.append(data.substr(i));
      state_ = State::kInLine;
      return;
    }
    std::string_view piece = data.substr(i, end - i);
    if (line_.empty()) {
      Line(piece, out);
    } else {
      line_.append(piece);
      Line(line_, out);
      line_.clear();
    }
    state_ = data[end] == '\r' ? State::kAfterCr : State::kLineStart;
    i = end + 1;
  }
}

void SseParser::Gap() {
  ++counters_.gaps;
  line_.clear();
  ev_ = SseEvent{};
  has_data_ = false;
  event_bytes_ = 0;
  state_ = State::kSkipping;
}

}  // namespace agentwatch
