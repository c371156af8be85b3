// events: kernel and MCP events, recent ones and, with --follow, live.
#include "cli/verbs.h"

#include <cstdint>
#include <iostream>
#include <string>
#include <vector>

#include <boost/program_options.hpp>
#include <grpcpp/grpcpp.h>

#include "cli/connection.h"
#include "cli/format.h"

namespace po = boost::program_options;

namespace agentwatch::cli {

int RunEvents(v1::AgentWatch::Stub& stub, const std::string& endpoint, bool json,
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
     "unlink rename connect accept bind listen close dns payload mcp call "
     "tools loss, or the groups process file net mcp")
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
      auto types = ParseEventTypes(t);
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
  if (!json) std::cout << EventsHeader() << std::endl;
  v1::Event ev;
  while (reader->Read(&ev)) {
    if (json) {
      std::cout << EventJson(ev) << std::endl;
    } else {
      std::cout << FormatEventLine(ev) << std::endl;
    }
  }
  grpc::Status s = reader->Finish();
  if (!s.ok()) return Fail(s, endpoint);
  return 0;
}

}  // namespace agentwatch::cli
