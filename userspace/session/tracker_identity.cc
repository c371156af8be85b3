// Identity: which process is a server (its package, identity across
// restarts, pod), which process is its client (launchers skipped; per
// connection for HTTP), sessions, the agents (client processes), and what
// initialize and roots/list tell about a server; the lookups the
// correlator and the API make by server pid.
#include <algorithm>

#include <fmt/format.h>

#include "common/clock.h"
#include "common/text.h"
#include "mcp/mcp_json.h"
#include "session/mcp_tracker.h"

namespace agentwatch {
namespace {

bool IsLauncher(const ProcessInfo& p) {
  static constexpr std::string_view kLaunchers[] = {
      "sh",  "bash",  "dash",   "zsh",  "env",   "uv",      "uvx",
      "npx", "pipx",  "timeout", "sudo", "setsid", "nohup", "stdbuf",
      "tini", "dumb-init", "xargs", "bunx", "pnpm", "yarn"};
  const std::string exe = Basename(p.exe);
  for (auto l : kLaunchers) {
    if (exe == l || p.comm == l) return true;
  }
  // npm and npx run as node with their CLI script; node renames the
  // process to "npm exec ...".
  if (p.comm.rfind("npm", 0) == 0 || p.comm.rfind("npx", 0) == 0) return true;
  for (size_t i = 1; i < p.argv.size() && i < 3; ++i) {
    const std::string a = Basename(p.argv[i]);
    if (a == "npm" || a == "npx" || a == "npm-cli.js" || a == "npx-cli.js")
      return true;
  }
  return false;
}

// The entry to forget to make room: among those that ended, the one last
// seen longest ago (the first of equals); end() if none ended.
template <typename Map, typename Ended, typename LastSeen>
typename Map::iterator OldestEnded(Map& m, Ended ended, LastSeen last_seen) {
  auto victim = m.end();
  for (auto it = m.begin(); it != m.end(); ++it) {
    if (ended(it->second) &&
        (victim == m.end() || last_seen(it->second) < last_seen(victim->second)))
      victim = it;
  }
  return victim;
}

std::vector<std::string> NamesOf(const v1::McpServer& s) {
  std::vector<std::string> out;
  for (const std::string* n : {&s.name(), &s.package()})
    if (!n->empty()) out.push_back(*n);
  if (!s.exe().empty()) out.push_back(Basename(s.exe()));
  return out;
}

std::string LabelOf(const v1::McpServer& s) {
  return !s.name().empty() ? s.name() : !s.package().empty() ? s.package() : s.exe();
}

}  // namespace

uint32_t GuessClient(const ProcessTable& table, uint32_t server_pid) {
  for (uint32_t pid : table.Ancestry(server_pid, 16)) {
    const ProcessInfo* p = table.Find(pid);
    if (p == nullptr || pid <= 1) return 0;
    if (!IsLauncher(*p)) return pid;
  }
  return 0;
}

std::string ServerPackage(const std::vector<std::string>& argv,
                          const std::string& exe) {
  // The first argument that is not an option of the interpreter; "-m mod"
  // for python. A script inside node_modules is named by its package.
  for (size_t i = 1; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (a == "-m" && i + 1 < argv.size()) return argv[i + 1];
    if (a.empty() || a[0] == '-') continue;
    size_t nm = a.rfind("node_modules/");
    if (nm != std::string::npos) {
      std::string rest = a.substr(nm + 13);
      size_t slash = rest.find('/');
      if (!rest.empty() && rest[0] == '@' && slash != std::string::npos)
        slash = rest.find('/', slash + 1);
      return rest.substr(0, slash);
    }
    return a;
  }
  return argv.empty() ? exe : argv[0];
}

McpTracker::Server* McpTracker::EnsureServer(const McpObservation& w,
                                             const std::string& transport,
                                             const std::string& discovered_by,
                                             bool* created) {
  *created = false;
  const ProcessInfo* p = w.process;
  if (p == nullptr && process_fn_) p = process_fn_(w.pid);
  auto it = servers_.find(w.pid);
  if (it != servers_.end()) {
    // Same process (or no way to tell): keep it.
    if (p == nullptr || it->second.info.id() == ProcessInstanceId(w.pid, p->start_ns)) {
      it->second.info.set_last_seen_unix_ns(w.time_unix_ns);
      it->second.info.set_alive(true);
      return &it->second;
    }
    servers_.erase(it);  // pid reused
  }
  if (servers_.size() >= opts_.max_servers) {
    // Forget the longest-ended server; if none ended, do not add.
    auto victim = OldestEnded(
        servers_, [](const Server& s) { return !s.info.alive(); },
        [](const Server& s) { return s.info.last_seen_unix_ns(); });
    if (victim == servers_.end()) return nullptr;
    servers_.erase(victim);
  }
  Server s;
  v1::McpServer& i = s.info;
  i.set_pid(w.pid);
  i.set_transport(transport);
  i.set_discovered_by(discovered_by);
  i.set_first_seen_unix_ns(w.time_unix_ns);
  i.set_last_seen_unix_ns(w.time_unix_ns);
  i.set_alive(true);
  DescribeServer(w, p, &s);
  *created = true;
  return &servers_.emplace(w.pid, std::move(s)).first->second;
}

std::map<std::string, McpTracker::Session>::iterator McpTracker::BusiestOldestSession() {
  // Whose: the server and its client (one client minting session ids on a
  // shared HTTP server evicts its own, not the other clients').
  auto owner = [](const Session& s) {
    return (uint64_t{s.info.server_pid()} << 32) | s.info.client_pid();
  };
  std::unordered_map<uint64_t, size_t> per;
  uint64_t most = 0;
  size_t most_n = 0;
  for (const auto& [k, s] : sessions_) {
    const size_t n = ++per[owner(s)];
    if (n > most_n) {
      most_n = n;
      most = owner(s);
    }
  }
  // Of its sessions, the least recent with no call pending, else the least
  // recent.
  auto victim = sessions_.end();
  auto idle = sessions_.end();
  for (auto it = sessions_.begin(); it != sessions_.end(); ++it) {
    if (owner(it->second) != most) continue;
    const int64_t last = it->second.info.last_unix_ns();
    if (victim == sessions_.end() || last < victim->second.info.last_unix_ns()) victim = it;
    if (it->second.info.pending() == 0 &&
        (idle == sessions_.end() || last < idle->second.info.last_unix_ns()))
      idle = it;
  }
  return idle != sessions_.end() ? idle : victim;
}

void McpTracker::DescribeServer(const McpObservation& w, const ProcessInfo* p,
                                Server* s) const {
  v1::McpServer& i = s->info;
  std::string exe, package;
  if (p != nullptr) {
    exe = p->exe;
    for (const auto& a : p->argv) i.add_argv(a);
    package = ServerPackage(p->argv, p->exe);
    i.set_container_id(p->container.container_id);
    i.set_pod_uid(p->container.pod_uid);
    v1::Kubernetes k;
    if (PodIdentity(*p, &k)) *i.mutable_kubernetes() = std::move(k);
    i.set_id(ProcessInstanceId(w.pid, p->start_ns));
  } else {
    i.set_id(fmt::format("{}-0", w.pid));
  }
  i.set_exe(exe);
  i.set_package(package);
  i.set_identity(
      Sha256Hex(Basename(exe) + '\0' + package + '\0' + i.transport()).substr(0, 16));
  std::string data = i.identity();
  for (const auto& a : i.argv()) (data += '\0') += a;
  (data += '\n') += i.container_id();
  s->data_key = Sha256Hex(data).substr(0, 16);
  if (client_fn_ && i.transport() == "stdio") {
    uint32_t c = client_fn_(w.pid, w.inode, true);
    i.set_client_pid(c);
    const ProcessInfo* cp = (c != 0 && process_fn_) ? process_fn_(c) : nullptr;
    if (cp != nullptr) i.set_client_exe(cp->exe);
  }
}

McpTracker::Session* McpTracker::EnsureSession(const std::string& key, Server* server,
                                               const McpObservation& w,
                                               const std::string& transport,
                                               const std::string& mcp_sid) {
  auto it = sessions_.find(key);
  if (it != sessions_.end() && !it->second.info.ended()) {
    it->second.info.set_last_unix_ns(w.time_unix_ns);
    return &it->second;
  }
  if (it != sessions_.end()) sessions_.erase(it);  // its pid was reused
  if (sessions_.size() >= opts_.max_sessions) {
    // The longest-ended session, else one of the server and client with
    // the most (a flood of sessions evicts the flooder's own).
    auto victim = OldestEnded(
        sessions_, [](const Session& s) { return s.info.ended(); },
        [](const Session& s) { return s.info.last_unix_ns(); });
    if (victim == sessions_.end()) victim = BusiestOldestSession();
    sessions_.erase(victim);
    ++counters_.sessions_evicted;
  }
  Session s;
  v1::McpSession& i = s.info;
  i.set_id(key);
  i.set_transport(transport);
  i.set_mcp_session_id(mcp_sid);
  i.set_started_unix_ns(w.time_unix_ns);
  i.set_last_unix_ns(w.time_unix_ns);
  if (server != nullptr) {
    i.set_server_id(server->info.id());
    i.set_server_identity(server->info.identity());
    i.set_server_pid(server->info.pid());
    i.set_transport(server->info.transport());
    SetSessionClient(server, w, &s);
    server->info.set_sessions(server->info.sessions() + 1);
  } else {
    // Seen from the client's side: the client is this process.
    i.set_client_pid(w.pid);
    const ProcessInfo* p = w.process;
    if (p == nullptr && process_fn_) p = process_fn_(w.pid);
    if (p != nullptr) i.set_client_exe(p->exe);
  }
  NoteAgent(i.client_pid(), w, i.server_id());
  return &sessions_.emplace(key, std::move(s)).first->second;
}

void McpTracker::SetSessionClient(Server* server, const McpObservation& w, Session* s) const {
  v1::McpSession& i = s->info;
  if (server->info.transport() == "stdio" || !client_fn_) {
    i.set_client_pid(server->info.client_pid());
    i.set_client_exe(server->info.client_exe());
    return;
  }
  // Each HTTP session has its own client: the other end of the connection
  // that opened it, when it is on this host.
  uint32_t c = client_fn_(server->info.pid(), w.inode, false);
  i.set_client_pid(c);
  const ProcessInfo* cp = (c != 0 && process_fn_) ? process_fn_(c) : nullptr;
  if (cp != nullptr) i.set_client_exe(cp->exe);
  if (c != 0) {
    server->info.set_client_pid(c);
    server->info.set_client_exe(i.client_exe());
  }
}

void McpTracker::NoteServerInfo(Session* s, Server* server, const McpResultInfo& r) {
  if (!r.protocol_version.empty()) s->info.set_protocol_version(r.protocol_version);
  if (server == nullptr) return;
  if (!r.server_name.empty()) server->info.set_name(r.server_name);
  if (!r.server_version.empty()) server->info.set_version(r.server_version);
  if (!r.protocol_version.empty()) server->info.set_protocol_version(r.protocol_version);
  if (!s->info.client_name().empty()) server->info.set_client_name(s->info.client_name());
}

void McpTracker::NoteRoots(Server* server, const McpResultInfo& r, const McpObservation& w) {
  // The client's answer to the server: where it may work.
  server->info.clear_roots();
  for (const auto& root : r.roots) server->info.add_roots(root);
  server->info.set_last_seen_unix_ns(w.time_unix_ns);
}

McpTracker::Server* McpTracker::ServerOf(const Session& s) {
  if (s.info.server_pid() == 0) return nullptr;
  auto it = servers_.find(s.info.server_pid());
  return it != servers_.end() ? &it->second : nullptr;
}

const McpTracker::Server* McpTracker::FindServer(const std::string& q) const {
  const Server* best = nullptr;
  for (const auto& [pid, s] : servers_) {
    const v1::McpServer& i = s.info;
    if (i.id() == q || i.identity() == q || i.name() == q ||
        std::to_string(pid) == q || i.package() == q) {
      // Prefer a live one, then the most recent.
      if (best == nullptr || (i.alive() && !best->info.alive()) ||
          (i.alive() == best->info.alive() &&
           i.last_seen_unix_ns() > best->info.last_seen_unix_ns()))
        best = &s;
    }
  }
  return best;
}

uint32_t McpTracker::AgentOf(const std::string& session, uint32_t server_pid) const {
  if (auto s = sessions_.find(session);
      s != sessions_.end() && s->second.info.client_pid() != 0)
    return s->second.info.client_pid();
  auto sv = servers_.find(server_pid);
  return sv != servers_.end() ? sv->second.info.client_pid() : 0;
}

void McpTracker::NoteAgent(uint32_t pid, const McpObservation& w,
                           const std::string& server_id) {
  if (pid == 0) return;
  const ProcessInfo* p = process_fn_ ? process_fn_(pid) : nullptr;
  const std::string id = ProcessInstanceId(pid, p != nullptr ? p->start_ns : 0);
  auto it = agents_.find(pid);
  if (it != agents_.end() && it->second.id() != id) {
    agents_.erase(it);  // pid reused
    it = agents_.end();
  }
  if (it == agents_.end()) {
    if (agents_.size() >= opts_.max_agents) {
      auto victim = OldestEnded(
          agents_, [](const v1::McpAgent& a) { return !a.alive(); },
          [](const v1::McpAgent& a) { return a.last_seen_unix_ns(); });
      if (victim == agents_.end()) return;
      agents_.erase(victim);
    }
    it = agents_.emplace(pid, NewAgent(pid, id, p, w)).first;
  }
  v1::McpAgent& a = it->second;
  a.set_last_seen_unix_ns(w.time_unix_ns);
  a.set_sessions(a.sessions() + 1);
  // Bounded: an agent that starts servers over and over keeps the first.
  if (!server_id.empty() && a.servers_size() < 256 &&
      std::find(a.servers().begin(), a.servers().end(), server_id) == a.servers().end())
    a.add_servers(server_id);
}

v1::McpAgent McpTracker::NewAgent(uint32_t pid, const std::string& id, const ProcessInfo* p,
                                  const McpObservation& w) const {
  v1::McpAgent a;
  a.set_id(id);
  a.set_pid(pid);
  a.set_hostname(opts_.hostname.empty() ? HostName() : opts_.hostname);
  a.set_first_seen_unix_ns(w.time_unix_ns);
  a.set_alive(true);
  if (p != nullptr) {
    a.set_exe(p->exe);
    for (const auto& arg : p->argv) a.add_argv(arg);
    a.set_start_time_ns(p->start_ns);
    a.set_uid(p->uid);
    a.set_container_id(p->container.container_id);
    a.set_pod_uid(p->container.pod_uid);
    v1::Kubernetes k;
    if (PodIdentity(*p, &k)) *a.mutable_kubernetes() = std::move(k);
  }
  return a;
}

std::vector<v1::McpAgent> McpTracker::Agents(bool include_ended, int64_t changed_since) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<v1::McpAgent> out;
  for (const auto& [pid, a] : agents_) {
    if (!include_ended && !a.alive()) continue;
    if (a.last_seen_unix_ns() < changed_since) continue;
    v1::McpAgent copy = a;
    // clientInfo of its latest session.
    int64_t latest = 0;
    for (const auto& [k, s] : sessions_) {
      if (s.info.client_pid() == pid && s.info.started_unix_ns() >= latest &&
          !s.info.client_name().empty()) {
        latest = s.info.started_unix_ns();
        copy.set_client_name(s.info.client_name());
        copy.set_client_version(s.info.client_version());
      }
    }
    out.push_back(std::move(copy));
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a.first_seen_unix_ns() < b.first_seen_unix_ns();
  });
  return out;
}

