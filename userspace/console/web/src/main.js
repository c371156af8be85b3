// The console: one page, hash routes, read-only. Every piece of data is
// rendered as text (dom.js); nothing is fetched from anywhere but the
// daemon that served the page.
import { h, clear } from "./dom.js";
import { LiveStream, onConnectionChange } from "./live.js";
import * as alerts from "./pages/alerts.js";
import * as chain from "./pages/chain.js";
import * as servers from "./pages/servers.js";
import * as process from "./pages/process.js";
import * as baselines from "./pages/baselines.js";
import * as status from "./pages/status.js";

// Alerts as they are raised, for whichever page listens (the alerts list);
// the stream stays open on every page so the connection state is always
// known.
const alertListeners = new Set();
const reconnectListeners = new Set();
export const alertBus = {
  subscribe(fn, onReconnect) {
    alertListeners.add(fn);
    if (onReconnect) reconnectListeners.add(onReconnect);
    return () => {
      alertListeners.delete(fn);
      reconnectListeners.delete(onReconnect);
    };
  },
};

const ROUTES = [
  [/^\/alerts$/, alerts, "alerts"],
  [/^\/chain\/(\d+)$/, chain, "alerts"],
  [/^\/servers$/, servers, "servers"],
  [/^\/server\/(.+)$/, servers, "servers"],
  [/^\/process\/(\d+)$/, process, "servers"],
  [/^\/baselines$/, baselines, "baselines"],
  [/^\/status$/, status, "status"],
];

const NAV = [["alerts", "Alerts"], ["servers", "Servers"], ["baselines", "Baselines"],
             ["status", "Status"]];

let cleanup = null;
let main;
const navLinks = {};

function route() {
  const hash = location.hash.replace(/^#/, "") || "/alerts";
  if (cleanup) {
    try {
      cleanup();
    } catch {
      // a page's cleanup failing must not stop the next page
    }
    cleanup = null;
  }
  clear(main);
  for (const [re, page, nav] of ROUTES) {
    const m = re.exec(hash);
    if (!m) continue;
    for (const [k, a] of Object.entries(navLinks)) a.classList.toggle("active", k === nav);
    const params = m.slice(1).map((x) => decodeURIComponent(x));
    cleanup = page.render(main, params, { alertBus, route: hash }) || null;
    return;
  }
  location.hash = "#/alerts";
}

function start() {
  const indicator = h("span", { id: "conn", class: "conn connecting" }, "connecting");
  const banner = h("div", { id: "disconnected", class: "banner hidden", role: "alert" },
    "disconnected: the daemon's event streams are closed; reconnecting…");
  const nav = h("nav", null, NAV.map(([k, label]) => {
    navLinks[k] = h("a", { href: `#/${k}`, id: `nav-${k}` }, label);
    return navLinks[k];
  }));
  main = h("main", { id: "page" });
  document.body.appendChild(h("header", null, h("span", { class: "brand" }, "agentwatch"), nav, indicator));
  document.body.appendChild(banner);
  document.body.appendChild(main);

  onConnectionChange((st) => {
    indicator.className = `conn ${st}`;
    indicator.textContent = st;
    banner.classList.toggle("hidden", st !== "disconnected");
    document.body.dataset.connection = st;
  });
  new LiveStream("/api/stream/alerts", {
    alert: (a) => alertListeners.forEach((fn) => fn(a)),
  }, () => reconnectListeners.forEach((fn) => fn()));

  window.addEventListener("hashchange", route);
  route();
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
else start();
