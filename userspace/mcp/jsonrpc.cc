#include "mcp/jsonrpc.h"

#include <fmt/format.h>
#include <simdjson.h>

namespace agentwatch {
namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;
using simdjson::dom::object;

// One message object; returns "" or why it is not a JSON-RPC 2.0 message.
std::string ReadMessage(object obj, JsonRpcMessage* m) {
  std::string_view version;
  if (obj["jsonrpc"].get_string().get(version) != simdjson::SUCCESS ||
      version != "2.0") {
    return "missing \"jsonrpc\": \"2.0\"";
  }
  element id_el;
  bool has_id = obj["id"].get(id_el) == simdjson::SUCCESS;
  if (has_id) {
    switch (id_el.type()) {
      case element_type::STRING:
      case element_type::INT64:
      case element_type::UINT64:
      case element_type::DOUBLE:
      case element_type::NULL_VALUE:
        m->id = simdjson::minify(id_el);
        break;
      default:
        return "id is neither a string, a number nor null";
    }
  }
  std::string_view method;
  auto method_err = obj["method"].get_string().get(method);
  element params, result, error;
  const bool has_method = method_err == simdjson::SUCCESS;
  if (!has_method && obj["method"].error() != simdjson::NO_SUCH_FIELD) {
    return "method is not a string";
  }
  const bool has_result = obj["result"].get(result) == simdjson::SUCCESS;
  const bool has_error = obj["error"].get(error) == simdjson::SUCCESS;
  if (has_method) {
    if (has_result || has_error) return "request carries result or error";
    m->method = std::string(method);
    if (obj["params"].get(params) == simdjson::SUCCESS) {
      if (params.type() != element_type::OBJECT &&
          params.type() != element_type::ARRAY) {
        return "params is neither an object nor an array";
      }
      m->params = simdjson::minify(params);
    }
    if (has_id && m->id == "null") return "request id is null";
    m->kind = has_id ? JsonRpcKind::kRequest : JsonRpcKind::kNotification;
    return "";
  }
  if (has_result == has_error) {
    return has_result ? "response has both result and error"
                      : "neither method, result nor error";
  }
  if (!has_id) return "response without id";
  if (has_result) {
    m->kind = JsonRpcKind::kResult;
    m->result = simdjson::minify(result);
    return "";
  }
  m->kind = JsonRpcKind::kError;
  object eobj;
  if (error.get_object().get(eobj) != simdjson::SUCCESS) {
    return "error is not an object";
  }
  int64_t code = 0;
  if (eobj["code"].get_int64().get(code) != simdjson::SUCCESS) {
    return "error.code is not an integer";
  }
  m->error_code = code;
  std::string_view msg;
  if (eobj["message"].get_string().get(msg) == simdjson::SUCCESS) {
    m->error_message = std::string(msg);
  }
  element data;
  if (eobj["data"].get(data) == simdjson::SUCCESS) {
    m->error_data = simdjson::minify(data);
  }
  return "";
}

}  // namespace

JsonRpcParse ParseJsonRpc(std::string_view frame, size_t max_size) {
  JsonRpcParse out;
  if (frame.size() > max_size) {
    out.status = JsonRpcStatus::kOversize;
    out.error = fmt::format("{} bytes, over the {} limit", frame.size(),
                            max_size);
    return out;
  }
  // One parser per thread: it keeps its buffers between frames.
  thread_local simdjson::dom::parser parser;
  element root;
  auto err = parser.parse(frame.data(), frame.size(), true).get(root);
  if (err) {
    out.status = JsonRpcStatus::kInvalidJson;
    out.error = simdjson::error_message(err);
    return out;
  }
  if (root.type() == element_type::ARRAY) {
    out.batch = true;
    simdjson::dom::array items;
    if (root.get_array().get(items) != simdjson::SUCCESS) {
      out.status = JsonRpcStatus::kNotJsonRpc;
      out.error = "unreadable array";
      return out;
    }
    for (element item : items) {
      JsonRpcMessage m;
      object obj;
      if (item.get_object().get(obj) != simdjson::SUCCESS ||
          !ReadMessage(obj, &m).empty()) {
        ++out.invalid_members;
        continue;
      }
      out.messages.push_back(std::move(m));
    }
    if (out.messages.empty()) {
      out.status = out.invalid_members == 0 ? JsonRpcStatus::kEmptyBatch
                                            : JsonRpcStatus::kNotJsonRpc;
      out.error = out.invalid_members == 0
                      ? "empty batch"
                      : "no member of the batch is a JSON-RPC message";
      return out;
    }
    out.status = JsonRpcStatus::kOk;
    return out;
  }
  object obj;
  if (root.get_object().get(obj) != simdjson::SUCCESS) {
    out.status = JsonRpcStatus::kNotJsonRpc;
    out.error = "neither an object nor a batch array";
    return out;
  }
  JsonRpcMessage m;
  std::string why = ReadMessage(obj, &m);
  if (!why.empty()) {
    out.status = JsonRpcStatus::kNotJsonRpc;
    out.error = why;
    return out;
  }
  out.messages.push_back(std::move(m));
  out.status = JsonRpcStatus::kOk;
  return out;
}

const char* JsonRpcStatusName(JsonRpcStatus s) {
  switch (s) {
    case JsonRpcStatus::kOk: return "ok";
    case JsonRpcStatus::kInvalidJson: return "invalid_json";
    case JsonRpcStatus::kNotJsonRpc: return "not_jsonrpc";
    case JsonRpcStatus::kEmptyBatch: return "empty_batch";
    case JsonRpcStatus::kOversize: return "oversize";
  }
  return "unknown";
}

const char* JsonRpcKindName(JsonRpcKind k) {
  switch (k) {
    case JsonRpcKind::kRequest: return "request";
    case JsonRpcKind::kNotification: return "notification";
    case JsonRpcKind::kResult: return "result";
    case JsonRpcKind::kError: return "error";
  }
  return "unknown";
}

}  // namespace agentwatch
