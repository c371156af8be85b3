// The CLI's commands: one handler per verb, the table of them, the
// top-level usage, and the dispatch that runs a verb on one endpoint or on
// several.
#ifndef AGENTWATCH_CLI_VERBS_H_
#define AGENTWATCH_CLI_VERBS_H_

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "agentwatch/v1/agentwatch.grpc.pb.h"
#include "cli/connection.h"

namespace agentwatch::cli {

// A verb on one daemon: its stub, its endpoint (for error text), --json and
// the verb's own arguments ("--help" among them when help was asked).
// Returns the exit code.
using NodeVerb = int (*)(v1::AgentWatch::Stub& stub, const std::string& endpoint, bool json,
                         const std::vector<std::string>& args);
// A verb on every endpoint at once.
using NodesVerb = int (*)(std::vector<Node>& nodes, bool json, bool help,
                          const std::vector<std::string>& args);

struct Verb {
  const char* name;
  // On one node; with several endpoints, once per node, its output a
  // section per node (or JSON lines tagged with the endpoint).
  NodeVerb run = nullptr;
  // The --help of a verb without options of its own (run then ignores its
  // arguments).
  const char* fixed_help = nullptr;
  // Instead of run: once with every node, --help and one endpoint included.
  NodesVerb all_nodes = nullptr;
  // With several endpoints and no --help: once with every node, instead of
  // a section per node (alerts: one table).
  NodesVerb merged = nullptr;
  // With several endpoints and this argument: on the first one only (a rule
  // lint needs no daemon).
  const char* first_node_arg = nullptr;
};

// `agentwatch --help` before the global options.
extern const char kUsage[];

// Every verb, in the order of the usage.
std::span<const Verb> Verbs();
// The verb named name, or nullptr.
const Verb* FindVerb(std::string_view name);

// Runs the verb cmd on nodes (at least one); an unknown verb prints the
// usage and returns 2. May drop nodes (see Verb::first_node_arg).
int Dispatch(const std::string& cmd, std::vector<Node>& nodes, bool json, bool help,
             const std::vector<std::string>& args);

// alert_verbs.cc: static credentials servers and agents hold.
int RunPosture(v1::AgentWatch::Stub& stub, const std::string& endpoint, bool json,
               const std::vector<std::string>& args);

// status_verbs.cc: what the daemon runs and whether it serves.
int RunStatus(v1::AgentWatch::Stub& stub, const std::string& endpoint, bool json,
              const std::vector<std::string>& args);
int RunProbes(v1::AgentWatch::Stub& stub, const std::string& endpoint, bool json,
              const std::vector<std::string>& args);
int RunHealth(std::vector<Node>& nodes, bool json, bool help,
              const std::vector<std::string>& args);

// event_verbs.cc: kernel and MCP events, recent and live.
int RunEvents(v1::AgentWatch::Stub& stub, const std::string& endpoint, bool json,
              const std::vector<std::string>& args);

// mcp_verbs.cc: servers, sessions, calls, tools and agents.
int RunServers(v1::AgentWatch::Stub& stub, const std::string& endpoint, bool json,
               const std::vector<std::string>& args);
int RunSessions(v1::AgentWatch::Stub& stub, const std::string& endpoint, bool json,
                const std::vector<std::string>& args);
int RunCalls(v1::AgentWatch::Stub& stub, const std::string& endpoint, bool json,
             const std::vector<std::string>& args);
int RunTools(v1::AgentWatch::Stub& stub, const std::string& endpoint, bool json,
             const std::vector<std::string>& args);
int RunAgents(v1::AgentWatch::Stub& stub, const std::string& endpoint, bool json,
              const std::vector<std::string>& args);

// chain_verbs.cc: action chains, listed, followed, and one as a tree,
// JSON or Graphviz.
int RunChains(v1::AgentWatch::Stub& stub, const std::string& endpoint, bool json,
              const std::vector<std::string>& args);
int RunChain(v1::AgentWatch::Stub& stub, const std::string& endpoint, bool json,
             const std::vector<std::string>& args);

// alert_verbs.cc: alerts (listed, followed, durable, merged across nodes)
// and one alert with its chain.
int RunAlerts(v1::AgentWatch::Stub& stub, const std::string& endpoint, bool json,
              const std::vector<std::string>& args);
int RunMergedAlerts(std::vector<Node>& nodes, bool json, bool help,
                    const std::vector<std::string>& args);
int RunAlert(v1::AgentWatch::Stub& stub, const std::string& endpoint, bool json,
             const std::vector<std::string>& args);

// rule_verbs.cc: the rules in force (with suppressions, --lint, --reload)
// and the learned baselines.
int RunRules(v1::AgentWatch::Stub& stub, const std::string& endpoint, bool json,
             const std::vector<std::string>& args);
int RunBaseline(v1::AgentWatch::Stub& stub, const std::string& endpoint, bool json,
                const std::vector<std::string>& args);

}  // namespace agentwatch::cli

#endif  // AGENTWATCH_CLI_VERBS_H_
