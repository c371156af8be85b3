// HTTP/1.1 message parsing (RFC 9112) for one direction of a connection:
// requests from the client, or responses from the server. Incremental and
// pure, with explicit states: bodies are handed out as they arrive (an SSE
// response never ends), Content-Length and chunked framing, keep-alive and
// pipelining, and resynchronisation after lost bytes.
#ifndef AGENTWATCH_MCP_HTTP1_H_
#define AGENTWATCH_MCP_HTTP1_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace agentwatch {

struct HttpHead {
  bool request = true;
  std::string method;  // requests
  std::string target;  // requests
  int status = 0;      // responses
  std::string reason;  // responses
  int version_minor = 1;
  // Field names lowercased, values trimmed, in order (repeats kept).
  std::vector<std::pair<std::string, std::string>> headers;

  // The first value of a header (name in lowercase), or nullptr.
  const std::string* Header(std::string_view name) const;
};

class Http1Parser {
 public:
  enum class Direction { kRequests, kResponses };
  enum class State {
    kStartLine,
    kHeaders,
    kBody,           // Content-Length body
    kChunkSize,
    kChunkData,
    kChunkDataCrlf,
    kTrailers,
    kBodyUntilClose,  // response without length: ends at connection close
    kResync,          // after a gap or a parse error: looking for a start line
  };

  struct Callbacks {
    std::function<void(const HttpHead&)> on_head;
    std::function<void(std::string_view)> on_body;
    // The message ended; damaged = bytes of its body were lost.
    std::function<void(bool damaged)> on_end;
    std::function<void(std::string_view why)> on_error;
  };

  struct Limits {
    size_t max_head = 64 * 1024;  // start line + headers
    size_t max_headers = 128;
  };

  struct Counters {
    uint64_t messages = 0;
    uint64_t errors = 0;
    uint64_t gaps = 0;
    uint64_t resync_skipped = 0;
  };

  explicit Http1Parser(Direction d) : Http1Parser(d, Limits{}) {}
  Http1Parser(Direction d, Limits limits) : dir_(d), limits_(limits) {}

  void Feed(std::string_view data, const Callbacks& cb);
  // n bytes were lost before the next Feed. A gap inside a Content-Length
  // body only shortens it (the message ends damaged); anywhere else the
  // parser looks for the next start line. A 200 response whose headers
  // were lost is an error ("lost in a stream gap").
  void Gap(uint64_t n, const Callbacks& cb);
  // The connection closed: ends a body that runs until close.
  void Close(const Callbacks& cb);

  // The next response answers a HEAD request (it has no body).
  void ExpectHeadResponse() { head_response_ = true; }

  State state() const { return state_; }
  const Counters& counters() const { return counters_; }

 private:
  bool StartLine(std::string_view line);
  bool HeaderLine(std::string_view line);
  void HeadersDone(const Callbacks& cb);
  void Fail(std::string_view why, const Callbacks& cb);
  void End(const Callbacks& cb);
  // Scans for a start line after a gap; consumes up to it.
  size_t Resync(std::string_view data);

  // Feed, one state at a time: each consumes from the front of data; those
  // returning bool return false when Feed has to wait for more data.
  bool FeedResync(std::string_view* data);
  // Start line, headers, chunk size and trailers: a line at a time, then
  // the one of the four the state expects.
  bool FeedLine(std::string_view* data, const Callbacks& cb);
  void OnStartLine(std::string_view line, const Callbacks& cb);
  void OnHeaderLine(std::string_view line, const Callbacks& cb);
  void OnChunkSizeLine(std::string_view line, const Callbacks& cb);
  void OnTrailerLine(std::string_view line, const Callbacks& cb);
  // Content-Length body and chunk data.
  void FeedBody(std::string_view* data, const Callbacks& cb);
  bool FeedChunkDataCrlf(std::string_view* data, const Callbacks& cb);

  const Direction dir_;
  const Limits limits_;
  State state_ = State::kStartLine;
  std::string line_;
  size_t head_bytes_ = 0;
  HttpHead head_;
  uint64_t remaining_ = 0;
  bool damaged_ = false;
  bool head_response_ = false;
  Counters counters_;
};

}  // namespace agentwatch

#endif  // AGENTWATCH_MCP_HTTP1_H_
