// Whom an event belongs to (the correlator's answer) and what the engine
// knows of a server: the types the chain and detect stages share.
#ifndef AGENTWATCH_MODEL_ATTRIBUTION_H_
#define AGENTWATCH_MODEL_ATTRIBUTION_H_

#include <cstdint>
#include <string>
#include <vector>

namespace agentwatch {

// Whom an event belongs to, as the correlator sees it.
struct Attribution {
  uint32_t agent = 0;    // the client process (0: none known)
  uint32_t server = 0;   // the nearest MCP server above the process (0: none)
  uint64_t chain = 0;    // the agent's open chain (0: none yet)
  std::string agent_id;  // "<pid>-<start ms>"
  std::string agent_exe;
};

// A server as the engine judges its effects.
struct ServerFacts {
  std::string label;                // serverInfo name, else package, else exe
  std::string identity;             // McpServer.identity
  std::vector<std::string> roots;   // MCP roots its client declared (paths)
  std::vector<std::string> names;   // serverInfo name, package, exe basename
};

}  // namespace agentwatch

#endif  // AGENTWATCH_MODEL_ATTRIBUTION_H_
