// chains and chain: what each agent did, call by call, with the kernel effects.
#include "cli/verbs.h"

#include <cstdint>
#include <exception>
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

int RunChains(v1::AgentWatch::Stub& stub, const std::string& endpoint, bool json,
              const std::vector<std::string>& args) {
  po::options_description desc("agentwatch chains [options]");
  // clang-format off
  desc.add_options()
    ("help,h", "show this help")
    ("agent", po::value<std::string>(),
     "only this agent: its pid, or its id (<pid>-<start ms>, see `agentwatch agents`)")
    ("since", po::value<std::string>(),
     "only chains active in this last span (30m, 1h, 7d; a bare number is seconds)")
    ("limit,n", po::value<uint32_t>()->default_value(100), "most recent chains")
    ("before", po::value<uint64_t>()->default_value(0),
     "only chains older than this id (the next page)")
    ("follow,f", "show chains growing: each call (with its effects), agent "
     "effect and chain end as it happens")
    ("unchained", "with --follow, also calls that have no known agent")
    ("has-alerts", "only chains an alert points to");
  // clang-format on
  po::variables_map vm;
  if (int r = ParseArgs("chains", desc, args, &vm)) return r < 0 ? 0 : r;
  uint32_t agent_pid = 0;
  std::string agent_id;
  if (vm.count("agent")) {
    const std::string a = vm["agent"].as<std::string>();
    if (a.find('-') != std::string::npos) {
      agent_id = a;
    } else {
      try {
        agent_pid = static_cast<uint32_t>(std::stoul(a));
      } catch (const std::exception&) {
        std::cerr << "agentwatch chains: --agent '" << a << "' is not a pid or an agent id\n";
        return 2;
      }
    }
  }
  if (vm.count("follow")) {
    v1::StreamChainUpdatesRequest req;
    req.set_agent_pid(agent_pid);
    req.set_include_unchained(vm.count("unchained") > 0);
    grpc::ClientContext ctx;
    auto reader = stub.StreamChainUpdates(&ctx, req);
    v1::ChainUpdate u;
    while (reader->Read(&u)) {
      if (!agent_id.empty() && u.chain().agent_id() != agent_id) continue;
      std::cout << (json ? ProtoJson(u) : FormatChainUpdate(u)) << std::endl;
    }
    grpc::Status s = reader->Finish();
    return s.ok() ? 0 : Fail(s, endpoint);
  }
  int64_t since = 0;
  v1::ListChainsRequest req;
  req.set_agent_pid(agent_pid);
  req.set_agent_id(agent_id);
  req.set_limit(vm["limit"].as<uint32_t>());
  req.set_before_id(vm["before"].as<uint64_t>());
  req.set_has_alerts(vm.count("has-alerts") > 0);
  if (!SinceOption(vm, "chains", &since)) return 2;
  req.set_since_unix_ns(since);
  std::vector<v1::Chain> chains;
  uint64_t next = 0;
  grpc::Status s = ListAllChains(stub, req, &chains, &next);
  if (!s.ok()) return Fail(s, endpoint);
  if (json) {
    PrintJsonLines(chains);
  } else {
    std::cout << FormatChains(chains);
    if (next != 0) std::cout << "(more: agentwatch chains --before " << next << ")\n";
  }
  return 0;
}

int RunChain(v1::AgentWatch::Stub& stub, const std::string& endpoint, bool json,
             const std::vector<std::string>& args) {
  po::options_description desc("agentwatch chain ID [options]");
  desc.add_options()("help,h", "show this help")(
      "id", po::value<uint64_t>(), "chain id (see `agentwatch chains`)")(
      "format", po::value<std::string>()->default_value("tree"),
      "tree, json or dot (Graphviz: render with `dot -Tsvg`)")(
      "all", "tree: every effect (by default a call's dynamic-loader and locale opens "
             "are one line with their count)");
  po::positional_options_description pos;
  pos.add("id", 1);
  po::variables_map vm;
  if (int r = ParseArgs("chain", desc, args, &vm, &pos)) return r < 0 ? 0 : r;
  if (!vm.count("id")) {
    std::cerr << "agentwatch chain: which one? (see `agentwatch chains`)\n";
    return 2;
  }
  v1::Chain c;
  grpc::Status s = GetWholeChain(stub, vm["id"].as<uint64_t>(), &c);
  if (!s.ok()) return Fail(s, endpoint);
  const std::string format = json ? "json" : vm["format"].as<std::string>();
  if (format == "json") {
    std::cout << ProtoJson(c) << "\n";
  } else if (format == "dot") {
    std::cout << FormatChainDot(c);
  } else if (format == "tree") {
    std::cout << FormatChainTree(c, vm.count("all") > 0);
  } else {
    std::cerr << "agentwatch chain: unknown --format '" << format << "'\n";
    return 2;
  }
  return 0;
}

}  // namespace agentwatch::cli
