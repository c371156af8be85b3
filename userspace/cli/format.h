// Human-readable rendering of events and status for the CLI.
#ifndef AGENTWATCH_CLI_FORMAT_H_
#define AGENTWATCH_CLI_FORMAT_H_

#include <optional>
#include <string>
#include <vector>

#include "agentwatch/v1/agentwatch.pb.h"

namespace agentwatch {

// "exec", "open", "connect", ... the short name the CLI shows and accepts.
std::string EventTypeShortName(v1::EventType t);

// Types for a --type value: a short name, or a group (process, file, net).
std::optional<std::vector<v1::EventType>> ParseEventTypes(const std::string& s);

std::string EventsHeader();
std::string FormatEventLine(const v1::Event& ev);
std::string FormatStatus(const v1::Status& s);

std::string EventJson(const v1::Event& ev);
std::string ProtoJson(const google::protobuf::Message& m);

std::string CallsHeader();
std::string FormatCallLine(const v1::McpCall& c);
std::string FormatServers(const std::vector<v1::McpServer>& servers);
std::string FormatSessions(const std::vector<v1::McpSession>& sessions);
std::string FormatInventory(const v1::McpToolInventory& inv, bool history);
std::string FormatAgents(const std::vector<v1::McpAgent>& agents);
std::string FormatChains(const std::vector<v1::Chain>& chains);
// all_effects false: a call's (or the agent's consecutive) dynamic-loader
// and locale opens are one line with their count.
std::string FormatChainTree(const v1::Chain& c, bool all_effects = false);
// A read-only open (or a failed one) of a shared library, the loader's
// cache, or locale, gconv and time-zone data: what every process does as
// it starts, not what a tool did.
bool IsLoaderNoise(const v1::ChainEffect& e);
// Alerts: a table, one in full (with its evidence), one line as it comes.
std::string FormatAlerts(const std::vector<v1::Alert>& alerts);
std::string FormatAlert(const v1::Alert& a);
std::string FormatAlertLine(const v1::Alert& a);
// Static credentials (the static-credential alerts) as a table, and one
// of them as a JSON object: where, what kind, its fingerprint, never the
// value.
std::string FormatPosture(const std::vector<v1::Alert>& alerts);
std::string PostureJson(const v1::Alert& a);
std::string FormatRules(const std::vector<v1::Rule>& rules);
// Learned baselines: one line each; with detail, the profile's values.
std::string FormatBaselines(const std::vector<v1::Baseline>& list, bool detail);
// One line for a chain update: "chain 4 agent 812-99 + tools/call ..."
std::string FormatChainUpdate(const v1::ChainUpdate& u);
// Graphviz: calls, effects (dotted when shared by several calls in flight),
// data flows between calls (dashed). Render with `dot -Tsvg`.
std::string FormatChainDot(const v1::Chain& c);
std::string StatusJson(const v1::Status& s);

}  // namespace agentwatch

#endif  // AGENTWATCH_CLI_FORMAT_H_
