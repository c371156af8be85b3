// MCP sessions, calls, servers and tool inventories, built from decoded
// JSON-RPC messages. Requests are paired with their responses by id within
// a pairing channel; calls finish as ok, error, tool_error, cancelled or
// unanswered and are emitted as EVENT_TYPE_MCP_CALL; tools/list results
// feed a per-server-identity inventory whose changes are emitted as
// EVENT_TYPE_MCP_TOOLS_CHANGED.
//
// Viewpoint. A stdio server reads requests on fd 0 and answers on fd 1, so
// stdio traffic is tracked from the server's side: messages a process reads
// on fd 0 or writes on fd 1. (A watched client's own pipe ends carry the
// same bytes; tracking both would count every call twice.) HTTP traffic is
// tracked from whichever side is watched: the server (it reads requests) or
// the client (it writes them), once per connection.
//
// Deterministic given the same inputs (replay). Written by the pipeline
// thread; read by API threads (internally locked).
//
// The code, by role: mcp_tracker.cc (dispatch over message kinds, process
// exit, queries), tracker_pairing.cc (requests, responses, notifications,
// lost and unmatched responses), tracker_inventory.cc (tool listings and
// their changes), tracker_flows.cc (data flows between calls) and
// tracker_identity.cc (servers, sessions, clients and agents).
#ifndef AGENTWATCH_SESSION_MCP_TRACKER_H_
#define AGENTWATCH_SESSION_MCP_TRACKER_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "agentwatch/v1/agentwatch.pb.h"
#include "mcp/mcp_json.h"
#include "mcp/stream_decoder.h"
#include "proc/process_table.h"
#include "session/call_history.h"

namespace agentwatch {

// Where a message was seen.
struct McpObservation {
  uint32_t pid = 0;
  int32_t fd = -1;
  uint64_t inode = 0;  // the pipe or socket
  bool out = false;    // the process wrote it
  int64_t time_unix_ns = 0;
  uint64_t ktime_ns = 0;
  const ProcessInfo* process = nullptr;  // may be null
};

// The process that drives a server: the first ancestor that is not a
// launcher (sh, npx, npm exec, uv, env, ...). Pure over the process table.
uint32_t GuessClient(const ProcessTable& table, uint32_t server_pid);

// What identifies a server across restarts: the interpreter's script,
// npm package or python module in argv ("@scope/pkg", "mod", "/path/x.js").
std::string ServerPackage(const std::vector<std::string>& argv,
                          const std::string& exe);

class McpTracker {
 public:
  struct Options {
    // Finished calls kept for ListCalls; when full, the user and server
    // with the most lose their oldest (session/call_history.h).
    size_t max_calls = 10000;
    size_t max_pending = 65536;   // requests waiting for a response
    // Of them, at most this many of one process: a process flooding
    // requests evicts its own oldest, never another server's.
    size_t max_pending_per_process = 4096;
    size_t max_sessions = 4096;
    size_t max_servers = 1024;
    size_t max_history = 512;     // tool changes kept per identity
    size_t max_flow_fingerprints = 200000;  // per agent
    size_t max_flow_agents = 256;
    // What agents wrote, for cross-agent flows: per shared server (its
    // SharedDataKey), and how many; a sample of each call's arguments.
    size_t max_written_fingerprints = 50000;
    size_t max_written_servers = 64;
    size_t max_written_per_call = 512;
    size_t max_agents = 1024;
    std::string hostname;  // for agent records; "" = this host's name
    size_t min_shared_fingerprints = 2;     // for a data-flow link
    // Bounds of the redacted arguments and result kept with a call.
    size_t arguments_max = 4096;
    size_t result_max = 1024;
  };
  struct Counters {
    uint64_t calls = 0;
    uint64_t unmatched_responses = 0;  // response to no known request
    uint64_t duplicate_ids = 0;        // id reused while still pending
    uint64_t pending_evicted = 0;
    uint64_t sessions_evicted = 0;     // over max_sessions, oldest ended first
    uint64_t tool_changes = 0;
    uint64_t skipped_client_stdio = 0;  // a stdio client's side, not tracked
    uint64_t data_flows = 0;            // calls linked to earlier results
    uint64_t cross_agent_flows = 0;     // results carrying what another agent wrote
    uint64_t responses_lost = 0;        // cut at capture, paired (status "lost")
  };
  struct Result {
    std::string session_id;    // "" when not attributed to a session
    uint32_t new_server_pid = 0;  // this message made pid a known server
  };
  using ProcessFn = std::function<const ProcessInfo*(uint32_t pid)>;
  // The client of a server: of the process for stdio, of the connection
  // (socket inode) for HTTP. 0 when unknown.
  using ClientFn =
      std::function<uint32_t(uint32_t server_pid, uint64_t inode, bool stdio)>;

