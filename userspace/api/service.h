// agentwatch.v1.AgentWatch over gRPC, plus reflection and the standard health
// service. The socket is a unix socket created with mode 0660.
#ifndef AGENTWATCH_API_SERVICE_H_
#define AGENTWATCH_API_SERVICE_H_

#include <functional>
#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "agentwatch/v1/agentwatch.grpc.pb.h"
#include "daemon/hub.h"

namespace agentwatch {

class AgentWatchService final : public v1::AgentWatch::Service {
 public:
  using StatusFn = std::function<v1::Status()>;
  AgentWatchService(Hub* hub, StatusFn status) : hub_(hub), status_(std::move(status)) {}

  grpc::Status GetStatus(grpc::ServerContext*, const v1::GetStatusRequest*,
                         v1::Status* out) override;
  grpc::Status StreamEvents(grpc::ServerContext* ctx,
                            const v1::StreamEventsRequest* req,
                            grpc::ServerWriter<v1::Event>* w) override;

 private:
  Hub* hub_;
  StatusFn status_;
};

class ApiServer {
 public:
  // endpoint: unix:///path. Creates the parent directory (0750) and the
  // socket with mode 0660. Returns "" or an error.
  std::string Start(const std::string& endpoint, AgentWatchService* service);
  void Shutdown();
  void SetServing(bool serving);

 private:
  std::unique_ptr<grpc::Server> server_;
  std::string socket_path_;
};

}  // namespace agentwatch

#endif  // AGENTWATCH_API_SERVICE_H_
