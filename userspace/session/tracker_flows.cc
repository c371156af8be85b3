// Data flows between calls: the content an agent reads (tools/call,
// resources/read, prompts/get results) is scanned for text addressed to
// the model and fingerprinted; the fingerprints are kept per agent, and a
// later call of the agent (to any server), or bytes sent to the network,
// that share enough of them are linked to the earlier result.
// Cross-agent flows: the arguments of an agent's successful tools/call are
// fingerprinted too and kept per server identity (a memory graph, a file
// or database server that several agents start or share); a result of a
// server of that identity that returns them to another agent is linked to
// the writing call (McpCall.written_by), and the reader's own later flows
// name the writer (DataFlow.written_by_agent_id).
#include <algorithm>
#include <map>
#include <tuple>

#include "common/clock.h"
#include "mcp/fingerprint.h"
#include "redact/redact.h"
#include "session/mcp_tracker.h"

namespace agentwatch {
namespace {

// The least recently used entry of a bounded index map, erased to make
// room for a new key.
template <typename Map>
void MakeRoom(Map* m, const typename Map::key_type& key, size_t max) {
  if (m->count(key) || m->size() < max || m->empty()) return;
  auto oldest = m->begin();
  for (auto it = m->begin(); it != m->end(); ++it) {
    if (it->second.last_used < oldest->second.last_used) oldest = it;
  }
  m->erase(oldest);
}

}  // namespace

void McpTracker::NoteResultContent(const std::string& result, bool is_error, Pending* p) {
  v1::McpCall& c = p->call;
  // Content the agent reads, as text (one parse serves both uses).
  const std::string text = JsonStringValues(result);
  // Scanned whole for text addressed to the model.
  std::string reason, excerpt;
  c.set_content_scanned(static_cast<bool>(content_scanner_));
  if (content_scanner_ && content_scanner_(text, &reason, &excerpt)) {
    c.set_content_flag(reason);
    c.set_content_excerpt(Redact(excerpt, 512));
  }
  // What came back may go out again: remember its fingerprints.
  if (!is_error) p->result_fps = Fingerprints(NormalizedText(text));
}

int McpTracker::AddFlows(const std::vector<const FlowIndex*>& indexes,
                        const std::vector<uint64_t>& fps,
                        google::protobuf::RepeatedPtrField<v1::DataFlow>* out,
                        uint32_t skip_agent) {
  if (indexes.empty() || fps.empty()) return 0;
  struct Hits {
    uint32_t n = 0;
    uint32_t cross = 0;  // of them, content another agent wrote
  };
  // (shared fingerprints, index, source, cross), the most shared first.
  std::vector<std::tuple<uint32_t, const FlowIndex*, uint32_t, uint32_t>> linked;
  for (const FlowIndex* idx : indexes) {
    std::map<uint32_t, Hits> hits;  // source -> shared fingerprints
    for (uint64_t fp : fps) {
      auto it = idx->by_fp.find(fp);
      if (it == idx->by_fp.end()) continue;
      Hits& h = hits[it->second.source];
      ++h.n;
      if (it->second.flags & FlowIndex::kCross) ++h.cross;
    }
    for (auto [src, h] : hits) {
      if (h.n < opts_.min_shared_fingerprints) continue;
      if (skip_agent != 0 && idx->sources.at(src).agent_pid == skip_agent) continue;
      linked.emplace_back(h.n, idx, src, h.cross);
    }
  }
  std::stable_sort(linked.begin(), linked.end(), [](const auto& a, const auto& b) {
    return std::get<0>(a) > std::get<0>(b);
  });
  if (linked.size() > 8) linked.resize(8);
  for (const auto& [n, idx, src, cross] : linked) {
    const FlowIndex::Source& from = idx->sources.at(src);
    v1::DataFlow* f = out->Add();
    f->set_from_call_id(from.call_id);
    f->set_from_tool(from.tool);
    f->set_from_server_id(from.server_id);
    f->set_from_session_id(from.session_id);
    f->set_shared_fingerprints(n);
    // What moves is another agent's only when enough of it is.
    if (cross >= opts_.min_shared_fingerprints)
      f->set_written_by_agent_id(from.written_by_agent_id);
  }
  return static_cast<int>(linked.size());
}

void McpTracker::LinkFlows(uint32_t agent, const std::string& arguments, Pending* p) {
  if (agent == 0) return;
  auto idx = flows_.find(agent);
  const bool indexed = idx != flows_.end();
  // A tools/call's are kept for the cross-agent index too (what it wrote),
  // when it succeeds.
  const bool writes = p->call.method() == "tools/call" && opts_.max_written_servers > 0;
  if (!indexed && !writes) return;
  // (Bounded: text past 1 MiB is not what is compared.)
  std::vector<uint64_t> fps =
      Fingerprints(FingerprintText(std::string_view(arguments).substr(0, 1u << 20)));
  if (indexed && AddFlows({&idx->second}, fps, p->call.mutable_flows()) > 0)
    ++counters_.data_flows;
  if (!writes) return;
  // The smallest hashes: the same sample of the same text on both sides.
  if (fps.size() > opts_.max_written_per_call) fps.resize(opts_.max_written_per_call);
  p->argument_fps = std::move(fps);
}

void McpTracker::FlowsInto(std::string_view bytes,
                           google::protobuf::RepeatedPtrField<v1::DataFlow>* out) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<const FlowIndex*> all;
  for (const auto& [agent, idx] : flows_) all.push_back(&idx);
  if (all.empty()) return;
  if (AddFlows(all, Fingerprints(FingerprintText(bytes)), out) > 0) ++counters_.data_flows;
}

