// What a result teaches the tracker, and the tool inventory: tools/list
// pages gathered per session and committed to the inventory of the
// server's identity, each tool versioned by its hash; every change after
// the first listing (the baseline) is recorded and emitted as
// EVENT_TYPE_MCP_TOOLS_CHANGED.
#include <map>

#include "mcp/mcp_json.h"
#include "session/mcp_tracker.h"

namespace agentwatch {
namespace {

constexpr size_t kDescriptionMax = 4096;
constexpr size_t kSchemaMax = 16384;

// A tool as first seen in this version (its version number set by the
// caller).
v1::McpTool ToolRecord(const std::string& name, const McpToolDef& t, int64_t time_unix_ns) {
  v1::McpTool tool;
  tool.set_name(name);
  tool.set_hash(t.hash);
  tool.set_title(t.title);
  tool.set_description(t.description.substr(0, kDescriptionMax));
  tool.set_input_schema(t.input_schema.substr(0, kSchemaMax));
  tool.set_output_schema(t.output_schema.substr(0, kSchemaMax));
  tool.set_annotations(t.annotations.substr(0, kSchemaMax));
  tool.set_first_seen_unix_ns(time_unix_ns);
  tool.set_last_seen_unix_ns(time_unix_ns);
  return tool;
}

v1::McpToolChange ToolChange(int64_t time_unix_ns, uint32_t server_pid, const std::string& tool,
                             const char* what, const std::string& old_hash,
                             const std::string& new_hash) {
  v1::McpToolChange ch;
  ch.set_time_unix_ns(time_unix_ns);
  ch.set_tool(tool);
  ch.set_change(what);
  ch.set_old_hash(old_hash);
  ch.set_new_hash(new_hash);
  ch.set_server_pid(server_pid);
  return ch;
}

}  // namespace

void McpTracker::ApplyResult(Pending* p, Session* s, const McpResultInfo& r,
                             const McpObservation& w, std::vector<v1::Event>* out) {
  const std::string& method = p->call.method();
  Server* server = ServerOf(*s);
  if (method == "initialize" || method == "server/discover") {
    NoteServerInfo(s, server, r);
    return;
  }
  // MCP 2026-07-28 over stdio: the process that serves the session never
  // sees server/discover (a short-lived sibling does); it names itself in
  // each result's _meta.
  if (server != nullptr && !r.server_name.empty() && server->info.name() != r.server_name) {
    server->info.set_name(r.server_name);
    if (!r.server_version.empty()) server->info.set_version(r.server_version);
  }
  if (method == "roots/list" && r.has_roots && server != nullptr) {
    NoteRoots(server, r, w);
    return;
  }
  if (method == "tools/list" && r.has_tools) AddToolPage(*p, s, r, w, out);
}

void McpTracker::AddToolPage(const Pending& p, Session* s, const McpResultInfo& r,
                             const McpObservation& w, std::vector<v1::Event>* out) {
  if (!p.list_continuation) s->tool_pages.clear();
  s->tool_pages.insert(s->tool_pages.end(), r.tools.begin(), r.tools.end());
  if (r.next_cursor.empty()) {
    CommitTools(s, std::move(s->tool_pages), w, out);
    s->tool_pages.clear();
  }
}

void McpTracker::CommitTools(Session* s, std::vector<McpToolDef> tools,
                             const McpObservation& w, std::vector<v1::Event>* out) {
  // Tools are known per server identity, so a server that comes back with
  // different definitions after a restart is a change too. A session seen
  // from the client's side has no local server: key by the server's name.
  std::string identity = s->info.server_identity();
  Server* server = ServerOf(*s);
  if (identity.empty()) identity = "client:" + s->info.id();
  ToolBook& inv = inventories_[identity];
  inv.inv.set_server_identity(identity);
  if (server != nullptr) {
    inv.inv.set_server_name(server->info.name());
    server->info.set_tool_count(tools.size());
  }
  inv.inv.set_updated_unix_ns(w.time_unix_ns);
  std::map<std::string, McpToolDef> now;
  for (auto& t : tools) now[t.name] = std::move(t);
  std::map<std::string, v1::McpTool> before;
  for (const auto& t : inv.inv.tools()) before[t.name()] = t;
  auto change = [&](const std::string& tool, const char* what, const std::string& old_hash,
                    const std::string& new_hash) {
    RecordToolChange(
        &inv, ToolChange(w.time_unix_ns, s->info.server_pid(), tool, what, old_hash, new_hash),
        w, out);
  };

  google::protobuf::RepeatedPtrField<v1::McpTool> next;
  for (auto& [name, t] : now) {
    v1::McpTool* tool = next.Add();
    auto old = before.find(name);
    if (old != before.end() && old->second.hash() == t.hash) {
      *tool = old->second;
      tool->set_last_seen_unix_ns(w.time_unix_ns);
      continue;
    }
    *tool = ToolRecord(name, t, w.time_unix_ns);
    if (old == before.end()) {
      tool->set_version(1);
      change(name, "added", "", t.hash);
    } else {
      tool->set_version(old->second.version() + 1);
      *inv.inv.add_previous() = old->second;
      if (inv.inv.previous_size() > static_cast<int>(opts_.max_history))
        inv.inv.mutable_previous()->DeleteSubrange(0, 1);
      change(name, "changed", old->second.hash(), t.hash);
    }
  }
  for (const auto& [name, t] : before) {
    if (!now.count(name)) change(name, "removed", t.hash(), "");
  }
  inv.inv.mutable_tools()->Swap(&next);
  inv.listed = true;
}

void McpTracker::RecordToolChange(ToolBook* inv, const v1::McpToolChange& ch,
                                  const McpObservation& w, std::vector<v1::Event>* out) {
  *inv->inv.add_history() = ch;
  if (inv->inv.history_size() > static_cast<int>(opts_.max_history))
    inv->inv.mutable_history()->DeleteSubrange(0, 1);
  if (!inv->listed) return;  // the first listing is the baseline
  ++counters_.tool_changes;
  v1::Event e;
  e.set_type(v1::EVENT_TYPE_MCP_TOOLS_CHANGED);
  e.set_time_unix_ns(w.time_unix_ns);
  e.set_ktime_ns(w.ktime_ns);
  e.mutable_process()->set_pid(ch.server_pid() != 0 ? ch.server_pid() : w.pid);
  *e.mutable_tool_change() = ch;
  out->push_back(std::move(e));
}

void McpTracker::LoadInventories(const std::vector<v1::McpToolInventory>& invs) {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& inv : invs) {
    if (inv.server_identity().empty() || inventories_.count(inv.server_identity())) continue;
    ToolBook& b = inventories_[inv.server_identity()];
    b.inv = inv;
    b.listed = true;  // a baseline to compare the next listing with
  }
}

bool McpTracker::Inventory(const std::string& server, v1::McpToolInventory* out) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::string identity = server;
  if (const Server* s = FindServer(server)) identity = s->info.identity();
  auto it = inventories_.find(identity);
  if (it == inventories_.end()) return false;
  *out = it->second.inv;
  return true;
}

}  // namespace agentwatch
