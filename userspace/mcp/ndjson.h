// stdio framing of MCP: newline-delimited JSON. An incremental, pure framer
// with explicit states; it owns only the bytes of the unfinished line.
#ifndef AGENTWATCH_MCP_NDJSON_H_
#define AGENTWATCH_MCP_NDJSON_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace agentwatch {

class NdjsonFramer {
 public:
  enum class State {
    kInLine,    // collecting a line
    kAfterGap,  // after a gap: a line starts here if the next byte opens
                // JSON ('{' or '['), else skipping
    kSkipping,  // dropping bytes up to '\n'
  };

  struct Frame {
    std::string_view bytes;  // one line, without '\n' (and a trailing '\r')
  };

  struct Counters {
    uint64_t frames = 0;
    uint64_t oversize = 0;     // lines longer than max_line, dropped
    uint64_t gaps = 0;         // Gap() calls that cut a line
    uint64_t skipped_bytes = 0;
    uint64_t empty_lines = 0;  // blank lines, ignored
  };

  explicit NdjsonFramer(size_t max_line = 16u << 20) : max_line_(max_line) {}

  // Feeds bytes in stream order; calls out for each complete line. The
  // string_view passed to out is valid only during the call.
  void Feed(std::string_view data, const std::function<void(const Frame&)>& out);

  // Bytes were lost before the next Feed: the partial line is dropped and
  // framing resumes after the next '\n'.
  void Gap();

  State state() const { return state_; }
  size_t buffered() const { return partial_.size(); }
  const Counters& counters() const { return counters_; }

 private:
  void Emit(std::string_view line, const std::function<void(const Frame&)>& out);

  const size_t max_line_;
  State state_ = State::kInLine;
  std::string partial_;
  Counters counters_;
};

}  // namespace agentwatch

#endif  // AGENTWATCH_MCP_NDJSON_H_
