#include "detect/posture.h"

#include <algorithm>
#include <cctype>
#include <map>

#include <fmt/format.h>
#include <simdjson.h>

namespace agentwatch {
namespace {

// A finding by a secret's name or randomness, not by a provider's format.
bool Generic(const Redactor::Finding& f) {
  return f.rule == "secret-name" || f.rule == "high-entropy";
}

// A finding of r in text[value_begin, ...) (the value after a name):
// the most specific one (a provider format before a secret-named key or
// a long random value).
bool BestFinding(const Redactor& r, std::string_view text, size_t value_begin,
                 Redactor::Finding* out) {
  // The value alone names a provider format that the name's rule would
  // cover (AWS_ACCESS_KEY_ID=AKIA...: both the same bytes).
  if (value_begin > 0) {
    for (Redactor::Finding& f : r.Find(text.substr(value_begin))) {
      if (Generic(f) || f.value.empty()) continue;
      *out = std::move(f);
      out->begin += value_begin;
      out->end += value_begin;
      return true;
    }
  }
  bool found = false;
  for (Redactor::Finding& f : r.Find(text)) {
    if (f.end <= value_begin || f.value.empty()) continue;
    if (!found || (Generic(*out) && !Generic(f))) {
      *out = std::move(f);
      found = true;
    }
  }
  return found;
}

// A variable, flag or key name as it is when it is one (identifier
// characters, at most 128), else fallback: a name is shown as written, so
// it must not be able to carry a value (an argument "-----BEGIN ... KEY"
// is no flag, a JSON key can hold anything).
std::string SafeName(std::string_view s, std::string fallback) {
  constexpr size_t kMaxName = 128;
  if (s.empty() || s.size() > kMaxName) return fallback;
  for (char c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c)) &&
        std::string_view("_.-:@/+").find(c) == std::string_view::npos)
      return fallback;
  }
  return std::string(s);
}

// A secret-named value that is no credential: a path, a word, a flag.
bool LooksLikeCredential(const Redactor::Finding& f) {
  if (!Generic(f)) return true;
  const std::string_view v = f.value;
  if (v.size() < 8) return false;
  if (v.front() == '/' || v.front() == '~' || v.front() == '.') return false;
  // An endpoint (AWS_CONTAINER_CREDENTIALS_FULL_URI, *_TOKEN_URL): where a
  // short-lived credential comes from, not one.
  if (v.rfind("http://", 0) == 0 || v.rfind("https://", 0) == 0 || v.rfind("unix:", 0) == 0)
    return false;
  // The name of another variable (bearer_token_env_var = "GITHUB_TOKEN")
  // or a region (us-east-1).
  if (v.find('_') != std::string_view::npos &&
      std::all_of(v.begin(), v.end(), [](char c) {
        return std::isupper(static_cast<unsigned char>(c)) ||
               std::isdigit(static_cast<unsigned char>(c)) || c == '_';
      }))
    return false;
  if (v.size() <= 16 && std::count(v.begin(), v.end(), '-') == 2 &&
      std::isdigit(static_cast<unsigned char>(v.back())) &&
      std::all_of(v.begin(), v.end(), [](char c) {
        return std::islower(static_cast<unsigned char>(c)) ||
               std::isdigit(static_cast<unsigned char>(c)) || c == '-';
      }))
    return false;
  if (std::any_of(v.begin(), v.end(), [](char c) { return std::isspace(static_cast<unsigned char>(c)); }))
    return false;
  static const char* kWords[] = {"true", "false", "none", "null", "changeme", "required", "optional"};
  std::string lower(v);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  for (const char* w : kWords)
    if (lower == w) return false;
  return true;
}

PostureFinding Make(const Redactor& r, std::string source, std::string name,
                    const Redactor::Finding& f, std::string detail) {
  PostureFinding p;
  p.source = std::move(source);
  // A name holds no value by construction (SafeName), and what a
  // catalogue format inside it would show is masked as well.
  p.name = r.Redact(name);
  p.kind = f.rule;
  p.fingerprint = MaskFingerprint(r.Mask(f.rule, f.value));
  p.detail = std::move(detail);
  return p;
}

