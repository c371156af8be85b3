#include "mcp/jsonrpc.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <random>

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

// A number that simdjson cannot hold (an integer past 64 bits, an
// exponent past a double's range) is parsed as a string marked with a
// marker of this parse (a random nonce: no frame can spell it in advance),
// then given back its text.
std::string NumberMark() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return fmt::format("\\u0001{:016x}:", rng());
}

bool RiskyNumber(std::string_view tok) {
  size_t digits = 0;
  size_t i = tok[0] == '-' ? 1 : 0;
  while (i < tok.size() && tok[i] >= '0' && tok[i] <= '9') {
    ++digits;
    ++i;
  }
  const size_t e = tok.find_first_of("eE");
  if (e != std::string_view::npos) {
    int exp = 0;
    for (size_t k = e + 1; k < tok.size(); ++k) {
      if (tok[k] >= '0' && tok[k] <= '9') exp = std::min(exp * 10 + (tok[k] - '0'), 100000);
    }
    return exp + static_cast<int>(digits) > 300;
  }
  return tok.find('.') == std::string_view::npos ? digits > 18 : digits > 300;
}

// The length of the valid UTF-8 sequence at s[i] (2 to 4), or 0.
size_t Utf8At(std::string_view s, size_t i) {
  const unsigned char c = static_cast<unsigned char>(s[i]);
  size_t n;
  uint32_t cp;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
    cp = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    cp = c & 0x0F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    const unsigned char d = static_cast<unsigned char>(s[i + k]);
    if ((d & 0xC0) != 0x80) return 0;
    cp = cp << 6 | (d & 0x3F);
  }
  if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
      (cp >= 0xD800 && cp <= 0xDFFF))
    return 0;
  return n;
}

// The frame with invalid UTF-8 in strings replaced and risky numbers
// quoted (marked); what was done in *note.
std::string Repair(std::string_view f, const std::string& mark, std::string* note) {
  std::string out;
  out.reserve(f.size() + 16);
  bool in_str = false, utf8 = false, numbers = false;
  for (size_t i = 0; i < f.size();) {
    const char c = f[i];
    if (in_str) {
      if (c == '\\' && i + 1 < f.size()) {
        out.append(f.substr(i, 2));
        i += 2;
      } else if (c == '"') {
        in_str = false;
        out.push_back(c);
        ++i;
      } else if (static_cast<unsigned char>(c) < 0x80) {
        out.push_back(c);
        ++i;
      } else if (const size_t n = Utf8At(f, i); n > 0) {
        out.append(f.substr(i, n));
        i += n;
      } else {
        out.append("\xEF\xBF\xBD");
        utf8 = true;
        ++i;
      }
      continue;
    }
    if (c == '"') {
      in_str = true;
      out.push_back(c);
      ++i;
      continue;
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
      size_t j = i + 1;
      while (j < f.size() && std::strchr("0123456789.eE+-", f[j]) != nullptr && f[j] != '\0') ++j;
      const std::string_view tok = f.substr(i, j - i);
      if (RiskyNumber(tok)) {
        out += '"';
        out += mark;
        out += tok;
        out += '"';
        numbers = true;
      } else {
        out += tok;
      }
      i = j;
      continue;
    }
    out.push_back(c);
    ++i;
  }
  if (utf8) *note = "invalid UTF-8 replaced";
  if (numbers) *note += std::string(note->empty() ? "" : "; ") + "numbers out of range kept as text";
  return out;
}

// Marked numbers in JSON text given back their text, in one pass.
void Unmark(std::string* json, const std::string& mark) {
  const std::string open = "\"" + mark;
  size_t at = json->find(open);
  if (at == std::string::npos) return;
  std::string out;
  out.reserve(json->size());
  size_t from = 0;
  while (at != std::string::npos) {
    const size_t end = json->find('"', at + open.size());
    if (end == std::string::npos) break;
    out.append(*json, from, at - from);
    out.append(*json, at + open.size(), end - at - open.size());
    from = end + 1;
    at = json->find(open, from);
  }
  out.append(*json, from, std::string::npos);
  *json = std::move(out);
}

JsonRpcParse ParseParsed(element root);