  McpTracker() : McpTracker(Options{}) {}
  explicit McpTracker(Options opts) : opts_(opts), calls_(opts.max_calls) {}

  // Used on the pipeline thread while handling a message: to describe
  // servers and their clients. Either may be unset.
  // Call ids go on from here (after a restart, past the stored ones).
  void SetNextCallId(uint64_t id) {
    std::lock_guard<std::mutex> lock(mu_);
    next_call_ = std::max<uint64_t>(id, next_call_);
  }
  // Looks at the text of results agents read (tools/call, resources/read,
  // prompts/get): true with a reason and an excerpt when it addresses the
  // model. Pipeline thread.
  using ContentScanner =
      std::function<bool(const std::string& text, std::string* reason, std::string* excerpt)>;
  void SetContentScanner(ContentScanner scan) { content_scanner_ = std::move(scan); }
  // Looks at a whole prompts/list, resources/list or resources/templates/list
  // result (JSON): true with the poisoned item ("prompt NAME: reason") and
  // an excerpt. Pipeline thread.
  using DefinitionScanner = std::function<bool(const std::string& method, const std::string& result,
                                               std::string* reason, std::string* excerpt)>;
  void SetDefinitionScanner(DefinitionScanner scan) { definition_scanner_ = std::move(scan); }
  void SetLookups(ProcessFn process, ClientFn client) {
    process_fn_ = std::move(process);
    client_fn_ = std::move(client);
  }

  Result OnMessage(const McpObservation& where, const DecodedMessage& d,
                   std::vector<v1::Event>* out);
  // The process is gone: its pending calls end as unanswered, its server
  // and sessions end.
  // A response on the connection of w (an HTTP response or SSE stream,
  // server or client side) could not be decoded: the oldest call pending
  // on that connection ends `lost`, with why in its decode_note, instead
  // of staying pending for good.
  void OnResponseLost(const McpObservation& w, const std::string& why,
                      std::vector<v1::Event>* out);
  // A stream of session lost bytes (a gap): counted on the session, and
  // its calls pending now will say so when they end.
  void OnStreamGap(const std::string& session, uint64_t gaps, uint64_t bytes);
  void OnExit(uint32_t pid, int64_t time_unix_ns, uint64_t ktime_ns,
              std::vector<v1::Event>* out);

  // Queries (any thread). `server` matches id, identity, name or pid.
  // changed_since (unix ns): only records last seen at or after it.
  std::vector<v1::McpServer> Servers(bool include_ended, int64_t changed_since = 0) const;
  std::vector<v1::McpAgent> Agents(bool include_ended, int64_t changed_since = 0) const;
  std::vector<v1::McpSession> Sessions(const std::string& server, bool include_ended,
                                       int64_t changed_since = 0) const;
  // The newest limit calls (0 = 1000) in start order: finished ones with a
  // call_id below before_call_id (0 = any), and when before_call_id is 0
  // the pending ones (call_id 0) as room is left.
  std::vector<v1::McpCall> Calls(const v1::CallFilter& f, size_t limit,
                                 uint64_t before_call_id = 0) const;
  bool Inventory(const std::string& server, v1::McpToolInventory* out) const;
  // Inventories from the store (their tools are the last listing's): the
  // next listing of the identity is compared with them.
  void LoadInventories(const std::vector<v1::McpToolInventory>& invs);
  // f.server also matches the serverInfo name or package of the instance.
  bool Matches(const v1::CallFilter& f, const v1::McpCall& c) const;
  Counters counters() const;
  // Live servers, open sessions and live agents, counted (not copied).
  struct Live {
    uint64_t servers = 0;
    uint64_t sessions = 0;
    uint64_t agents = 0;
  };
  Live LiveCounts() const;
  // A live server's serverInfo name, else its package, else its exe; "" if
  // pid is no live server. (A lookup, not a copy of the server list.)
  std::string ServerLabel(uint32_t pid) const;
  // The server's identity (McpServer.identity), "" if unknown.
  std::string ServerIdentity(uint32_t pid) const;
  // The MCP roots its client declared (paths), and its names (serverInfo
  // name, package, exe basename); empty if unknown.
  std::vector<std::string> ServerRoots(uint32_t pid) const;
  // All of the above (label, identity, roots, names) in one lookup; false
  // if pid is no known server.
  bool ServerFacts(uint32_t pid, std::string* label, std::string* identity,
                   std::vector<std::string>* roots, std::vector<std::string>* names) const;
  // Earlier results (of any agent) a substantial piece of which is in
  // bytes (sent to the network), as data-flow links. Pipeline thread.
  void FlowsInto(std::string_view bytes, google::protobuf::RepeatedPtrField<v1::DataFlow>* out);
  std::vector<std::string> ServerNames(uint32_t pid) const;
  // The client process of a session (or of the server), 0 if unknown.
  uint32_t SessionClient(const std::string& session_id, uint32_t server_pid) const;