// value with its references (${...}, {{...}}) taken out: what it holds
// literally.
std::string Literal(std::string_view value) {
  std::string out;
  for (size_t i = 0; i < value.size();) {
    if (value.compare(i, 2, "${") == 0 || value.compare(i, 2, "{{") == 0) {
      const std::string_view close = value[i] == '$' ? "}" : "}}";
      const size_t e = value.find(close, i + 2);
      if (e != std::string_view::npos) {
        out += ' ';
        i = e + close.size();
        continue;
      }
    }
    out += value[i++];
  }
  return out;
}

void ScanNamedValue(const Redactor& r, const std::string& source, const std::string& name,
                    std::string_view key, std::string_view sep, std::string_view value,
                    std::vector<PostureFinding>* out) {
  if (IsSecretReference(value)) return;
  const std::string literal = Literal(value);
  const std::string text = std::string(key) + std::string(sep) + literal;
  Redactor::Finding f;
  if (BestFinding(r, text, key.size() + sep.size(), &f) && LooksLikeCredential(f))
    out->push_back(Make(r, source, name, f, "a literal credential in an MCP configuration"));
}

void ScanServerConfig(const Redactor& r, const std::string& path, const std::string& prefix,
                      simdjson::dom::object server, std::vector<PostureFinding>* out) {
  for (const char* field : {"env", "headers"}) {
    simdjson::dom::object m;
    if (server[field].get(m) != simdjson::SUCCESS) continue;
    const bool header = std::string_view(field) == "headers";
    for (auto [k, v] : m) {
      std::string_view s;
      if (v.get(s) != simdjson::SUCCESS) continue;
      ScanNamedValue(r, path, fmt::format("{}.{}.{}", prefix, field, SafeName(k, "(key)")), k,
                     header ? ": " : "=", s, out);
    }
  }
  simdjson::dom::array args;
  if (server["args"].get(args) == simdjson::SUCCESS) {
    std::vector<std::string> argv = {""};
    for (auto a : args) {
      std::string_view s;
      const bool text = a.get(s) == simdjson::SUCCESS && !IsSecretReference(s);
      argv.emplace_back(text ? Literal(s) : std::string());
    }
    for (PostureFinding& f : ScanArguments(r, argv)) {
      f.source = path;
      f.name = fmt::format("{}.args.{}", prefix, f.name);
      f.detail = "a literal credential in an MCP configuration";
      out->push_back(std::move(f));
    }
  }
  for (const char* field : {"url", "serverUrl", "httpUrl"}) {
    std::string_view url;
    if (server[field].get(url) != simdjson::SUCCESS || IsSecretReference(url)) continue;
    Redactor::Finding f;
    const std::string literal = Literal(url);
    if (BestFinding(r, literal, 0, &f) && LooksLikeCredential(f))
      out->push_back(Make(r, path, fmt::format("{}.{}", prefix, field), f,
                          "a credential in an MCP server's URL"));
  }
}

void ScanLines(const Redactor& r, std::string_view path, std::string_view text,
               std::vector<PostureFinding>* out) {
  size_t line = 0;
  for (size_t b = 0; b <= text.size();) {
    size_t e = text.find('\n', b);
    if (e == std::string_view::npos) e = text.size();
    ++line;
    const std::string literal = Literal(text.substr(b, e - b));
    Redactor::Finding f;
    // Named by its line only: the bytes around a value may be another
    // value (a URL's user before its password).
    if (BestFinding(r, literal, 0, &f) && LooksLikeCredential(f))
      out->push_back(Make(r, std::string(path), fmt::format("line {}", line), f,
                          "a literal credential in an MCP configuration"));
    b = e + 1;
  }
}

}  // namespace

bool IsSecretReference(std::string_view value) {
  while (!value.empty() && std::isspace(static_cast<unsigned char>(value.front()))) value.remove_prefix(1);
  while (!value.empty() && std::isspace(static_cast<unsigned char>(value.back()))) value.remove_suffix(1);
  if (value.empty()) return true;
  if (value.size() > 3 && value.substr(0, 2) == "${" && value.back() == '}' &&
      value.find('}') == value.size() - 1)
    return true;
  if (value.size() > 4 && value.substr(0, 2) == "{{" && value.substr(value.size() - 2) == "}}" &&
      value.find("}}") == value.size() - 2)
    return true;
  if (value.size() > 1 && value[0] == '$' &&
      std::all_of(value.begin() + 1, value.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
      }))
    return true;
  return false;
}

