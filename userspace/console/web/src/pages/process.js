// A process and its children, from the daemon's recent exec and exit events.
import { h } from "../dom.js";
import { getJSON, query, fmtTime, nsToMs, fmtDuration } from "../api.js";
import { buildProcessTree } from "../tree.js";

function nodeEl(n) {
  const last = n.execs[n.execs.length - 1];
  const exe = last ? last.filename : n.exe || "";
  const exit = n.exit ? (n.exit.signal ? `killed by signal ${n.exit.signal}` : n.exit.swept ? "gone (exit not seen)" : `exit ${n.exit.code}`) : "running or not seen exiting";
  const started = last ? last.time : null;
  return h("li", { class: "proc", dataset: { pid: String(n.pid) } },
    h("div", { class: "proc-line" },
      h("span", { class: "pid" }, String(n.pid)), " ",
      h("span", { class: "exe mono" }, exe || "(exec not in the backlog)"), " ",
      h("span", { class: "argv mono" }, last ? last.argv.join(" ") : ""),
      h("span", { class: "when" }, started ? ` started ${fmtTime(started)}` : "",
        ` · ${exit}`, n.exit && started ? ` after ${fmtDuration(nsToMs(n.exit.time) - nsToMs(started))}` : "")),
    n.execs.length > 1 ? h("ul", { class: "execs" }, n.execs.slice(0, -1).map((x) => h("li", { class: "mono" }, `earlier image: ${x.filename} ${x.argv.join(" ")}`))) : null,
    n.children.length ? h("ul", { class: "tree" }, n.children.map(nodeEl)) : null);
}

export function render(root, [pid]) {
  let alive = true;
  const note = h("p", { class: "note" }, "loading…");
  const tree = h("div", { id: "process-tree" });
  root.append(h("h1", null, `Process ${pid}`), note, tree);
  getJSON(`/api/events${query({ pid, type: ["exec", "exit"], backlog: 2000 })}`).then((r) => {
    if (!alive) return;
    const events = r.events || [];
    note.textContent = `${events.length} exec and exit events in the recent backlog`;
    tree.append(h("ul", { class: "tree root" }, nodeEl(buildProcessTree(events, Number(pid)))));
  }).catch((e) => { if (alive) note.textContent = `could not read events: ${e.message}`; });
  return () => { alive = false; };
}
