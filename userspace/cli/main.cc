// agentwatch: command-line client of agentwatchd.
#include <signal.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <future>
#include <iostream>
#include <sstream>
#include <thread>

#include <boost/program_options.hpp>
#include <fmt/format.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/wire_format_lite.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include "agentwatch/v1/agentwatch.grpc.pb.h"
#include "cli/format.h"
#include "common/clock.h"
#include "common/text.h"
#include "detect/engine.h"

namespace po = boost::program_options;
namespace v1 = agentwatch::v1;

namespace {

constexpr char kDefaultEndpoint[] = "unix:///run/agentwatch/agentwatch.sock";

constexpr char kUsage[] =
    "Usage: agentwatch [--endpoint URI]... [--tls-*] [--json] COMMAND [options]\n"
    "\n"
    "Commands:\n"
    "  status                 probes, hook types, counters of the daemon\n"
    "  events                 recent events; with --follow, live ones\n"
    "  servers                MCP servers on the host (discovered or by rule)\n"
    "  sessions               MCP sessions: client <-> server, calls, errors\n"
    "  calls                  MCP requests with their outcome and latency;\n"
    "                         with --follow, as they finish\n"
    "  tools SERVER           a server's tool inventory, hashes, changes\n"
    "  agents                 agents: the MCP clients driving servers\n"
    "  chains                 action chains: an agent's calls with the kernel\n"
    "                         effects each caused (kept in the store across\n"
    "                         restarts); with --follow, as they grow\n"
    "  chain ID               one chain as a tree\n"
    "  alerts                 alerts of the anomaly engine; with --follow, as\n"
    "                         they are raised (--durable: from the store,\n"
    "                         resuming across daemon restarts)\n"
    "  alert ID               one alert with its evidence and chain\n"
    "  rules                  the detection rules in force; --lint FILE checks\n"
    "                         a rule file, --reload makes the daemon re-read\n"
    "  baseline [SERVER]      learned per-server baselines; --export prints\n"
    "                         them as JSON, --reset starts learning over\n"
    "  probes                 the kernel probes; --detach NAME / --attach NAME\n"
    "                         takes one out (the daemon turns unready) or back\n"
    "  health                 the gRPC health service: SERVING when ready\n"
    "\n"
    "Endpoints: unix:///path (the default), or host:port for a daemon serving\n"
    "the API on TCP (api.tcp_listen), always over TLS with a client certificate\n"
    "(--tls-ca, --tls-cert, --tls-key). Repeat --endpoint to ask several nodes\n"
    "at once: alerts are merged into one table with a NODE column, other\n"
    "commands print one section per node, and --json lines carry \"endpoint\".\n"
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

// Parses a command's own options; returns 0 to go on, else an exit code.
int ParseArgs(const char* cmd, po::options_description& desc,
              const std::vector<std::string>& args, po::variables_map* vm,
              po::positional_options_description* pos = nullptr) {
  try {
    auto p = po::command_line_parser(args).options(desc);
    if (pos != nullptr) p.positional(*pos);
    po::store(p.run(), *vm);
    po::notify(*vm);
  } catch (const po::error& e) {
    std::cerr << "agentwatch " << cmd << ": " << e.what() << "\n";
    return 2;
  }
  if (vm->count("help")) {
    std::cout << desc << "\n";
    return -1;
  }
  return 0;
}

grpc::ClientContext* Deadline(grpc::ClientContext* ctx) {
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  return ctx;
}

int Servers(v1::AgentWatch::Stub& stub, const std::string& endpoint, bool json,
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
    for (const auto& sv : resp.servers())
      std::cout << agentwatch::ProtoJson(sv) << "\n";
  } else {
    std::cout << agentwatch::FormatServers({resp.servers().begin(),
                                            resp.servers().end()});
  }
  return 0;
}

int Sessions(v1::AgentWatch::Stub& stub, const std::string& endpoint, bool json,
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
    for (const auto& ss : resp.sessions())
      std::cout << agentwatch::ProtoJson(ss) << "\n";
  } else {
    std::cout << agentwatch::FormatSessions({resp.sessions().begin(),
                                             resp.sessions().end()});
  }
  return 0;
}

