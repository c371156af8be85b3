// status, probes and health: what the daemon runs and whether it serves.
#include "cli/verbs.h"

#include <chrono>
#include <future>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <boost/program_options.hpp>
#include <fmt/format.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/wire_format_lite.h>
#include <grpcpp/generic/generic_stub.h>

#include "cli/connection.h"
#include "cli/flags.h"
#include "cli/format.h"
#include "common/text.h"

namespace po = boost::program_options;

namespace agentwatch::cli {

namespace {

// The standard gRPC health check (grpc.health.v1.Health/Check) through the
// generic stub, its two one-field messages read and written with
// protobuf's wire format: the request is {1: service}, the answer {1:
// status} with 1 = SERVING, 2 = NOT_SERVING, 3 = SERVICE_UNKNOWN. Returns
// the status name, or "" with error.
std::string HealthCheck(const std::shared_ptr<grpc::Channel>& channel, const std::string& service,
                        std::string* error) {
  std::string req;
  {
    google::protobuf::io::StringOutputStream out(&req);
    google::protobuf::io::CodedOutputStream coded(&out);
    if (!service.empty()) {
      coded.WriteTag(google::protobuf::internal::WireFormatLite::MakeTag(
          1, google::protobuf::internal::WireFormatLite::WIRETYPE_LENGTH_DELIMITED));
      coded.WriteVarint32(static_cast<uint32_t>(service.size()));
      coded.WriteString(service);
    }
  }
  grpc::Slice slice(req);
  grpc::ByteBuffer request(&slice, 1), response;
  grpc::GenericStub stub(channel);
  grpc::ClientContext ctx;
  Deadline(&ctx);
  std::promise<grpc::Status> done;
  stub.UnaryCall(&ctx, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request, &response,
                 [&done](grpc::Status s) { done.set_value(std::move(s)); });
  grpc::Status s = done.get_future().get();
  if (!s.ok()) {
    *error = s.error_message();
    return "";
  }
  std::vector<grpc::Slice> slices;
  std::string bytes;
  if (response.Dump(&slices).ok()) {
    for (const auto& sl : slices) {
      bytes.append(reinterpret_cast<const char*>(sl.begin()), sl.size());
    }
  }
  uint32_t status = 0;
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(bytes.data()),
                                            static_cast<int>(bytes.size()));
  for (uint32_t tag; (tag = in.ReadTag()) != 0;) {
    if (tag == google::protobuf::internal::WireFormatLite::MakeTag(
                   1, google::protobuf::internal::WireFormatLite::WIRETYPE_VARINT)) {
      if (!in.ReadVarint32(&status)) break;
    } else if (!google::protobuf::internal::WireFormatLite::SkipField(&in, tag)) {
      break;
    }
  }
  switch (status) {
    case 1: return "SERVING";
    case 2: return "NOT_SERVING";
    case 3: return "SERVICE_UNKNOWN";
    default: return "UNKNOWN";
  }
}

}  // namespace

int RunStatus(v1::AgentWatch::Stub& stub, const std::string& endpoint, bool json,
              const std::vector<std::string>& /*args*/) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  v1::Status st;
  grpc::Status s = stub.GetStatus(&ctx, v1::GetStatusRequest(), &st);
  if (!s.ok()) return Fail(s, endpoint);
  if (json) {
    std::cout << StatusJson(st) << "\n";
  } else {
    std::cout << FormatStatus(st);
  }
  return 0;
}

int RunProbes(v1::AgentWatch::Stub& stub, const std::string& endpoint, bool json,
              const std::vector<std::string>& args) {
  po::options_description desc("agentwatch probes [--detach NAME | --attach NAME]");
  // clang-format off
  desc.add_options()
    ("help,h", "show this help")
    ("detach", po::value<std::string>(), "detach the probes of this program or capability "
     "(agentwatchd reports itself unready until they are attached again)")
    ("attach", po::value<std::string>(), "attach them again");
  // clang-format on
  po::variables_map vm;
  if (int r = ParseArgs("probes", desc, args, &vm)) return r < 0 ? 0 : r;
  if (vm.count("detach") || vm.count("attach")) {
    v1::SetProbeRequest req;
    req.set_attach(vm.count("attach") > 0);
    req.set_program(vm.count("attach") ? vm["attach"].as<std::string>()
                                       : vm["detach"].as<std::string>());
    v1::SetProbeResponse resp;
    grpc::ClientContext ctx;
    grpc::Status s = stub.SetProbe(Deadline(&ctx), req, &resp);
    if (!s.ok()) return Fail(s, endpoint);
    for (const auto& p : resp.probes()) {
      std::cout << (json ? ProtoJson(p)
                         : fmt::format("{} {} ({})", p.attached() ? "attached" : "detached",
                                       p.program(), p.capability()))
                << "\n";
    }
    return 0;
  }
  grpc::ClientContext ctx;
  v1::Status st;
  grpc::Status s = stub.GetStatus(Deadline(&ctx), v1::GetStatusRequest(), &st);
  if (!s.ok()) return Fail(s, endpoint);
  for (const auto& p : st.probes()) {
    if (json) {
      std::cout << ProtoJson(p) << "\n";
    } else if (p.attached() || p.detached()) {
      std::cout << fmt::format("{:<9} {:<16} {:<28} {:<10} {}\n",
                               p.attached() ? "attached" : "DETACHED", p.capability(), p.program(),
                               p.hook_type(), p.target());
    }
  }
  return 0;
}

int RunHealth(std::vector<Node>& nodes, bool json, bool help,
              const std::vector<std::string>& args) {
  if (help) {
    std::cout << "agentwatch health [SERVICE]: the gRPC health of each endpoint (SERVING or "
                 "NOT_SERVING); exit 0 when all serve\n";
    return 0;
  }
  const std::string service = args.empty() ? "agentwatch.v1.AgentWatch" : args[0];
  int rc = 0;
  for (size_t i = 0; i < nodes.size(); ++i) {
    std::string error;
    const std::string st = HealthCheck(nodes[i].channel, service, &error);
    if (st.empty()) {
      std::cerr << "agentwatch: " << nodes[i].endpoint << ": " << error << "\n";
      rc = 1;
      continue;
    }
    if (json) {
      std::cout << "{\"endpoint\":" << JsonString(nodes[i].endpoint)
                << ",\"status\":\"" << st << "\"}\n";
    } else {
      std::cout << (nodes.size() > 1 ? nodes[i].endpoint + " " : "") << st << "\n";
    }
    if (st != "SERVING") rc = 1;
  }
  return rc;
}

}  // namespace agentwatch::cli
