#include "detect/signals.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <simdjson.h>

#include "common/text.h"
#include "model/event_text.h"
#include "redact/redact.h"

namespace agentwatch {
namespace {

// A signal of a kernel event's process, appended to out.
Signal& NewSignal(const v1::Event& ev, const char* name, std::string description,
                  std::vector<Signal>* out) {
  Signal& s = out->emplace_back();
  s.name = name;
  s.description = std::move(description);
  s.seq = ev.seq();
  s.time_unix_ns = ev.time_unix_ns();
  s.pid = ev.process().pid();
  s.fields["comm"] = ev.process().comm();
  s.fields["pid"] = std::to_string(ev.process().pid());
  return s;
}

}  // namespace

std::string GlobToRegex(const std::string& glob) {
  std::string re;
  for (size_t i = 0; i < glob.size(); ++i) {
    const char c = glob[i];
    if (c == '*' && i + 1 < glob.size() && glob[i + 1] == '*') {
      if (i + 2 < glob.size() && glob[i + 2] == '/') {
        re += "(?:.*/)?";
        i += 2;
      } else {
        re += ".*";
        ++i;
      }
    } else if (c == '*') {
      re += "[^/]*";
    } else if (c == '?') {
      re += "[^/]";
    } else {
      re += RE2::QuoteMeta(std::string(1, c));
    }
  }
  return re;
}

Detectors::Detectors() = default;
Detectors::~Detectors() = default;
Detectors::Detectors(Detectors&&) noexcept = default;
Detectors& Detectors::operator=(Detectors&&) noexcept = default;

std::string Detectors::Compile(const std::map<std::string, std::vector<std::string>>& lists,
                               const TextScoring& text) {
  auto list = [&](const char* name) -> const std::vector<std::string>& {
    static const std::vector<std::string> kEmpty;
    auto it = lists.find(name);
    return it == lists.end() ? kEmpty : it->second;
  };
  // A list of path globs as one anchored RE2::Set.
  auto glob_set = [&](const char* name, std::unique_ptr<RE2::Set>* out) -> std::string {
    RE2::Options o;
    o.set_log_errors(false);
    auto set = std::make_unique<RE2::Set>(o, RE2::ANCHOR_BOTH);
    for (const auto& g : list(name)) {
      std::string err;
      if (set->Add(GlobToRegex(g), &err) < 0) return fmt::format("list {}: '{}': {}", name, g, err);
    }
    if (!set->Compile()) return fmt::format("list {}: does not compile", name);
    *out = std::move(set);
    return "";
  };
  std::unique_ptr<RE2::Set> paths, not_paths;
  if (std::string e = glob_set("sensitive_paths", &paths); !e.empty()) return e;
  if (std::string e = glob_set("sensitive_paths_except", &not_paths); !e.empty()) return e;
  TextScorer scorer;
  if (std::string e = scorer.Compile(text); !e.empty()) return e;
  std::vector<Cidr> allow;
  for (const auto& c : list("egress_allow")) {
    Cidr cidr;
    std::string addr = c;
    const size_t slash = c.find('/');
    if (slash != std::string::npos) addr = c.substr(0, slash);
    if (inet_pton(AF_INET, addr.c_str(), cidr.addr.data()) == 1) {
      cidr.family = AF_INET;
      cidr.bits = 32;
    } else if (inet_pton(AF_INET6, addr.c_str(), cidr.addr.data()) == 1) {
      cidr.family = AF_INET6;
      cidr.bits = 128;
    } else {
      return fmt::format("list egress_allow: '{}' is not an address or CIDR", c);
    }
    if (slash != std::string::npos) {
      try {
        size_t pos = 0;
        const int bits = std::stoi(c.substr(slash + 1), &pos);
        if (pos != c.size() - slash - 1 || bits < 0 || bits > cidr.bits) throw std::exception();
        cidr.bits = bits;
      } catch (const std::exception&) {
        return fmt::format("list egress_allow: '{}' has a bad prefix length", c);
      }
    }
    allow.push_back(cidr);
  }
  sensitive_ = std::move(paths);
  not_sensitive_ = std::move(not_paths);
  text_ = std::move(scorer);
  egress_allow_ = std::move(allow);
  const auto& sh = list("shells");
  shells_ = {sh.begin(), sh.end()};
  const auto& nt = list("network_tools");
  network_tools_ = {nt.begin(), nt.end()};
  const auto& fl = list("inline_code_flags");
  inline_flags_ = {fl.begin(), fl.end()};
  interpreters_ = list("interpreters");
  outbound_tools_ = list("outbound_tools");
  scope_areas_ = list("scope_areas");
  scope_ignore_ = list("scope_ignore");
  local_only_ = list("local_only_servers");
  readers_.clear();
  for (const auto& r : list("sensitive_readers")) {
    const size_t colon = r.find(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == r.size())
      return fmt::format("list sensitive_readers: '{}' is not PROGRAM:PATH", r);
    readers_.emplace_back(r.substr(0, colon), r.substr(colon + 1));
  }
  dns_allow_ = list("dns_allow");
  return "";
}

bool Detectors::IsSensitivePath(const std::string& path) const {
  std::vector<int> m;
  return sensitive_ && sensitive_->Match(path, &m) &&
         !(not_sensitive_ && not_sensitive_->Match(path, &m));
}

bool Detectors::IsEgress(const v1::SockAddr& remote) const {
  if (remote.family() != "inet" && remote.family() != "inet6") return false;
  std::string addr = remote.address();
  if (addr.rfind("::ffff:", 0) == 0 && addr.find('.') != std::string::npos)
    addr = addr.substr(7);  // v4-mapped
  std::array<uint8_t, 16> a{};
  int family = 0;
  if (inet_pton(AF_INET, addr.c_str(), a.data()) == 1) {
    family = AF_INET;
  } else if (inet_pton(AF_INET6, addr.c_str(), a.data()) == 1) {
    family = AF_INET6;
  } else {
    return false;
  }
  // Unspecified (0.0.0.0, ::): not a destination.
  if (std::all_of(a.begin(), a.begin() + (family == AF_INET ? 4 : 16),
                  [](uint8_t b) { return b == 0; }))
    return false;
  for (const auto& c : egress_allow_) {
    if (c.family != family) continue;
    int bits = c.bits, i = 0;
    bool in = true;
    for (; bits >= 8; bits -= 8, ++i) {
      if (a[i] != c.addr[i]) {
        in = false;
        break;
      }
    }
    if (in && bits > 0) {
      const uint8_t mask = static_cast<uint8_t>(0xFF << (8 - bits));
      in = (a[i] & mask) == (c.addr[i] & mask);
    }
    if (in) return false;
  }
  return true;
}

void Detectors::Effect(const v1::Event& ev, std::vector<Signal>* out) const {
  auto make = [&](const char* name, std::string description) -> Signal& {
    return NewSignal(ev, name, std::move(description), out);
  };
  switch (ev.type()) {
    case v1::EVENT_TYPE_CAPTURE_EVADED: {
      Signal& s = make("capture_evaded", EvasionText(ev.evasion()));
      s.fields["mechanism"] = ev.evasion().mechanism();
      s.fields["detail"] = EvasionText(ev.evasion());
      return;
    }
    case v1::EVENT_TYPE_POSTURE: {
      const auto& c = ev.posture();
      Signal& s = make("static_credential",
                       fmt::format("{} {} holds {} ({}, fingerprint {}){}", c.subject(), c.source(),
                                   c.name(), c.kind(), c.fingerprint(),
                                   c.previous_fingerprint().empty()
                                       ? ""
                                       : " rotated from " + c.previous_fingerprint()));
      s.fields["subject"] = c.subject();
      s.fields["source"] = c.source();
      s.fields["name"] = c.name();
      s.fields["kind"] = c.kind();
      s.fields["fingerprint"] = c.fingerprint();
      s.fields["previous_fingerprint"] = c.previous_fingerprint();
      s.fields["rotated"] = c.previous_fingerprint().empty() ? "false" : "true";
      s.fields["detail"] = c.detail();
      // One alert per credential where it is (the same value under the
      // same name in the same place).
      s.fields["finding"] = fmt::format("{}|{}|{}|{}|{}", ev.process().exe(), c.subject(),
                                        c.source(), c.name(), c.fingerprint());
      return;
    }
    case v1::EVENT_TYPE_FILE_OPEN: {
      const auto& f = ev.file();
      if (f.result() < 0) return;
      const uint32_t acc = f.flags() & O_ACCMODE;
      if (acc != O_RDONLY && acc != O_RDWR) return;  // written, not read
      if (!IsSensitivePath(f.path())) return;
      if (OwnReader(ev.process(), f.path())) return;  // npm reading .npmrc
      Signal& s = make("sensitive_read",
                       fmt::format("open {} {} = {}", f.path(), f.flags_text(), f.result()));
      s.fields["path"] = f.path();
      s.fields["flags"] = f.flags_text();
      return;
    }
    case v1::EVENT_TYPE_NET_CONNECT: {
      const auto& n = ev.net();
      if (!IsEgress(n.remote())) return;
      if (n.protocol() == "udp" && n.remote().port() == 53) return;  // DNS: dns_query
      Signal& s = make("egress", fmt::format("connect {} {} = {}", n.protocol(),
                                             SockAddrText(n.remote()),
                                             SyscallResultText(n.result(), n.error())));
      s.fields["target"] = SockAddrText(n.remote());
      s.fields["protocol"] = n.protocol();
      s.fields["verb"] = "connected to";
      return;
    }
    case v1::EVENT_TYPE_DNS_QUERY: {
      for (const auto& name : ev.dns().names()) {
        std::string host = name;
        if (!host.empty() && host.back() == '.') host.pop_back();
        bool allowed = false;
        for (const auto& g : dns_allow_) allowed = allowed || GlobMatch(g, host);
        if (allowed || host.empty()) continue;
        Signal& s = make("dns_query", "dns " + host);
        s.fields["target"] = host;
        s.fields["verb"] = "looked up";
        std::string label;
        if (EncodedLabel(host, &label)) {
          Signal& b = make("encoded_blob", "dns " + host);
          b.fields["where"] = "dns";
          b.fields["excerpt"] = label;
          b.fields["target"] = host;
        }
      }
      return;
    }
    case v1::EVENT_TYPE_EXEC: {
      const auto& x = ev.exec();
      const std::string exe = Basename(x.filename());
      std::string kind = "other";
      if (shells_.count(exe)) {
        kind = "shell";
      } else if (network_tools_.count(exe)) {
        kind = "network_tool";
      } else {
        bool interp = false;
        for (const auto& g : interpreters_) interp = interp || GlobMatch(g, exe);
        if (interp) {
          for (int i = 1; i < x.argv_size(); ++i)
            if (inline_flags_.count(x.argv(i))) kind = "inline_code";
        }
      }
      const std::string argv = RedactedArgv({x.argv().begin(), x.argv().end()});
      Signal& s = make("process_exec", fmt::format("exec {} [{}]", x.filename(), argv));
      s.fields["exe"] = x.filename();
      s.fields["argv"] = argv;
      s.fields["kind"] = kind;
      std::string blob;
      if (kind == "network_tool" && EncodedBlob(argv, 48, &blob)) {
        Signal& b = make("encoded_blob", fmt::format("exec {} [{}]", x.filename(), argv));
        b.fields["where"] = "argv";
        b.fields["excerpt"] = blob;
        b.fields["exe"] = x.filename();
      }
      return;
    }
    default:
      return;
  }
}

namespace {

// The flows of a call or of bytes sent out, as a data_flow signal's
// fields: the first flow's source, whether any came from another server
// than `server` (empty: not asked), and whether any carried content
// another agent wrote (its writer and the call it came back in).
void FlowFields(const google::protobuf::RepeatedPtrField<v1::DataFlow>& flows,
                const std::string& server, Signal* s) {
  const v1::DataFlow& first = flows[0];
  s->fields["from_tool"] = first.from_tool();
  s->fields["from_server"] = first.from_server_id();
  bool cross = false;
  const v1::DataFlow* written = nullptr;
  for (const auto& f : flows) {
    cross = cross || f.from_server_id() != server;
    if (written == nullptr && !f.written_by_agent_id().empty()) written = &f;
  }
  if (!server.empty()) s->fields["cross"] = cross ? "true" : "false";
  s->fields["cross_agent"] = written != nullptr ? "true" : "false";
  s->fields["written_by"] = written != nullptr ? written->written_by_agent_id() : "";
  s->fields["written_from_tool"] = written != nullptr ? written->from_tool() : "";
}

}  // namespace

void Detectors::Outbound(const v1::Event& ev, std::vector<Signal>* out) const {
  const v1::PayloadInfo& p = ev.payload();
  if (!p.has_remote() || !IsEgress(p.remote())) return;
  const std::string target = SockAddrText(p.remote());
  auto make = [&](const char* name, std::string description) -> Signal& {
    Signal& s = NewSignal(ev, name, std::move(description), out);
    s.fields["target"] = target;
    return s;
  };
  const std::string what = fmt::format("{} {}B to {}", p.syscall(), p.syscall_length(), target);
  if (p.secret()) make("secret_sent", what + " with a credential");
  if (!p.encoded_excerpt().empty()) {
    Signal& s = make("encoded_blob", what + " with encoded data");
    s.fields["where"] = "network";
    s.fields["excerpt"] = p.encoded_excerpt();
    s.fields["outbound"] = "true";
  }
  // One: whether data moved, not how often.
  if (!p.flows().empty()) {
    const v1::DataFlow& f = p.flows(0);
    Signal& s = make("data_flow", fmt::format("{} <= data from call {} ({})", what,
                                              f.from_call_id(), f.from_tool()));
    FlowFields(p.flows(), "", &s);  // cross: the engine knows the server
    s.fields["outbound"] = "true";
    s.fields["where"] = "network";
    s.fields["tool"] = "a connection to " + target;
    s.call_id = 0;
  }
}

void Detectors::Call(const v1::Event& ev, std::vector<Signal>* out) const {
  const v1::McpCall& c = ev.call();
  auto make = [&](const char* name) -> Signal& {
    Signal& s = out->emplace_back();
    s.name = name;
    s.description = fmt::format("{} {} {}", c.method(), c.tool(), c.arguments().substr(0, 200));
    s.seq = ev.seq();
    s.time_unix_ns = c.started_unix_ns();
    s.call_id = c.call_id();
    s.pid = c.server_pid();
    s.fields["tool"] = c.tool().empty() ? c.method() : c.tool();
    return s;
  };
  const bool outbound = OutboundTool(c.tool());
  // The redactor masked a credential in the arguments: one was there.
  if (c.initiator() == "client" && c.arguments().find(kRedactedPrefix) != std::string::npos)
    make("secret_argument").fields["outbound"] = outbound ? "true" : "false";
  std::string blob = c.arguments_encoded_excerpt();
  if (c.initiator() == "client" && (!blob.empty() || EncodedBlob(c.arguments(), 48, &blob))) {
    Signal& s = make("encoded_blob");
    s.fields["where"] = "arguments";
    s.fields["excerpt"] = blob;
    s.fields["outbound"] = outbound ? "true" : "false";
  }
  // One per call: the rules ask whether data moved, not how often.
  if (!c.flows().empty()) {
    const v1::DataFlow& f = c.flows(0);
    Signal& s = make("data_flow");
    FlowFields(c.flows(), c.server_id(), &s);
    s.fields["outbound"] = outbound ? "true" : "false";
    s.description = fmt::format("{} {} <= data from call {} ({})", c.method(), c.tool(),
                                f.from_call_id(), f.from_tool());
    if (!s.fields["written_by"].empty())
      s.description += ", with what agent " + s.fields["written_by"] + " wrote";
  }
  // Prompts, resources and templates as listed (the tracker scored the
  // whole list; content_flag is "prompt NAME: reason").
  if ((c.method() == "prompts/list" || c.method() == "resources/list" ||
       c.method() == "resources/templates/list") &&
      !c.content_flag().empty()) {
    const std::string& flag = c.content_flag();
    const size_t colon = flag.find(": ");
    Signal& s = make("tool_poisoned");
    s.fields["tool"] = colon == std::string::npos ? c.method() : flag.substr(0, colon);
    s.fields["reason"] = colon == std::string::npos ? flag : flag.substr(colon + 2);
    s.fields["excerpt"] = c.content_excerpt();
    s.description = fmt::format("{}: {}", s.fields["tool"], s.fields["reason"]);
  }
  std::string reason, excerpt;
  // Content the agent reads (tool definitions are looked at as tools).
  const bool content = c.method() == "tools/call" || c.method() == "resources/read" ||
                       c.method() == "prompts/get";
  std::string injected;  // why the content is addressed to the model
  if (content && !c.content_flag().empty()) {
    // Found by the tracker in the whole result's text.
    Signal& s = make("injection_in_result");
    s.fields["reason"] = injected = c.content_flag();
    s.fields["excerpt"] = c.content_excerpt();
  } else if (content && !c.content_scanned() && !c.result().empty()) {
    // (Only when nothing looked at the whole result: a call built without
    // the tracker's scanner.)
    const TextScorer::Verdict v = ScoreContent(c.result());
    if (v.flagged) {
      Signal& s = make("injection_in_result");
      s.fields["reason"] = injected = v.Reason();
      s.fields["excerpt"] = v.excerpt;
      s.fields["features"] = fmt::format("{}", fmt::join(v.features, ","));
      s.fields["score"] = fmt::format("{:.1f}", v.score);
      s.fields["channel"] = v.channel;
    }
  }
  // Content another agent wrote into a shared server, returned to this
  // one: the writer of the flagged text, if it is one of them.
  if (content && c.written_by_size() > 0) {
    const v1::DataFlow* w = &c.written_by(0);
    for (const auto& f : c.written_by())
      if (f.flagged()) {
        w = &f;
        break;
      }
    const bool theirs = !injected.empty() && w->flagged();
    Signal& s = make("cross_agent_content");
    s.fields["from_agent"] = w->from_agent_id();
    s.fields["from_tool"] = w->from_tool();
    s.fields["from_call"] = std::to_string(w->from_call_id());
    s.fields["from_server"] = w->from_server_id();
    s.fields["injected"] = theirs ? "true" : "false";
    s.fields["reason"] = theirs ? injected : "";
    s.description = fmt::format("{} {} <= content agent {} wrote in call {} ({})", c.method(),
                                c.tool(), w->from_agent_id(), w->from_call_id(),
                                w->from_tool());
  }
  if (c.status() == "error" || c.status() == "tool_error")
    make("call_failed").fields["status"] = c.status();
}

void Detectors::Roots(const std::vector<std::string>& argv, std::vector<std::string>* roots,
                      std::vector<std::string>* own) {
  static const char* const kScript[] = {".js", ".mjs", ".cjs", ".ts", ".py", ".rb", ".pl",
                                        ".php", ".jar", ".sh"};
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (a.empty() || a[0] != '/') continue;
    bool script = i == 0 || a.find("/node_modules/") != std::string::npos ||
                  a.find("/site-packages/") != std::string::npos;
    for (const char* ext : kScript) {
      const size_t n = strlen(ext);
      script = script || (a.size() > n && a.compare(a.size() - n, n, ext) == 0);
    }
    if (script) {
      own->push_back(a.substr(0, a.rfind('/')));
    } else {
      std::string r = a;
      while (r.size() > 1 && r.back() == '/') r.pop_back();
      roots->push_back(r);
    }
  }
}

