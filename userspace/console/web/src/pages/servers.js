// MCP servers: the inventory, and one server's tools with the history of
// their definitions as a line diff (a rug pull at a glance).
import { h, clear } from "../dom.js";
import { getJSON, fmtTime, num } from "../api.js";
import { lineDiff, prettyJSON } from "../diff.js";

export function render(root, params) {
  if (params.length && params[0] !== undefined) return renderServer(root, params[0]);
  return renderList(root);
}

function renderList(root) {
  let alive = true;
  const note = h("p", { class: "note" }, "loading…");
  const body = h("tbody", { id: "server-rows" });
  root.append(h("h1", null, "Servers"), note,
    h("table", { class: "grid" },
      h("thead", null, h("tr", null, ["name", "version", "pid", "transport", "package / exe", "client", "tools", "calls", "first seen", "state"]
        .map((t) => h("th", null, t)))), body));
  getJSON("/api/servers?include_ended=1").then((r) => {
    if (!alive) return;
    const list = r.servers || [];
    note.textContent = `${list.length} server${list.length === 1 ? "" : "s"}`;
    for (const s of list) {
      body.append(h("tr", { class: s.alive ? "alive" : "ended" },
        h("td", null, h("a", { href: `#/server/${encodeURIComponent(s.id || String(s.pid || ""))}` }, s.name || s.id || "?")),
        h("td", null, s.version || ""),
        h("td", null, h("a", { href: `#/process/${s.pid || 0}` }, String(s.pid || 0))),
        h("td", null, s.transport || ""),
        h("td", { class: "mono" }, s.package || s.exe || ""),
        h("td", null, s.client_name || s.client_exe || (s.client_pid ? String(s.client_pid) : "")),
        h("td", null, String(num(s.tool_count))),
        h("td", null, String(num(s.calls))),
        h("td", null, fmtTime(s.first_seen_unix_ns)),
        h("td", null, s.alive ? "running" : "ended")));
    }
  }).catch((e) => { if (alive) note.textContent = `could not list servers: ${e.message}`; });
  return () => { alive = false; };
}

function diffView(label, before, after) {
  const lines = lineDiff(before, after);
  if (!lines.some((l) => l.op !== "same")) return null;
  return h("div", { class: "diff-block" }, h("h4", null, label),
    h("pre", { class: "diff" }, lines.map((l) =>
      h("div", { class: `dl ${l.op}` }, `${l.op === "add" ? "+" : l.op === "del" ? "-" : " "} ${l.text}`))));
}

function toolDiff(oldTool, newTool) {
  const parts = [
    diffView("description", oldTool ? oldTool.description : "", newTool ? newTool.description : ""),
    diffView("input schema", prettyJSON(oldTool && oldTool.input_schema), prettyJSON(newTool && newTool.input_schema)),
    diffView("title", oldTool ? oldTool.title : "", newTool ? newTool.title : ""),
    diffView("annotations", prettyJSON(oldTool && oldTool.annotations), prettyJSON(newTool && newTool.annotations)),
    diffView("output schema", prettyJSON(oldTool && oldTool.output_schema), prettyJSON(newTool && newTool.output_schema)),
  ].filter(Boolean);
  return parts.length ? parts : [h("p", { class: "note" }, "no textual difference in the kept definitions")];
}

function renderServer(root, id) {
  let alive = true;
  const info = h("div", { class: "server-info", id: "server-info" }, "loading…");
  const tools = h("div", { id: "tools" });
  const history = h("div", { id: "history" });
  root.append(h("h1", null, "Server ", h("span", { class: "mono" }, id)), info,
    h("h2", null, "Tools"), tools, h("h2", null, "Definition changes"), history);

  getJSON("/api/servers?include_ended=1").then((r) => {
    if (!alive) return;
    const s = (r.servers || []).find((x) => x.id === id || x.identity === id || String(x.pid) === id || x.name === id);
    clear(info);
    if (!s) { info.textContent = "not in the server list (it may have ended long ago)"; return; }
    info.append(h("dl", { class: "kv" },
      [["name", `${s.name || ""} ${s.version || ""}`], ["id", s.id || ""], ["identity", s.identity || ""],
       ["exe", s.exe || ""], ["argv", (s.argv || []).join(" ")], ["package", s.package || ""],
       ["transport", s.transport || ""], ["protocol", s.protocol_version || ""],
       ["client", `${s.client_name || ""} pid ${s.client_pid || 0} ${s.client_exe || ""}`],
       ["roots", (s.roots || []).join(", ")], ["discovered by", s.discovered_by || ""],
       ["state", s.alive ? "running" : "ended"]].filter(([, v]) => String(v).trim()).map(([k, v]) => [h("dt", null, k), h("dd", null, v)])),
      h("p", null, h("a", { href: `#/process/${s.pid || 0}`, id: "process-link" }, `process tree of ${s.pid || 0}`)));
  }).catch((e) => { if (alive) info.textContent = `could not list servers: ${e.message}`; });

  getJSON(`/api/servers/${encodeURIComponent(id)}/tools`).then((inv) => {
    if (!alive) return;
    const list = inv.tools || [];
    clear(tools);
    tools.append(h("table", { class: "grid tools" },
      h("thead", null, h("tr", null, ["name", "version", "hash", "description"].map((t) => h("th", null, t)))),
      h("tbody", null, list.map((t) => h("tr", { dataset: { tool: t.name || "" } },
        h("td", null, t.name || ""), h("td", null, String(t.version || 1)),
        h("td", { class: "mono hash", title: t.hash || "" }, (t.hash || "").slice(0, 16)),
        h("td", { class: "desc" }, t.description || ""))))));
    const all = [...list, ...(inv.previous || [])];
    const byHash = new Map(all.map((t) => [t.hash, t]));
    const changes = (inv.history || []).slice().reverse();
    clear(history);
    if (!changes.length) history.append(h("p", { class: "note" }, "no changes since first seen"));
    for (const c of changes) {
      const before = c.old_hash ? byHash.get(c.old_hash) : null;
      const after = c.new_hash ? byHash.get(c.new_hash) : null;
      history.append(h("div", { class: `change ch-${c.change || ""}`, dataset: { tool: c.tool || "" } },
        h("div", { class: "change-head" },
          h("span", { class: `badge ch-${c.change || ""}` }, c.change || "?"), " ",
          h("b", null, c.tool || ""), " ", fmtTime(c.time_unix_ns),
          h("span", { class: "mono hash" }, ` ${(c.old_hash || "").slice(0, 12)} → ${(c.new_hash || "").slice(0, 12)}`)),
        c.change === "changed" || (before && after) ? toolDiff(before, after) :
          c.change === "added" ? toolDiff(null, after) : toolDiff(before, null)));
    }
  }).catch((e) => { if (alive) { clear(tools); tools.textContent = `could not read the tools: ${e.message}`; } });
  return () => { alive = false; };
}