bool Repairable(simdjson::error_code e) {
  return e == simdjson::UTF8_ERROR || e == simdjson::NUMBER_ERROR ||
         e == simdjson::NUMBER_OUT_OF_RANGE;
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
  std::string note;
  std::string repaired;
  std::string mark;
  if (err && Repairable(err)) {
    // A request the server can act on all the same: decoded, noted.
    mark = NumberMark();
    repaired = Repair(frame, mark, &note);
    if (!note.empty() && repaired.size() <= max_size + 64)
      err = parser.parse(repaired.data(), repaired.size(), true).get(root);
  }
  if (err) {
    out.status = JsonRpcStatus::kInvalidJson;
    out.error = simdjson::error_message(err);
    return out;
  }
  if (!note.empty()) {
    JsonRpcParse r = ParseParsed(root);
    for (auto& m : r.messages) {
      Unmark(&m.id, mark);
      Unmark(&m.params, mark);
      Unmark(&m.result, mark);
      Unmark(&m.error_data, mark);
      m.note = note;
    }
    return r;
  }
  return ParseParsed(root);
}

namespace {

JsonRpcParse ParseParsed(element root) {
  JsonRpcParse out;
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

}  // namespace

namespace {

// A forward reader over a JSON text that may end anywhere: each step
// returns false at the end of what was seen.
struct HeadReader {
  std::string_view s;
  size_t i = 0;

  bool Ws() {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) ++i;
    return i < s.size();
  }
  // A string token (quotes included) in *raw; false if it was cut.
  bool String(std::string_view* raw) {
    if (!Ws() || s[i] != '"') return false;
    const size_t b = i++;
    while (i < s.size()) {
      if (s[i] == '\\') {
        i += 2;
      } else if (s[i] == '"') {
        ++i;
        *raw = s.substr(b, i - b);
        return true;
      } else {
        ++i;
      }
    }
    return false;
  }
  // Any value, skipped; its text in *raw when whole. False if it was cut.
  bool Value(std::string_view* raw) {
    if (!Ws()) return false;
    const size_t b = i;
    if (s[i] == '"') return String(raw);
    if (s[i] == '{' || s[i] == '[') {
      int depth = 0;
      while (i < s.size()) {
        const char c = s[i];
        if (c == '"') {
          std::string_view ignored;
          if (!String(&ignored)) return false;
          continue;
        }
        if (c == '{' || c == '[') ++depth;
        if (c == '}' || c == ']') {
          if (--depth == 0) {
            ++i;
            *raw = s.substr(b, i - b);
            return true;
          }
        }
        ++i;
      }
      return false;
    }
    auto delimiter = [](char c) {
      return c == ',' || c == '}' || c == ']' || c == ' ' || c == '\t' || c == '\r' || c == '\n';
    };
    while (i < s.size() && !delimiter(s[i])) ++i;
    if (i >= s.size()) return false;  // a number may go on past the cut
    if (i == b) return false;         // no value at all
    *raw = s.substr(b, i - b);
    return true;
  }
};

// The text of a JSON string token with its escapes undone (\uXXXX only
// below U+0080: method and tool names); "" when it has another.
std::string Plain(std::string_view raw) {
  if (raw.size() < 2) return "";
  std::string out;
  for (size_t i = 1; i + 1 < raw.size(); ++i) {
    if (raw[i] != '\\') {
      out.push_back(raw[i]);
      continue;
    }
    ++i;  // the escape's letter; raw.back() is the closing quote
    if (i + 1 >= raw.size()) return "";
    const char e = raw[i];
    if (e == '"' || e == '\\' || e == '/') {
      out.push_back(e);
    } else if (e == 'u' && i + 5 < raw.size()) {
      unsigned v = 0;
      for (size_t k = 1; k <= 4; ++k) {
        const char h = raw[i + k];
        v = v * 16 + (h >= '0' && h <= '9' ? h - '0' : (h | 0x20) >= 'a' && (h | 0x20) <= 'f' ? (h | 0x20) - 'a' + 10 : 99);
      }
      if (v >= 0x80) return "";
      out.push_back(static_cast<char>(v));
      i += 4;
    } else {
      return "";
    }
  }
  return out;
}

}  // namespace