bool Detectors::OwnReader(const v1::Process& p, const std::string& path) const {
  const std::string exe = Basename(p.exe());
  for (const auto& [prog, glob] : readers_) {
    if ((GlobMatch(prog, p.comm()) || (!exe.empty() && GlobMatch(prog, exe))) &&
        GlobMatch(glob, path))
      return true;
  }
  return false;
}

bool Detectors::LocalOnly(const std::vector<std::string>& names) const {
  for (const auto& n : names)
    for (const auto& g : local_only_)
      if (GlobMatch(g, n)) return true;
  return false;
}

void Detectors::Scope(const v1::Event& ev, const std::vector<std::string>& argv,
                      const std::vector<std::string>& mcp_roots,
                      std::vector<Signal>* out) const {
  if (ev.type() != v1::EVENT_TYPE_FILE_OPEN || ev.file().result() < 0) return;
  std::vector<std::string> roots, own;
  Roots(argv, &roots, &own);
  roots.insert(roots.end(), mcp_roots.begin(), mcp_roots.end());
  if (roots.empty()) return;  // no roots declared: nothing to be outside of
  const std::string& path = ev.file().path();
  auto under = [&](const std::string& dir) {
    return dir == "/" || path == dir || (path.size() > dir.size() &&
                                         path.compare(0, dir.size(), dir) == 0 &&
                                         path[dir.size()] == '/');
  };
  for (const auto& r : roots)
    if (under(r)) return;
  for (const auto& o : own)
    if (under(o)) return;
  // The program's own installation (an interpreter under ~/.pyenv, a
  // toolchain under /opt/x): the directory above its bin/, when that is
  // deep enough not to be a home or a top-level directory.
  if (const std::string& exe = ev.process().exe(); !exe.empty()) {
    const size_t bin = exe.rfind('/');
    const size_t prefix = bin == std::string::npos || bin == 0 ? std::string::npos
                                                               : exe.rfind('/', bin - 1);
    if (prefix != std::string::npos && prefix > 0) {
      const std::string dir = exe.substr(0, prefix);
      const auto depth = std::count(dir.begin(), dir.end(), '/');
      if ((depth >= 3 || (depth == 2 && dir.rfind("/home/", 0) != 0)) && under(dir)) return;
    }
  }
  bool area = false;
  for (const auto& g : scope_areas_) area = area || GlobMatch(g, path);
  if (!area) return;
  for (const auto& g : scope_ignore_)
    if (GlobMatch(g, path)) return;
  Signal& s = NewSignal(ev, "out_of_scope",
                        fmt::format("open {} {} = {}", path, ev.file().flags_text(),
                                    ev.file().result()),
                        out);
  s.fields["path"] = path;
  std::string all;
  for (const auto& r : roots) all += (all.empty() ? "" : ", ") + r;
  s.fields["roots"] = all;
}

