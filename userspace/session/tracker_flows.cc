// Data flows between calls: the content an agent reads (tools/call,
// resources/read, prompts/get results) is scanned for text addressed to
// the model and fingerprinted; the fingerprints are kept per agent, and a
// later call of the agent (to any server), or bytes sent to the network,
// that share enough of them are linked to the earlier result.
#include <algorithm>
#include <map>
#include <tuple>

#include "mcp/fingerprint.h"
#include "redact/redact.h"
#include "session/mcp_tracker.h"

namespace agentwatch {

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

void McpTracker::AddFlows(const std::vector<const FlowIndex*>& indexes,
                          std::string_view text,
                          google::protobuf::RepeatedPtrField<v1::DataFlow>* out) {
  if (indexes.empty()) return;
  const std::vector<uint64_t> fps = Fingerprints(FingerprintText(text));
  // (shared fingerprints, index, source), the most shared first.
  std::vector<std::tuple<uint32_t, const FlowIndex*, uint32_t>> linked;
  for (const FlowIndex* idx : indexes) {
    std::map<uint32_t, uint32_t> hits;  // source -> shared fingerprints
    for (uint64_t fp : fps) {
      auto it = idx->by_fp.find(fp);
      if (it != idx->by_fp.end()) ++hits[it->second];
    }
    for (auto [src, n] : hits)
      if (n >= opts_.min_shared_fingerprints) linked.emplace_back(n, idx, src);
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
  }
  if (!linked.empty()) ++counters_.data_flows;
}

void McpTracker::LinkFlows(uint32_t agent, const std::string& arguments, v1::McpCall* c) {
  auto idx = flows_.find(agent);
  if (agent == 0 || idx == flows_.end()) return;
  AddFlows({&idx->second}, arguments, c->mutable_flows());
}

void McpTracker::FlowsInto(std::string_view bytes,
                           google::protobuf::RepeatedPtrField<v1::DataFlow>* out) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<const FlowIndex*> all;
  for (const auto& [agent, idx] : flows_) all.push_back(&idx);
  AddFlows(all, bytes, out);
}

void McpTracker::IndexResult(uint32_t agent, const Pending& p, const v1::McpCall& c) {
  if (agent == 0) return;
  if (!flows_.count(agent) && flows_.size() >= opts_.max_flow_agents) {
    auto oldest = flows_.begin();
    for (auto it = flows_.begin(); it != flows_.end(); ++it) {
      if (it->second.last_used < oldest->second.last_used) oldest = it;
    }
    flows_.erase(oldest);
  }
  FlowIndex& idx = flows_[agent];
  idx.last_used = c.started_unix_ns();
  const uint32_t src = idx.next_source++;
  idx.sources[src] = {c.call_id(), c.tool(), c.server_id(), c.session_id()};
  for (uint64_t fp : p.result_fps) {
    idx.by_fp[fp] = src;  // the latest result that carried it
    idx.order.emplace_back(fp, src);
  }
  while (idx.order.size() > opts_.max_flow_fingerprints) {
    auto [fp, old] = idx.order.front();
    idx.order.pop_front();
    auto it = idx.by_fp.find(fp);
    if (it != idx.by_fp.end() && it->second == old) idx.by_fp.erase(it);
  }
  // Sources no fingerprint can name any more.
  const uint32_t first = idx.order.empty() ? src : idx.order.front().second;
  idx.sources.erase(idx.sources.begin(), idx.sources.lower_bound(first));
}

}  // namespace agentwatch
