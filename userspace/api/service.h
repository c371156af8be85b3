// agentwatch.v1.AgentWatch over gRPC, plus reflection and the standard health
// service: on a unix socket created with mode 0660, and optionally on TCP
// with TLS and client certificates.
#ifndef AGENTWATCH_API_SERVICE_H_
#define AGENTWATCH_API_SERVICE_H_

#include <functional>
#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "agentwatch/v1/agentwatch.grpc.pb.h"
#include "chain/correlator.h"
#include "detect/engine.h"
#include "pipeline/hub.h"
#include "session/mcp_tracker.h"
#include "store/store.h"

namespace agentwatch {

class AgentWatchService final : public v1::AgentWatch::Service {
 public:
  using StatusFn = std::function<v1::Status()>;
  // tracker may be null (no MCP queries: they answer UNAVAILABLE); store
  // may be null (what is in memory only).
  AgentWatchService(Hub* hub, StatusFn status,
                    const McpTracker* tracker = nullptr,
                    const Correlator* correlator = nullptr,
                    const Store* store = nullptr, Engine* engine = nullptr)
      : hub_(hub),
        status_(std::move(status)),
        tracker_(tracker),
        correlator_(correlator),
        store_(store),
        engine_(engine) {}

  grpc::Status GetStatus(grpc::ServerContext*, const v1::GetStatusRequest*,
                         v1::Status* out) override;
  grpc::Status StreamEvents(grpc::ServerContext* ctx,
                            const v1::StreamEventsRequest* req,
                            grpc::ServerWriter<v1::Event>* w) override;
  grpc::Status ListServers(grpc::ServerContext*, const v1::ListServersRequest*,
                           v1::ListServersResponse* out) override;
  grpc::Status ListSessions(grpc::ServerContext*,
                            const v1::ListSessionsRequest* req,
                            v1::ListSessionsResponse* out) override;
  grpc::Status ListCalls(grpc::ServerContext*, const v1::ListCallsRequest* req,
                         v1::ListCallsResponse* out) override;
  grpc::Status StreamCalls(grpc::ServerContext* ctx,
                           const v1::StreamCallsRequest* req,
                           grpc::ServerWriter<v1::McpCall>* w) override;
  grpc::Status GetToolInventory(grpc::ServerContext*,
                                const v1::GetToolInventoryRequest* req,
                                v1::McpToolInventory* out) override;
  grpc::Status ListAgents(grpc::ServerContext*, const v1::ListAgentsRequest* req,
                          v1::ListAgentsResponse* out) override;
  grpc::Status ListChains(grpc::ServerContext*, const v1::ListChainsRequest* req,
                          v1::ListChainsResponse* out) override;
  grpc::Status GetChain(grpc::ServerContext*, const v1::GetChainRequest* req,
                        v1::Chain* out) override;
  grpc::Status StreamChainUpdates(grpc::ServerContext* ctx,
                                  const v1::StreamChainUpdatesRequest* req,
                                  grpc::ServerWriter<v1::ChainUpdate>* w) override;
  grpc::Status ListAlerts(grpc::ServerContext*, const v1::ListAlertsRequest* req,
                          v1::ListAlertsResponse* out) override;
  grpc::Status StreamAlerts(grpc::ServerContext* ctx, const v1::StreamAlertsRequest* req,
                            grpc::ServerWriter<v1::Alert>* w) override;
  grpc::Status GetAlert(grpc::ServerContext*, const v1::GetAlertRequest* req,
                        v1::Alert* out) override;
  grpc::Status ListRules(grpc::ServerContext*, const v1::ListRulesRequest* req,
                         v1::ListRulesResponse* out) override;
  grpc::Status ListBaselines(grpc::ServerContext*, const v1::ListBaselinesRequest* req,
                             v1::ListBaselinesResponse* out) override;
  grpc::Status ResetBaseline(grpc::ServerContext*, const v1::ResetBaselineRequest* req,
                             v1::ResetBaselineResponse* out) override;
  grpc::Status LintRules(grpc::ServerContext*, const v1::LintRulesRequest* req,
                         v1::LintRulesResponse* out) override;
  grpc::Status SetProbe(grpc::ServerContext*, const v1::SetProbeRequest* req,
                        v1::SetProbeResponse* out) override;

  // The bodies of the streams above, for readers other than gRPC (the
  // console's event streams): write returns false once the reader is
  // gone; cancelled is asked about five times a second.
  template <typename M>
  struct StreamSink {
    std::function<bool(const M&)> write;
    std::function<bool()> cancelled;
  };
  grpc::Status EventStream(const v1::StreamEventsRequest* req, const StreamSink<v1::Event>& w);
  grpc::Status ChainUpdateStream(const v1::StreamChainUpdatesRequest* req,
                                 const StreamSink<v1::ChainUpdate>& w);
  grpc::Status AlertStream(const v1::StreamAlertsRequest* req, const StreamSink<v1::Alert>& w);

  // Detaching and attaching probes (live daemon only; otherwise
  // UNAVAILABLE). Returns "" or the error.
  using SetProbeFn = std::function<std::string(const v1::SetProbeRequest&, v1::SetProbeResponse*)>;
  void SetProbeControl(SetProbeFn fn) { set_probe_ = std::move(fn); }
  // Fills Kubernetes metadata known now into what a query returns (pod
  // names that were not known when the record was made).
  using KubeFillFn = std::function<void(v1::Kubernetes*)>;
  void SetKubernetesFill(KubeFillFn fn) { kube_fill_ = std::move(fn); }
  // The bytes of one page of a list answer (see ListCallsRequest in the
  // proto); smaller in tests.
  static constexpr size_t kPageBytes = size_t{3} << 20;
  void SetPageBytes(size_t n) { page_bytes_ = n; }

 private:
  Hub* hub_;
  StatusFn status_;
  const McpTracker* tracker_;
  const Correlator* correlator_;
  const Store* store_;
  // The store when it is open (reads then add what it keeps to what is in
  // memory), else null: a store not open yet makes no read fail.
  const Store* Stored() const { return store_ != nullptr && store_->available() ? store_ : nullptr; }
  Engine* engine_;  // resets baselines; otherwise read
  SetProbeFn set_probe_;
  KubeFillFn kube_fill_;
  size_t page_bytes_ = kPageBytes;
  void Fill(v1::Kubernetes* k) const {
    if (kube_fill_ && !k->pod_uid().empty()) kube_fill_(k);
  }
};

// PEM texts for the API on TCP: the server's chain and key, and the CA
// client certificates must chain to.
struct ApiTls {
  std::string cert_pem;
  std::string key_pem;
  std::string client_ca_pem;
};

class ApiServer {
 public:
  // endpoint: unix:///path. Creates the parent directory (0750) and the
  // socket with mode 0660. tcp_listen (host:port, "" = none) serves the
  // same API over TLS to clients with a certificate from tls. Returns ""
  // or an error.
  std::string Start(const std::string& endpoint, AgentWatchService* service,
                    const std::string& tcp_listen = "", const ApiTls* tls = nullptr);
  // host:port actually bound for tcp_listen (port 0 picks one); "" if none.
  const std::string& tcp_address() const { return tcp_address_; }
  void Shutdown();
  void SetServing(bool serving);

 private:
  std::unique_ptr<grpc::Server> server_;
  std::string socket_path_;
  std::string tcp_address_;
};

}  // namespace agentwatch

#endif  // AGENTWATCH_API_SERVICE_H_
