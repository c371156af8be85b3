// The daemon's JSON API (proto3 JSON of agentwatch.v1, snake_case names,
// 64-bit integers as strings, default values omitted).

export class ApiError extends Error {
  constructor(status, message, code) {
    super(message);
    this.status = status;
    this.code = code || "";
  }
}

export async function getJSON(path) {
  let r;
  try {
    r = await fetch(path, { headers: { Accept: "application/json" }, cache: "no-store" });
  } catch (e) {
    throw new ApiError(0, `the daemon did not answer (${e.message})`);
  }
  let body = null;
  try {
    body = await r.json();
  } catch {
    body = null;
  }
  if (!r.ok) {
    throw new ApiError(r.status, (body && body.error) || `HTTP ${r.status}`, body && body.code);
  }
  return body || {};
}

// A query string from an object; arrays repeat the key; empty values are left out.
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (Array.isArray(v)) v.forEach((x) => x !== "" && x != null && q.append(k, String(x)));
    else if (v !== "" && v !== undefined && v !== null && v !== false) q.append(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : "";
}

// proto3 JSON numbers: uint64/int64 arrive as strings, missing means 0.
export function num(x) {
  if (x === undefined || x === null || x === "") return 0;
  const n = Number(x);
  return Number.isFinite(n) ? n : 0;
}

// Nanoseconds since the epoch (string or number) to milliseconds.
export function nsToMs(x) {
  if (x === undefined || x === null || x === "" || x === "0" || x === 0) return 0;
  try {
    return Number(BigInt(String(x).split(".")[0]) / 1000000n);
  } catch {
    return num(x) / 1e6;
  }
}

function pad(n, w = 2) {
  return String(n).padStart(w, "0");
}

export function fmtTime(ns) {
  const ms = nsToMs(ns);
  if (!ms) return "—";
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

export function fmtDuration(ms) {
  if (ms < 1) return `${Math.round(ms * 1000)} µs`;
  if (ms < 1000) return `${ms.toFixed(ms < 10 ? 1 : 0)} ms`;
  if (ms < 60000) return `${(ms / 1000).toFixed(2)} s`;
  return `${Math.floor(ms / 60000)} min ${Math.round((ms % 60000) / 1000)} s`;
}

export const SEVERITIES = ["info", "low", "medium", "high", "critical"];
export function severityRank(s) {
  const i = SEVERITIES.indexOf(s || "info");
  return i < 0 ? 0 : i;
}
