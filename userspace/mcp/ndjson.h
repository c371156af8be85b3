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
    // Only the line's head: the rest was not seen (a gap cut it) or is
    // over max_line (bytes is then its first max_line bytes).
    bool cut = false;
  };

  struct Counters {
    uint64_t frames = 0;
    uint64_t oversize = 0;     // lines longer than max_line, dropped
    uint64_t gaps = 0;         // Gap() calls that cut a line
    uint64_t skipped_bytes = 0;
    uint64_t empty_lines = 0;  // blank lines, ignored
    uint64_t cut_frames = 0;   // heads of lines cut by a gap or over max_line
  };

  explicit NdjsonFramer(size_t max_line = 16u << 20) : max_line_(max_line) {}

  // Feeds bytes in stream order; calls out for each complete line. The
  // string_view passed to out is valid only during the call.
  void Feed(std::string_view data, const std::function<void(const Frame&)>& out);

  // Bytes were lost before the next Feed: the partial line goes to out as
  // a cut frame (when it opens JSON) and framing resumes at the next line
  // start.
  void Gap(const std::function<void(const Frame&)>& out);

  State state() const { return state_; }
  size_t buffered() const { return partial_.size(); }
  const Counters& counters() const { return counters_; }

 private:
  void Emit(std::string_view line, const std::function<void(const Frame&)>& out);
  // The partial line as a cut frame (when it opens JSON), then cleared.
  void EmitCut(const std::function<void(const Frame&)>& out);

  const size_t max_line_;
  State state_ = State::kInLine;
  std::string partial_;
  Counters counters_;
};

}  // namespace agentwatch

#endif  // AGENTWATCH_MCP_NDJSON_H_
