// Alerts, newest first, live: filters (minimum severity, rule, agent,
// server, node); each alert opens to its evidence and links to its chain.
import { h, clear } from "../dom.js";
import { getJSON, query, fmtTime, severityRank, SEVERITIES, num } from "../api.js";

// Filters survive a visit to a chain and back.
const filters = { min_severity: "", rule: "", agent: "", server: "", node: "" };

function serverQuery() {
  const q = { min_severity: filters.min_severity, limit: 500 };
  if (filters.rule) q.rule = filters.rule.split(",").map((s) => s.trim()).filter(Boolean);
  if (/^\d+$/.test(filters.agent)) q.agent_pid = filters.agent;
  else if (filters.agent) q.agent_id = filters.agent;
  if (filters.server) q.server = filters.server;
  return q;
}

// The same filters, on one alert (live ones, and node, which the API does
// not filter).
function matches(a) {
  if (filters.min_severity && severityRank(a.severity) < severityRank(filters.min_severity)) return false;
  if (filters.rule) {
    const rules = filters.rule.split(",").map((s) => s.trim()).filter(Boolean);
    if (rules.length && !rules.includes(a.rule_id)) return false;
  }
  if (filters.agent) {
    if (/^\d+$/.test(filters.agent) ? String(a.agent_pid || 0) !== filters.agent : a.agent_id !== filters.agent) return false;
  }
  if (filters.server) {
    const s = filters.server;
    if (![a.server_id, a.server_name, String(a.server_pid || "")].includes(s)) return false;
  }
  if (filters.node && !(a.node || "").includes(filters.node)) return false;
  return true;
}

function evidenceView(a) {
  const ev = a.evidence || [];
  return h("div", { class: "evidence" },
    a.description ? h("p", { class: "rule-desc" }, a.description) : null,
    a.response ? h("p", { class: "response" }, "Response: ", a.response) : null,
    (a.attack || []).length ? h("p", null, "ATT&CK: ", (a.attack || []).join(", ")) : null,
    h("table", { class: "evidence-table" },
      h("thead", null, h("tr", null, ["step", "signal", "time", "description", "fields"].map((t) => h("th", null, t)))),
      h("tbody", null, ev.map((e) => h("tr", { class: "evidence-row" },
        h("td", null, String(e.step || 0)),
        h("td", { class: "signal" }, e.signal || ""),
        h("td", null, fmtTime(e.time_unix_ns)),
        h("td", { class: "desc" }, e.description || ""),
        h("td", { class: "fields" }, Object.entries(e.fields || {}).map(([k, v]) =>
          h("div", { class: "field" }, h("span", { class: "k" }, k), " ", h("span", { class: "v" }, v)))))))),
  );
}

function alertRow(a, open) {
  const li = h("li", { class: `alert sev-${a.severity || "info"}`, dataset: { id: String(a.id || ""), rule: a.rule_id || "" } });
  const chainId = num(a.chain_id);
  const head = h("div", { class: "alert-head", tabIndex: 0 },
    h("span", { class: `sev sev-${a.severity || "info"}` }, a.severity || "info"),
    h("span", { class: "time" }, fmtTime(a.time_unix_ns)),
    h("span", { class: "rule" }, a.rule_id || ""),
    h("span", { class: "summary" }, a.summary || ""),
    num(a.count) > 1 ? h("span", { class: "count" }, `×${num(a.count)}`) : null,
    h("span", { class: "who" },
      a.agent_pid ? `agent ${a.agent_pid}` : "", a.server_name ? ` · ${a.server_name}` : "",
      a.node ? ` · ${a.node}` : ""),
    chainId ? h("a", { class: "chain-link", href: `#/chain/${chainId}`, onclick: (e) => e.stopPropagation() },
      `chain ${chainId}`) : null);
  const body = h("div", { class: "alert-body" });
  const toggle = () => {
    li.classList.toggle("open");
    if (li.classList.contains("open") && !body.firstChild) body.appendChild(evidenceView(a));
  };
  head.addEventListener("click", toggle);
  head.addEventListener("keydown", (e) => { if (e.key === "Enter") toggle(); });
  li.append(head, body);
  if (open) toggle();
  return li;
}

export function render(root, _params, ctx) {
  let alive = true;
  const list = h("ul", { id: "alert-list", class: "alerts" });
  const note = h("p", { class: "note", id: "alerts-note" });
  const byId = new Map();

  const input = (key, placeholder) => h("input", {
    id: `filter-${key}`, placeholder, value: filters[key],
    onchange: (e) => { filters[key] = e.target.value.trim(); load(); },
  });
  const sev = h("select", { id: "filter-severity", onchange: (e) => { filters.min_severity = e.target.value; load(); } },
    h("option", { value: "" }, "any severity"),
    SEVERITIES.map((s) => h("option", { value: s, selected: filters.min_severity === s }, `≥ ${s}`)));

  root.append(h("h1", null, "Alerts"),
    h("div", { class: "filters" }, sev, input("rule", "rule id(s)"), input("agent", "agent pid or id"),
      input("server", "server id, name or pid"), input("node", "node")),
    note, list);

  function place(a) {
    const id = String(a.id || "");
    const old = byId.get(id);
    if (!matches(a)) {
      if (old) { old.el.remove(); byId.delete(id); }
      return;
    }
    const wasOpen = old && old.el.classList.contains("open");
    const el = alertRow(a, wasOpen);
    if (old) old.el.replaceWith(el);
    else {
      // Newest first: by time, then id.
      let before = null;
      for (const child of list.children) {
        const c = byId.get(child.dataset.id);
        if (c && (num(c.a.time_unix_ns) < num(a.time_unix_ns) ||
                  (num(c.a.time_unix_ns) === num(a.time_unix_ns) && num(c.a.id) < num(a.id)))) {
          before = child;
          break;
        }
      }
      list.insertBefore(el, before);
    }
    byId.set(id, { a, el });
    note.textContent = `${byId.size} alert${byId.size === 1 ? "" : "s"}`;
  }

  let generation = 0;
  async function load() {
    const g = ++generation;
    try {
      const r = await getJSON(`/api/alerts${query(serverQuery())}`);
      if (!alive || g !== generation) return;
      clear(list);
      byId.clear();
      list.dataset.query = query({ min_severity: filters.min_severity }).slice(1);
      note.textContent = "0 alerts";
      for (const a of (r.alerts || []).slice().reverse()) place(a);
    } catch (e) {
      if (alive && g === generation) note.textContent = `could not list alerts: ${e.message}`;
    }
  }

  const unsubscribe = ctx.alertBus.subscribe((a) => alive && place(a), () => alive && load());
  load();
  return () => {
    alive = false;
    unsubscribe();
  };
}