std::vector<PostureFinding> ScanEnvironment(const Redactor& r, std::string_view environ) {
  std::vector<std::pair<std::string, std::string>> vars;
  std::map<std::string, std::string> by_name;
  for (size_t b = 0; b < environ.size();) {
    size_t e = environ.find('\0', b);
    if (e == std::string_view::npos) e = environ.size();
    const std::string_view entry = environ.substr(b, e - b);
    const size_t eq = entry.find('=');
    if (eq != std::string_view::npos && eq > 0 && eq + 1 < entry.size()) {
      vars.emplace_back(std::string(entry.substr(0, eq)), std::string(entry.substr(eq + 1)));
      by_name[vars.back().first] = vars.back().second;
    }
    b = e + 1;
  }
  auto has = [&](const char* n) { return by_name.count(n) != 0; };
  const bool session = has("AWS_SESSION_TOKEN") || has("AWS_SECURITY_TOKEN");
  const std::string key_id = has("AWS_ACCESS_KEY_ID") ? by_name["AWS_ACCESS_KEY_ID"] : "";
  // A temporary key with its session token is what zero trust asks for.
  const bool temporary = session && key_id.rfind("ASIA", 0) == 0;
  const bool long_lived_aws = key_id.rfind("AKIA", 0) == 0;
  std::vector<PostureFinding> out;
  for (const auto& [name, value] : vars) {
    if (temporary && (name == "AWS_ACCESS_KEY_ID" || name == "AWS_SECRET_ACCESS_KEY" ||
                      name == "AWS_SESSION_TOKEN" || name == "AWS_SECURITY_TOKEN"))
      continue;
    const std::string text = name + "=" + value;
    Redactor::Finding f;
    if (!BestFinding(r, text, name.size() + 1, &f) || !LooksLikeCredential(f)) continue;
    std::string detail = "a long-lived credential in the environment";
    if (long_lived_aws && name.rfind("AWS_", 0) == 0) {
      detail = session ? "a long-lived AWS access key (AKIA) in the environment, next to a "
                         "session token"
                       : "a long-lived AWS access key (AKIA) in the environment, no session token";
    }
    out.push_back(Make(r, "environ", SafeName(name, "(a variable with an unusual name)"), f,
                       detail));
  }
  return out;
}

std::vector<PostureFinding> ScanArguments(const Redactor& r, const std::vector<std::string>& argv) {
  std::vector<PostureFinding> out;
  for (size_t i = 1; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (a.empty()) continue;
    std::string name = fmt::format("argv[{}]", i);
    std::string text = a;
    size_t value_begin = 0;
    const size_t dashes = a.find_first_not_of('-');
    const size_t eq = a.find('=');
    // A flag: one or two dashes, then a name (not "-----BEGIN ...").
    // A single dash takes a one-letter flag (-p, -e); "-pS3cret" is a
    // value attached to it, not a name.
    const size_t name_len = (eq == std::string::npos ? a.size() : eq) - dashes;
    const bool flag_shaped =
        a.size() > 1 && a[0] == '-' && dashes != std::string::npos && dashes <= 2 &&
        (dashes == 2 || name_len <= 1) &&
        SafeName(a.substr(dashes, eq == std::string::npos ? std::string::npos : eq - dashes), "")
                .size() > 0;
    if (flag_shaped) {
      std::string flag = a.substr(dashes, eq == std::string::npos ? std::string::npos : eq - dashes);
      if (eq != std::string::npos) {
        name = flag;
        value_begin = eq + 1;
      } else if (i + 1 < argv.size() && !argv[i + 1].empty() && argv[i + 1][0] != '-') {
        // --api-key VALUE
        text = flag + "=" + argv[i + 1];
        value_begin = flag.size() + 1;
        name = flag;
        Redactor::Finding f;
        if (BestFinding(r, text, value_begin, &f) && LooksLikeCredential(f)) {
          out.push_back(Make(r, "argv", name, f, "a credential on the command line"));
          ++i;
        }
        continue;
      }
    }
    Redactor::Finding f;
    if (BestFinding(r, text, value_begin, &f) && LooksLikeCredential(f))
      out.push_back(Make(r, "argv", name, f, "a credential on the command line"));
  }
  return out;
}

