// The chain timeline on a chain of 10,000 entries, in Debian's chromium
// (playwright-core from tests/node_modules), against a stand-in for the
// daemon's chain API that serves the built assets (the real daemon is in
// tests/e2e/console_e2e.py; making 10,000 real calls there is not the point).
// Asserts: only the rows in view are in the DOM, entries are fetched in
// pages (no request asks for more than 500, jumping to the end does not
// fetch every page), the last entry renders, a live update appends entry
// 10,001, and no console errors.
//   node timeline_browser_test.mjs ASSETS_DIR INDEX_HTML TESTS_DIR
// Exit 77: chromium or playwright-core missing.
import fs from "node:fs";
import http from "node:http";
import path from "node:path";

const [assets, indexHtml, testsDir] = process.argv.slice(2);
const CHROMIUM = "/usr/bin/chromium";
const pw = path.join(testsDir, "node_modules", "playwright-core", "index.mjs");
if (!fs.existsSync(CHROMIUM) || !fs.existsSync(pw)) {
  console.log("SKIP: needs Debian's chromium and playwright-core (scripts/install-deps.sh)");
  process.exit(77);
}
const { chromium } = await import(pw);

const N = 10000;
const T0 = 1764770000000000000n;
const requests = [];
const streams = new Set();
const failures = [];
const check = (ok, msg) => { if (!ok) { failures.push(msg); console.log("FAIL:", msg); } };

function entry(i) {
  const t = T0 + BigInt(i) * 50000000n;
  const effects = i % 4 === 0 ? ["/etc/ld.so.cache", "/lib/x86_64-linux-gnu/libc.so.6"].map((p, k) => ({
    seq: String(i * 10 + k), type: "EVENT_TYPE_FILE_OPEN", time_unix_ns: String(t + 1000n),
    summary: `open ${p} O_RDONLY|O_CLOEXEC = 3` })) : [];
  return { call: { call_id: String(i + 1), server_id: i % 2 ? "1:1" : "2:2", method: "tools/call",
                   tool: `tool_${i}`, status: "ok", started_unix_ns: String(t), latency_ns: "20000000" }, effects };
}
const SEC = { "Content-Security-Policy": "default-src 'self'", "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store" };
const FILES = { "/": [indexHtml, "text/html; charset=utf-8"], "/assets/app.js": [path.join(assets, "app.js"), "text/javascript"],
                "/assets/app.css": [path.join(assets, "app.css"), "text/css"],
                "/assets/favicon.svg": [path.join(path.dirname(indexHtml), "favicon.svg"), "image/svg+xml"] };
const server = http.createServer((req, res) => {
  const u = new URL(req.url, "http://127.0.0.1");
  const json = (o) => { res.writeHead(200, { ...SEC, "Content-Type": "application/json" }); res.end(JSON.stringify(o)); };
  if (FILES[u.pathname]) {
    res.writeHead(200, { ...SEC, "Content-Type": FILES[u.pathname][1] });
    return res.end(fs.readFileSync(FILES[u.pathname][0]));
  }
  if (u.pathname.startsWith("/api/stream/")) {
    res.writeHead(200, { ...SEC, "Content-Type": "text/event-stream" });
    res.write(": keepalive\n\n");
    if (u.pathname === "/api/stream/chains") { streams.add(res); req.on("close", () => streams.delete(res)); }
    return;
  }
  const m = /^\/api\/chains\/(\d+)$/.exec(u.pathname);
  if (m) {
    const offset = Number(u.searchParams.get("offset") || 0);
    const limit = Number(u.searchParams.get("limit") || 500);
    requests.push({ offset, limit });
    const entries = [];
    for (let i = offset; i < Math.min(N, offset + Math.min(limit, 2000)); i++) entries.push(entry(i));
    return json({ id: m[1], agent_pid: 42, start_unix_ns: String(T0), end_unix_ns: String(T0 + BigInt(N) * 50000000n),
                  calls: N, open: true, entries, entries_total: N, entries_offset: offset || undefined });
  }
  if (u.pathname === "/api/alerts") return json({});
  if (u.pathname === "/api/servers") return json({ servers: [{ id: "1:1", name: "one" }, { id: "2:2", name: "two" }] });
  res.writeHead(404, { ...SEC, "Content-Type": "application/json" });
  res.end('{"error":"not found","code":"NOT_FOUND"}');
});
await new Promise((r) => server.listen(0, "127.0.0.1", r));
const url = `http://127.0.0.1:${server.address().port}`;

