// JSON-RPC 2.0 messages as MCP uses them, parsed with simdjson. A pure
// function over one frame's bytes: every outcome is a value, never an
// exception or a crash.
#ifndef AGENTWATCH_MCP_JSONRPC_H_
#define AGENTWATCH_MCP_JSONRPC_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace agentwatch {

enum class JsonRpcKind {
  kRequest,       // method + id
  kNotification,  // method, no id
  kResult,        // id + result
  kError,         // id (or null) + error
};

struct JsonRpcMessage {
  JsonRpcKind kind = JsonRpcKind::kRequest;
  // The id as JSON text: "7" or "\"abc\"" (so 7 and "7" stay distinct);
  // "null" for an error without a usable id; "" when absent.
  std::string id;
  std::string method;
  std::string params;  // raw JSON (minified) or ""
  std::string result;  // raw JSON (minified) or ""
  int64_t error_code = 0;
  std::string error_message;
  std::string error_data;  // raw JSON or ""
  // What was repaired or left out to decode it, "" when nothing was:
  // "invalid UTF-8 replaced", "numbers out of range kept as text",
  // "truncated: decoded from its first N bytes".
  std::string note;
};

enum class JsonRpcStatus {
  kOk,
  kInvalidJson,     // not JSON at all (binary garbage, cut-off text)
  kNotJsonRpc,      // JSON, but not a JSON-RPC 2.0 message or batch
  kEmptyBatch,
  kOversize,
};

struct JsonRpcParse {
  JsonRpcStatus status = JsonRpcStatus::kInvalidJson;
  std::string error;  // why, when status != kOk
  bool batch = false;
  std::vector<JsonRpcMessage> messages;
  // Members of a batch that were not valid messages (the rest are kept).
  uint32_t invalid_members = 0;
};

// Parses one frame. max_size bounds the work on hostile input. A frame
// that is JSON but for invalid UTF-8 in strings (replaced with U+FFFD) or
// numbers out of any machine range (kept as their text: an id
// 18446744073709551616 stays that) is decoded all the same, with a note.
JsonRpcParse ParseJsonRpc(std::string_view frame, size_t max_size = 16u << 20);

// The head of a frame whose rest was not seen (the capture was cut, or it
// is over the size limit): the top-level id, method, and params.name and
// params.uri when they came before the cut, read without needing the end.
// One message noted "truncated: decoded from its first N bytes" when a
// method, a result or an error was found (a response's id is "" when it
// was not before the cut); else the status says why not.
JsonRpcParse ParseJsonRpcHead(std::string_view head);

// The id of a JSON-RPC object read from its last bytes (the tail of a long
// write, up to its first newline): `"id":VALUE}` as the object's last
// member, after `,` or `{`, VALUE a number or a string (its JSON text, as
// ids are kept). "" when the end does not read so (a nested object's id,
// one inside a string, or no id last).
std::string JsonRpcIdFromTail(std::string_view tail);

const char* JsonRpcStatusName(JsonRpcStatus s);
const char* JsonRpcKindName(JsonRpcKind k);

}  // namespace agentwatch

#endif  // AGENTWATCH_MCP_JSONRPC_H_
