// Static credentials an MCP server or agent holds (the posture family):
// long-lived secrets in a process's environment and command line, and
// literal tokens in the agents' MCP configuration files where a reference
// (${env:NAME}, ${input:id}, $NAME) belongs. Pure functions over what the
// caller read (/proc/PID/environ, cmdline, a file's bytes): a finding
// names the variable or key, the credential's kind and its keyed
// fingerprint, never the value.
#ifndef AGENTWATCH_DETECT_POSTURE_H_
#define AGENTWATCH_DETECT_POSTURE_H_

#include <string>
#include <string_view>
#include <vector>

#include "redact/redactor.h"

namespace agentwatch {

struct PostureFinding {
  std::string source;       // environ, argv, or the configuration file's path
  std::string name;         // variable, flag or key path (never the value)
  std::string kind;         // catalogue id of the credential (aws-access-key-id, ...)
  std::string fingerprint;  // keyed fingerprint of the value, as in its mask
  std::string detail;       // what it is, in words (never the value)
};

// environ: NUL-separated NAME=value entries (/proc/PID/environ). A
// temporary AWS key (ASIA...) that comes with AWS_SESSION_TOKEN is no
// finding; a long-lived one (AKIA...) is, and says whether a session
// token is there.
std::vector<PostureFinding> ScanEnvironment(const Redactor& r, std::string_view environ);

// argv[1..]: a credential given as an argument (--token=..., --api-key
// VALUE, a URL with a password, a bare provider token).
std::vector<PostureFinding> ScanArguments(const Redactor& r, const std::vector<std::string>& argv);

// An agent's MCP configuration (JSON: mcpServers / servers / mcp.servers,
// with their env, headers, args and url; other text line by line, e.g.
// Codex's TOML): values that hold a credential literally. *error: why the
// text could not be read as JSON when it looked like JSON (the lines are
// scanned then).
std::vector<PostureFinding> ScanMcpConfig(const Redactor& r, std::string_view path,
                                          std::string_view text, std::string* error = nullptr);

// Whether a configuration value refers to a secret kept elsewhere
// (${env:X}, ${input:x}, ${X}, $X, {{x}}) rather than holding one.
bool IsSecretReference(std::string_view value);

// The agents' MCP configuration files under a home directory (Claude
// Desktop and Code, Cursor, VS Code, Windsurf, Codex) and in a project
// directory (.mcp.json, .cursor/mcp.json, .vscode/mcp.json).
std::vector<std::string> McpConfigPathsInHome(std::string_view home);
std::vector<std::string> McpConfigPathsInProject(std::string_view dir);

// The 6-hex fingerprint of a mask ("[REDACTED:kind:3f9a1c]" -> "3f9a1c").
std::string MaskFingerprint(std::string_view mask);

}  // namespace agentwatch

#endif  // AGENTWATCH_DETECT_POSTURE_H_
