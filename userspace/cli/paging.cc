#include "cli/paging.h"

#include <algorithm>

#include "cli/connection.h"

namespace agentwatch::cli {

grpc::Status ListAllCalls(v1::AgentWatch::StubInterface& stub, v1::ListCallsRequest req,
                          std::vector<v1::McpCall>* out) {
  const size_t want = req.limit() == 0 ? 1000 : req.limit();
  std::vector<v1::McpCall> got;
  while (got.size() < want) {
    req.set_limit(static_cast<uint32_t>(want - got.size()));
    v1::ListCallsResponse resp;
    grpc::ClientContext ctx;
    grpc::Status s = stub.ListCalls(Deadline(&ctx), req, &resp);
    if (!s.ok()) return s;
    for (auto& c : *resp.mutable_calls()) got.push_back(std::move(c));
    if (resp.next_before_call_id() == 0 || resp.calls_size() == 0) break;
    req.set_before_call_id(resp.next_before_call_id());
  }
  // Pages come newest first, each in start order: the whole in start order.
  std::stable_sort(got.begin(), got.end(), [](const v1::McpCall& a, const v1::McpCall& b) {
    return a.started_ktime_ns() < b.started_ktime_ns();
  });
  *out = std::move(got);
  return grpc::Status::OK;
}

grpc::Status ListAllAlerts(v1::AgentWatch::StubInterface& stub, v1::ListAlertsRequest req,
                           std::vector<v1::Alert>* out, bool* more) {
  const size_t want = req.limit() == 0 ? 100 : req.limit();
  out->clear();
  if (more != nullptr) *more = false;
  while (out->size() < want) {
    req.set_limit(static_cast<uint32_t>(want - out->size()));
    v1::ListAlertsResponse resp;
    grpc::ClientContext ctx;
    grpc::Status s = stub.ListAlerts(Deadline(&ctx), req, &resp);
    if (!s.ok()) return s;
    for (auto& a : *resp.mutable_alerts()) out->push_back(std::move(a));
    if (more != nullptr) *more = resp.next_before_id() != 0;
    if (resp.next_before_id() == 0 || resp.alerts_size() == 0) break;
    req.set_before_id(resp.next_before_id());
  }
  return grpc::Status::OK;
}

grpc::Status ListAllChains(v1::AgentWatch::StubInterface& stub, v1::ListChainsRequest req,
                           std::vector<v1::Chain>* out, uint64_t* next_before_id) {
  const size_t want = req.limit() == 0 ? 100 : req.limit();
  out->clear();
  *next_before_id = 0;
  while (out->size() < want) {
    req.set_limit(static_cast<uint32_t>(want - out->size()));
    v1::ListChainsResponse resp;
    grpc::ClientContext ctx;
    grpc::Status s = stub.ListChains(Deadline(&ctx), req, &resp);
    if (!s.ok()) return s;
    for (auto& c : *resp.mutable_chains()) out->push_back(std::move(c));
    *next_before_id = resp.next_before_id();
    if (resp.next_before_id() == 0 || resp.chains_size() == 0) break;
    req.set_before_id(resp.next_before_id());
  }
  return grpc::Status::OK;
}

grpc::Status GetWholeChain(v1::AgentWatch::StubInterface& stub, uint64_t id, v1::Chain* out) {
  v1::GetChainRequest req;
  req.set_id(id);
  {
    grpc::ClientContext ctx;
    grpc::Status s = stub.GetChain(Deadline(&ctx), req, out);
    if (!s.ok()) return s;
  }
  // A chain that did not fit one answer: the rest by window. A chain still
  // growing may have more entries by then; those past the first answer's
  // total are left for the next look.
  const uint32_t total = out->entries_total();
  while (static_cast<uint32_t>(out->entries_size()) < total) {
    req.set_entry_offset(static_cast<uint32_t>(out->entries_size()));
    req.set_entry_limit(total - static_cast<uint32_t>(out->entries_size()));
    v1::Chain part;
    grpc::ClientContext ctx;
    grpc::Status s = stub.GetChain(Deadline(&ctx), req, &part);
    if (!s.ok()) return s;
    if (part.entries_size() == 0) break;
    for (auto& e : *part.mutable_entries()) *out->add_entries() = std::move(e);
  }
  out->clear_entries_total();
  out->clear_entries_offset();
  return grpc::Status::OK;
}

}  // namespace agentwatch::cli
