#include "cli/verbs.h"

#include <algorithm>
#include <iostream>

namespace agentwatch::cli {

const char kUsage[] =
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
    "  posture                static credentials MCP servers and agents hold\n"
    "                         (environment, argv, MCP configuration files):\n"
    "                         names, kinds and fingerprints, never values\n"
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

namespace {

// clang-format off
constexpr Verb kVerbs[] = {
    {.name = "status", .run = RunStatus,
     .fixed_help = "agentwatch status [--json]: probes, hook types and counters of the daemon\n"},
    {.name = "events", .run = RunEvents},
    {.name = "servers", .run = RunServers},
    {.name = "sessions", .run = RunSessions},
    {.name = "calls", .run = RunCalls},
    {.name = "tools", .run = RunTools},
    {.name = "agents", .run = RunAgents},
    {.name = "chains", .run = RunChains},
    {.name = "chain", .run = RunChain},
    {.name = "alerts", .run = RunAlerts, .merged = RunMergedAlerts},
    {.name = "alert", .run = RunAlert},
    {.name = "posture", .run = RunPosture},
    {.name = "rules", .run = RunRules, .first_node_arg = "--lint"},
    {.name = "baseline", .run = RunBaseline},
    {.name = "probes", .run = RunProbes},
    // The gRPC health service of each endpoint: exit 0 only when all serve
    // (agentwatchd stops serving while it is not ready).
    {.name = "health", .all_nodes = RunHealth},
};
// clang-format on

bool Has(const std::vector<std::string>& args, const char* arg) {
  return std::find(args.begin(), args.end(), arg) != args.end();
}

int RunOnNode(const Verb* verb, const std::string& cmd, Node& node, bool json, bool help,
              std::vector<std::string> args) {
  if (verb == nullptr) {
    std::cerr << "agentwatch: unknown command '" << cmd << "'\n" << kUsage;
    return 2;
  }
  if (help) {
    if (verb->fixed_help != nullptr) {
      std::cout << verb->fixed_help;
      return 0;
    }
    args.push_back("--help");
  }
  return verb->run(*node.stub, node.endpoint, json, args);
}

}  // namespace

std::span<const Verb> Verbs() { return kVerbs; }

const Verb* FindVerb(std::string_view name) {
  for (const Verb& v : kVerbs) {
    if (name == v.name) return &v;
  }
  return nullptr;
}

int Dispatch(const std::string& cmd, std::vector<Node>& nodes, bool json, bool help,
             const std::vector<std::string>& args) {
  const Verb* verb = FindVerb(cmd);
  if (verb != nullptr && verb->all_nodes != nullptr) {
    return verb->all_nodes(nodes, json, help, args);
  }
  if (nodes.size() > 1) {
    if (verb != nullptr && verb->first_node_arg != nullptr && Has(args, verb->first_node_arg)) {
      nodes.erase(nodes.begin() + 1, nodes.end());  // rules --lint: no daemon needed
    } else if (Has(args, "--follow") || Has(args, "-f")) {
      std::cerr << "agentwatch: --follow takes one --endpoint at a time\n";
      return 2;
    } else if (verb != nullptr && verb->merged != nullptr && !help) {
      return verb->merged(nodes, json, help, args);
    }
  }
  if (nodes.size() > 1) {
    return RunPerNode(nodes, json,
                      [&](Node& node) { return RunOnNode(verb, cmd, node, json, help, args); });
  }
  return RunOnNode(verb, cmd, nodes[0], json, help, args);
}

}  // namespace agentwatch::cli
