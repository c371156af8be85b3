#include "mcp/stream_decoder.h"

#include <algorithm>
#include <cctype>

namespace agentwatch {
namespace {

constexpr size_t kDetectBytes = 16;
// How far a stream joined mid-way is searched for a frame start.
constexpr size_t kMaxResyncBytes = 64 * 1024;
// Bytes of lines that are neither JSON nor HTTP tolerated at a stream's
// start (a banner, log lines on stdout) before it is judged not MCP.
constexpr size_t kMaxNoiseBytes = 4096;
// A stream that produced this many unparsable frames before any valid
// JSON-RPC message is not an MCP stream (a JSON logger on a pipe, say).
constexpr uint32_t kMaxFailuresBeforeFirst = 8;

constexpr std::string_view kMethods[] = {"GET ",  "POST ",    "PUT ",
                                         "DELETE ", "HEAD ", "OPTIONS ",
                                         "PATCH "};

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return out;
}

}  // namespace

StreamDecoder::StreamDecoder(size_t max_message)
    : max_message_(max_message), ndjson_(max_message) {}

namespace {

// What a stream starting at d looks like: kDetecting when undecided.
StreamDecoder::Protocol Classify(std::string_view d) {
  size_t i = d.find_first_not_of(" \t\r\n");
  if (i == std::string_view::npos) return StreamDecoder::Protocol::kDetecting;
  d.remove_prefix(i);
  if (d[0] == '{' || d[0] == '[') return StreamDecoder::Protocol::kNdjson;
  if (d.size() >= 7 && d.substr(0, 7) == "HTTP/1.")
    return StreamDecoder::Protocol::kHttpResponses;
  for (auto m : kMethods) {
    if (d.size() >= m.size() && d.substr(0, m.size()) == m)
      return StreamDecoder::Protocol::kHttpRequests;
  }
  // Neither JSON nor HTTP once a method name would have shown.
  return d.size() >= 8 ? StreamDecoder::Protocol::kNotMcp
                       : StreamDecoder::Protocol::kDetecting;
}

}  // namespace

size_t StreamDecoder::Detect(std::string_view data) {
  detect_buf_.append(data);
  std::string_view d = detect_buf_;
  size_t limit = kMaxResyncBytes;
  if (!resync_) {
    Protocol p = Classify(d);
    if (p == Protocol::kDetecting && d.size() > kDetectBytes * 4) p = Protocol::kNotMcp;
    if (p != Protocol::kNotMcp) {
      protocol_ = p;
      return 0;
    }
    // Neither JSON nor HTTP at the start: a banner or log lines a server
    // printed before its first message may come first (a budget of them).
    limit = kMaxNoiseBytes;
  }
  // The first line start that looks like JSON or an HTTP start line
  // decides (joined mid-stream, or after the noise).
  size_t at = 0;
  while (true) {
    size_t nl = d.find('\n', at);
    if (nl == std::string_view::npos) break;
    at = nl + 1;
    Protocol p = Classify(d.substr(at));
    if (p == Protocol::kDetecting) break;  // need more bytes at this line
    if (p != Protocol::kNotMcp) {
      protocol_ = p;
      counters_.noise_bytes += at;
      return at;
    }
  }
  if (d.size() > limit) protocol_ = Protocol::kNotMcp;
  return 0;
}

void StreamDecoder::Frame(std::string_view frame, const char* transport,
                          std::vector<DecodedMessage>* out,
                          std::vector<DecodeFailure>* failures, bool cut) {
  JsonRpcParse p = cut ? ParseJsonRpcHead(frame) : ParseJsonRpc(frame, max_message_);
  if (cut && p.status != JsonRpcStatus::kOk) {
    // A head with nothing to go by: counted, not evidence against MCP.
    ++counters_.failures;
    if (speaks_jsonrpc()) failures->push_back({p.status, p.error, transport});
    return;
  }
  if (p.status != JsonRpcStatus::kOk) {
    ++counters_.failures;
    if (!speaks_jsonrpc()) {
      // Before the first valid message, failures are evidence that this is
      // not MCP, not errors worth reporting.
      if (++failures_before_first_ >= kMaxFailuresBeforeFirst)
        protocol_ = Protocol::kNotMcp;
      return;
    }
    failures->push_back({p.status, p.error, transport});
    return;
  }
  for (auto& m : p.messages) {
    DecodedMessage d;
    d.msg = std::move(m);
    d.batch = p.batch;
    d.transport = transport;
    d.frame_bytes = frame.size();
    if (http_) {
      d.http_method = head_.method;
      d.http_target = head_.target;
      d.http_status = head_.status;
      if (auto* v = head_.Header("mcp-session-id")) d.http_session_id = *v;
      if (auto* v = head_.Header("mcp-protocol-version"))
        d.http_protocol_version = *v;
    }
    ++counters_.messages;
    out->push_back(std::move(d));
  }
}