int Calls(v1::AgentWatch::Stub& stub, const std::string& endpoint, bool json,
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
    std::cout << (json ? agentwatch::ProtoJson(c) : agentwatch::FormatCallLine(c))
              << std::endl;
  };
  if (!json) std::cout << agentwatch::CallsHeader() << std::endl;
  if (!vm.count("follow")) {
    v1::ListCallsRequest req;
    *req.mutable_filter() = f;
    req.set_limit(limit);
    v1::ListCallsResponse resp;
    grpc::ClientContext ctx;
    grpc::Status s = stub.ListCalls(Deadline(&ctx), req, &resp);
    if (!s.ok()) return Fail(s, endpoint);
    for (const auto& c : resp.calls()) print(c);
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

int Tools(v1::AgentWatch::Stub& stub, const std::string& endpoint, bool json,
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
    std::cout << agentwatch::ProtoJson(inv) << "\n";
  } else {
    std::cout << agentwatch::FormatInventory(inv, vm.count("history") > 0);
  }
  return 0;
}

int Agents(v1::AgentWatch::Stub& stub, const std::string& endpoint, bool json,
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
    for (const auto& a : resp.agents()) std::cout << agentwatch::ProtoJson(a) << "\n";
  } else {
    std::cout << agentwatch::FormatAgents({resp.agents().begin(), resp.agents().end()});
  }
  return 0;
}

// --since SPAN (30m, 1h, 7d) as the unix time that long ago (0 without
// it); false, with the error printed, when SPAN is no duration.
bool SinceOption(const po::variables_map& vm, const char* verb, int64_t* since_unix_ns) {
  *since_unix_ns = 0;
  if (!vm.count("since")) return true;
  uint64_t ms = 0;
  if (std::string e = agentwatch::ParseDurationMs(vm["since"].as<std::string>(), &ms);
      !e.empty()) {
    std::cerr << "agentwatch " << verb << ": --since " << e << "\n";
    return false;
  }
  *since_unix_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count() -
                   static_cast<int64_t>(ms) * 1000000;
  return true;
}

int Chains(v1::AgentWatch::Stub& stub, const std::string& endpoint, bool json,
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
      std::cout << (json ? agentwatch::ProtoJson(u) : agentwatch::FormatChainUpdate(u))
                << std::endl;
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
  v1::ListChainsResponse resp;
  grpc::ClientContext ctx;
  grpc::Status s = stub.ListChains(Deadline(&ctx), req, &resp);
  if (!s.ok()) return Fail(s, endpoint);
  if (json) {
    for (const auto& c : resp.chains()) std::cout << agentwatch::ProtoJson(c) << "\n";
  } else {
    std::cout << agentwatch::FormatChains({resp.chains().begin(), resp.chains().end()});
    if (resp.next_before_id() != 0)
      std::cout << "(more: agentwatch chains --before " << resp.next_before_id() << ")\n";
  }
  return 0;
}

