// Internal to the session tracker (mcp_tracker.cc and tracker_*.cc): what
// one decoded message is, from where it was seen, once the dispatcher has
// worked out its side, channel, HTTP session and server.
#ifndef AGENTWATCH_SESSION_TRACKER_INTERNAL_H_
#define AGENTWATCH_SESSION_TRACKER_INTERNAL_H_

#include <string>

#include "mcp/mcp_json.h"
#include "mcp/stream_decoder.h"
#include "session/mcp_tracker.h"

namespace agentwatch {

struct McpTracker::Inbound {
  Inbound(const McpObservation& where, const DecodedMessage& decoded)
      : w(where), d(decoded), m(decoded.msg), stdio(decoded.transport == "stdio") {}

  // The tracker's key of this message's session: "PID/stdio", "PID/SID"
  // (long ids shortened, with a hash of the whole so ids that share a
  // prefix stay apart), "PID/http" (a stateless server) or "PID/cINODE"
  // (seen from the client's side, no session id).
  std::string SessionKey() const;

  const McpObservation& w;
  const DecodedMessage& d;
  const JsonRpcMessage& m;
  const bool stdio;
  bool server_side = false;  // this process is the server
  std::string channel;       // "stdio" or "sock:INODE": where ids pair
  std::string sid;           // the HTTP session id, "" if none
  Server* server = nullptr;  // null when seen from the client's side
  std::string transport;     // the session's: the server's, or the client's view
};

}  // namespace agentwatch

#endif  // AGENTWATCH_SESSION_TRACKER_INTERNAL_H_
