// The pipeline's MCP stage: payload chunks of watched processes, per stream,
// through the MCP decoders (userspace/mcp) into EVENT_TYPE_MCP_MESSAGE
// events. Deterministic; owned by the pipeline thread.
#ifndef AGENTWATCH_SESSION_MCP_STAGE_H_
#define AGENTWATCH_SESSION_MCP_STAGE_H_

#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <tuple>
#include <vector>

#include "agentwatch/v1/agentwatch.pb.h"
#include "mcp/stream_decoder.h"
#include "redact/redactor.h"
#include "session/mcp_tracker.h"

namespace agentwatch {

class McpStage {
 public:
  struct Counters {
    uint64_t messages = 0;
    uint64_t invalid = 0;
    uint64_t streams_evicted = 0;
    // Streams dropped because all decoders together held over
    // max_buffered bytes (the biggest of the process holding most goes first).
    uint64_t streams_evicted_for_memory = 0;
    uint64_t stream_gaps = 0;       // holes in decoded streams
    uint64_t stream_gap_bytes = 0;  // bytes they lost
  };

  explicit McpStage(size_t max_streams = 4096, McpTracker::Options tracker = {},
                    size_t max_buffered = kMaxBuffered)
      : max_streams_(max_streams), max_buffered_(max_buffered), tracker_(tracker) {}

  // Decodes a PAYLOAD event; appends any MCP_MESSAGE events (and the
  // MCP_CALL / MCP_TOOLS_CHANGED events they complete) to out, and replaces
  // the event's data with a redacted preview. p is the emitting process.
  void OnPayload(v1::Event* ev, const ProcessInfo* p,
                 std::vector<v1::Event>* out);
  // The process is gone: its streams end.
  void OnExit(const v1::Event& ev, std::vector<v1::Event>* out);
  // A connection (or its end): bytes later sent on a socket to a host
  // outside are inspected (PayloadInfo.remote, secret, encoded, flows).
  void OnConnect(const v1::Event& ev);
  // Whether a destination is outside the allow-lists (the detection
  // rules'); none set: nothing is inspected.
  void SetEgressFilter(std::function<bool(const v1::SockAddr&)> f) { egress_ = std::move(f); }
  void OnClose(const v1::Event& ev);

  const Counters& counters() const { return counters_; }
  McpTracker& tracker() { return tracker_; }
  // Processes that became known MCP servers since the last call.
  std::vector<uint32_t> TakeNewServers() { return std::move(new_servers_); }
  // Processes probed for discovery whose traffic is not MCP: their stdin is
  // not JSON-RPC, or kNotMcpConnections accepted connections were not (the
  // kernel then still probes a sample of their later connections).
  std::vector<uint32_t> TakeNotMcp() { return std::move(not_mcp_); }
  static constexpr int kNotMcpConnections = 32;
  // What all stream decoders together may hold undecoded, by default.
  static constexpr size_t kMaxBuffered = 64u << 20;

 private:
  // pid, fd, direction (0 in, 1 out), inode
  using Key = std::tuple<uint32_t, int32_t, int, uint64_t>;
  struct Stream {
    StreamDecoder decoder;
    std::list<Key>::iterator lru;
    bool judged = false;  // discovery verdict taken for this stream
    // The syscall the chunks come from (a write is cut into chunks): where
    // it ends, and whether it began with a JSON object.
    uint64_t syscall_end = 0;
    bool syscall_opens_object = false;
    // Previews are redacted as the continuation of the bytes before them,
    // so a secret split across chunks or writes is masked.
    StreamRedaction redaction;
    // The session its messages belong to, once one was decoded, and its
    // gaps not yet counted on a session (they came before it was known).
    std::string session;
    uint64_t unmarked_gaps = 0, unmarked_gap_bytes = 0;
    size_t buffered = 0;  // the decoder's, as of its last feed
    // A write cut at the capture limit whose tail was announced: its
    // message waits for the id the tail ends with.
    bool cut_pending = false;
    uint64_t cut_length = 0;  // the whole write's
  };

  void Judge(const Key& key, Stream* st);
  // Drops a stream and what its decoder held.
  std::map<Key, Stream>::iterator Erase(std::map<Key, Stream>::iterator it);
  // After a feed: the held bytes of st counted, and while all decoders
  // hold over max_buffered, the biggest other stream of the process holding
  // most dropped.
  void Account(Stream* st);
  // Where a stream's messages were seen, for the tracker.
  static McpObservation Observation(const v1::Event& src, const Key& key,
                                    const ProcessInfo* p);
  void Emit(const v1::Event& src, const Key& key, const ProcessInfo* p,
            std::vector<DecodedMessage>& msgs,
            std::vector<DecodeFailure>& failures, std::vector<v1::Event>* out,
            Stream* st = nullptr);
  // The message a cut write left open, decoded from its head now; id (from
  // the write's tail) given to a response whose head had none.
  void DecodeCut(Stream* st, const std::string& id, std::vector<DecodedMessage>* msgs,
                 std::vector<DecodeFailure>* failures);
  // Gaps the decoder found since before: counted, and on the session.
  void NoteGaps(Stream* st, uint64_t gaps_before, uint64_t bytes_before);

  const size_t max_streams_;
  const size_t max_buffered_;
  std::map<Key, Stream> streams_;
  std::list<Key> lru_;  // front = most recently used
  size_t buffered_ = 0;  // the sum of the streams' buffered
  Counters counters_;
  McpTracker tracker_;
  std::vector<uint32_t> new_servers_;
  std::vector<uint32_t> not_mcp_;
  std::map<uint32_t, int> plain_connections_;  // probed, not MCP, per pid
  std::function<bool(const v1::SockAddr&)> egress_;
  // (pid, socket inode) -> remote, for connections to hosts outside.
  std::map<std::pair<uint32_t, uint64_t>, v1::SockAddr> outside_;
  static constexpr size_t kMaxOutside = 8192;
};

}  // namespace agentwatch

#endif  // AGENTWATCH_SESSION_MCP_STAGE_H_
