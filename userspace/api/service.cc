#include "api/service.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <spdlog/spdlog.h>

namespace agentwatch {

grpc::Status AgentWatchService::GetStatus(grpc::ServerContext*,
                                          const v1::GetStatusRequest*,
                                          v1::Status* out) {
  *out = status_();
  return grpc::Status::OK;
}

grpc::Status AgentWatchService::StreamEvents(
    grpc::ServerContext* ctx, const v1::StreamEventsRequest* req,
    grpc::ServerWriter<v1::Event>* w) {
  EventFilter f;
  f.pids.insert(req->pids().begin(), req->pids().end());
  for (int t : req->types()) {
    if (!v1::EventType_IsValid(t) || t == 0) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          fmt::format("unknown event type {}", t));
    }
    f.types.insert(t);
  }
  f.watched_only = req->watched_only();
  constexpr uint32_t kMaxBacklog = 100000;
  if (req->backlog() > kMaxBacklog) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        fmt::format("backlog {} exceeds {}", req->backlog(),
                                    kMaxBacklog));
  }
  auto sub = hub_->Subscribe(std::move(f), req->backlog(), req->follow());
  v1::Event ev;
  while (!ctx->IsCancelled()) {
    if (!sub->Next(&ev, std::chrono::milliseconds(200))) {
      if (!req->follow()) break;
      continue;
    }
    if (!w->Write(ev)) break;
  }
  hub_->Unsubscribe(sub);
  return grpc::Status::OK;
}

std::string ApiServer::Start(const std::string& endpoint,
                             AgentWatchService* service) {
  constexpr std::string_view kUnix = "unix://";
  if (endpoint.rfind(kUnix, 0) != 0) {
    return fmt::format("endpoint {}: only unix:// is supported", endpoint);
  }
  socket_path_ = endpoint.substr(kUnix.size());
  std::error_code ec;
  std::filesystem::path dir = std::filesystem::path(socket_path_).parent_path();
  if (!dir.empty() && !std::filesystem::exists(dir)) {
    std::filesystem::create_directories(dir, ec);
    if (ec) return fmt::format("create {}: {}", dir.string(), ec.message());
    chmod(dir.c_str(), 0750);
  }
  unlink(socket_path_.c_str());  // a stale socket from a crash

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder b;
  b.AddListeningPort(endpoint, grpc::InsecureServerCredentials());
  b.RegisterService(service);
  // The socket must never exist with a looser mode, not even briefly.
  mode_t old = umask(0117);
  server_ = b.BuildAndStart();
  umask(old);
  if (!server_) return fmt::format("cannot listen on {}", endpoint);
  if (chmod(socket_path_.c_str(), 0660) != 0) {
    return fmt::format("chmod {}: {}", socket_path_, std::strerror(errno));
  }
  SetServing(true);
  return "";
}

void ApiServer::SetServing(bool serving) {
  if (!server_) return;
  if (auto* h = server_->GetHealthCheckService()) {
    h->SetServingStatus(serving);
    h->SetServingStatus("agentwatch.v1.AgentWatch", serving);
  }
}

void ApiServer::Shutdown() {
  if (!server_) return;
  SetServing(false);
  server_->Shutdown(std::chrono::system_clock::now() +
                    std::chrono::milliseconds(500));
  server_->Wait();
  server_.reset();
  unlink(socket_path_.c_str());
}

}  // namespace agentwatch