void McpTracker::AddSource(FlowIndex* idx, FlowIndex::Source src,
                           const std::vector<uint64_t>& fps, size_t max_fps,
                           const std::vector<uint64_t>& cross) {
  const uint32_t id = idx->next_source++;
  const uint32_t writer = src.agent_pid;
  idx->sources[id] = std::move(src);
  for (uint64_t fp : fps) {
    auto [it, inserted] = idx->by_fp.try_emplace(fp);
    uint8_t flags = std::binary_search(cross.begin(), cross.end(), fp) ? FlowIndex::kCross : 0;
    if (!inserted && writer != 0) {
      // Another agent wrote it before (or several did): nobody's own.
      auto before = idx->sources.find(it->second.source);
      if ((it->second.flags & FlowIndex::kSeveral) ||
          (before != idx->sources.end() && before->second.agent_pid != writer))
        flags |= FlowIndex::kSeveral;
    }
    it->second = {id, flags};  // the latest source that carried it
    idx->order.emplace_back(fp, id);
  }
  while (idx->order.size() > max_fps) {
    auto [fp, old] = idx->order.front();
    idx->order.pop_front();
    auto it = idx->by_fp.find(fp);
    if (it != idx->by_fp.end() && it->second.source == old) idx->by_fp.erase(it);
  }
  // Sources no fingerprint can name any more.
  const uint32_t first = idx->order.empty() ? id : idx->order.front().second;
  idx->sources.erase(idx->sources.begin(), idx->sources.lower_bound(first));
}

void McpTracker::IndexResult(uint32_t agent, const Pending& p, const v1::McpCall& c) {
  if (agent == 0 || opts_.max_flow_agents == 0) return;
  MakeRoom(&flows_, agent, opts_.max_flow_agents);
  FlowIndex& idx = flows_[agent];
  idx.last_used = c.started_unix_ns();
  FlowIndex::Source src{.call_id = c.call_id(),
                        .tool = c.tool(),
                        .server_id = c.server_id(),
                        .session_id = c.session_id(),
                        .data_key = SharedDataKey(c)};
  if (c.written_by_size() > 0) src.written_by_agent_id = c.written_by(0).from_agent_id();
  AddSource(&idx, std::move(src), p.result_fps, opts_.max_flow_fingerprints, p.cross_fps);
}

std::string McpTracker::AgentIdOf(uint32_t pid) const {
  auto a = agents_.find(pid);
  if (a != agents_.end()) return a->second.id();
  const ProcessInfo* proc = process_fn_ ? process_fn_(pid) : nullptr;
  return ProcessInstanceId(pid, proc != nullptr ? proc->start_ns : 0);
}

std::string McpTracker::SharedDataKey(const v1::McpCall& c) const {
  auto s = servers_.find(c.server_pid());
  return s != servers_.end() ? s->second.data_key : c.server_identity();
}

