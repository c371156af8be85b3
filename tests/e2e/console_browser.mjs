// The web console in a real browser, for tests/e2e/console_e2e.py: Debian's
// chromium (headless) driven by playwright-core from tests/node_modules, no
// browser download. It walks the pages and reports what it found as one
// JSON object on stdout; the Python test makes the assertions.
//
//   node console_browser.mjs CONFIG.json
// CONFIG: {url, chromium, screenshots (dir), rule (the exfiltration alert's
// rule), read_tool, send_tool, tool_server (a server name whose tools
// changed), stop_file (written when the daemon may be stopped)}
//
// Waits have deadlines (an element that never shows up is reported as
// missing, not waited for forever); nothing is decided by timing.
import { chromium } from "playwright-core";
import fs from "node:fs";
import path from "node:path";

const cfg = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const WAIT = 20000;
const out = { headers: {}, console_errors: [], console_errors_after_stop: [], screenshots: {}, steps: [] };
let stopped = false;

async function present(page, selector, timeout = WAIT) {
  try {
    await page.waitForSelector(selector, { timeout, state: "attached" });
    return true;
  } catch {
    return false;
  }
}

const browser = await chromium.launch({
  executablePath: cfg.chromium,
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-dev-shm-usage"],
});
try {
  const context = await browser.newContext({ viewport: { width: 1500, height: 1000 } });
  const page = await context.newPage();
  page.on("console", (m) => {
    if (m.type() === "error") (stopped ? out.console_errors_after_stop : out.console_errors).push(m.text());
  });
  page.on("pageerror", (e) => (stopped ? out.console_errors_after_stop : out.console_errors).push(`pageerror: ${e.message}`));
  page.on("response", (r) => {
    const u = new URL(r.url());
    if (["/", "/assets/app.js", "/assets/app.css"].includes(u.pathname)) {
      out.headers[u.pathname] = { status: r.status(), ...r.headers() };
    }
  });

  // Alerts: the list, live.
  const resp = await page.goto(`${cfg.url}/#/alerts`, { waitUntil: "load" });
  out.index_status = resp ? resp.status() : 0;
  out.live = await present(page, "#conn.live");
  out.alert_found = await present(page, `li.alert[data-rule="${cfg.rule}"]`);
  const listed = () => page.$$eval("li.alert", (els) => els.map((e) => ({
    rule: e.dataset.rule, severity: [...e.classList].find((c) => c.startsWith("sev-")).slice(4),
    id: e.dataset.id, text: e.textContent })));
  out.alerts_all = await listed();

  // Filter by minimum severity: the list is reloaded with the query.
  for (const sev of ["critical", "high", ""]) {
    await page.selectOption("#filter-severity", sev);
    await present(page, `#alert-list[data-query="${sev ? `min_severity=${sev}` : ""}"]`);
    out[`alerts_min_${sev || "any"}`] = await listed();
  }

  // The exfiltration alert opened: its evidence.
  const alertSel = `li.alert[data-rule="${cfg.rule}"]`;
  if (out.alert_found) {
    await page.click(`${alertSel} .alert-head .rule`);
    out.evidence = await page.$$eval(`${alertSel} .evidence-row`, (rows) => rows.map((r) => r.textContent));
  }
  out.screenshots.alerts = path.join(cfg.screenshots, "alerts.png");
  await page.screenshot({ path: out.screenshots.alerts, fullPage: true });

  // Its chain, through the link.
  if (out.alert_found) {
    await page.click(`${alertSel} a.chain-link`);
    out.chain_url = page.url();
    out.chain_rows = await present(page, `.row[data-tool="${cfg.send_tool}"]`);
    // The highlights come from the chain's alerts (a second request).
    out.egress_marked = await present(page, `.row[data-tool="${cfg.send_tool}"] .mark.egress`);
    out.secret_marked = await present(page, `.row[data-tool="${cfg.read_tool}"] .mark.secret`);
    const rowFacts = () => page.$$eval(".row[data-index]", (rows) => rows.map((r) => ({
      index: Number(r.dataset.index), tool: r.dataset.tool || "", classes: [...r.classList],
      marks: [...r.querySelectorAll(".mark")].map((m) => ({ text: m.textContent, classes: [...m.classList] })),
      dest: [...r.querySelectorAll(".dest")].map((d) => d.textContent),
    })));
    out.chain_head = await page.textContent("#chain-head");
    out.legend = await page.textContent("#legend");
    out.rows = await rowFacts();
    out.arrows = await page.$$eval("#arrows path.flow-arrow", (p) => p.length);
    // The send call's details.
    await page.click(`.row[data-tool="${cfg.send_tool}"] .row-label`);
    out.details = await page.textContent("#details");
    out.screenshots.chain = path.join(cfg.screenshots, "chain.png");
    await page.screenshot({ path: out.screenshots.chain, fullPage: false });
    // Every loader open shown.
    await page.check("#show-loader");
    await page.waitForFunction(() => document.querySelectorAll(".row .mark.loader").length === 0, null, { timeout: WAIT }).catch(() => {});
    out.rows_all_loader = await rowFacts();
    await page.uncheck("#show-loader");
  }

  // Servers, one server's tools and their change history, its process tree.
  await page.goto(`${cfg.url}/#/servers`);
  await present(page, "#server-rows tr");
  out.servers = await page.$$eval("#server-rows tr", (rs) => rs.map((r) => r.textContent));
  const link = await page.$(`#server-rows tr a[href^="#/server/"] >> text="${cfg.tool_server}"`);
  if (link) {
    await link.click();
    await present(page, "#tools tr[data-tool]");
    await present(page, "#history .change");
    out.tools = await page.$$eval("#tools tr[data-tool]", (rs) => rs.map((r) => r.dataset.tool));
    out.changes = await page.$$eval("#history .change", (cs) => cs.map((c) => ({
      tool: c.dataset.tool, text: c.querySelector(".change-head").textContent,
      added: [...c.querySelectorAll(".dl.add")].map((d) => d.textContent),
      removed: [...c.querySelectorAll(".dl.del")].map((d) => d.textContent) })));
    out.screenshots.server = path.join(cfg.screenshots, "server.png");
    await page.screenshot({ path: out.screenshots.server, fullPage: true });
    if (await present(page, "#process-link")) {
      await page.click("#process-link");
      await present(page, "#process-tree li.proc");
      out.process_tree = await page.$$eval("#process-tree li.proc", (ps) => ps.map((p) => ({
        pid: p.dataset.pid, line: p.querySelector(".proc-line").textContent })));
    }
  }
  await page.goto(`${cfg.url}/#/baselines`);
  await present(page, "#baseline-rows tr");
  out.baselines = await page.$$eval("#baseline-rows tr", (rs) => rs.map((r) => r.dataset.server));
  await page.goto(`${cfg.url}/#/status`);
  await present(page, "#readiness");
  out.readiness = await page.textContent("#readiness").catch(() => "");
  out.probes = await page.$$eval("#probes tbody tr", (rs) => rs.length).catch(() => 0);
  out.counters = await page.$$eval("#counters tbody tr", (rs) => rs.map((r) => r.textContent)).catch(() => []);

  // The daemon stops: the banner.
  await page.goto(`${cfg.url}/#/alerts`);
  out.live_before_stop = await present(page, "#conn.live");
  out.banner_hidden_before_stop = await page.$eval("#disconnected", (b) => b.classList.contains("hidden"));
  stopped = true;
  fs.writeFileSync(cfg.stop_file, "stop\n");
  out.banner_shown = await present(page, "#disconnected:not(.hidden)", 30000);
  out.banner_text = await page.textContent("#disconnected");
  out.indicator_after_stop = await page.textContent("#conn");
  out.screenshots.disconnected = path.join(cfg.screenshots, "disconnected.png");
  await page.screenshot({ path: out.screenshots.disconnected });
} catch (e) {
  out.error = String(e && e.stack || e);
} finally {
  await browser.close();
}
process.stdout.write(`${JSON.stringify(out)}\n`);