// The callbacks capture only `this` (they fit std::function's small buffer:
// no allocation per chunk); where output goes is in out_ and failures_.
Http1Parser::Callbacks StreamDecoder::HttpCallbacks() {
  return {
      [this](const HttpHead& h) {
        head_ = h;
        if (h.Header("mcp-session-id") || h.Header("mcp-protocol-version") ||
            h.Header("mcp-method"))
          mcp_headers_ = true;
        body_.clear();
        body_oversize_ = false;
        sse_event_lost_ = false;
        const std::string* ct = h.Header("content-type");
        sse_ = ct != nullptr &&
               Lower(*ct).find("text/event-stream") != std::string::npos;
        sse_parser_ = sse_ ? std::make_unique<SseParser>(max_message_) : nullptr;
      },
      [this](std::string_view b) {
        if (sse_) {
          const uint64_t oversize = sse_parser_->counters().oversize;
          sse_parser_->Feed(b, [this](const SseEvent& e) {
            std::vector<DecodedMessage>* out = out_;
            // The legacy transport announces its POST URI in an "endpoint"
            // event; only "message" events carry JSON-RPC.
            if (e.type == "endpoint") {
              mcp_headers_ = true;
              DecodedMessage d;
              d.transport = "sse";
              d.endpoint = true;
              d.sse_endpoint = e.data.substr(0, 2048);
              d.http_status = head_.status;
              out->push_back(std::move(d));
              return;
            }
            if (e.type != "message") return;
            // Streamable HTTP opens a stream with an event that carries only
            // an id (a resumption point): nothing to decode.
            if (e.data.find_first_not_of(" \t\r\n") == std::string::npos) return;
            size_t before = out->size();
            Frame(e.data, "sse", out, failures_);
            for (size_t i = before; i < out->size(); ++i)
              (*out)[i].sse_event_id = e.id;
          });
          // Whether it was the response or a notification before it shows
          // at the stream's end: whatever is still pending then.
          if (sse_parser_->counters().oversize > oversize) sse_event_lost_ = true;
          return;
        }
        if (body_.size() + b.size() > max_message_) {
          body_oversize_ = true;
          return;
        }
        body_.append(b);
      },
      [this](bool damaged) {
        ++counters_.http_requests;
        if (sse_ && sse_event_lost_) LostResponse("SSE event over the limit");
        sse_event_lost_ = false;
        if (!sse_ && !body_.empty()) {
          if (body_oversize_ || damaged) {
            ++counters_.failures;
            LostResponse(body_oversize_ ? "HTTP body over the limit" : "HTTP body lost bytes");
            if (speaks_jsonrpc()) {
              failures_->push_back({body_oversize_ ? JsonRpcStatus::kOversize
                                                  : JsonRpcStatus::kInvalidJson,
                                   body_oversize_ ? "HTTP body over the limit"
                                                  : "HTTP body lost bytes",
                                   "http"});
            }
          } else {
            Frame(body_, "http", out_, failures_);
          }
        }
        body_.clear();
        sse_ = false;
        sse_parser_.reset();
      },
      [this](std::string_view why) {
        ++counters_.failures;
        LostResponse(why);
      },
  };
}

void StreamDecoder::LostResponse(std::string_view why) {
  if (protocol_ != Protocol::kHttpResponses) return;
  ++counters_.responses_lost;
  last_loss_ = std::string(why);
}

void StreamDecoder::Consume(std::string_view data) {
  switch (protocol_) {
    case Protocol::kNdjson:
      ndjson_.Feed(data, [this](const NdjsonFramer::Frame& f) {
        if (protocol_ == Protocol::kNdjson)
          Frame(f.bytes, "stdio", out_, failures_, f.cut);
      });
      break;
    case Protocol::kHttpRequests:
    case Protocol::kHttpResponses:
      http_->Feed(data, HttpCallbacks());
      break;
    default:
      break;
  }
}

void StreamDecoder::Feed(uint64_t offset, std::string_view data,
                         std::vector<DecodedMessage>* out,
                         std::vector<DecodeFailure>* failures) {
  out_ = out;
  failures_ = failures;
  if (!started_) {
    started_ = true;
    next_offset_ = offset;
    // Joined a stream in the middle (process seen after start-up): find
    // the next frame start.
    resync_ = offset != 0;
  }
  if (offset < next_offset_) {
    // Old bytes (reordered across CPUs): what overlaps was already decoded.
    uint64_t skip = next_offset_ - offset;
    if (skip >= data.size()) {
      ++counters_.stale_chunks;
      return;
    }
    data.remove_prefix(skip);
    offset = next_offset_;
  }
  if (offset > next_offset_) {
    const uint64_t lost = offset - next_offset_;
    ++counters_.gaps;
    counters_.gap_bytes += lost;
    if (protocol_ == Protocol::kNdjson)
      ndjson_.Gap([this](const NdjsonFramer::Frame& f) {
        Frame(f.bytes, "stdio", out_, failures_, f.cut);
      });
    if (http_) http_->Gap(lost, HttpCallbacks());
    if (protocol_ == Protocol::kDetecting) {
      detect_buf_.clear();
      resync_ = true;
    }
  }
  next_offset_ = offset + data.size();
  counters_.bytes += data.size();
  if (protocol_ == Protocol::kNotMcp) return;
  if (protocol_ == Protocol::kDetecting) {
    size_t start = Detect(data);
    if (protocol_ == Protocol::kDetecting) return;
    std::string buffered = std::move(detect_buf_);
    detect_buf_.clear();
    if (protocol_ == Protocol::kHttpRequests) {
      http_ = std::make_unique<Http1Parser>(Http1Parser::Direction::kRequests);
    } else if (protocol_ == Protocol::kHttpResponses) {
      http_ = std::make_unique<Http1Parser>(Http1Parser::Direction::kResponses);
    }
    if (protocol_ != Protocol::kNotMcp)
      Consume(std::string_view(buffered).substr(start));
    return;
  }
  Consume(data);
}

void StreamDecoder::Truncated(std::vector<DecodedMessage>* out,
                              std::vector<DecodeFailure>* failures) {
  if (protocol_ != Protocol::kNdjson) return;
  out_ = out;
  failures_ = failures;
  ndjson_.Gap([this](const NdjsonFramer::Frame& f) {
    Frame(f.bytes, "stdio", out_, failures_, f.cut);
  });
}

void StreamDecoder::Close(std::vector<DecodedMessage>* out,
                          std::vector<DecodeFailure>* failures) {
  out_ = out;
  failures_ = failures;
  if (http_) http_->Close(HttpCallbacks());
}

}  // namespace agentwatch
