#include "mcp/mcp_json.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <utility>

#include <fmt/format.h>
#include <simdjson.h>

#include "common/text.h"

namespace agentwatch {
namespace {

using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::element_type;
using simdjson::dom::object;

constexpr std::string_view kMetaVersion = "io.modelcontextprotocol/protocolVersion";
constexpr std::string_view kMetaClientInfo = "io.modelcontextprotocol/clientInfo";
// Bounds the work on hostile input (canonical form of deep documents).
constexpr int kMaxDepth = 64;

bool Parse(simdjson::dom::parser& parser, std::string_view json, element* out) {
  return parser.parse(json.data(), json.size()).get(*out) == simdjson::SUCCESS;
}

std::string Str(object o, std::string_view key) {
  std::string_view v;
  if (o[key].get_string().get(v) == simdjson::SUCCESS) return std::string(v);
  return "";
}

bool Canonical(element e, int depth, std::string* out) {
  if (depth > kMaxDepth) return false;
  switch (e.type()) {
    case element_type::OBJECT: {
      std::vector<std::pair<std::string_view, element>> kv;
      for (auto field : object(e)) kv.emplace_back(field.key, field.value);
      // Stable: duplicate keys keep their order (the form is a fixed point).
      std::stable_sort(kv.begin(), kv.end(),
                [](const auto& a, const auto& b) { return a.first < b.first; });
      out->push_back('{');
      for (size_t i = 0; i < kv.size(); ++i) {
        if (i) out->push_back(',');
        AppendJsonString(kv[i].first, out);
        out->push_back(':');
        if (!Canonical(kv[i].second, depth + 1, out)) return false;
      }
      out->push_back('}');
      return true;
    }
    case element_type::ARRAY: {
      out->push_back('[');
      bool first = true;
      for (element v : array(e)) {
        if (!first) out->push_back(',');
        first = false;
        if (!Canonical(v, depth + 1, out)) return false;
      }
      out->push_back(']');
      return true;
    }
    case element_type::STRING:
      AppendJsonString(std::string_view(e), out);
      return true;
    case element_type::INT64:
      out->append(std::to_string(int64_t(e)));
      return true;
    case element_type::UINT64:
      out->append(std::to_string(uint64_t(e)));
      return true;
    case element_type::DOUBLE: {
      double d = double(e);
      if (std::isfinite(d) && d == std::trunc(d) && std::fabs(d) < 9e15) {
        out->append(std::to_string(static_cast<int64_t>(d)));
      } else {
        char buf[64];
        auto r = std::to_chars(buf, buf + sizeof buf, d);
        std::string_view t(buf, static_cast<size_t>(r.ptr - buf));
        out->append(t);
        // Shortest form may be all digits (2.5e21 as 25 followed by 20
        // digits): keep it a floating-point number when read back.
        if (t.find_first_of(".eE") == std::string_view::npos) out->append(".0");
      }
      return true;
    }
    case element_type::BOOL:
      out->append(bool(e) ? "true" : "false");
      return true;
    case element_type::NULL_VALUE:
      out->append("null");
      return true;
  }
  return false;
}

std::string CanonicalOf(element e) {
  std::string out;
  if (!Canonical(e, 0, &out)) return "";
  return out;
}

std::string Number(double d) {
  if (d == std::trunc(d) && std::fabs(d) < 9e15)
    return std::to_string(static_cast<int64_t>(d));
  return fmt::format("{:.3g}", d);
}

void ReadClientInfo(object info, McpRequestParams* p) {
  p->client_name = Str(info, "name");
  p->client_version = Str(info, "version");
}

McpToolDef ReadTool(object t) {
  McpToolDef d;
  d.name = Str(t, "name");
  d.title = Str(t, "title");
  d.description = Str(t, "description");
  // The definition that is hashed: what the model is shown and what
  // constrains the call. Absent fields stay absent.
  std::string canon = "{";
  auto add = [&](std::string_view key, std::string* keep) {
    element v;
    if (t[key].get(v) != simdjson::SUCCESS) return;
    std::string c = CanonicalOf(v);
    if (keep != nullptr) *keep = c;
    if (canon.size() > 1) canon.push_back(',');
    AppendJsonString(key, &canon);
    canon.push_back(':');
    canon.append(c);
  };
  // Sorted key order, as CanonicalJson would emit.
  add("annotations", &d.annotations);
  add("description", nullptr);
  add("inputSchema", &d.input_schema);
  add("name", nullptr);
  add("outputSchema", &d.output_schema);
  add("title", nullptr);
  canon.push_back('}');
  d.hash = Sha256Hex(canon);
  return d;
}

}  // namespace

McpRequestParams ReadRequestParams(std::string_view method,
                                   std::string_view params) {
  McpRequestParams p;
  if (params.empty()) return p;
  thread_local simdjson::dom::parser parser;  // reused: no allocation per call
  element root;
  object o;
  if (!Parse(parser, params, &root) || root.get_object().get(o)) return p;
  if (method == "tools/call" || method == "prompts/get") {
    p.target = Str(o, "name");
    element args;
    if (o["arguments"].get(args) == simdjson::SUCCESS)
      p.arguments = simdjson::minify(args);
  } else if (method.substr(0, 10) == "resources/") {
    p.target = Str(o, "uri");
  } else if (method == "initialize") {
    p.protocol_version = Str(o, "protocolVersion");
    object info;
    if (o["clientInfo"].get_object().get(info) == simdjson::SUCCESS)
      ReadClientInfo(info, &p);
  }
  object meta;
  if (o["_meta"].get_object().get(meta) == simdjson::SUCCESS) {
    element token;
    if (meta["progressToken"].get(token) == simdjson::SUCCESS)
      p.progress_token = simdjson::minify(token);
    std::string v = Str(meta, kMetaVersion);
    if (!v.empty()) p.protocol_version = v;
    object info;
    if (meta[kMetaClientInfo].get_object().get(info) == simdjson::SUCCESS)
      ReadClientInfo(info, &p);
  }
  return p;
}

std::string RootPath(std::string_view uri) {
  // file:///abs/path or file://localhost/abs/path, percent-encoded.
  constexpr std::string_view kFile = "file://";
  if (uri.substr(0, kFile.size()) != kFile) return "";
  std::string_view rest = uri.substr(kFile.size());
  if (rest.substr(0, 9) == "localhost") rest.remove_prefix(9);
  if (rest.empty() || rest[0] != '/') return "";
  std::string out;
  for (size_t i = 0; i < rest.size(); ++i) {
    if (rest[i] == '%' && i + 2 < rest.size() && std::isxdigit(static_cast<unsigned char>(rest[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(rest[i + 2]))) {
      out.push_back(static_cast<char>(std::stoi(std::string(rest.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(rest[i]);
    }
  }
  if (out.find('\0') != std::string::npos) return "";
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

McpResultInfo ReadResult(std::string_view method, std::string_view result) {
  McpResultInfo r;
  thread_local simdjson::dom::parser parser;  // reused: no allocation per call
  element root;
  object o;
  if (!Parse(parser, result, &root) || root.get_object().get(o)) return r;
  r.next_cursor = Str(o, "nextCursor");
  // MCP 2026-07-28 carries the server's name in every result's _meta.
  object meta, meta_info;
  if (o["_meta"].get_object().get(meta) == simdjson::SUCCESS &&
      meta["io.modelcontextprotocol/serverInfo"].get_object().get(meta_info) ==
          simdjson::SUCCESS) {
    r.server_name = Str(meta_info, "name");
    r.server_version = Str(meta_info, "version");
  }
  if (method == "initialize" || method == "server/discover") {
    r.protocol_version = Str(o, "protocolVersion");
    if (r.protocol_version.empty()) {
      // server/discover lists what the server supports.
      array versions;
      if (o["supportedVersions"].get_array().get(versions) == simdjson::SUCCESS) {
        for (element v : versions) {
          std::string_view s;
          if (v.get_string().get(s) == simdjson::SUCCESS &&
              std::string(s) > r.protocol_version)
            r.protocol_version = std::string(s);
        }
      }
    }
    object info;
    if (o["serverInfo"].get_object().get(info) == simdjson::SUCCESS) {
      r.server_name = Str(info, "name");
      r.server_version = Str(info, "version");
    }
    r.summary = r.server_name.empty()
                    ? r.protocol_version
                    : fmt::format("{} {} ({})", r.server_name,
                                  r.server_version, r.protocol_version);
    return r;
  }
  if (method == "tools/list") {
    array tools;
    if (o["tools"].get_array().get(tools) == simdjson::SUCCESS) {
      r.has_tools = true;
      for (element t : tools) {
        object to;
        if (t.get_object().get(to) == simdjson::SUCCESS) {
          McpToolDef d = ReadTool(to);
          if (!d.name.empty()) r.tools.push_back(std::move(d));
        }
      }
    }
    r.summary = fmt::format("tools={}", r.tools.size());
    return r;
  }
  if (method == "roots/list") {
    array roots;
    if (o["roots"].get_array().get(roots) == simdjson::SUCCESS) {
      r.has_roots = true;
      for (element e : roots) {
        object ro;
        if (e.get_object().get(ro) != simdjson::SUCCESS) continue;
        std::string path = RootPath(Str(ro, "uri"));
        if (!path.empty() && r.roots.size() < 256) r.roots.push_back(std::move(path));
      }
    }
    r.summary = fmt::format("roots={}", r.roots.size());
    return r;
  }
  bool is_error = false;
  if (o["isError"].get_bool().get(is_error) == simdjson::SUCCESS)
    r.is_error = is_error;
  array content;
  if (o["content"].get_array().get(content) == simdjson::SUCCESS) {
    size_t n = 0, text_bytes = 0;
    std::vector<std::string> kinds;
    for (element c : content) {
      ++n;
      object co;
      if (c.get_object().get(co) != simdjson::SUCCESS) continue;
      std::string type = Str(co, "type");
      if (type == "text") text_bytes += Str(co, "text").size();
      if (!type.empty() &&
          std::find(kinds.begin(), kinds.end(), type) == kinds.end())
        kinds.push_back(type);
    }
    r.summary = fmt::format("content={}", n);
    if (!kinds.empty()) r.summary += fmt::format(" [{}]", fmt::join(kinds, ","));
    if (text_bytes) r.summary += fmt::format(" text={}B", text_bytes);
  }
  if (o["structuredContent"].error() == simdjson::SUCCESS)
    r.summary += r.summary.empty() ? "structured" : " structured";
  for (std::string_view list : {"resources", "prompts", "resourceTemplates",
                                "contents", "messages", "roots"}) {
    array a;
    if (o[list].get_array().get(a) == simdjson::SUCCESS) {
      if (!r.summary.empty()) r.summary.push_back(' ');
      r.summary += fmt::format("{}={}", list, a.size());
    }
  }
  return r;
}

std::optional<McpProgress> ReadProgress(std::string_view params) {
  thread_local simdjson::dom::parser parser;  // reused: no allocation per call
  element root, token;
  object o;
  if (!Parse(parser, params, &root) || root.get_object().get(o) ||
      o["progressToken"].get(token) != simdjson::SUCCESS)
    return std::nullopt;
  McpProgress p;
  p.token = simdjson::minify(token);
  double d;
  if (o["progress"].get_double().get(d) == simdjson::SUCCESS) p.progress = d;
  if (o["total"].get_double().get(d) == simdjson::SUCCESS) p.total = d;
  p.message = Str(o, "message");
  return p;
}

std::optional<McpCancel> ReadCancel(std::string_view params) {
  thread_local simdjson::dom::parser parser;  // reused: no allocation per call
  element root, id;
  object o;
  if (!Parse(parser, params, &root) || root.get_object().get(o) ||
      o["requestId"].get(id) != simdjson::SUCCESS)
    return std::nullopt;
  return McpCancel{simdjson::minify(id), Str(o, "reason")};
}

std::string FormatProgress(const McpProgress& p) {
  std::string out = Number(p.progress);
  if (p.total > 0) out += "/" + Number(p.total);
  if (!p.message.empty()) out += " " + p.message;
  return out;
}

std::optional<std::string> CanonicalJson(std::string_view json) {
  thread_local simdjson::dom::parser parser;  // reused: no allocation per call
  element root;
  if (!Parse(parser, json, &root)) return std::nullopt;
  std::string out;
  if (!Canonical(root, 0, &out)) return std::nullopt;
  return out;
}

std::string Sha256Hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  // Fetched once: an implicit fetch per call costs more than the hash.
  static EVP_MD* const kSha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  EVP_Digest(data.data(), data.size(), md, &len, kSha256, nullptr);
  std::string out;
  out.reserve(len * 2);
  for (unsigned int i = 0; i < len; ++i) out += fmt::format("{:02x}", md[i]);
  return out;
}


}  // namespace agentwatch