bool Detectors::OutboundTool(const std::string& name) const {
  std::string lower;
  for (char c : name) lower += static_cast<char>(tolower(static_cast<unsigned char>(c)));
  for (const auto& g : outbound_tools_)
    if (GlobMatch(g, lower)) return true;
  return false;
}

bool Detectors::EncodedBlob(std::string_view text, size_t min_len, std::string* excerpt) {
  // Runs of base64 (standard or URL alphabet) or hex, long enough to carry
  // a file or a key, with enough variety not to be a word or a padding run.
  size_t run = 0;
  for (size_t i = 0; i <= text.size(); ++i) {
    const char c = i < text.size() ? text[i] : ' ';
    if (isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/' || c == '_' || c == '-' ||
        c == '=' || c == '%') {
      ++run;
      continue;
    }
    if (run >= min_len) {
      std::string_view r = text.substr(i - run, run);
      int digits = 0, upper = 0, lower = 0;
      std::set<char> distinct;
      for (char x : r) {
        digits += isdigit(static_cast<unsigned char>(x)) != 0;
        upper += isupper(static_cast<unsigned char>(x)) != 0;
        lower += islower(static_cast<unsigned char>(x)) != 0;
        distinct.insert(x);
      }
      // Mixed classes and many distinct symbols: not a path or a word.
      const bool mixed = (digits > 0) + (upper > 0) + (lower > 0) >= 2;
      if (mixed && distinct.size() >= 16 && r.find('/') == std::string_view::npos) {
        // Redacted as part of the whole text: a run that holds (or is cut
        // out of) a secret shows its mask, never 48 bytes of it.
        *excerpt = DefaultRedactor()->RedactSlice(text, i - run, i, 48);
        return true;
      }
    }
    run = 0;
  }
  return false;
}

