// What the MCP layer reads out of JSON-RPC params and results: tool names
// and arguments, clientInfo/serverInfo, protocol versions (negotiated by
// initialize or carried per request in _meta by the stateless 2026-07-28
// revision), progress and cancellation notifications, tool definitions and
// their canonical form. Pure functions over JSON text (simdjson); anything
// missing or of the wrong type is simply absent in the result.
#ifndef AGENTWATCH_MCP_MCP_JSON_H_
#define AGENTWATCH_MCP_MCP_JSON_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace agentwatch {

struct McpRequestParams {
  std::string target;     // tools/call and prompts/get: name; resources/*: uri
  std::string arguments;  // tools/call, prompts/get: arguments (JSON text)
  std::string progress_token;  // _meta.progressToken (JSON text)
  // initialize: params.protocolVersion / clientInfo; stateless requests:
  // _meta["io.modelcontextprotocol/protocolVersion" | "/clientInfo"].
  std::string protocol_version;
  std::string client_name;
  std::string client_version;
};

struct McpToolDef {
  std::string name;
  std::string title;
  std::string description;
  std::string input_schema;   // canonical JSON, "" if absent
  std::string output_schema;  // canonical JSON
  std::string annotations;    // canonical JSON
  std::string hash;           // sha256 hex of the canonical definition
};

struct McpResultInfo {
  std::string protocol_version;  // initialize, server/discover
  // serverInfo of initialize and server/discover, or (MCP 2026-07-28) the
  // io.modelcontextprotocol/serverInfo of any result's _meta.
  std::string server_name;
  std::string server_version;
  bool is_error = false;  // tools/call result.isError
  std::string summary;    // short, for humans: "content=2 text=120B"
  bool has_tools = false;  // a tools/list result
  std::vector<McpToolDef> tools;
  std::string next_cursor;  // pagination of list results
  bool has_roots = false;   // a roots/list result
  std::vector<std::string> roots;  // its file:// roots, as paths
};

struct McpProgress {
  std::string token;  // JSON text
  double progress = 0;
  double total = 0;  // 0 when absent
  std::string message;
};

struct McpCancel {
  std::string request_id;  // JSON text
  std::string reason;
};

McpRequestParams ReadRequestParams(std::string_view method,
                                   std::string_view params);
McpResultInfo ReadResult(std::string_view method, std::string_view result);
// The path of a file:// root URI ("" if it is not one).
std::string RootPath(std::string_view uri);
std::optional<McpProgress> ReadProgress(std::string_view params);
std::optional<McpCancel> ReadCancel(std::string_view params);
// "3/10 message" for humans.
std::string FormatProgress(const McpProgress& p);

// Canonical JSON: object keys sorted bytewise, no whitespace, strings with
// one escaping, integers as integers, other numbers in shortest round-trip
// form. nullopt when the input is not JSON.
std::optional<std::string> CanonicalJson(std::string_view json);

std::string Sha256Hex(std::string_view data);

}  // namespace agentwatch

#endif  // AGENTWATCH_MCP_MCP_JSON_H_
