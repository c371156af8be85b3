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

// Parses one frame. max_size bounds the work on hostile input.
JsonRpcParse ParseJsonRpc(std::string_view frame, size_t max_size = 16u << 20);

const char* JsonRpcStatusName(JsonRpcStatus s);
const char* JsonRpcKindName(JsonRpcKind k);

}  // namespace agentwatch

#endif  // AGENTWATCH_MCP_JSONRPC_H_