int Alerts(v1::AgentWatch::Stub& stub, const std::string& endpoint, bool json,
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
  if (vm.count("follow") && (vm.count("durable") || vm.count("cursor-file"))) {
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
        std::cout << (json ? agentwatch::ProtoJson(a) : agentwatch::FormatAlertLine(a))
                  << std::endl;
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
  if (vm.count("follow")) {
    v1::StreamAlertsRequest req;
    req.set_min_severity(min);
    grpc::ClientContext ctx;
    auto reader = stub.StreamAlerts(&ctx, req);
    v1::Alert a;
    while (reader->Read(&a))
      std::cout << (json ? agentwatch::ProtoJson(a) : agentwatch::FormatAlertLine(a)) << std::endl;
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
  v1::ListAlertsResponse resp;
  grpc::ClientContext ctx;
  grpc::Status s = stub.ListAlerts(Deadline(&ctx), req, &resp);
  if (!s.ok()) return Fail(s, endpoint);
  if (json) {
    for (const auto& a : resp.alerts()) std::cout << agentwatch::ProtoJson(a) << "\n";
  } else {
    std::cout << agentwatch::FormatAlerts({resp.alerts().begin(), resp.alerts().end()});
  }
  return 0;
}

int AlertOne(v1::AgentWatch::Stub& stub, const std::string& endpoint, bool json,
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
    std::cout << agentwatch::ProtoJson(a) << "\n";
    return 0;
  }
  std::cout << agentwatch::FormatAlert(a);
  if (a.chain_id() != 0) {
    // The chain around it.
    v1::GetChainRequest creq;
    creq.set_id(a.chain_id());
    v1::Chain c;
    grpc::ClientContext cctx;
    if (stub.GetChain(Deadline(&cctx), creq, &c).ok())
      std::cout << "\nCHAIN\n" << agentwatch::FormatChainTree(c);
  }
  return 0;
}

int Rules(v1::AgentWatch::Stub& stub, const std::string& endpoint, bool json,
          const std::vector<std::string>& args) {
  po::options_description desc("agentwatch rules [options]");
  desc.add_options()("help,h", "show this help")(
      "lint", po::value<std::string>(),
      "check a rule file (over the built-in pack) without the daemon; exit 1 if bad")(
      "reload", "make the daemon re-read its configuration and rules (SIGHUP)");
  po::variables_map vm;
  if (int r = ParseArgs("rules", desc, args, &vm)) return r < 0 ? 0 : r;
  if (vm.count("lint")) {
    const std::string path = vm["lint"].as<std::string>();
    std::string text;
    if (!agentwatch::ReadFileText(path, &text)) {
      std::cerr << "agentwatch rules: cannot read " << path << "\n";
      return 2;
    }
    agentwatch::RuleSet set;
    if (std::string e = agentwatch::Engine::Lint(text, path, &set); !e.empty()) {
      std::cerr << e << "\n";
      return 1;
    }
    std::cout << path << ": OK (" << set.rules.size() << " rules with the built-in pack)\n";
    return 0;
  }
  if (vm.count("reload")) {
    // The daemon reloads on SIGHUP; find it by its pid file in /proc.
    int sent = 0;
    for (const auto& d : std::filesystem::directory_iterator("/proc")) {
      const std::string name = d.path().filename();
      if (name.find_first_not_of("0123456789") != std::string::npos) continue;
      std::ifstream comm(d.path() / "comm");
      std::string c;
      std::getline(comm, c);
      if (c == "agentwatchd" && kill(std::stoi(name), SIGHUP) == 0) ++sent;
    }
    if (sent == 0) {
      std::cerr << "agentwatch rules: no agentwatchd process to signal (root needed)\n";
      return 1;
    }
    std::cout << "sent SIGHUP to " << sent << " agentwatchd process(es); see its log\n";
    return 0;
  }
  v1::ListRulesResponse resp;
  grpc::ClientContext ctx;
  grpc::Status s = stub.ListRules(Deadline(&ctx), v1::ListRulesRequest(), &resp);
  if (!s.ok()) return Fail(s, endpoint);
  if (json) {
    for (const auto& r : resp.rules()) std::cout << agentwatch::ProtoJson(r) << "\n";
  } else {
    std::cout << agentwatch::FormatRules({resp.rules().begin(), resp.rules().end()});
    std::cout << "files:";
    for (const auto& f : resp.files()) std::cout << " " << f;
    std::cout << "\n";
    for (const auto& s : resp.suppressions()) {
      std::string rules, where;
      for (const auto& r : s.rules()) rules += (rules.empty() ? "" : ",") + r;
      for (const auto& w : s.where()) where += (where.empty() ? "" : " ") + w;
      std::cout << "suppressed: " << s.id() << " rules=" << (rules.empty() ? "*" : rules)
                << (where.empty() ? "" : " where " + where) << " hits=" << s.hits()
                << (s.until_unix_ns() != 0 ? " until=" + agentwatch::FormatRfc3339(s.until_unix_ns()) : "")
                << " (" << s.source() << ")\n";
    }
  }
  return 0;
}

int Chain(v1::AgentWatch::Stub& stub, const std::string& endpoint, bool json,
          const std::vector<std::string>& args) {
  po::options_description desc("agentwatch chain ID [options]");
  desc.add_options()("help,h", "show this help")(
      "id", po::value<uint64_t>(), "chain id (see `agentwatch chains`)")(
      "format", po::value<std::string>()->default_value("tree"),
      "tree, json or dot (Graphviz: render with `dot -Tsvg`)");
  po::positional_options_description pos;
  pos.add("id", 1);
  po::variables_map vm;
  if (int r = ParseArgs("chain", desc, args, &vm, &pos)) return r < 0 ? 0 : r;
  if (!vm.count("id")) {
    std::cerr << "agentwatch chain: which one? (see `agentwatch chains`)\n";
    return 2;
  }
  v1::GetChainRequest req;
  req.set_id(vm["id"].as<uint64_t>());
  v1::Chain c;
  grpc::ClientContext ctx;
  grpc::Status s = stub.GetChain(Deadline(&ctx), req, &c);
  if (!s.ok()) return Fail(s, endpoint);
  const std::string format = json ? "json" : vm["format"].as<std::string>();
  if (format == "json") {
    std::cout << agentwatch::ProtoJson(c) << "\n";
  } else if (format == "dot") {
    std::cout << agentwatch::FormatChainDot(c);
  } else if (format == "tree") {
    std::cout << agentwatch::FormatChainTree(c);
  } else {
    std::cerr << "agentwatch chain: unknown --format '" << format << "'\n";
    return 2;
  }
  return 0;
}

int Baseline(v1::AgentWatch::Stub& stub, const std::string& endpoint, bool json,
             const std::vector<std::string>& args) {
  po::options_description desc("agentwatch baseline [SERVER] [options]");
  // clang-format off
  desc.add_options()
    ("help,h", "show this help")
    ("server", po::value<std::string>(),
     "server identity or name (see `agentwatch servers`); default all")
    ("export", "print the profiles as JSON lines (what was learned)")
    ("reset", "start learning over for SERVER (or every server with --all)")
    ("all", "with --reset: every server");
  // clang-format on
  po::positional_options_description pos;
  pos.add("server", 1);
  po::variables_map vm;
  if (int r = ParseArgs("baseline", desc, args, &vm, &pos)) return r < 0 ? 0 : r;
  const std::string server = vm.count("server") ? vm["server"].as<std::string>() : "";
  if (vm.count("reset")) {
    if (server.empty() && !vm.count("all")) {
      std::cerr << "agentwatch baseline --reset: name a server, or --all\n";
      return 2;
    }
    v1::ResetBaselineRequest req;
    req.set_server(server);
    req.set_all(vm.count("all") > 0);
    v1::ResetBaselineResponse resp;
    grpc::ClientContext ctx;
    grpc::Status s = stub.ResetBaseline(Deadline(&ctx), req, &resp);
    if (!s.ok()) return Fail(s, endpoint);
    std::cout << resp.reset() << " baseline(s) learning again\n";
    return 0;
  }
  v1::ListBaselinesRequest req;
  req.set_server(server);
  v1::ListBaselinesResponse resp;
  grpc::ClientContext ctx;
  grpc::Status s = stub.ListBaselines(Deadline(&ctx), req, &resp);
  if (!s.ok()) return Fail(s, endpoint);
  if (json || vm.count("export")) {
    for (const auto& b : resp.baselines()) std::cout << agentwatch::ProtoJson(b) << "\n";
  } else {
    std::cout << agentwatch::FormatBaselines({resp.baselines().begin(), resp.baselines().end()},
                                             !server.empty());
  }
  return 0;
}

int Probes(v1::AgentWatch::Stub& stub, const std::string& endpoint, bool json,
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
      std::cout << (json ? agentwatch::ProtoJson(p)
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
      std::cout << agentwatch::ProtoJson(p) << "\n";
    } else if (p.attached() || p.detached()) {
      std::cout << fmt::format("{:<9} {:<16} {:<28} {:<10} {}\n",
                               p.attached() ? "attached" : "DETACHED", p.capability(), p.program(),
                               p.hook_type(), p.target());
    }
  }
  return 0;
}