std::string McpTracker::ServerLabel(uint32_t pid) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = servers_.find(pid);
  if (it == servers_.end() || !it->second.info.alive()) return "";
  return LabelOf(it->second.info);
}

std::vector<std::string> McpTracker::ServerRoots(uint32_t pid) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = servers_.find(pid);
  if (it == servers_.end()) return {};
  return {it->second.info.roots().begin(), it->second.info.roots().end()};
}

std::vector<std::string> McpTracker::ServerNames(uint32_t pid) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = servers_.find(pid);
  return it == servers_.end() ? std::vector<std::string>{} : NamesOf(it->second.info);
}

bool McpTracker::ServerFacts(uint32_t pid, std::string* label, std::string* identity,
                             std::vector<std::string>* roots,
                             std::vector<std::string>* names) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = servers_.find(pid);
  if (it == servers_.end()) return false;
  const v1::McpServer& s = it->second.info;
  if (s.alive()) *label = LabelOf(s);
  *identity = s.identity();
  roots->assign(s.roots().begin(), s.roots().end());
  *names = NamesOf(s);
  return true;
}

std::string McpTracker::ServerIdentity(uint32_t pid) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = servers_.find(pid);
  return it == servers_.end() ? "" : it->second.info.identity();
}

uint32_t McpTracker::SessionClient(const std::string& session_id, uint32_t server_pid) const {
  std::lock_guard<std::mutex> lock(mu_);
  return AgentOf(session_id, server_pid);
}

}  // namespace agentwatch
