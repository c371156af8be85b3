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
  // (shared fingerprints, index, source), the most shared first.
  std::vector<std::tuple<uint32_t, const FlowIndex*, uint32_t>> linked;
  for (const FlowIndex* idx : indexes) {
    std::map<uint32_t, uint32_t> hits;  // source -> shared fingerprints
    for (uint64_t fp : fps) {
      auto it = idx->by_fp.find(fp);
      if (it != idx->by_fp.end()) ++hits[it->second];
    }
    for (auto [src, n] : hits) {
      if (n < opts_.min_shared_fingerprints) continue;
      if (skip_agent != 0 && idx->sources.at(src).agent_pid == skip_agent) continue;
      linked.emplace_back(n, idx, src);
    }
  }
  std::stable_sort(linked.begin(), linked.end(), [](const auto& a, const auto& b) {
    return std::get<0>(a) > std::get<0>(b);
  });
  if (linked.size() > 8) linked.resize(8);
  for (const auto& [n, idx, src] : linked) {
    const FlowIndex::Source& from = idx->sources.at(src);
    v1::DataFlow* f = out->Add();
    f->set_from_call_id(from.call_id);
    f->set_from_tool(from.tool);
    f->set_from_server_id(from.server_id);
    f->set_from_session_id(from.session_id);
    f->set_shared_fingerprints(n);
    if (from.agent_pid != 0) {
      f->set_from_agent_pid(from.agent_pid);
      f->set_from_agent_id(from.agent_id);
    }
    f->set_written_by_agent_id(from.written_by_agent_id);
  }
  return static_cast<int>(linked.size());
}

void McpTracker::LinkFlows(uint32_t agent, const std::string& arguments, Pending* p) {
  if (agent == 0) return;
  auto idx = flows_.find(agent);
  const bool indexed = idx != flows_.end();
  // Kept for the cross-agent index too (what this call writes), when it
  // succeeds.
  if (!indexed && opts_.max_written_servers == 0) return;
  p->argument_fps = Fingerprints(FingerprintText(arguments));
  if (indexed && AddFlows({&idx->second}, p->argument_fps, p->call.mutable_flows()) > 0)
    ++counters_.data_flows;
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
                           const std::vector<uint64_t>& fps, size_t max_fps) {
  const uint32_t id = idx->next_source++;
  idx->sources[id] = std::move(src);
  for (uint64_t fp : fps) {
    idx->by_fp[fp] = id;  // the latest source that carried it
    idx->order.emplace_back(fp, id);
  }
  while (idx->order.size() > max_fps) {
    auto [fp, old] = idx->order.front();
    idx->order.pop_front();
    auto it = idx->by_fp.find(fp);
    if (it != idx->by_fp.end() && it->second == old) idx->by_fp.erase(it);
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
  FlowIndex::Source src{c.call_id(), c.tool(), c.server_id(), c.session_id()};
  if (c.written_by_size() > 0) src.written_by_agent_id = c.written_by(0).from_agent_id();
  AddSource(&idx, std::move(src), p.result_fps, opts_.max_flow_fingerprints);
}

std::string McpTracker::AgentIdOf(uint32_t pid) const {
  auto a = agents_.find(pid);
  if (a != agents_.end()) return a->second.id();
  const ProcessInfo* proc = process_fn_ ? process_fn_(pid) : nullptr;
  return ProcessInstanceId(pid, proc != nullptr ? proc->start_ns : 0);
}

void McpTracker::IndexWrite(uint32_t agent, const Pending& p, const v1::McpCall& c) {
  if (agent == 0 || p.argument_fps.empty() || c.server_identity().empty() ||
      opts_.max_written_servers == 0)
    return;
  MakeRoom(&written_, c.server_identity(), opts_.max_written_servers);
  FlowIndex& idx = written_[c.server_identity()];
  idx.last_used = c.started_unix_ns();
  FlowIndex::Source src{c.call_id(), c.tool(), c.server_id(), c.session_id()};
  src.agent_pid = agent;
  src.agent_id = AgentIdOf(agent);
  AddSource(&idx, std::move(src), p.argument_fps, opts_.max_written_fingerprints);
}

void McpTracker::LinkWrittenBy(uint32_t agent, const Pending& p, v1::McpCall* c) {
  if (agent == 0 || p.result_fps.empty()) return;
  auto idx = written_.find(c->server_identity());
  if (idx == written_.end()) return;
  if (AddFlows({&idx->second}, p.result_fps, c->mutable_written_by(), agent) > 0)
    ++counters_.cross_agent_flows;
}

}  // namespace agentwatch