namespace {

// JSON with comments and trailing commas (VS Code's JSONC) as JSON:
// comments become spaces, a comma before a closing bracket goes.
std::string Jsonc(std::string_view t) {
  std::string out;
  out.reserve(t.size());
  bool str = false;
  for (size_t i = 0; i < t.size(); ++i) {
    const char c = t[i];
    if (str) {
      out += c;
      if (c == '\\' && i + 1 < t.size()) {
        out += t[++i];
      } else if (c == '"') {
        str = false;
      }
      continue;
    }
    if (c == '"') {
      str = true;
    } else if (c == '/' && i + 1 < t.size() && t[i + 1] == '/') {
      while (i < t.size() && t[i] != '\n') ++i;
      out += '\n';
      continue;
    } else if (c == '/' && i + 1 < t.size() && t[i + 1] == '*') {
      const size_t e = t.find("*/", i + 2);
      i = e == std::string_view::npos ? t.size() : e + 1;
      out += ' ';
      continue;
    } else if (c == ']' || c == '}') {
      size_t k = out.size();
      while (k > 0 && std::isspace(static_cast<unsigned char>(out[k - 1]))) --k;
      if (k > 0 && out[k - 1] == ',') out[k - 1] = ' ';
    }
    out += c;
  }
  return out;
}

}  // namespace

std::vector<PostureFinding> ScanMcpConfig(const Redactor& r, std::string_view path,
                                          std::string_view text, std::string* error) {
  std::vector<PostureFinding> out;
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);  // a UTF-8 BOM
  const size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return out;
  if (text[first] != '{') {
    ScanLines(r, path, text, &out);
    return out;
  }
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  const simdjson::padded_string padded(Jsonc(text));
  if (auto err = parser.parse(padded).get(doc); err != simdjson::SUCCESS) {
    if (error != nullptr) *error = simdjson::error_message(err);
    ScanLines(r, path, text, &out);
    return out;
  }
  const std::string p(path);
  auto servers = [&](simdjson::dom::object holder, const char* key, const std::string& prefix) {
    simdjson::dom::object m;
    if (holder[key].get(m) != simdjson::SUCCESS) return;
    for (auto [name, v] : m) {
      simdjson::dom::object server;
      if (v.get(server) != simdjson::SUCCESS) continue;
      ScanServerConfig(r, p, fmt::format("{}.{}", prefix, SafeName(name, "(server)")), server,
                       &out);
    }
  };
  simdjson::dom::object root;
  if (doc.get(root) != simdjson::SUCCESS) return out;
  servers(root, "mcpServers", "mcpServers");    // Claude, Cursor, Windsurf
  servers(root, "servers", "servers");          // VS Code mcp.json
  servers(root, "context_servers", "context_servers");
  simdjson::dom::object mcp;
  if (root["mcp"].get(mcp) == simdjson::SUCCESS) servers(mcp, "servers", "mcp.servers");
  // Claude Code keeps servers per project too.
  simdjson::dom::object projects;
  if (root["projects"].get(projects) == simdjson::SUCCESS) {
    for (auto [dir, v] : projects) {
      simdjson::dom::object proj;
      if (v.get(proj) == simdjson::SUCCESS)
        servers(proj, "mcpServers",
                fmt::format("projects.{}.mcpServers", SafeName(dir, "(project)")));
    }
  }
  return out;
}

std::vector<std::string> McpConfigPathsInHome(std::string_view home) {
  std::vector<std::string> out;
  if (home.empty() || home == "/") return out;
  for (const char* rel : {"/.config/Claude/claude_desktop_config.json", "/.claude.json",
                          "/.claude/settings.json", "/.cursor/mcp.json",
                          "/.config/Code/User/mcp.json", "/.config/Code/User/settings.json",
                          "/.codeium/windsurf/mcp_config.json", "/.codex/config.toml"})
    out.push_back(std::string(home) + rel);
  return out;
}

std::vector<std::string> McpConfigPathsInProject(std::string_view dir) {
  std::vector<std::string> out;
  if (dir.empty() || dir == "/") return out;
  for (const char* rel : {"/.mcp.json", "/.cursor/mcp.json", "/.vscode/mcp.json"})
    out.push_back(std::string(dir) + rel);
  return out;
}

std::string MaskFingerprint(std::string_view mask) {
  const size_t end = mask.rfind(']');
  if (end == std::string_view::npos) return "";
  const size_t colon = mask.rfind(':', end);
  if (colon == std::string_view::npos) return "";
  return std::string(mask.substr(colon + 1, end - colon - 1));
}

}  // namespace agentwatch