// A channel to one endpoint: unix sockets as they are, anything else over
// TLS with the client certificate.
struct TlsFlags {
  std::string ca, cert, key, server_name;
};

std::shared_ptr<grpc::Channel> Connect(const std::string& endpoint, const TlsFlags& tls,
                                       std::string* error) {
  if (endpoint.rfind("unix:", 0) == 0)
    return grpc::CreateChannel(endpoint, grpc::InsecureChannelCredentials());
  if (tls.ca.empty() || tls.cert.empty() || tls.key.empty()) {
    *error = endpoint + ": TCP endpoints need --tls-ca, --tls-cert and --tls-key (the daemon "
             "accepts only clients with a certificate)";
    return nullptr;
  }
  grpc::SslCredentialsOptions o;
  for (auto [path, out] : {std::pair<const std::string*, std::string*>{&tls.ca, &o.pem_root_certs},
                           {&tls.cert, &o.pem_cert_chain},
                           {&tls.key, &o.pem_private_key}}) {
    if (!agentwatch::ReadFileText(*path, out)) {
      *error = "cannot read " + *path;
      return nullptr;
    }
  }
  grpc::ChannelArguments args;
  if (!tls.server_name.empty()) args.SetSslTargetNameOverride(tls.server_name);
  return grpc::CreateCustomChannel(endpoint, grpc::SslCredentials(o), args);
}

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
    for (const auto& sl : slices) bytes.append(reinterpret_cast<const char*>(sl.begin()), sl.size());
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

