#include "session/mcp_stage.h"

#include "detect/signals.h"
#include "mcp/jsonrpc.h"
#include "redact/redact.h"

namespace agentwatch {
namespace {

constexpr size_t kPayloadPreview = 256;
constexpr size_t kJsonPreview = 4096;

}  // namespace

McpObservation McpStage::Observation(const v1::Event& src, const Key& key,
                                     const ProcessInfo* p) {
  McpObservation w;
  w.pid = std::get<0>(key);
  w.fd = std::get<1>(key);
  w.out = std::get<2>(key) != 0;
  w.inode = std::get<3>(key);
  w.time_unix_ns = src.time_unix_ns();
  w.ktime_ns = src.ktime_ns();
  w.process = p;
  return w;
}

void McpStage::Emit(const v1::Event& src, const Key& key, const ProcessInfo* p,
                    std::vector<DecodedMessage>& msgs,
                    std::vector<DecodeFailure>& failures,
                    std::vector<v1::Event>* out, Stream* st) {
  // One derived event, with what every message of this stream shares.
  auto derived = [&](const std::string& transport) {
    v1::Event e;
    e.set_type(v1::EVENT_TYPE_MCP_MESSAGE);
    e.set_time_unix_ns(src.time_unix_ns());
    e.set_ktime_ns(src.ktime_ns());
    *e.mutable_process() = src.process();
    v1::McpMessageInfo* m = e.mutable_mcp();
    m->set_transport(transport);
    m->set_direction(std::get<2>(key) ? "out" : "in");
    m->set_fd(std::get<1>(key));
    m->set_inode(std::get<3>(key));
    return e;
  };
  const McpObservation where = Observation(src, key, p);
  std::vector<v1::Event> calls;
  for (auto& d : msgs) {
    v1::Event e = derived(d.transport);
    v1::McpMessageInfo* m = e.mutable_mcp();
    McpTracker::Result r = tracker_.OnMessage(where, d, &calls);
    if (r.new_server_pid != 0) new_servers_.push_back(r.new_server_pid);
    m->set_session_key(r.session_id);
    if (st != nullptr && !r.session_id.empty()) {
      st->session = r.session_id;
      if (st->unmarked_gaps > 0)
        tracker_.OnStreamGap(st->session, st->unmarked_gaps, st->unmarked_gap_bytes);
      st->unmarked_gaps = st->unmarked_gap_bytes = 0;
    }
    m->set_frame_bytes(d.frame_bytes);
    if (d.endpoint) {
      m->set_kind("endpoint");
      m->set_sse_endpoint(Redact(d.sse_endpoint, 1024));
      m->set_http_status(d.http_status);
      out->push_back(std::move(e));
      continue;
    }
    m->set_kind(JsonRpcKindName(d.msg.kind));
    m->set_decode_note(d.msg.note);
    m->set_id(d.msg.id);
    m->set_method(d.msg.method);
    if (!d.msg.params.empty()) m->set_params(Redact(d.msg.params, kJsonPreview));
    if (!d.msg.result.empty()) m->set_result(Redact(d.msg.result, kJsonPreview));
    m->set_error_code(d.msg.error_code);
    if (!d.msg.error_message.empty())
      m->set_error_message(Redact(d.msg.error_message, kJsonPreview));
    m->set_batch(d.batch);
    m->set_http_method(d.http_method);
    m->set_http_target(Redact(d.http_target, 4096));
    m->set_http_status(d.http_status);
    if (!d.http_session_id.empty())
      m->set_http_session_id(Redact(d.http_session_id, 256));
    m->set_http_protocol_version(d.http_protocol_version);
    m->set_sse_event_id(d.sse_event_id);
    ++counters_.messages;
    out->push_back(std::move(e));
    for (auto& c : calls) out->push_back(std::move(c));
    calls.clear();
  }
  for (auto& f : failures) {
    v1::Event e = derived(f.transport);
    e.mutable_mcp()->set_kind("invalid");
    e.mutable_mcp()->set_decode_error(std::string(JsonRpcStatusName(f.status)) +
                                      ": " + f.error);
    ++counters_.invalid;
    out->push_back(std::move(e));
  }
}

void McpStage::OnPayload(v1::Event* ev, const ProcessInfo* proc,
                         std::vector<v1::Event>* out) {
  v1::PayloadInfo* p = ev->mutable_payload();
  const Key key{ev->process().pid(), p->fd(), p->direction() == "out" ? 1 : 0,
                p->inode()};
  auto it = streams_.find(key);
  if (it == streams_.end()) {
    while (streams_.size() >= max_streams_ && !lru_.empty()) {
      Erase(streams_.find(lru_.back()));
      ++counters_.streams_evicted;
    }
    lru_.push_front(key);
    it = streams_.emplace(key, Stream{StreamDecoder(), lru_.begin()}).first;
  } else {
    lru_.splice(lru_.begin(), lru_, it->second.lru);
  }
  std::vector<DecodedMessage> msgs;
  std::vector<DecodeFailure> failures;
  Stream& st = it->second;
  // The cut write before this chunk: decoded now, with the id its tail
  // ends with when this is the tail (else without).
  if (st.cut_pending) {
    const bool tail = p->tail() && p->offset() + p->data().size() == st.syscall_end;
    DecodeCut(&st, tail ? JsonRpcIdFromTail(p->data()) : "", &msgs, &failures);
  }
  const uint64_t lost_before = st.decoder.counters().responses_lost;
  const uint64_t gaps_before = st.decoder.counters().gaps;
  const uint64_t gap_bytes_before = st.decoder.counters().gap_bytes;
  st.decoder.Feed(p->offset(), p->data(), &msgs, &failures);
  NoteGaps(&st, gaps_before, gap_bytes_before);
  if (p->discovery() && !st.judged && p->direction() == "in") Judge(key, &st);
  if (p->offset() >= st.syscall_end) {  // the first chunk of a syscall
    st.syscall_end = p->offset() + p->syscall_length();
    st.syscall_opens_object = !p->data().empty() && p->data()[0] == '{';
  }
  // A write cut at the capture limit: the message it left open is decoded
  // from its head now (a request with its id and tool, a response paired
  // by its id and marked lost), not guessed at.
  if (p->truncated()) {
    st.cut_length = p->syscall_length();
    st.cut_pending = true;
    // Its tail comes next (the kernel captures the end of a long write
    // from one buffer): the message waits for it.
    if (!p->tail_follows()) DecodeCut(&st, "", &msgs, &failures);
  }
  Account(&st);
  if (p->direction() == "out" && p->file_type() == "socket" && !outside_.empty() &&
      !st.decoder.speaks_jsonrpc()) {
    // Bytes to a host outside, whole as captured, before they are cut.
    auto o = outside_.find({ev->process().pid(), p->inode()});
    if (o != outside_.end() && !p->data().empty()) {
      *p->mutable_remote() = o->second;
      p->set_secret(ContainsSecret(p->data()));
      std::string blob;
      // Redacted as part of the whole payload (EncodedBlob).
      if (Detectors::EncodedBlob(p->data(), 48, &blob)) p->set_encoded_excerpt(blob);
      tracker_.FlowsInto(p->data(), p->mutable_flows());
    }
  }
  // What leaves the pipeline is a bounded, redacted preview, redacted on
  // the reassembled stream: as the continuation of what came just before.
  p->set_data(st.redaction.Preview(*DefaultRedactor(), p->offset(), p->data(), kPayloadPreview));
  Emit(*ev, key, proc, msgs, failures, out, &st);
  // Responses that could not be decoded end the calls they answered.
  if (uint64_t n = st.decoder.counters().responses_lost - lost_before; n > 0) {
    const McpObservation where = Observation(*ev, key, proc);
    for (; n > 0; --n) tracker_.OnResponseLost(where, st.decoder.last_loss(), out);
  }
}

std::map<McpStage::Key, McpStage::Stream>::iterator McpStage::Erase(
    std::map<Key, Stream>::iterator it) {
  buffered_ -= it->second.buffered;
  lru_.erase(it->second.lru);
  return streams_.erase(it);
}

void McpStage::Account(Stream* st) {
  const size_t now = st->decoder.buffered();
  buffered_ += now;
  buffered_ -= st->buffered;
  st->buffered = now;
  // From the process holding most in all (a flood's, not a neighbour's
  // one big response), its biggest stream goes first; not the one just
  // fed, which the caller goes on with.
  while (buffered_ > max_buffered_) {
    std::map<uint32_t, size_t> by_pid;
    for (const auto& [k, s] : streams_) by_pid[std::get<0>(k)] += s.buffered;
    uint32_t pid = 0;
    size_t most = 0;
    for (const auto& [p, n] : by_pid) {
      if (n > most) {
        most = n;
        pid = p;
      }
    }
    auto victim = streams_.end();
    for (auto it = streams_.lower_bound(Key{pid, INT32_MIN, 0, 0});
         it != streams_.end() && std::get<0>(it->first) == pid; ++it) {
      if (&it->second != st &&
          (victim == streams_.end() || it->second.buffered > victim->second.buffered))
        victim = it;
    }
    if (victim == streams_.end() || victim->second.buffered == 0) break;
    // What it held is lost: a gap on its session.
    if (!victim->second.session.empty())
      tracker_.OnStreamGap(victim->second.session, 1, victim->second.buffered);
    counters_.stream_gaps += 1;
    counters_.stream_gap_bytes += victim->second.buffered;
    Erase(victim);
    ++counters_.streams_evicted_for_memory;
  }
}

void McpStage::DecodeCut(Stream* st, const std::string& id, std::vector<DecodedMessage>* msgs,
                         std::vector<DecodeFailure>* failures) {
  st->cut_pending = false;
  const size_t before = msgs->size();
  st->decoder.Truncated(msgs, failures);
  for (size_t i = before; i < msgs->size(); ++i) {
    DecodedMessage& d = (*msgs)[i];
    // Its size: the whole write it came in, when the write began it.
    if (st->syscall_opens_object)
      d.frame_bytes = std::max<size_t>(d.frame_bytes, st->cut_length);
    const bool response = d.msg.kind == JsonRpcKind::kResult || d.msg.kind == JsonRpcKind::kError;
    if (response && d.msg.id.empty() && !id.empty()) {
      d.msg.id = id;
      d.msg.note += "; id read from the write's last bytes";
    }
  }
}

void McpStage::NoteGaps(Stream* st, uint64_t gaps_before, uint64_t bytes_before) {
  const uint64_t gaps = st->decoder.counters().gaps - gaps_before;
  if (gaps == 0) return;
  const uint64_t bytes = st->decoder.counters().gap_bytes - bytes_before;
  counters_.stream_gaps += gaps;
  counters_.stream_gap_bytes += bytes;
  if (!st->session.empty()) {
    tracker_.OnStreamGap(st->session, gaps, bytes);
  } else {
    st->unmarked_gaps += gaps;
    st->unmarked_gap_bytes += bytes;
  }
}

void McpStage::OnConnect(const v1::Event& ev) {
  const v1::NetInfo& n = ev.net();
  const v1::SockAddr& r = n.remote();
  if (n.socket_inode() == 0 || (r.family() != "inet" && r.family() != "inet6")) return;
  if (!egress_ || !egress_(r)) return;  // allow-listed (loopback by default)
  if (outside_.size() >= kMaxOutside) outside_.erase(outside_.begin());
  outside_[{ev.process().pid(), n.socket_inode()}] = r;
}

void McpStage::OnClose(const v1::Event& ev) {
  if (ev.net().socket_inode() != 0) outside_.erase({ev.process().pid(), ev.net().socket_inode()});
}

void McpStage::Judge(const Key& key, Stream* st) {
  const StreamDecoder& d = st->decoder;
  const uint32_t pid = std::get<0>(key);
  if (d.speaks_jsonrpc()) {
    st->judged = true;  // the tracker decides whether it is an MCP server
    return;
  }
  if (std::get<1>(key) == 0) {
    // stdin: not JSON-RPC at all.
    if (d.protocol() == StreamDecoder::Protocol::kNotMcp) {
      st->judged = true;
      not_mcp_.push_back(pid);
    }
    return;
  }
  // An accepted connection: not HTTP, or a whole HTTP request without
  // JSON-RPC or MCP headers.
  const bool plain = d.protocol() == StreamDecoder::Protocol::kNotMcp ||
                     (d.counters().http_requests > 0 && !d.mcp_headers_seen());
  if (!plain) return;
  st->judged = true;
  if (++plain_connections_[pid] == kNotMcpConnections) not_mcp_.push_back(pid);
}

void McpStage::OnExit(const v1::Event& ev, std::vector<v1::Event>* out) {
  const uint32_t pid = ev.process().pid();
  plain_connections_.erase(pid);
  auto it = streams_.lower_bound(Key{pid, INT32_MIN, 0, 0});
  while (it != streams_.end() && std::get<0>(it->first) == pid) {
    std::vector<DecodedMessage> msgs;
    std::vector<DecodeFailure> failures;
    if (it->second.cut_pending) DecodeCut(&it->second, "", &msgs, &failures);
    it->second.decoder.Close(&msgs, &failures);
    Emit(ev, it->first, nullptr, msgs, failures, out);
    it = Erase(it);
  }
  tracker_.OnExit(pid, ev.time_unix_ns(), ev.ktime_ns(), out);
}

}  // namespace agentwatch
