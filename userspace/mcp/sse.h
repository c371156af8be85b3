// Server-Sent Events (the text/event-stream format of the HTML standard),
// as Streamable HTTP and the legacy HTTP+SSE transport of MCP carry them.
// Incremental and pure, with explicit states.
#ifndef AGENTWATCH_MCP_SSE_H_
#define AGENTWATCH_MCP_SSE_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace agentwatch {

struct SseEvent {
  std::string type = "message";  // the event: field, "message" by default
  std::string data;              // data: lines joined with '\n'
  std::string id;                // the last event ID in force
  std::optional<uint32_t> retry;  // a retry: field seen in this event
};

class SseParser {
 public:
  enum class State {
    kLineStart,  // at the start of a line
    kInLine,     // inside a line
    kAfterCr,    // a line ended with '\r'; a '\n' next belongs to it
    kSkipping,   // after a gap or oversize event: dropping to a blank line
  };

  struct Counters {
    uint64_t events = 0;
    uint64_t comments = 0;
    uint64_t oversize = 0;
    uint64_t gaps = 0;
    uint64_t unknown_fields = 0;
  };

  explicit SseParser(size_t max_event = 16u << 20) : max_event_(max_event) {}

  void Feed(std::string_view data,
            const std::function<void(const SseEvent&)>& out);
  // Bytes were lost: drop the event being built; resume after the next
  // blank line.
  void Gap();

  State state() const { return state_; }
  const std::string& last_event_id() const { return last_id_; }
  const Counters& counters() const { return counters_; }
  // Bytes held for the line and the event being read.
  size_t buffered() const { return line_.size() + ev_.data.size(); }

 private:
  void Line(std::string_view line,
            const std::function<void(const SseEvent&)>& out);
  void Dispatch(const std::function<void(const SseEvent&)>& out);

  const size_t max_event_;
  State state_ = State::kLineStart;
  bool bom_checked_ = false;
  bool skipping_ = false;  // dropping lines until a blank one
  std::string line_;
  SseEvent ev_;
  bool has_data_ = false;
  std::string last_id_;
  size_t event_bytes_ = 0;
  Counters counters_;
};

}  // namespace agentwatch

#endif  // AGENTWATCH_MCP_SSE_H_
