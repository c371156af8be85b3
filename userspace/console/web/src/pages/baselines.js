// The learned per-server baselines.
import { h } from "../dom.js";
import { getJSON, fmtTime, num } from "../api.js";

export function render(root) {
  let alive = true;
  const note = h("p", { class: "note" }, "loading…");
  const body = h("tbody", { id: "baseline-rows" });
  root.append(h("h1", null, "Baselines"), note, h("table", { class: "grid" },
    h("thead", null, h("tr", null, ["server", "identity", "state", "since", "learned", "observations", "features", "novelties", "outliers"].map((t) => h("th", null, t)))),
    body));
  getJSON("/api/baselines").then((r) => {
    if (!alive) return;
    const list = r.baselines || [];
    note.textContent = `${list.length} baseline${list.length === 1 ? "" : "s"}`;
    for (const b of list) {
      const feats = b.features || [];
      body.append(h("tr", { dataset: { server: b.server_name || "" } },
        h("td", null, b.server_name || ""), h("td", { class: "mono" }, (b.identity || "").slice(0, 16)),
        h("td", { class: `state ${b.state || ""}` }, b.state || ""),
        h("td", null, fmtTime(b.started_unix_ns)), h("td", null, fmtTime(b.learned_unix_ns)),
        h("td", null, String(num(b.observations))),
        h("td", null, h("details", null, h("summary", null, `${feats.length} features`),
          h("ul", { class: "plain" }, feats.map((f) => h("li", { class: f.novel ? "novel" : "" },
            h("span", { class: "k" }, f.kind || ""), " ", h("span", { class: "mono" }, f.value || ""), ` ×${num(f.count)}`, f.novel ? " (novel)" : "")))),
          (b.saturated || []).length ? h("div", { class: "note" }, `saturated: ${b.saturated.join(", ")}`) : null),
        h("td", null, String(num(b.novelties))), h("td", null, String(num(b.outliers)))));
    }
  }).catch((e) => { if (alive) note.textContent = `could not list baselines: ${e.message}`; });
  return () => { alive = false; };
}