bool Detectors::EncodedLabel(std::string_view name, std::string* label) {
  // What DNS tunnels put in a label: hex (two characters a byte), base32 or
  // base64-ish runs; 24 or more characters, no word separators. Hostnames
  // made of words and a number (load balancers, CDNs) have dashes or low
  // entropy.
  size_t start = 0;
  while (start < name.size()) {
    size_t dot = name.find('.', start);
    if (dot == std::string_view::npos) dot = name.size();
    std::string_view l = name.substr(start, dot - start);
    start = dot + 1;
    if (l.size() < 24 || l.find_first_of("-_") != std::string_view::npos) continue;
    size_t digits = 0, hex_letters = 0;
    int counts[256] = {0};
    for (char c : l) {
      const unsigned char u = static_cast<unsigned char>(c);
      ++counts[u];
      digits += std::isdigit(u) != 0;
      hex_letters += (u >= 'a' && u <= 'f') || (u >= 'A' && u <= 'F');
    }
    const bool hex = digits + hex_letters == l.size() && digits >= 4 && hex_letters >= 4;
    double h = 0;
    for (int n : counts) {
      if (n == 0) continue;
      const double p = static_cast<double>(n) / static_cast<double>(l.size());
      h -= p * std::log2(p);
    }
    // Close to the most a label of this length can carry, with digits in it.
    const double limit = std::min(3.8, 0.8 * std::log2(static_cast<double>(l.size())));
    if (hex || (digits >= 2 && h >= limit)) {
      *label = std::string(l);
      return true;
    }
  }
  return false;
}