void McpTracker::IndexWrite(uint32_t agent, const Pending& p, const v1::McpCall& c) {
  if (agent == 0 || p.argument_fps.empty() || c.server_identity().empty() ||
      opts_.max_written_servers == 0)
    return;
  const std::string key = SharedDataKey(c);
  // Text the agent quotes from this same data (an edit's old text, a file
  // it read and writes back) is not its own.
  std::vector<uint64_t> fps;
  fps.reserve(p.argument_fps.size());
  const auto own = flows_.find(agent);
  for (uint64_t fp : p.argument_fps) {
    if (own != flows_.end()) {
      auto it = own->second.by_fp.find(fp);
      if (it != own->second.by_fp.end() &&
          own->second.sources.at(it->second.source).data_key == key)
        continue;
    }
    fps.push_back(fp);
  }
  if (fps.empty()) return;
  MakeRoom(&written_, key, opts_.max_written_servers);
  FlowIndex& idx = written_[key];
  idx.last_used = c.started_unix_ns();
  FlowIndex::Source src{.call_id = c.call_id(),
                        .tool = c.tool(),
                        .server_id = c.server_id(),
                        .session_id = c.session_id(),
                        .agent_pid = agent,
                        .agent_id = AgentIdOf(agent)};
  AddSource(&idx, std::move(src), fps, opts_.max_written_fingerprints);
}

void McpTracker::LinkWrittenBy(uint32_t agent, Pending* p, v1::McpCall* c) {
  if (agent == 0 || p->result_fps.empty()) return;
  auto idx = written_.find(SharedDataKey(*c));
  if (idx == written_.end()) return;
  const FlowIndex& w = idx->second;
  // Per writer agent (pieces written in several calls add up): what it
  // wrote alone, and this call did not itself send (a server echoing its
  // arguments).
  struct Writer {
    uint32_t n = 0;
    std::map<uint32_t, uint32_t> by_source;
    std::vector<uint64_t> fps;  // sorted (result_fps is)
  };
  std::map<uint32_t, Writer> writers;
  for (uint64_t fp : p->result_fps) {
    auto it = w.by_fp.find(fp);
    if (it == w.by_fp.end() || (it->second.flags & FlowIndex::kSeveral)) continue;
    if (std::binary_search(p->argument_fps.begin(), p->argument_fps.end(), fp)) continue;
    const FlowIndex::Source& src = w.sources.at(it->second.source);
    if (src.agent_pid == agent) continue;
    Writer& x = writers[src.agent_pid];
    ++x.n;
    ++x.by_source[it->second.source];
    x.fps.push_back(fp);
  }
  std::vector<std::pair<uint32_t, const Writer*>> linked;
  for (const auto& [pid, x] : writers)
    if (x.n >= opts_.min_shared_fingerprints) linked.emplace_back(x.n, &x);
  if (linked.empty()) return;
  std::stable_sort(linked.begin(), linked.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  if (linked.size() > 8) linked.resize(8);
  // The flagged text (content_flag), to tell whose it is.
  std::vector<uint64_t> flagged;
  if (!c->content_flag().empty()) flagged = Fingerprints(NormalizedText(c->content_excerpt()));
  for (const auto& [n, x] : linked) {
    uint32_t best = x->by_source.begin()->first;
    for (auto [src, k] : x->by_source)
      if (k > x->by_source.at(best)) best = src;
    const FlowIndex::Source& from = w.sources.at(best);
    v1::DataFlow* f = c->add_written_by();
    f->set_from_call_id(from.call_id);
    f->set_from_tool(from.tool);
    f->set_from_server_id(from.server_id);
    f->set_from_session_id(from.session_id);
    f->set_shared_fingerprints(n);
    f->set_from_agent_pid(from.agent_pid);
    f->set_from_agent_id(from.agent_id);
    if (!c->content_flag().empty()) {
      // The excerpt shares text with what it wrote, or it wrote most of it.
      bool in_it = 2 * static_cast<size_t>(n) >= p->result_fps.size();
      for (uint64_t fp : flagged)
        in_it = in_it || std::binary_search(x->fps.begin(), x->fps.end(), fp);
      f->set_flagged(in_it);
    }
    p->cross_fps.insert(p->cross_fps.end(), x->fps.begin(), x->fps.end());
  }
  std::sort(p->cross_fps.begin(), p->cross_fps.end());
  idx->second.last_used = c->started_unix_ns();
  ++counters_.cross_agent_flows;
}

}  // namespace agentwatch