namespace {

bool IsJsonWs(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

void TrimWsBack(std::string_view* t) {
  while (!t->empty() && IsJsonWs(t->back())) t->remove_suffix(1);
}

}  // namespace

std::string JsonRpcIdFromTail(std::string_view tail) {
  std::string_view t = tail.substr(0, tail.find('\n'));
  TrimWsBack(&t);
  if (t.empty() || t.back() != '}') return "";
  t.remove_suffix(1);
  TrimWsBack(&t);
  if (t.empty()) return "";
  size_t start;
  if (t.back() == '"') {
    // A string: back to its opening quote (one not escaped).
    size_t j = t.size() - 1;
    while (true) {
      if (j == 0) return "";
      j = t.rfind('"', j - 1);
      if (j == std::string_view::npos) return "";
      size_t slashes = 0;
      while (j > slashes && t[j - 1 - slashes] == '\\') ++slashes;
      if (slashes % 2 == 0) break;
    }
    start = j;
  } else {
    start = t.size();
    while (start > 0 && (std::isdigit(static_cast<unsigned char>(t[start - 1])) ||
                         t[start - 1] == '-' || t[start - 1] == '+' || t[start - 1] == '.' ||
                         t[start - 1] == 'e' || t[start - 1] == 'E'))
      --start;
    if (start == t.size()) return "";
  }
  const std::string_view value = t.substr(start);
  t = t.substr(0, start);
  TrimWsBack(&t);
  if (t.empty() || t.back() != ':') return "";
  t.remove_suffix(1);
  TrimWsBack(&t);
  constexpr std::string_view kId = "\"id\"";
  if (t.size() < kId.size() || t.substr(t.size() - kId.size()) != kId) return "";
  t.remove_suffix(kId.size());
  TrimWsBack(&t);
  if (t.empty() || (t.back() != ',' && t.back() != '{')) return "";
  return std::string(value);
}

JsonRpcParse ParseJsonRpcHead(std::string_view head) {
  JsonRpcParse out;
  HeadReader r{head};
  if (!r.Ws() || head[r.i] != '{') {
    out.error = "a cut frame that is not a JSON object";
    return out;
  }
  ++r.i;
  JsonRpcMessage m;
  bool version = false, has_id = false, has_method = false, has_result = false,
       has_error = false;
  std::string_view name, uri;
  while (true) {
    std::string_view key, value;
    if (!r.String(&key) || !r.Ws() || head[r.i] != ':') break;
    ++r.i;
    if (key == "\"params\"" && r.Ws() && head[r.i] == '{') {
      // Its first members: the tool's name or the resource's uri.
      ++r.i;
      bool whole_params = false;
      while (r.Ws() && head[r.i] != '}') {
        std::string_view k, v;
        if (!r.String(&k) || !r.Ws() || head[r.i] != ':') break;
        ++r.i;
        const bool whole = r.Value(&v);
        if (whole && k == "\"name\"") name = v;
        if (whole && k == "\"uri\"") uri = v;
        if (!whole || !r.Ws()) break;
        if (head[r.i] == ',') {
          ++r.i;
          continue;
        }
        if (head[r.i] != '}') break;
      }
      if (r.i < head.size() && head[r.i] == '}') {
        ++r.i;
        whole_params = true;
      }
      // Members after whole params (an id written last) are read too.
      if (!whole_params || !r.Ws() || head[r.i] != ',') break;
      ++r.i;
      continue;
    }
    if (key == "\"result\"") has_result = true;
    if (key == "\"error\"") has_error = true;
    if (has_result || has_error) break;  // the bulk: cut in it
    if (!r.Value(&value)) break;
    if (key == "\"jsonrpc\"") version = value == "\"2.0\"";
    if (key == "\"id\"") {
      has_id = true;
      m.id = std::string(value);
    }
    if (key == "\"method\"") {
      has_method = !Plain(value).empty();
      m.method = Plain(value);
    }
    if (!r.Ws() || head[r.i] != ',') break;
    ++r.i;
  }
  if (has_method) {
    m.kind = has_id ? JsonRpcKind::kRequest : JsonRpcKind::kNotification;
    std::string params;
    if (!name.empty()) params = "\"name\":" + std::string(name);
    if (!uri.empty()) params += (params.empty() ? "" : ",") + ("\"uri\":" + std::string(uri));
    if (!params.empty()) m.params = "{" + params + "}";
  } else if (has_result || has_error) {
    // Its id may come after the bulk (the SDKs write "result" first): ""
    // then, for the tracker to pair as best it can.
    m.kind = has_result ? JsonRpcKind::kResult : JsonRpcKind::kError;
    if (has_result) m.result = "{}";
  } else {
    out.status = JsonRpcStatus::kInvalidJson;
    out.error = version ? "cut before its method or id" : "a cut frame that is not JSON-RPC";
    return out;
  }
  m.note = fmt::format("truncated: decoded from its first {} bytes", head.size());
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
