// servers, sessions, calls, tools and agents: the MCP side of the host.
#include "cli/verbs.h"

#include <cstdint>
#include <iostream>
#include <string>
#include <vector>

#include <boost/program_options.hpp>
#include <grpcpp/grpcpp.h>

#include "cli/connection.h"
#include "cli/flags.h"
#include "cli/format.h"
#include "cli/paging.h"

namespace po = boost::program_options;

namespace agentwatch::cli {

int RunServers(v1::AgentWatch::Stub& stub, const std::string& endpoint, bool json,
               const std::vector<std::string>& args) {
  po::options_description desc("agentwatch servers [options]");
  desc.add_options()("help,h", "show this help")(
      "all,a", "include servers whose process has exited");
  po::variables_map vm;
  if (int r = ParseArgs("servers", desc, args, &vm)) return r < 0 ? 0 : r;
  v1::ListServersRequest req;
  req.set_include_ended(vm.count("all") > 0);
  v1::ListServersResponse resp;
  grpc::ClientContext ctx;
  grpc::Status s = stub.ListServers(Deadline(&ctx), req, &resp);
  if (!s.ok()) return Fail(s, endpoint);
  if (json) {
    PrintJsonLines(resp.servers());
  } else {
    std::cout << FormatServers({resp.servers().begin(), resp.servers().end()});
  }
  return 0;
}

int RunSessions(v1::AgentWatch::Stub& stub, const std::string& endpoint, bool json,
                const std::vector<std::string>& args) {
  po::options_description desc("agentwatch sessions [options]");
  // clang-format off
  desc.add_options()
    ("help,h", "show this help")
    ("server,s", po::value<std::string>()->default_value(""),
     "only sessions of this server (id, identity, name, package or pid)")
    ("all,a", "include sessions that ended");
  // clang-format on
  po::variables_map vm;
  if (int r = ParseArgs("sessions", desc, args, &vm)) return r < 0 ? 0 : r;
  v1::ListSessionsRequest req;
  req.set_server(vm["server"].as<std::string>());
  req.set_include_ended(vm.count("all") > 0);
  v1::ListSessionsResponse resp;
  grpc::ClientContext ctx;
  grpc::Status s = stub.ListSessions(Deadline(&ctx), req, &resp);
  if (!s.ok()) return Fail(s, endpoint);
  if (json) {
    PrintJsonLines(resp.sessions());
  } else {
    std::cout << FormatSessions({resp.sessions().begin(), resp.sessions().end()});
  }
  return 0;
}

int RunCalls(v1::AgentWatch::Stub& stub, const std::string& endpoint, bool json,
             const std::vector<std::string>& args) {
  po::options_description desc("agentwatch calls [options]");
  // clang-format off
  desc.add_options()
    ("help,h", "show this help")
    ("follow,f", "keep showing calls as they finish")
    ("server,s", po::value<std::string>()->default_value(""),
     "only calls to this server (id, identity, name, package or pid)")
    ("session", po::value<std::string>()->default_value(""), "only this session")
    ("method,m", po::value<std::string>()->default_value(""),
     "only this method (tools/call, initialize, ...)")
    ("tool", po::value<std::string>()->default_value(""), "only this tool")
    ("status", po::value<std::string>()->default_value(""),
     "only this outcome: ok error tool_error cancelled unanswered pending")
    ("limit,n", po::value<uint32_t>()->default_value(100),
     "recent calls to show first (0 with --follow: only new ones)");
  // clang-format on
  po::variables_map vm;
  if (int r = ParseArgs("calls", desc, args, &vm)) return r < 0 ? 0 : r;
  v1::CallFilter f;
  f.set_server(vm["server"].as<std::string>());
  f.set_session(vm["session"].as<std::string>());
  f.set_method(vm["method"].as<std::string>());
  f.set_tool(vm["tool"].as<std::string>());
  f.set_status(vm["status"].as<std::string>());
  const uint32_t limit = vm["limit"].as<uint32_t>();
  auto print = [&](const v1::McpCall& c) {
    std::cout << (json ? ProtoJson(c) : FormatCallLine(c)) << std::endl;
  };
  if (!json) std::cout << CallsHeader() << std::endl;
  if (!vm.count("follow")) {
    v1::ListCallsRequest req;
    *req.mutable_filter() = f;
    req.set_limit(limit);
    std::vector<v1::McpCall> calls;
    grpc::Status s = ListAllCalls(stub, req, &calls);
    if (!s.ok()) return Fail(s, endpoint);
    for (const auto& c : calls) print(c);
    return 0;
  }
  v1::StreamCallsRequest req;
  *req.mutable_filter() = f;
  req.set_backlog(limit);
  grpc::ClientContext ctx;
  auto reader = stub.StreamCalls(&ctx, req);
  v1::McpCall c;
  while (reader->Read(&c)) print(c);
  grpc::Status s = reader->Finish();
  if (!s.ok()) return Fail(s, endpoint);
  return 0;
}

int RunTools(v1::AgentWatch::Stub& stub, const std::string& endpoint, bool json,
             const std::vector<std::string>& args) {
  po::options_description desc("agentwatch tools SERVER [options]");
  // clang-format off
  desc.add_options()
    ("help,h", "show this help")
    ("server", po::value<std::string>(),
     "server id, identity, name, package or pid (see `agentwatch servers`)")
    ("history", "also show the history of tool changes");
  // clang-format on
  po::positional_options_description pos;
  pos.add("server", 1);
  po::variables_map vm;
  if (int r = ParseArgs("tools", desc, args, &vm, &pos)) return r < 0 ? 0 : r;
  if (!vm.count("server")) {
    std::cerr << "agentwatch tools: which server? (see `agentwatch servers`)\n";
    return 2;
  }
  v1::GetToolInventoryRequest req;
  req.set_server(vm["server"].as<std::string>());
  v1::McpToolInventory inv;
  grpc::ClientContext ctx;
  grpc::Status s = stub.GetToolInventory(Deadline(&ctx), req, &inv);
  if (!s.ok()) return Fail(s, endpoint);
  if (json) {
    std::cout << ProtoJson(inv) << "\n";
  } else {
    std::cout << FormatInventory(inv, vm.count("history") > 0);
  }
  return 0;
}

int RunAgents(v1::AgentWatch::Stub& stub, const std::string& endpoint, bool json,
              const std::vector<std::string>& args) {
  po::options_description desc("agentwatch agents [options]");
  desc.add_options()("help,h", "show this help")(
      "all,a", "include agents whose process has exited");
  po::variables_map vm;
  if (int r = ParseArgs("agents", desc, args, &vm)) return r < 0 ? 0 : r;
  v1::ListAgentsRequest req;
  req.set_include_ended(vm.count("all") > 0);
  v1::ListAgentsResponse resp;
  grpc::ClientContext ctx;
  grpc::Status s = stub.ListAgents(Deadline(&ctx), req, &resp);
  if (!s.ok()) return Fail(s, endpoint);
  if (json) {
    PrintJsonLines(resp.agents());
  } else {
    std::cout << FormatAgents({resp.agents().begin(), resp.agents().end()});
  }
  return 0;
}

}  // namespace agentwatch::cli
