// One action chain as a timeline: a row per entry (a call as a bar on the
// chain's time axis, its kernel effects as marks under it), server lanes by
// colour, data flows as arrows, egress and secrets highlighted. Virtualised:
// only the rows in view are in the DOM, and entries are fetched a page at a
// time as they come into view; live updates append.
import { h, clear, svg, append } from "../dom.js";
import { getJSON, query, fmtTime, fmtDuration, nsToMs, num } from "../api.js";
import { LiveStream } from "../live.js";
import {
  callHighlights, effectDestination, effectHighlights, effectKind, eventType, isEgress,
  markLabel, marksOf,
} from "../classify.js";

export const PAGE = 250;       // entries per request (the API allows 2000; the console asks for few)
export const ROW_H = 58;       // px, fixed: the row of entry i is at i * ROW_H
const OVERSCAN = 8;            // rows above and below the view
const MAX_MARKS = 12;          // marks drawn in a row; the rest behind "+N"
const PALETTE = ["#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#76b7b2", "#edc948", "#9c755f",
                 "#ff9da7", "#86bcb6", "#8cd17d"];

// Remembered across visits: show every loader open, or one mark per call.
let showLoader = false;

export function render(root, [idText]) {
  const chainId = idText;
  let alive = true;
  let header = null;
  let total = 0;
  let loadedOnce = false;
  const entries = new Map();     // index -> ChainEntry
  const callIndex = new Map();   // call_id -> index
  const inFlight = new Set();    // page numbers being fetched
  const seqSignals = new Map();  // effect seq -> Set(signal) from alerts
  const callSignals = new Map(); // call_id -> Set(signal)
  const lanes = new Map();       // server_id -> {color, name}
  const serverNames = new Map(); // server id -> name
  let t0 = 0;
  let t1 = 1;
  let selected = null;
  let dirty = true;
  let lastWindow = "";
  let frame = 0;
  const stats = { requests: 0, maxLimit: 0 };

  const head = h("div", { class: "chain-head", id: "chain-head" }, `chain ${chainId}`);
  const legend = h("div", { class: "legend", id: "legend" });
  const toggle = h("label", { class: "toggle" },
    h("input", { type: "checkbox", id: "show-loader", checked: showLoader,
                 onchange: (e) => { showLoader = e.target.checked; dirty = true; schedule(); } }),
    " show every loader and locale open");
  const axis = h("div", { class: "axis", id: "axis" });
  const inner = h("div", { class: "timeline-inner", id: "timeline-inner" });
  const arrows = svg("svg", { class: "arrows", id: "arrows" });
  const rows = h("div", { class: "rows", id: "rows" });
  inner.append(arrows, rows);
  const scroller = h("div", { class: "timeline-scroll", id: "timeline", onscroll: () => schedule() }, inner);
  const details = h("aside", { class: "details", id: "details" }, h("p", { class: "note" }, "Select a call or an effect."));
  const status = h("p", { class: "note", id: "chain-status" }, "loading…");
  root.append(h("h1", null, `Chain ${chainId}`), head,
    h("div", { class: "chain-tools" }, toggle, legend), status,
    h("div", { class: "chain-body" }, h("div", { class: "timeline-col" }, axis, scroller), details));
  window.__awChainStats = stats;  // requests made, for the tests

  function schedule() {
    if (!frame) frame = requestAnimationFrame(() => { frame = 0; if (alive) draw(); });
  }

  function lane(serverId) {
    const key = serverId || "agent";
    if (!lanes.has(key)) {
      lanes.set(key, { color: key === "agent" ? "#888" : PALETTE[(lanes.size) % PALETTE.length] });
      drawLegend();
    }
    return lanes.get(key);
  }
  function laneName(serverId) {
    if (!serverId) return "agent";
    return serverNames.get(serverId) || serverId;
  }

  function drawLegend() {
    clear(legend);
    legend.append(
      h("span", { class: "key egress" }, "egress"),
      h("span", { class: "key secret" }, "secret / sensitive"),
      h("span", { class: "key net" }, "network"),
      h("span", { class: "key flow" }, "data flow"),
      h("span", { class: "key loader" }, "loader opens"));
    for (const [id, l] of lanes) {
      const sw = h("span", { class: "swatch" });
      sw.style.backgroundColor = l.color;
      legend.append(h("span", { class: "key lane" }, sw, laneName(id === "agent" ? "" : id)));
    }
  }

  function entryTime(e) {
    if (e.call) return nsToMs(e.call.started_unix_ns);
    if (e.agent_effect) return nsToMs(e.agent_effect.time_unix_ns);
    if (e.read_by_agent) return nsToMs(e.read_by_agent.time_unix_ns);
    return 0;
  }

  function setHeader(c) {
    header = { ...(header || {}), ...c };
    t0 = nsToMs(header.start_unix_ns) || t0;
    const end = nsToMs(header.end_unix_ns);
    t1 = Math.max(end || 0, t1, t0 + 1);
    clear(head);
    head.append(
      h("span", null, h("b", null, "agent "), `${header.agent_pid || 0}`, header.agent_exe ? ` ${header.agent_exe}` : ""),
      h("span", null, h("b", null, "id "), header.agent_id || ""),
      h("span", null, h("b", null, "from "), fmtTime(header.start_unix_ns)),
      h("span", null, h("b", null, "to "), header.open ? "open (live)" : fmtTime(header.end_unix_ns)),
      h("span", { id: "chain-calls" }, h("b", null, "calls "), String(num(header.calls))),
      h("span", { id: "chain-effects" }, h("b", null, "effects "), String(num(header.effects))),
      h("span", { id: "chain-entries" }, h("b", null, "entries "), String(total)));
  }

  function addEntry(i, e) {
    entries.set(i, e);
    if (e.call) {
      callIndex.set(String(e.call.call_id || 0), i);
      lane(e.call.server_id);
    } else {
      lane("");
    }
    const t = entryTime(e);
    const last = Math.max(t + nsToMs(0) + num(e.call && e.call.latency_ns) / 1e6,
      ...(e.effects || []).map((x) => nsToMs(x.time_unix_ns)));
    if (last > t1) t1 = last;
    if (!t0 || (t && t < t0)) t0 = t;
  }

  async function fetchPage(p) {
    if (inFlight.has(p)) return;
    inFlight.add(p);
    const limit = PAGE;
    stats.requests++;
    stats.maxLimit = Math.max(stats.maxLimit, limit);
    try {
      const c = await getJSON(`/api/chains/${encodeURIComponent(chainId)}${query({ offset: p * PAGE, limit })}`);
      if (!alive) return;
      const off = num(c.entries_offset);
      const es = c.entries || [];
      es.forEach((e, k) => addEntry(off + k, e));
      total = Math.max(total, num(c.entries_total), off + es.length);
      const { entries: _drop, ...hdr } = c;
      setHeader(hdr);
      if (!loadedOnce) {
        loadedOnce = true;
        inner.style.height = `${total * ROW_H}px`;
      }
      status.textContent = `${total} entries`;
      dirty = true;
      schedule();
    } catch (e) {
      if (alive) status.textContent = `could not load chain ${chainId}: ${e.message}`;
    } finally {
      inFlight.delete(p);
    }
  }

  function ensure(first, last) {
    for (let p = Math.floor(first / PAGE); p <= Math.floor(Math.max(first, last) / PAGE); p++) {
      const lo = p * PAGE;
      const hi = Math.min(total, lo + PAGE);
      let missing = false;
      for (let i = lo; i < hi; i++) if (!entries.has(i)) { missing = true; break; }
      if (missing) fetchPage(p);
    }
  }

  const x = (ms) => `${Math.min(100, Math.max(0, ((ms - t0) / Math.max(1, t1 - t0)) * 100))}%`;

  function drawAxis() {
    clear(axis);
    axis.append(h("div", { class: "axis-label" }, "server · call"));
    const track = h("div", { class: "axis-track" });
    for (let k = 0; k <= 4; k++) {
      const ms = t0 + ((t1 - t0) * k) / 4;
      const tick = h("span", { class: "tick" }, k === 0 ? fmtTime(header && header.start_unix_ns) : `+${fmtDuration(ms - t0)}`);
      tick.style.left = `${k * 25}%`;
      track.append(tick);
    }
    axis.append(track);
  }

  function markEl(m, call) {
    if (m.loader) {
      const el = h("button", { class: "mark loader", title: "dynamic loader, libraries, locales",
        onclick: (ev) => { ev.stopPropagation(); select({ loader: m, call }); } },
        `${m.count} loader open${m.count === 1 ? "" : "s"}`);
      return el;
    }
    const e = m.effect;
    const hl = effectHighlights(e, seqSignals.get(String(e.seq || 0)));
    const cls = ["mark", `kind-${effectKind(e)}`, ...hl].join(" ");
    return h("button", { class: cls, title: e.summary || "", dataset: { seq: String(e.seq || 0) },
      onclick: (ev) => { ev.stopPropagation(); select({ effect: e, call }); } }, markLabel(e));
  }

  function rowEl(i) {
    const e = entries.get(i);
    const row = h("div", { class: "row", dataset: { index: String(i) } });
    row.style.top = `${i * ROW_H}px`;
    if (!e) {
      row.classList.add("placeholder");
      row.append(h("div", { class: "row-label" }, `#${i + 1} loading…`));
      return row;
    }
    const call = e.call;
    const effects = e.effects || [];
    const serverId = call ? call.server_id : "";
    const l = lane(serverId);
    const labelText = call ? (call.tool || call.method || "call") :
      e.agent_effect ? "agent's own" : e.read_by_agent ? "read by another agent" : "entry";
    const laneTag = h("span", { class: "lane-tag" }, laneName(serverId));
    laneTag.style.borderLeftColor = l.color;
    const label = h("div", { class: "row-label" }, h("span", { class: "idx" }, `#${i + 1}`), laneTag,
      h("span", { class: "tool" }, labelText),
      call && call.status && call.status !== "ok" ? h("span", { class: `status st-${call.status}` }, call.status) : null);
    const track = h("div", { class: "track" });
    const start = entryTime(e);
    const bar = h("div", { class: "bar" });
    bar.style.left = x(start);
    const dur = call ? num(call.latency_ns) / 1e6 : 0;
    bar.style.width = `max(3px, ${((dur / Math.max(1, t1 - t0)) * 100).toFixed(3)}%)`;
    bar.style.backgroundColor = l.color;
    track.append(bar);
    for (const ef of effects) {
      const tick = h("span", { class: `etick kind-${effectKind(ef)}` });
      tick.style.left = x(nsToMs(ef.time_unix_ns));
      track.append(tick);
    }
    const all = e.agent_effect ? [e.agent_effect] : effects;
    const marks = marksOf(all, showLoader);
    const strip = h("div", { class: "marks" });
    if (call) {
      for (const f of call.flows || []) {
        strip.append(h("span", { class: "mark flow-in" },
          `← data from #${callIndex.has(String(f.from_call_id)) ? callIndex.get(String(f.from_call_id)) + 1 : "?"} ${f.from_tool || ""} (call ${f.from_call_id || 0})`));
      }
      for (const f of call.written_by || []) {
        strip.append(h("span", { class: "mark flow-in cross" }, `← written by agent ${f.from_agent_id || f.from_agent_pid || "?"} (${f.from_tool || ""})`));
      }
    }
    if (e.read_by_agent) {
      const r = e.read_by_agent;
      strip.append(h("span", { class: "mark flow-out cross" }, `→ read by agent ${r.agent_id || r.agent_pid || "?"} via ${r.tool || ""}`));
    }
    marks.slice(0, MAX_MARKS).forEach((m) => strip.append(markEl(m, call)));
    if (marks.length > MAX_MARKS) strip.append(h("span", { class: "mark more" }, `+${marks.length - MAX_MARKS} more`));
    const dests = [...new Set(all.filter((ef) => effectHighlights(ef, seqSignals.get(String(ef.seq || 0))).has("egress"))
      .map(effectDestination).filter(Boolean))];
    if (dests.length) track.append(...dests.map((d) => h("span", { class: "dest egress" }, `⟶ ${d}`)));

    const hl = call ? callHighlights(call, callSignals.get(String(call.call_id || 0))) : new Set();
    if (all.some((ef) => effectHighlights(ef, seqSignals.get(String(ef.seq || 0))).has("egress"))) hl.add("egress");
    if (all.some((ef) => effectHighlights(ef, seqSignals.get(String(ef.seq || 0))).has("secret"))) hl.add("secret");
    hl.forEach((c) => row.classList.add(`has-${c}`));
    if (call) row.dataset.tool = call.tool || call.method || "";
    if (call) row.dataset.callId = String(call.call_id || 0);
    if (selected && selected.index === i) row.classList.add("selected");
    row.append(h("div", { class: "line" }, label, track), strip);
    row.addEventListener("click", () => select({ entry: e, index: i }));
    return row;
  }

  function drawArrows(first, last) {
    while (arrows.firstChild) arrows.removeChild(arrows.firstChild);
    const top = first * ROW_H;
    const height = (last - first + 1) * ROW_H;
    arrows.setAttribute("width", "40");
    arrows.setAttribute("height", String(height));
    arrows.style.top = `${top}px`;
    arrows.append(svg("defs", null, svg("marker", { id: "ah", viewBox: "0 0 6 6", refX: 5, refY: 3, markerWidth: 6, markerHeight: 6, orient: "auto" },
      svg("path", { d: "M0,0 L6,3 L0,6 z", class: "arrow-head" }))));
    for (let i = first; i <= last; i++) {
      const e = entries.get(i);
      if (!e || !e.call) continue;
      for (const f of e.call.flows || []) {
        const from = callIndex.get(String(f.from_call_id));
        const y2 = (i - first) * ROW_H + ROW_H / 3;
        const y1 = from === undefined ? -ROW_H : (from - first) * ROW_H + ROW_H / 3;
        const bend = Math.min(36, 8 + Math.abs(i - (from ?? first - 1)) * 2);
        arrows.append(svg("path", { class: "flow-arrow", d: `M38,${y1} C${38 - bend},${y1} ${38 - bend},${y2} 38,${y2}`, "marker-end": "url(#ah)" }));
      }
    }
  }

  function draw() {
    inner.style.height = `${total * ROW_H}px`;
    const first = Math.max(0, Math.floor(scroller.scrollTop / ROW_H) - OVERSCAN);
    const last = Math.min(total - 1, Math.ceil((scroller.scrollTop + scroller.clientHeight) / ROW_H) + OVERSCAN);
    if (total > 0) ensure(first, last);
    const key = `${first}:${last}`;
    if (!dirty && key === lastWindow) return;
    dirty = false;
    lastWindow = key;
    drawAxis();
    clear(rows);
    for (let i = first; i <= last; i++) rows.append(rowEl(i));
    drawArrows(first, last);
  }

  function pre(text) {
    return h("pre", { class: "preview" }, text);
  }
  function pretty(s) {
    if (!s) return "";
    try { return JSON.stringify(JSON.parse(s), null, 2); } catch { return s; }
  }
  function select(sel) {
    selected = sel;
    dirty = true;
    schedule();
    clear(details);
    if (sel.effect) {
      const e = sel.effect;
      details.append(h("h2", null, "Effect"), kv([
        ["type", eventType(e.type).toLowerCase()], ["summary", e.summary || ""], ["time", fmtTime(e.time_unix_ns)],
        ["pid", `${e.pid || 0} ${e.comm || ""}`], ["seq", String(e.seq || 0)],
        ["confidence", e.candidates > 1 ? `1/${e.candidates}` : String(e.confidence ?? 1)],
        ["egress", isEgress(e) ? "yes (outside the host)" : "no"],
        ["alert signals", [...(seqSignals.get(String(e.seq || 0)) || [])].join(", ")]]));
      return;
    }
    if (sel.loader) {
      details.append(h("h2", null, `${sel.loader.count} loader and locale opens`),
        h("ul", { class: "plain" }, sel.loader.effects.map((e) => h("li", null, e.summary || ""))));
      return;
    }
    const e = sel.entry;
    if (e.call) {
      const c = e.call;
      append(details, [h("h2", null, c.tool || c.method || "call"), kv([
        ["call", String(c.call_id || 0)], ["method", c.method || ""], ["server", `${laneName(c.server_id)} (pid ${c.server_pid || 0})`],
        ["status", c.status || ""], ["started", fmtTime(c.started_unix_ns)], ["latency", fmtDuration(num(c.latency_ns) / 1e6)],
        ["result", c.result_summary || ""], ["error", c.error_message || ""], ["content flag", c.content_flag || ""],
        ["alert signals", [...(callSignals.get(String(c.call_id || 0)) || [])].join(", ")]]),
      h("h3", null, "arguments"), pre(pretty(c.arguments)),
      h("h3", null, "result preview"), pre(pretty(c.result)),
      (c.flows || []).length ? [h("h3", null, "data from"), h("ul", { class: "plain" }, c.flows.map((f) =>
        h("li", null, `call ${f.from_call_id || 0} ${f.from_tool || ""} on ${laneName(f.from_server_id)} (${f.shared_fingerprints || 0} shared fingerprints)`)))] : null,
      h("h3", null, `effects (${(e.effects || []).length})`),
      h("ul", { class: "plain effects" }, (e.effects || []).map((x) => h("li", { class: [...effectHighlights(x, seqSignals.get(String(x.seq || 0)))].join(" ") }, x.summary || eventType(x.type))))]);
    } else if (e.agent_effect) {
      select({ effect: e.agent_effect });
    } else if (e.read_by_agent) {
      const r = e.read_by_agent;
      details.append(h("h2", null, "Read by another agent"), kv([
        ["agent", `${r.agent_id || ""} (pid ${r.agent_pid || 0})`], ["tool", r.tool || ""], ["from call", `${r.from_call_id || 0} ${r.from_tool || ""}`],
        ["content flag", r.content_flag || ""], ["time", fmtTime(r.time_unix_ns)]]));
    }
  }

  function kv(pairs) {
    return h("dl", { class: "kv" }, pairs.filter(([, v]) => v !== "" && v !== undefined).map(([k, v]) => [h("dt", null, k), h("dd", null, v)]));
  }

  // Alert evidence tied to this chain: which effects and calls an alert
  // named (sensitive read, egress...).
  async function loadEvidence() {
    try {
      const r = await getJSON(`/api/alerts${query({ chain_id: chainId, limit: 1000 })}`);
      for (const a of r.alerts || []) {
        for (const ev of a.evidence || []) {
          const add = (m, k) => { if (!m.has(k)) m.set(k, new Set()); m.get(k).add(ev.signal || a.rule_id); };
          if (num(ev.seq)) add(seqSignals, String(ev.seq));
          if (num(ev.call_id)) add(callSignals, String(ev.call_id));
        }
      }
      dirty = true;
      schedule();
    } catch {
      // the timeline stands without highlights from alerts
    }
  }
  async function loadServers() {
    try {
      const r = await getJSON("/api/servers?include_ended=1");
      for (const s of r.servers || []) serverNames.set(s.id, s.name || s.package || s.exe || s.id);
      drawLegend();
      dirty = true;
      schedule();
    } catch {
      // ids stand in for names
    }
  }

  const live = new LiveStream(`/api/stream/chains${query({ chain_id: chainId })}`, {
    chain_update: (u) => {
      if (!alive) return;
      if (u.chain) {
        const { entries: _drop, ...hdr } = u.chain;
        setHeader(hdr);
      }
      if (u.entry && loadedOnce) {
        // The stream may repeat an entry a page already brought.
        const id = u.entry.call ? String(u.entry.call.call_id || 0) : null;
        if (id && callIndex.has(id)) {
          addEntry(callIndex.get(id), u.entry);
        } else {
          const atEnd = scroller.scrollTop + scroller.clientHeight >= total * ROW_H - 2;
          addEntry(total, u.entry);
          total++;
          setHeader({});
          if (atEnd) requestAnimationFrame(() => { scroller.scrollTop = total * ROW_H; });
        }
        status.textContent = `${total} entries`;
        dirty = true;
        schedule();
      }
    },
  }, () => { dirty = true; for (const [i] of entries) if (i >= total) entries.delete(i); fetchPage(Math.floor(Math.max(0, total - 1) / PAGE)); });

  drawLegend();
  loadServers();
  loadEvidence();
  fetchPage(0);
  const onResize = () => { dirty = true; schedule(); };
  window.addEventListener("resize", onResize);
  return () => {
    alive = false;
    live.close();
    window.removeEventListener("resize", onResize);
    if (frame) cancelAnimationFrame(frame);
  };
}
