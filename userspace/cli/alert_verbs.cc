// alerts and alert: what the anomaly engine raised, listed, followed, merged
// across nodes, and one with its evidence and chain.
#include "cli/verbs.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <boost/program_options.hpp>
#include <grpcpp/grpcpp.h>

#include "cli/connection.h"
#include "cli/flags.h"
#include "cli/format.h"
#include "cli/paging.h"

namespace po = boost::program_options;

namespace agentwatch::cli {

namespace {

// alerts --follow --durable: from the store's outbox after a position (--after,
// --cursor-file), reconnecting while the daemon is away; returns only on an
// error other than UNAVAILABLE.
int FollowDurable(v1::AgentWatch::Stub& stub, const std::string& endpoint, bool json,
                  const std::string& min, const po::variables_map& vm) {
  int64_t after = vm.count("after") ? vm["after"].as<int64_t>() : 0;
  const std::string cursor_file =
      vm.count("cursor-file") ? vm["cursor-file"].as<std::string>() : "";
  if (!cursor_file.empty()) {
    std::ifstream in(cursor_file);
    in >> after;
  }
  while (true) {
    v1::StreamAlertsRequest req;
    req.set_min_severity(min);
    req.set_durable(true);
    req.set_after_seq(after);
    grpc::ClientContext ctx;
    auto reader = stub.StreamAlerts(&ctx, req);
    v1::Alert a;
    while (reader->Read(&a)) {
      std::cout << (json ? ProtoJson(a) : FormatAlertLine(a)) << std::endl;
      after = a.outbox_seq();
      if (!cursor_file.empty()) {
        std::ofstream out(cursor_file + ".tmp", std::ios::trunc);
        out << after << "\n";
        out.close();
        std::filesystem::rename(cursor_file + ".tmp", cursor_file);
      }
    }
    grpc::Status s = reader->Finish();
    if (s.error_code() != grpc::StatusCode::UNAVAILABLE && !s.ok()) return Fail(s, endpoint);
    // The daemon went away (a restart): try again from where we were.
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
}

}  // namespace

int RunAlerts(v1::AgentWatch::Stub& stub, const std::string& endpoint, bool json,
              const std::vector<std::string>& args) {
  po::options_description desc("agentwatch alerts [options]");
  // clang-format off
  desc.add_options()
    ("help,h", "show this help")
    ("follow,f", "keep showing alerts as they are raised")
    ("since", po::value<std::string>(), "only alerts active in this last span (30m, 1h, 7d)")
    ("min-severity", po::value<std::string>()->default_value(""),
     "info, low, medium, high or critical")
    ("chain", po::value<uint64_t>()->default_value(0), "only alerts of this chain")
    ("limit,n", po::value<uint32_t>()->default_value(100), "most recent alerts")
    ("durable", "with --follow: from the store's outbox, reconnecting and resuming "
     "where it left off (nothing missed across daemon restarts)")
    ("after", po::value<int64_t>(), "with --durable: start after this outbox position "
     "(outbox_seq of the last alert seen)")
    ("cursor-file", po::value<std::string>(), "with --durable: read the position from this "
     "file at start and write it after each alert");
  // clang-format on
  po::variables_map vm;
  if (int r = ParseArgs("alerts", desc, args, &vm)) return r < 0 ? 0 : r;
  const std::string min = vm["min-severity"].as<std::string>();
  if (vm.count("follow") && (vm.count("durable") || vm.count("cursor-file")))
    return FollowDurable(stub, endpoint, json, min, vm);
  if (vm.count("follow")) {
    v1::StreamAlertsRequest req;
    req.set_min_severity(min);
    grpc::ClientContext ctx;
    auto reader = stub.StreamAlerts(&ctx, req);
    v1::Alert a;
    while (reader->Read(&a))
      std::cout << (json ? ProtoJson(a) : FormatAlertLine(a)) << std::endl;
    grpc::Status s = reader->Finish();
    return s.ok() ? 0 : Fail(s, endpoint);
  }
  int64_t since = 0;
  v1::ListAlertsRequest req;
  req.set_min_severity(min);
  req.set_limit(vm["limit"].as<uint32_t>());
  req.set_chain_id(vm["chain"].as<uint64_t>());
  if (!SinceOption(vm, "alerts", &since)) return 2;
  req.set_since_unix_ns(since);
  std::vector<v1::Alert> alerts;
  grpc::Status s = ListAllAlerts(stub, req, &alerts);
  if (!s.ok()) return Fail(s, endpoint);
  if (json) {
    PrintJsonLines(alerts);
  } else {
    std::cout << FormatAlerts(alerts);
  }
  return 0;
}

int RunPosture(v1::AgentWatch::Stub& stub, const std::string& endpoint, bool json,
               const std::vector<std::string>& args) {
  po::options_description desc(
      "agentwatch posture [options]: the long-lived credentials MCP servers and their agents "
      "hold (in their environment, on their command line, literally in the agents' MCP "
      "configuration files), one line each, found when a server is discovered: the "
      "variable or key, the credential's kind and its keyed fingerprint, never the value. "
      "A fingerprint marked * replaced another under the same name (rotated). Each is also a "
      "static-credential alert.\n\nOptions");
  // clang-format off
  desc.add_options()
    ("help,h", "show this help")
    ("since", po::value<std::string>(), "only findings seen in this last span (30m, 1h, 7d)")
    ("limit,n", po::value<uint32_t>()->default_value(1000), "most recent findings");
  // clang-format on
  po::variables_map vm;
  if (int r = ParseArgs("posture", desc, args, &vm)) return r < 0 ? 0 : r;
  int64_t since = 0;
  if (!SinceOption(vm, "posture", &since)) return 2;
  v1::ListAlertsRequest req;
  req.add_rule_ids("static-credential");
  req.set_limit(vm["limit"].as<uint32_t>());
  req.set_since_unix_ns(since);
  std::vector<v1::Alert> alerts;
  grpc::Status s = ListAllAlerts(stub, req, &alerts);
  if (!s.ok()) return Fail(s, endpoint);
  // (A daemon from before rule_ids answers with every alert.)
  std::vector<v1::Alert> found;
  for (const auto& a : alerts)
    if (a.rule_id() == "static-credential") found.push_back(a);
  if (json) {
    for (const auto& a : found) std::cout << PostureJson(a) << "\n";
  } else {
    std::cout << FormatPosture(found);
  }
  return 0;
}

// Alerts of several nodes, newest first, in one table.
int RunMergedAlerts(std::vector<Node>& nodes, bool json, bool /*help*/,
                    const std::vector<std::string>& args) {
  po::options_description desc("agentwatch alerts [options] (several endpoints)");
  // clang-format off
  desc.add_options()
    ("help,h", "show this help")
    ("since", po::value<std::string>(), "only alerts active in this last span (30m, 1h, 7d)")
    ("min-severity", po::value<std::string>()->default_value(""),
     "info, low, medium, high or critical")
    ("limit,n", po::value<uint32_t>()->default_value(100), "most recent alerts");
  // clang-format on
  po::variables_map vm;
  if (int r = ParseArgs("alerts", desc, args, &vm)) return r < 0 ? 0 : r;
  v1::ListAlertsRequest req;
  req.set_min_severity(vm["min-severity"].as<std::string>());
  req.set_limit(vm["limit"].as<uint32_t>());
  int64_t since = 0;
  if (!SinceOption(vm, "alerts", &since)) return 2;
  req.set_since_unix_ns(since);
  std::vector<v1::Alert> all;
  int rc = 0;
  for (size_t i = 0; i < nodes.size(); ++i) {
    std::vector<v1::Alert> alerts;
    grpc::Status s = ListAllAlerts(*nodes[i].stub, req, &alerts);
    if (!s.ok()) {
      rc = Fail(s, nodes[i].endpoint);
      continue;
    }
    for (auto& a : alerts) {
      if (a.node().empty()) a.set_node(nodes[i].endpoint);
      all.push_back(std::move(a));
    }
  }
  std::stable_sort(all.begin(), all.end(), [](const v1::Alert& a, const v1::Alert& b) {
    return a.time_unix_ns() > b.time_unix_ns();
  });
  if (all.size() > req.limit()) all.resize(req.limit());
  if (json) {
    PrintJsonLines(all);
  } else {
    std::cout << FormatAlerts(all);
  }
  return rc;
}

int RunAlert(v1::AgentWatch::Stub& stub, const std::string& endpoint, bool json,
             const std::vector<std::string>& args) {
  po::options_description desc("agentwatch alert ID");
  desc.add_options()("help,h", "show this help")("id", po::value<uint64_t>(),
                                                 "alert id (see `agentwatch alerts`)");
  po::positional_options_description pos;
  pos.add("id", 1);
  po::variables_map vm;
  if (int r = ParseArgs("alert", desc, args, &vm, &pos)) return r < 0 ? 0 : r;
  if (!vm.count("id")) {
    std::cerr << "agentwatch alert: which one? (see `agentwatch alerts`)\n";
    return 2;
  }
  v1::GetAlertRequest req;
  req.set_id(vm["id"].as<uint64_t>());
  v1::Alert a;
  grpc::ClientContext ctx;
  grpc::Status s = stub.GetAlert(Deadline(&ctx), req, &a);
  if (!s.ok()) return Fail(s, endpoint);
  if (json) {
    std::cout << ProtoJson(a) << "\n";
    return 0;
  }
  std::cout << FormatAlert(a);
  if (a.chain_id() != 0) {
    // The chain around it.
    v1::Chain c;
    if (GetWholeChain(stub, a.chain_id(), &c).ok())
      std::cout << "\nCHAIN\n" << FormatChainTree(c);
  }
  return 0;
}

}  // namespace agentwatch::cli