 private:
  bool TrackedSide(const McpObservation& w, const DecodedMessage& d, bool stdio,
                   bool* server_side);
  // Stdio servers that read their requests on another fd than 0 (dup2).
  std::set<uint32_t> moved_stdio_;
  // Pending requests by the process they were seen in (oldest first).
  std::unordered_map<uint32_t, std::set<uint64_t>> pending_by_owner_;
  struct Server {
    v1::McpServer info;
    std::string data_key;  // SharedDataKey: set with info, by DescribeServer
  };
  struct Session {
    v1::McpSession info;
    std::vector<McpToolDef> tool_pages;  // tools/list pages so far
  };
  struct Pending {
    v1::McpCall call;
    std::string session;    // known at request time, or ""
    std::string progress_token;
    std::string client_name, client_version;
    std::vector<std::string> keys;  // every index entry pointing here
    bool list_continuation = false;  // tools/list with a cursor
    std::vector<uint64_t> result_fps;  // fingerprints of its result
    std::vector<uint64_t> argument_fps;  // of its arguments (tools/call; a sample)
    // Of result_fps, those another agent wrote (written_by).
    std::vector<uint64_t> cross_fps;
    uint32_t agent = 0;                // client process, 0 if unknown
    uint32_t owner = 0;                // the process it was seen in
    uint32_t owner_uid = 0;            // and its user
    uint64_t session_gaps = 0;         // its session's gaps at the request
  };
  // Fingerprints of an agent's earlier results, for data-flow links; or of
  // what agents wrote to servers of one identity, for cross-agent flows.
  struct FlowIndex {
    struct Source {
      uint64_t call_id = 0;
      std::string tool, server_id, session_id;
      std::string data_key;    // SharedDataKey of its server
      uint32_t agent_pid = 0;  // the writer (cross-agent index)
      std::string agent_id;
      // The result carried content this (other) agent wrote.
      std::string written_by_agent_id;
    };
    struct Entry {
      uint32_t source = 0;
      // kCross: content another agent wrote (a result's cross_fps);
      // kSeveral: written by more than one agent (cross-agent index).
      uint8_t flags = 0;
    };
    static constexpr uint8_t kCross = 1, kSeveral = 2;
    std::unordered_map<uint64_t, Entry> by_fp;  // fingerprint -> latest source
    std::deque<std::pair<uint64_t, uint32_t>> order;  // oldest first
    std::map<uint32_t, Source> sources;
    uint32_t next_source = 0;
    int64_t last_used = 0;
  };
  struct ToolBook {
    v1::McpToolInventory inv;
    bool listed = false;
  };

  // One decoded message, classified (tracker_internal.h).
  struct Inbound;
  // The one call the stdio session of in has pending from its client, or
  // 0 (none, or several).
  uint64_t OnlyPending(const Inbound& in) const;

  // Dispatch (mcp_tracker.cc): which side, session and server a message
  // belongs to. False when it is not tracked.
  bool Classify(Inbound* in, Result* res);
  void NoteHttpSession(Inbound* in);
  bool FindOrDiscoverServer(Inbound* in, Result* res);

  // Pairing by message kind (tracker_pairing.cc).
  void OnRequest(const Inbound& in, Result* res, std::vector<v1::Event>* out);
  Pending NewPending(const Inbound& in, const McpRequestParams& rp) const;
  void OpenRequestSession(const Inbound& in, Pending* p);
  void OnNotification(const Inbound& in, Result* res, std::vector<v1::Event>* out);
  void OnCancelled(const Inbound& in, Result* res, std::vector<v1::Event>* out);
  void OnProgress(const Inbound& in, Result* res);
  void OnResponse(const Inbound& in, Result* res, std::vector<v1::Event>* out);
  Session* ResponseSession(const Inbound& in, Pending* p);
  std::string OnResult(const Inbound& in, Pending* p, Session* s,
                       std::vector<v1::Event>* out);
  // The pending id of the request with this id that went in direction
  // request_out on the message's channel (or HTTP session); 0 if none.
  uint64_t FindPending(const Inbound& in, bool request_out, const std::string& id) const;
  void Finish(uint64_t pending_id, const std::string& status,
              std::vector<v1::Event>* out, uint64_t ktime_ns,
              int64_t time_unix_ns);
  void FinishPendingOf(uint32_t pid, int64_t time_unix_ns, uint64_t ktime_ns,
                       std::vector<v1::Event>* out);

