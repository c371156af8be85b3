// Stateless detectors: each event (a kernel effect of an MCP server or an
// agent, a finished call, a listed tool) is tagged with signals that the
// sequence rules (detect/engine.h) match. Pure; compiled once per rule load
// from the rule pack's lists.
#ifndef AGENTWATCH_DETECT_SIGNALS_H_
#define AGENTWATCH_DETECT_SIGNALS_H_

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <re2/re2.h>
#include <re2/set.h>

#include "agentwatch/v1/agentwatch.pb.h"
#include "detect/rules.h"
#include "detect/text_score.h"

namespace agentwatch {

struct Signal {
  std::string name;                           // see KnownSignals()
  std::map<std::string, std::string> fields;
  std::string description;                    // human text of the event
  uint64_t seq = 0;
  int64_t time_unix_ns = 0;
  uint64_t call_id = 0;
  uint32_t pid = 0;
};

class Detectors {
 public:
  Detectors();
  ~Detectors();
  Detectors(Detectors&&) noexcept;
  Detectors& operator=(Detectors&&) noexcept;

  // Builds the matchers from the lists (sensitive_paths, shells,
  // interpreters, inline_code_flags, network_tools, egress_allow,
  // dns_allow, ...) and the text detector from text (the rule pack's
  // text_scoring; none when empty). Returns "" or the error (naming the
  // list and entry, or the feature and pattern).
  std::string Compile(const std::map<std::string, std::vector<std::string>>& lists,
                      const TextScoring& text = {});

  // A kernel effect (exec, file open, connect, DNS query).
  void Effect(const v1::Event& ev, std::vector<Signal>* out) const;
  // Bytes sent to a host outside the allow-list (a PAYLOAD the pipeline
  // marked with its remote): a credential in them (secret_sent), an encoded
  // run (encoded_blob, where: network), earlier results they carry
  // (data_flow, where: network, outbound).
  void Outbound(const v1::Event& ev, std::vector<Signal>* out) const;
  // A finished call: secrets in its arguments, failure.
  void Call(const v1::Event& ev, std::vector<Signal>* out) const;
  // A tool definition as listed, every text field of it scored
  // (detect/text_score.h): tool_poisoned with the field and the features.
  // other_tool (may be empty): whether a name is a tool of another server
  // (names of such tools in the text are the other_server_tool feature).
  void Tool(const v1::McpTool& tool, std::vector<Signal>* out,
            const std::function<bool(std::string_view)>& other_tool = {}) const;
  // Content an agent read, scored: the verdict; ScanText: flagged, with
  // the reason (field, features, score) and a redacted excerpt.
  TextScorer::Verdict ScoreContent(std::string_view text) const;
  // A prompts/list, resources/list or resources/templates/list result
  // (JSON): every item's fields scored as a definition; true with the
  // first flagged item ("prompt NAME", "resource URI") and its verdict.
  bool ScanDefinitionList(std::string_view method, std::string_view result, std::string* item,
                          TextScorer::Verdict* verdict) const;
  bool ScanText(const std::string& text, std::string* reason, std::string* excerpt) const;
  // A long base64 or hex run, or a long high-entropy DNS label: an excerpt.
  static bool EncodedBlob(std::string_view text, size_t min_len, std::string* excerpt);
  static bool EncodedLabel(std::string_view name, std::string* label);
  // A tool name that, by its name, sends data out (fetch, post, send...).
  bool OutboundTool(const std::string& name) const;
  // A file a server opened outside the directories its command line gives
  // it (its roots), in an area where user data lives: out_of_scope.
  // mcp_roots: the directories its client declared with MCP roots.
  void Scope(const v1::Event& ev, const std::vector<std::string>& server_argv,
             const std::vector<std::string>& mcp_roots, std::vector<Signal>* out) const;
  // A server that, by one of its names (serverInfo name, package, exe), is
  // declared local-only (local_only_servers): it has no business on the
  // network.
  bool LocalOnly(const std::vector<std::string>& names) const;
  // The directories a command line declares: absolute arguments that are
  // not the program, a script or a package, and the scripts' directories
  // (a server reads its own code).
  static void Roots(const std::vector<std::string>& argv, std::vector<std::string>* roots,
                    std::vector<std::string>* own);

  // The program that owns a credential file reading it (sensitive_readers:
  // npm its .npmrc, kubectl its kubeconfig, the agent its own config).
  bool OwnReader(const v1::Process& p, const std::string& path) const;

  // Exposed for tests.
  bool IsSensitivePath(const std::string& path) const;
  bool IsEgress(const v1::SockAddr& remote) const;

 private:
  struct Cidr {
    int family = 0;  // AF_INET, AF_INET6
    std::array<uint8_t, 16> addr{};
    int bits = 0;
  };
  std::unique_ptr<RE2::Set> sensitive_;
  std::unique_ptr<RE2::Set> not_sensitive_;
  TextScorer text_;
  std::set<std::string> shells_, network_tools_, inline_flags_;
  std::vector<std::string> interpreters_;  // globs
  std::vector<Cidr> egress_allow_;
  std::vector<std::string> dns_allow_;     // globs
  std::vector<std::string> outbound_tools_;  // globs
  std::vector<std::string> scope_areas_, scope_ignore_;  // globs
  std::vector<std::string> local_only_;                  // globs
  std::vector<std::pair<std::string, std::string>> readers_;  // program, path globs
};

// "**/.ssh/id_*" as an anchored RE2 pattern ("**" any path, "*" and "?"
// within a component).
std::string GlobToRegex(const std::string& glob);

}  // namespace agentwatch

#endif  // AGENTWATCH_DETECT_SIGNALS_H_