TextScorer::Verdict Detectors::ScoreContent(std::string_view text) const {
  return text_.Score(text, TextScorer::Kind::kResult);
}

bool Detectors::ScanDefinitionList(std::string_view method, std::string_view result,
                                   std::string* item, TextScorer::Verdict* verdict) const {
  const char* key = method == "prompts/list"             ? "prompts"
                    : method == "resources/list"           ? "resources"
                    : method == "resources/templates/list" ? "resourceTemplates"
                                                           : nullptr;
  const char* kind = method == "prompts/list"             ? "prompt"
                     : method == "resources/list"           ? "resource"
                                                            : "resource template";
  if (key == nullptr) return false;
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  simdjson::dom::array items;
  if (parser.parse(result.data(), result.size()).get(root) != simdjson::SUCCESS ||
      root[key].get_array().get(items) != simdjson::SUCCESS)
    return false;
  size_t n = 0;
  for (simdjson::dom::element it : items) {
    if (++n > 4096) break;
    std::vector<TextField> fields;
    DefinitionFields(simdjson::minify(it), "", &fields);
    TextScorer::Verdict v = text_.ScoreFields(fields);
    if (!v.flagged) continue;
    std::string_view name;
    if (it["name"].get_string().get(name) != simdjson::SUCCESS &&
        it["uri"].get_string().get(name) != simdjson::SUCCESS &&
        it["uriTemplate"].get_string().get(name) != simdjson::SUCCESS)
      name = "?";
    *item = fmt::format("{} {}", kind, Printable(name.substr(0, 128)));
    *verdict = std::move(v);
    return true;
  }
  return false;
}