  // Tool inventory and what results teach (tracker_inventory.cc).
  void ApplyResult(Pending* p, Session* s, const McpResultInfo& r,
                   const McpObservation& w, std::vector<v1::Event>* out);
  void AddToolPage(const Pending& p, Session* s, const McpResultInfo& r,
                   const McpObservation& w, std::vector<v1::Event>* out);
  void CommitTools(Session* s, std::vector<McpToolDef> tools,
                   const McpObservation& w, std::vector<v1::Event>* out);
  void RecordToolChange(ToolBook* inv, const v1::McpToolChange& ch,
                        const McpObservation& w, std::vector<v1::Event>* out);

  // Identity (tracker_identity.cc): servers, sessions and their clients,
  // agents.
  Server* EnsureServer(const McpObservation& w, const std::string& transport,
                       const std::string& discovered_by, bool* created);
  void DescribeServer(const McpObservation& w, const ProcessInfo* p, Server* s) const;
  Session* EnsureSession(const std::string& key, Server* server,
                         const McpObservation& w, const std::string& transport,
                         const std::string& mcp_session_id);
  void SetSessionClient(Server* server, const McpObservation& w, Session* s) const;
  void NoteServerInfo(Session* s, Server* server, const McpResultInfo& r);
  void NoteRoots(Server* server, const McpResultInfo& r, const McpObservation& w);
  Server* ServerOf(const Session& s);
  const Server* FindServer(const std::string& q) const;
  uint32_t AgentOf(const std::string& session, uint32_t server_pid) const;
  void NoteAgent(uint32_t pid, const McpObservation& w, const std::string& server_id);
  v1::McpAgent NewAgent(uint32_t pid, const std::string& id, const ProcessInfo* p,
                        const McpObservation& w) const;

  // Data flows (tracker_flows.cc): result fingerprints carried into later
  // calls.
  void NoteResultContent(const std::string& result, bool is_error, Pending* p);
  void LinkFlows(uint32_t agent, const std::string& arguments, Pending* p);
  // The sources in these indexes that share enough of fps, as data-flow
  // links (at most 8, the most shared first); with skip_agent, not that
  // agent's own (cross-agent index). Returns how many were added.
  int AddFlows(const std::vector<const FlowIndex*>& indexes, const std::vector<uint64_t>& fps,
               google::protobuf::RepeatedPtrField<v1::DataFlow>* out, uint32_t skip_agent = 0);
  void IndexResult(uint32_t agent, const Pending& p, const v1::McpCall& c);
  // Cross-agent flows: what an agent's successful tools/call wrote to a
  // server (by the server's identity), and another agent's result that
  // returns it (into c.written_by).
  void IndexWrite(uint32_t agent, const Pending& p, const v1::McpCall& c);
  void LinkWrittenBy(uint32_t agent, Pending* p, v1::McpCall* c);
  // Adds a source with these fingerprints to idx, oldest ones dropped past
  // max_fps; those in cross (sorted) are marked kCross, and one another
  // agent than src's wrote before kSeveral.
  static void AddSource(FlowIndex* idx, FlowIndex::Source src,
                        const std::vector<uint64_t>& fps, size_t max_fps,
                        const std::vector<uint64_t>& cross = {});
  std::string AgentIdOf(uint32_t pid) const;
  // What identifies the data behind a server, for cross-agent flows: a
  // hash of its identity, command line and container (two server-memory
  // processes on one file share it; two filesystem servers on other roots,
  // or two containers of one image with other arguments, do not), kept
  // with the server (Server::data_key); the call's server identity when
  // the server is gone.
  std::string SharedDataKey(const v1::McpCall& c) const;

  bool MatchesLocked(const v1::CallFilter& f, const v1::McpCall& c) const;

  const Options opts_;
  ProcessFn process_fn_;
  ClientFn client_fn_;
  mutable std::mutex mu_;
  std::map<uint32_t, Server> servers_;          // by pid
  std::map<std::string, Session> sessions_;     // by session id
  // With every session open: of the server and client with the most, the
  // least recent session with no call pending (else the least recent).
  std::map<std::string, Session>::iterator BusiestOldestSession();
  ContentScanner content_scanner_;
  DefinitionScanner definition_scanner_;
  std::map<std::string, ToolBook> inventories_;  // by server identity
  std::map<uint64_t, Pending> pending_;         // by pending id (FIFO order)
  std::map<std::string, uint64_t> pending_index_;  // pairing key -> pending id
  std::map<std::tuple<uint32_t, uint64_t>, std::string> socket_session_;
  std::set<uint32_t> legacy_sse_;  // announced an endpoint (HTTP+SSE)
  std::map<uint32_t, FlowIndex> flows_;  // by agent (client pid)
  std::map<std::string, FlowIndex> written_;  // by SharedDataKey
  std::map<uint32_t, v1::McpAgent> agents_;  // by client pid
  CallHistory calls_;  // finished
  uint64_t next_pending_ = 1;
  uint64_t next_call_ = 1;
  Counters counters_;
};

}  // namespace agentwatch

#endif  // AGENTWATCH_SESSION_MCP_TRACKER_H_
