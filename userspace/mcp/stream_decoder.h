// One captured byte stream (a process's fd, one direction) to JSON-RPC
// messages: ordering by offset with explicit gaps, protocol detection from
// the first bytes (NDJSON stdio, or HTTP/1.1 carrying JSON bodies or SSE),
// framing and JSON-RPC parsing. Pure: bytes in, messages out.
#ifndef AGENTWATCH_MCP_STREAM_DECODER_H_
#define AGENTWATCH_MCP_STREAM_DECODER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "mcp/http1.h"
#include "mcp/jsonrpc.h"
#include "mcp/ndjson.h"
#include "mcp/sse.h"

namespace agentwatch {

struct DecodedMessage {
  JsonRpcMessage msg;
  bool batch = false;
  std::string transport;  // "stdio", "http", "sse"
  // HTTP context of the message (empty for stdio).
  std::string http_method;
  std::string http_target;
  int http_status = 0;
  std::string http_session_id;        // Mcp-Session-Id
  std::string http_protocol_version;  // MCP-Protocol-Version
  std::string sse_event_id;
  size_t frame_bytes = 0;  // the JSON text (the whole batch for a batch)
  // A legacy HTTP+SSE "endpoint" event (msg is empty): the URI the server
  // announced for the client's POSTs.
  bool endpoint = false;
  std::string sse_endpoint;
};

// A frame that was supposed to carry JSON-RPC but did not parse.
struct DecodeFailure {
  JsonRpcStatus status;
  std::string error;
  std::string transport;
};

class StreamDecoder {
 public:
  enum class Protocol { kDetecting, kNdjson, kHttpRequests, kHttpResponses, kNotMcp };

  struct Counters {
    uint64_t bytes = 0;
    uint64_t gaps = 0;
    uint64_t gap_bytes = 0;
    uint64_t stale_chunks = 0;  // offset before what was already seen
    uint64_t messages = 0;
    uint64_t failures = 0;
    uint64_t http_requests = 0;  // whole HTTP requests or responses read
    uint64_t noise_bytes = 0;    // skipped before the first message (a banner, log lines)
    // HTTP responses (or SSE events) that could not be decoded: a broken
    // chunked body, a head over the limit, a body or event over the limit,
    // lost bytes. Each leaves the request it answered without its answer.
    uint64_t responses_lost = 0;
  };

  explicit StreamDecoder(size_t max_message = 4u << 20);

  // Feeds a chunk at its stream offset. Messages and failures are appended.
  void Feed(uint64_t offset, std::string_view data,
            std::vector<DecodedMessage>* out,
            std::vector<DecodeFailure>* failures);
  // The stream ended (fd closed, process gone).
  void Close(std::vector<DecodedMessage>* out,
             std::vector<DecodeFailure>* failures);
  // The last chunk fed ended a write that was cut at the capture limit:
  // the line it left open is decoded from its head now (its end will not
  // come).
  void Truncated(std::vector<DecodedMessage>* out, std::vector<DecodeFailure>* failures);

  Protocol protocol() const { return protocol_; }
  // Why the last response counted in responses_lost was.
  const std::string& last_loss() const { return last_loss_; }
  const Counters& counters() const { return counters_; }
  // Bytes held for what is not decoded yet (a partial line, body or event).
  size_t buffered() const {
    return detect_buf_.size() + ndjson_.buffered() + body_.size() +
           (sse_parser_ ? sse_parser_->buffered() : 0);
  }
  // True once a valid JSON-RPC message was seen on this stream.
  bool speaks_jsonrpc() const { return counters_.messages > 0; }
  // An HTTP message carried an MCP header (Mcp-Session-Id,
  // MCP-Protocol-Version, Mcp-Method) or an SSE endpoint event.
  bool mcp_headers_seen() const { return mcp_headers_; }

 private:
  // Buffers data until the protocol is known; returns where in the
  // buffered bytes decoding starts.
  size_t Detect(std::string_view data);
  void Consume(std::string_view data);
  void Frame(std::string_view frame, const char* transport,
             std::vector<DecodedMessage>* out,
             std::vector<DecodeFailure>* failures, bool cut = false);
  Http1Parser::Callbacks HttpCallbacks();

  const size_t max_message_;
  // Where the current Feed/Close call puts its output.
  std::vector<DecodedMessage>* out_ = nullptr;
  std::vector<DecodeFailure>* failures_ = nullptr;
  Protocol protocol_ = Protocol::kDetecting;
  uint64_t next_offset_ = 0;
  bool started_ = false;
  bool resync_ = false;  // joined mid-stream or a gap before detection
  std::string detect_buf_;
  uint32_t failures_before_first_ = 0;
  NdjsonFramer ndjson_;
  std::unique_ptr<Http1Parser> http_;
  // State of the HTTP message being read.
  HttpHead head_;
  bool sse_ = false;
  std::unique_ptr<SseParser> sse_parser_;
  std::string body_;
  bool body_oversize_ = false;
  bool sse_event_lost_ = false;  // an event of this SSE response was over the limit
  Counters counters_;
  bool mcp_headers_ = false;
  std::string last_loss_;
  // A response of this stream was lost (see Counters::responses_lost).
  void LostResponse(std::string_view why);
};

}  // namespace agentwatch

#endif  // AGENTWATCH_MCP_STREAM_DECODER_H_