bool Detectors::ScanText(const std::string& text, std::string* reason,
                         std::string* excerpt) const {
  const TextScorer::Verdict v = ScoreContent(text);
  if (!v.flagged) return false;
  *reason = v.Reason();
  *excerpt = v.excerpt;
  return true;
}

void Detectors::Tool(const v1::McpTool& t, std::vector<Signal>* out,
                     const std::function<bool(std::string_view)>& other_tool) const {
  std::vector<TextField> fields;
  ToolFields(t, &fields);
  TextScorer::Verdict v = text_.ScoreFields(fields);
  if (other_tool) {
    // Identifiers with a separator (send_email, create-issue, gh.merge)
    // that name another server's tool: shadowing by name.
    bool found = false;
    for (const TextField& f : fields) {
      const std::string& s = f.text;
      for (size_t i = 0; i < s.size() && !found;) {
        auto ident = [](char c) {
          return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '-' || c == '.';
        };
        if (!ident(s[i])) {
          ++i;
          continue;
        }
        size_t end = i;
        while (end < s.size() && ident(s[end])) ++end;
        std::string_view tok(s.data() + i, end - i);
        while (!tok.empty() && (tok.back() == '.' || tok.back() == '-')) tok.remove_suffix(1);
        i = end;
        if (tok.size() < 4 || tok.find_first_of("_-.") == std::string_view::npos ||
            tok == t.name())
          continue;
        if (other_tool(tok)) {
          found = true;
          if (v.field.empty()) v.field = f.path;
        }
      }
      if (found) break;
    }
    if (found) text_.AddFeature("other_server_tool", TextScorer::Kind::kDefinition, &v);
  }
  if (!v.flagged) return;
  Signal& s = out->emplace_back();
  s.name = "tool_poisoned";
  s.description = fmt::format("tool {}: {}", t.name(), v.Reason());
  s.time_unix_ns = t.last_seen_unix_ns();
  s.fields["tool"] = t.name();
  s.fields["reason"] = v.Reason();
  s.fields["excerpt"] = v.excerpt;
  s.fields["field"] = v.field;
  s.fields["features"] = fmt::format("{}", fmt::join(v.features, ","));
  s.fields["score"] = fmt::format("{:.1f}", v.score);
  s.fields["channel"] = v.channel;
}

}  // namespace agentwatch
