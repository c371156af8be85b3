// Whole answers of the daemon's paged list calls: each page stays under
// the transport's message limit (see ListCallsRequest in the proto), and
// these ask page after page until they have limit items or the daemon has
// no further page. Each page is a unary call with its own deadline.
#ifndef AGENTWATCH_CLI_PAGING_H_
#define AGENTWATCH_CLI_PAGING_H_

#include <cstdint>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "agentwatch/v1/agentwatch.grpc.pb.h"

namespace agentwatch::cli {

// The newest req.limit() calls (0 = 1000), oldest first.
grpc::Status ListAllCalls(v1::AgentWatch::StubInterface& stub, v1::ListCallsRequest req,
                          std::vector<v1::McpCall>* out);

// The newest req.limit() alerts (0 = 100), newest first. more (if given):
// whether there are older ones.
grpc::Status ListAllAlerts(v1::AgentWatch::StubInterface& stub, v1::ListAlertsRequest req,
                           std::vector<v1::Alert>* out, bool* more = nullptr);

// The newest req.limit() chains (0 = 100), newest first, without entries.
// next_before_id: the daemon's cursor past them (0 = none older).
grpc::Status ListAllChains(v1::AgentWatch::StubInterface& stub, v1::ListChainsRequest req,
                           std::vector<v1::Chain>* out, uint64_t* next_before_id);

// A chain with all its entries (asked for by window when they do not fit
// one answer).
grpc::Status GetWholeChain(v1::AgentWatch::StubInterface& stub, uint64_t id, v1::Chain* out);

}  // namespace agentwatch::cli

#endif  // AGENTWATCH_CLI_PAGING_H_