// `"endpoint":"<endpoint>",` into each JSON line of text (a record's own
// "node" is the daemon's node name).
std::string TagJsonLines(const std::string& text, const std::string& endpoint) {
  std::string out, line;
  std::istringstream in(text);
  while (std::getline(in, line)) {
    if (!line.empty() && line[0] == '{') {
      out += "{\"endpoint\":" + agentwatch::JsonString(endpoint) + (line.size() > 2 ? "," : "") +
             line.substr(1);
    } else {
      out += line;
    }
    out += "\n";
  }
  return out;
}

// Alerts of several nodes, newest first, in one table.
int MergedAlerts(const std::vector<std::string>& endpoints,
                 const std::vector<std::unique_ptr<v1::AgentWatch::Stub>>& stubs, bool json,
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
  for (size_t i = 0; i < stubs.size(); ++i) {
    v1::ListAlertsResponse resp;
    grpc::ClientContext ctx;
    grpc::Status s = stubs[i]->ListAlerts(Deadline(&ctx), req, &resp);
    if (!s.ok()) {
      rc = Fail(s, endpoints[i]);
      continue;
    }
    for (auto& a : *resp.mutable_alerts()) {
      if (a.node().empty()) a.set_node(endpoints[i]);
      all.push_back(std::move(a));
    }
  }
  std::stable_sort(all.begin(), all.end(), [](const v1::Alert& a, const v1::Alert& b) {
    return a.time_unix_ns() > b.time_unix_ns();
  });
  if (all.size() > req.limit()) all.resize(req.limit());
  if (json) {
    for (const auto& a : all) std::cout << agentwatch::ProtoJson(a) << "\n";
  } else {
    std::cout << agentwatch::FormatAlerts(all);
  }
  return rc;
}

}  // namespace