const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"] });
const errors = [];
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(`${url}/#/chain/7`);
  await page.waitForSelector('.row[data-tool="tool_0"]');
  const rowCount = () => page.$$eval(".row", (r) => r.length);
  const first = await rowCount();
  check(first > 5 && first < 100, `only the rows in view are in the DOM (${first})`);
  check((await page.textContent("#chain-entries")).includes(String(N)), "the header counts 10000 entries");
  // Scroll through the middle, then jump to the end.
  for (const f of [0.1, 0.5, 0.9]) {
    await page.$eval("#timeline", (el, f) => { el.scrollTop = el.scrollHeight * f; }, f);
    const want = Math.floor(N * f);
    await page.waitForSelector(`.row[data-index="${want}"][data-tool="tool_${want}"]`);
    const n = await rowCount();
    check(n < 100, `at ${f * 100}%: ${n} rows in the DOM`);
  }
  await page.$eval("#timeline", (el) => { el.scrollTop = el.scrollHeight; });
  await page.waitForSelector(`.row[data-tool="tool_${N - 1}"]`);
  check(requests.every((r) => r.limit > 0 && r.limit <= 500), `every page asks for at most 500: ${JSON.stringify(requests)}`);
  check(requests.length < N / 500, `pages are fetched as they come into view, not all: ${requests.length} requests`);
  check(await page.$$eval(".row .mark.loader", (m) => m.length) > 0, "loader opens are folded in the rows in view");
  // A live update appends.
  const add = { chain: { id: "7", calls: N + 1 }, entry: { call: { call_id: String(N + 1), tool: "live_tool",
    server_id: "1:1", started_unix_ns: String(T0 + BigInt(N) * 50000000n), status: "ok" } } };
  for (const s of streams) s.write(`event: chain_update\ndata: ${JSON.stringify(add)}\n\n`);
  await page.waitForSelector('.row[data-tool="live_tool"]');
  check((await page.textContent("#chain-entries")).includes(String(N + 1)), "the live entry is counted");
  check(await page.$eval('.row[data-tool="live_tool"]', (r) => r.dataset.index) === String(N), "and appended last");
  // A hostile server's strings: a tool name that reverses itself shows its
  // override; a library it dropped in /tmp and loaded is not folded away.
  const at = String(T0 + BigInt(N + 1) * 50000000n);
  const hostile = { chain: { id: "7", calls: N + 2 }, entry: { call: { call_id: String(N + 2), tool: "\u202Eelif_daer",
    server_id: "1:1", started_unix_ns: at, status: "ok" },
    effects: ["/etc/ld.so.cache", "/tmp/payload.so"].map((p, k) => ({ seq: String(900000 + k), type: "EVENT_TYPE_FILE_OPEN",
      time_unix_ns: at, summary: `open ${p} O_RDONLY|O_CLOEXEC = 3` })) } };
  for (const s of streams) s.write(`event: chain_update\ndata: ${JSON.stringify(hostile)}\n\n`);
  await page.$eval("#timeline", (el) => { el.scrollTop = el.scrollHeight; });
  await page.waitForSelector(`.row[data-call-id="${N + 2}"]`);
  const label = await page.$eval(`.row[data-call-id="${N + 2}"] .tool`, (e) => e.textContent);
  check(label === "⟦U+202E⟧elif_daer", `a bidi override in a tool name is shown: ${JSON.stringify(label)}`);
  const marks = await page.$$eval(`.row[data-call-id="${N + 2}"] .mark`, (m) => m.map((x) => x.textContent));
  check(marks.some((t) => t.includes("/tmp/payload.so")), `a library loaded from /tmp is not folded: ${JSON.stringify(marks)}`);
} catch (e) {
  failures.push(String(e));
  console.log("FAIL:", e);
} finally {
  await browser.close();
  server.close();
  for (const s of streams) s.destroy();
}
check(errors.length === 0, `no console errors: ${errors}`);
console.log(failures.length ? `${failures.length} failures` : "timeline: all checks passed");
process.exit(failures.length ? 1 : 0);
