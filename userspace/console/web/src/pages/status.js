// The daemon's status: readiness, probes, and every counter it reports.
import { h, clear, append } from "../dom.js";
import { getJSON, fmtTime, num } from "../api.js";

function table(id, cols, rows) {
  return h("table", { class: "grid", id }, h("thead", null, h("tr", null, cols.map((c) => h("th", null, c)))),
    h("tbody", null, rows.map((r) => h("tr", null, r.map((c) => h("td", null, c))))));
}

export function render(root) {
  let alive = true;
  const body = h("div", { id: "status" }, "loading…");
  root.append(h("h1", null, "Status"), body);
  const load = () => getJSON("/api/status").then((s) => {
    if (!alive) return;
    clear(body);
    const counters = [...(s.counters || [])].map((c) => [c.name || "", String(num(c.value))]);
    counters.push(["ringbuf_bytes", String(num(s.ringbuf_bytes))], ["watched_processes", String(num(s.watched_processes))],
      ["process_table_size", String(num(s.process_table_size))]);
    append(body, [
      h("p", { id: "readiness", class: s.ready ? "ready" : "not-ready" },
        s.ready ? "ready" : `not ready: ${s.not_ready_reason || "unknown"}`),
      h("dl", { class: "kv" }, [["version", s.version], ["node", s.node], ["kernel", s.kernel], ["mode", s.mode],
        ["started", fmtTime(s.started_unix_ns)], ["record file", s.record_file],
        ["missing capabilities", (s.missing_capabilities || []).join(", ")]]
        .filter(([, v]) => v).map(([k, v]) => [h("dt", null, k), h("dd", null, v)])),
      h("h2", null, "Probes"),
      table("probes", ["capability", "program", "hook", "target", "state", "detail"], (s.probes || []).map((p) =>
        [p.capability || "", p.program || "", p.hook_type || "", p.target || "",
         p.detached ? "detached" : p.attached ? "attached" : "not attached", p.detail || ""])),
      h("h2", null, "Hook types"),
      table("hook-types", ["hook type", "available", "detail"], (s.hook_types || []).map((x) => [x.hook_type || "", x.available ? "yes" : "no", x.detail || ""])),
      h("h2", null, "Counters (loss, drops, totals)"),
      table("counters", ["name", "value"], counters),
      s.store ? [h("h2", null, "Store"), table("store", ["path", "size", "chains", "calls", "effects", "last flush", "last error"],
        [[s.store.path || "(none)", String(num(s.store.size_bytes)), String(num(s.store.chains)), String(num(s.store.calls)),
          String(num(s.store.effects)), fmtTime(s.store.last_flush_unix_ns), s.store.last_error || ""]])] : null,
      (s.sinks || []).length ? [h("h2", null, "Sinks"), table("sinks", ["name", "type", "sent", "skipped", "failed", "retried", "queued", "rows", "last error"],
        s.sinks.map((k) => [k.name || "", k.type || "", ...["sent", "skipped", "failed", "retried", "queued", "rows"].map((f) => String(num(k[f]))), k.last_error || ""]))] : null,
      (s.tls || []).length ? [h("h2", null, "TLS"), table("tls", ["path", "library", "attached", "functions", "detail"],
        s.tls.map((t) => [t.path || "", t.library || "", t.attached ? "yes" : "no", (t.functions || []).join(", "), t.detail || ""]))] : null,
      s.kubernetes && s.kubernetes.enabled ? [h("h2", null, "Kubernetes"), table("kube", ["source", "pods known", "unresolved", "last sync", "last error"],
        [[s.kubernetes.source || "", String(num(s.kubernetes.pods_known)), String(num(s.kubernetes.unresolved)), fmtTime(s.kubernetes.last_sync_unix_ns), s.kubernetes.last_error || ""]])] : null]);
  }).catch((e) => { if (alive) { clear(body); body.textContent = `could not read the status: ${e.message}`; } });
  load();
  const timer = setInterval(load, 5000);
  return () => { alive = false; clearInterval(timer); };
}