int RunVerb(const std::string& cmd, v1::AgentWatch::Stub& stub, const std::string& endpoint,
            bool json, bool help, std::vector<std::string>& args);

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  po::options_description global("Global options");
  // clang-format off
  global.add_options()
    ("help,h", "show this help")
    ("endpoint,e", po::value<std::vector<std::string>>()->composing(),
     "daemon endpoint: unix:///path, or host:port over TLS (repeat for several "
     "nodes; default unix:///run/agentwatch/agentwatch.sock)")
    ("tls-ca", po::value<std::string>(), "CA bundle the daemon's certificate must chain to")
    ("tls-cert", po::value<std::string>(), "this client's certificate (PEM)")
    ("tls-key", po::value<std::string>(), "this client's private key (PEM)")
    ("tls-server-name", po::value<std::string>(), "the name to expect in the daemon's "
     "certificate, when it is not the endpoint's host")
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
  std::vector<std::string> endpoints = vm.count("endpoint")
                                           ? vm["endpoint"].as<std::vector<std::string>>()
                                           : std::vector<std::string>{kDefaultEndpoint};
  TlsFlags tls;
  if (vm.count("tls-ca")) tls.ca = vm["tls-ca"].as<std::string>();
  if (vm.count("tls-cert")) tls.cert = vm["tls-cert"].as<std::string>();
  if (vm.count("tls-key")) tls.key = vm["tls-key"].as<std::string>();
  if (vm.count("tls-server-name")) tls.server_name = vm["tls-server-name"].as<std::string>();
  std::vector<std::unique_ptr<v1::AgentWatch::Stub>> stubs;
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (const auto& ep : endpoints) {
    std::string error;
    auto channel = Connect(ep, tls, &error);
    if (!channel) {
      std::cerr << "agentwatch: " << error << "\n";
      return 2;
    }
    stubs.push_back(v1::AgentWatch::NewStub(channel));
    channels.push_back(channel);
  }
  if (cmd == "health") {
    // The gRPC health service of each endpoint: exit 0 only when all serve
    // (agentwatchd stops serving while it is not ready).
    if (vm.count("help")) {
      std::cout << "agentwatch health [SERVICE]: the gRPC health of each endpoint (SERVING or "
                   "NOT_SERVING); exit 0 when all serve\n";
      return 0;
    }
    const std::string service = args.empty() ? "agentwatch.v1.AgentWatch" : args[0];
    int rc = 0;
    for (size_t i = 0; i < endpoints.size(); ++i) {
      std::string error;
      const std::string st = HealthCheck(channels[i], service, &error);
      if (st.empty()) {
        std::cerr << "agentwatch: " << endpoints[i] << ": " << error << "\n";
        rc = 1;
        continue;
      }
      if (json) {
        std::cout << "{\"endpoint\":" << agentwatch::JsonString(endpoints[i])
                  << ",\"status\":\"" << st << "\"}\n";
      } else {
        std::cout << (endpoints.size() > 1 ? endpoints[i] + " " : "") << st << "\n";
      }
      if (st != "SERVING") rc = 1;
    }
    return rc;
  }
  if (endpoints.size() > 1) {
    if (cmd == "rules" && std::find(args.begin(), args.end(), "--lint") != args.end()) {
      endpoints.resize(1);  // a lint needs one daemon
      stubs.resize(1);
    } else if (std::find(args.begin(), args.end(), "--follow") != args.end() ||
               std::find(args.begin(), args.end(), "-f") != args.end()) {
      std::cerr << "agentwatch: --follow takes one --endpoint at a time\n";
      return 2;
    } else if (cmd == "alerts" && !vm.count("help")) {
      return MergedAlerts(endpoints, stubs, json, args);
    }
  }
  if (endpoints.size() > 1) {
    // One section per node (or JSON lines tagged with it).
    int rc = 0;
    for (size_t i = 0; i < endpoints.size(); ++i) {
      std::ostringstream buf;
      std::streambuf* old = std::cout.rdbuf(buf.rdbuf());
      std::vector<std::string> a = args;
      const int r = RunVerb(cmd, *stubs[i], endpoints[i], json, vm.count("help") > 0, a);
      std::cout.rdbuf(old);
      if (json) {
        std::cout << TagJsonLines(buf.str(), endpoints[i]);
      } else {
        std::cout << (i > 0 ? "\n" : "") << "== " << endpoints[i] << " ==\n" << buf.str();
      }
      if (r != 0) rc = r;
    }
    return rc;
  }
  return RunVerb(cmd, *stubs[0], endpoints[0], json, vm.count("help") > 0, args);
}

int RunVerb(const std::string& cmd, v1::AgentWatch::Stub& stub_ref, const std::string& endpoint,
            bool json, bool help, std::vector<std::string>& args) {
  v1::AgentWatch::Stub* stub = &stub_ref;
  if (cmd == "status") {
    if (help) {
      std::cout << "agentwatch status [--json]: probes, hook types and "
                   "counters of the daemon\n";
      return 0;
    }
    return Status(*stub, endpoint, json);
  }
  if (cmd == "events") {
    if (help) args.push_back("--help");
    return Events(*stub, endpoint, json, args);
  }
  using Verb = int (*)(v1::AgentWatch::Stub&, const std::string&, bool,
                      const std::vector<std::string>&);
  const std::pair<const char*, Verb> verbs[] = {
      {"servers", Servers}, {"sessions", Sessions}, {"calls", Calls},
      {"tools", Tools},     {"agents", Agents},     {"chains", Chains},
      {"chain", Chain},     {"alerts", Alerts},     {"alert", AlertOne},
      {"rules", Rules},     {"baseline", Baseline}, {"probes", Probes}};
  for (const auto& [name, fn] : verbs) {
    if (cmd != name) continue;
    if (help) args.push_back("--help");
    return fn(*stub, endpoint, json, args);
  }
  std::cerr << "agentwatch: unknown command '" << cmd << "'\n" << kUsage;
  return 2;
}
