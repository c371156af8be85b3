// agentwatch: command-line client of agentwatchd.
#include <signal.h>

#include <iostream>

#include <boost/program_options.hpp>
#include <grpcpp/grpcpp.h>

#include "agentwatch/v1/agentwatch.grpc.pb.h"
#include "cli/format.h"

namespace po = boost::program_options;
namespace v1 = agentwatch::v1;

namespace {

constexpr char kDefaultEndpoint[] = "unix:///run/agentwatch/agentwatch.sock";

constexpr char kUsage[] =
    "Usage: agentwatch [--endpoint URI] [--json] COMMAND [options]\n"
    "\n"
    "Commands:\n"
    "  status                 probes, hook types, counters of the daemon\n"
    "  events                 recent events; with --follow, live ones\n"
    "\n"
    "Run `agentwatch COMMAND --help` for a command's options.\n";

int Fail(const grpc::Status& s, const std::string& endpoint) {
  std::cerr << "agentwatch: " << s.error_message();
  if (s.error_code() == grpc::StatusCode::UNAVAILABLE) {
    std::cerr << " (is agentwatchd running and is " << endpoint
              << " readable by you?)";
  }
  std::cerr << "\n";
  return 1;
}

int Status(v1::AgentWatch::Stub& stub, const std::string& endpoint, bool json) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  v1::Status st;
  grpc::Status s = stub.GetStatus(&ctx, v1::GetStatusRequest(), &st);
  if (!s.ok()) return Fail(s, endpoint);
  if (json) {
    std::cout << agentwatch::StatusJson(st) << "\n";
  } else {
    std::cout << agentwatch::FormatStatus(st);
  }
  return 0;
}

int Events(v1::AgentWatch::Stub& stub, const std::string& endpoint, bool json,
           const std::vector<std::string>& args) {
  po::options_description desc("agentwatch events [options]");
  // clang-format off
  desc.add_options()
    ("help,h", "show this help")
    ("follow,f", "keep streaming live events")
    ("pid,p", po::value<std::vector<uint32_t>>()->composing(),
     "only this process and its descendants (repeatable)")
    ("type,t", po::value<std::vector<std::string>>()->composing(),
     "only these event types (repeatable): exec fork exit snapshot open "
     "unlink rename connect accept bind listen close dns payload mcp loss, or "
     "the groups process file net")
    ("watched,w", "only events of watched processes")
    ("limit,n", po::value<uint32_t>()->default_value(50),
     "recent events to show first (0 with --follow: only new ones)");
  // clang-format on
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(desc).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    std::cerr << "agentwatch events: " << e.what() << "\n";
    return 2;
  }
  if (vm.count("help")) {
    std::cout << desc << "\n";
    return 0;
  }
  v1::StreamEventsRequest req;
  req.set_follow(vm.count("follow") > 0);
  req.set_watched_only(vm.count("watched") > 0);
  req.set_backlog(vm["limit"].as<uint32_t>());
  if (vm.count("pid")) {
    for (uint32_t p : vm["pid"].as<std::vector<uint32_t>>()) req.add_pids(p);
  }
  if (vm.count("type")) {
    for (const auto& t : vm["type"].as<std::vector<std::string>>()) {
      auto types = agentwatch::ParseEventTypes(t);
      if (!types) {
        std::cerr << "agentwatch events: unknown --type '" << t
                  << "' (see --help)\n";
        return 2;
      }
      for (auto ty : *types) req.add_types(ty);
    }
  }
  grpc::ClientContext ctx;
  auto reader = stub.StreamEvents(&ctx, req);
  if (!json) std::cout << agentwatch::EventsHeader() << std::endl;
  v1::Event ev;
  while (reader->Read(&ev)) {
    if (json) {
      std::cout << agentwatch::EventJson(ev) << std::endl;
    } else {
      std::cout << agentwatch::FormatEventLine(ev) << std::endl;
    }
  }
  grpc::Status s = reader->Finish();
  if (!s.ok()) return Fail(s, endpoint);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  po::options_description global("Global options");
  // clang-format off
  global.add_options()
    ("help,h", "show this help")
    ("endpoint,e", po::value<std::string>()->default_value(kDefaultEndpoint),
     "daemon endpoint")
    ("json", "machine output: one JSON object per line")
    ("command", po::value<std::string>(), "command")
    ("args", po::value<std::vector<std::string>>(), "command arguments");
  // clang-format on
  po::positional_options_description pos;
  pos.add("command", 1).add("args", -1);
  po::variables_map vm;
  std::vector<std::string> rest;
  try {
    auto parsed = po::command_line_parser(argc, argv)
                      .options(global)
                      .positional(pos)
                      .allow_unregistered()
                      .run();
    po::store(parsed, vm);
    po::notify(vm);
    rest = po::collect_unrecognized(parsed.options, po::include_positional);
  } catch (const po::error& e) {
    std::cerr << "agentwatch: " << e.what() << "\n" << kUsage;
    return 2;
  }
  if (!vm.count("command")) {
    std::cout << kUsage << "\n" << global << "\n";
    return vm.count("help") ? 0 : 2;
  }
  const std::string cmd = vm["command"].as<std::string>();
  if (!rest.empty() && rest.front() == cmd) rest.erase(rest.begin());
  // Options after the command that are global ones.
  bool json = vm.count("json") > 0;
  std::vector<std::string> args;
  for (const auto& a : rest) {
    if (a == "--json") {
      json = true;
    } else {
      args.push_back(a);
    }
  }
  const std::string endpoint = vm["endpoint"].as<std::string>();
  auto channel = grpc::CreateChannel(endpoint, grpc::InsecureChannelCredentials());
  auto stub = v1::AgentWatch::NewStub(channel);
  if (cmd == "status") {
    if (vm.count("help")) {
      std::cout << "agentwatch status [--json]: probes, hook types and "
                   "counters of the daemon\n";
      return 0;
    }
    return Status(*stub, endpoint, json);
  }
  if (cmd == "events") {
    if (vm.count("help")) args.push_back("--help");
    return Events(*stub, endpoint, json, args);
  }
  std::cerr << "agentwatch: unknown command '" << cmd << "'\n" << kUsage;
  return 2;
}
