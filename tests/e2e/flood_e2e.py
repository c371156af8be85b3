#!/usr/bin/env python3
"""e2e: a neighbour's flood does not blind the monitor to another server.

An unprivileged user (created by the test) runs their own stdio MCP server
(aw-e2e-evasive in its flood mode) and floods it from their own client:
70,000 requests it never answers, then a tools/call it answers only after
writing small notifications, one write each, until it is told to stop.
While that runs, root's agent has a real SDK server (tool_server.mjs) run
40 distinct shell commands.

Checked on the real kernel and daemon:
  - every one of the 40 shells is alerted (server-spawns-shell), and every
    one of root's 40 calls is decoded and answered, not `unanswered`;
  - the flooder is named: a capture-evaded alert (mechanism payload_budget)
    for its server, gaps counted on its session, the kernel's throttle
    counter moved;
  - the daemon's peak RSS (VmHWM) stays at or under 256 MB.

Exit 77 = skipped (not root, node or `npm ci` missing, no useradd), unless
AGENTWATCH_REQUIRE_BPF=1.
"""
import argparse
import json
import os
import pwd
import select
import shutil
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from awtest import (TESTS, check, cli_json, finish_run, node_tier_ready,  # noqa: E402
                    settle, skip_or_fail, start_daemon, wait_for)

HERE = os.path.dirname(os.path.abspath(__file__))
CLIENT = os.path.join(HERE, "mcp_client.mjs")
TOOL_SERVER = os.path.join(HERE, "tool_server.mjs")
SHELLS = 40
PENDING = 70000
RSS_LIMIT_KB = 256 * 1024

# The flooding user's client: starts the server, shakes hands, leaves
# PENDING requests unanswered, then has the server flood until a line on
# this client's stdin says stop. Prints "flooding" once the flood is under
# way and "flooded N" at the end.
FLOOD_CLIENT = r'''
import json, subprocess, sys, threading
srv = subprocess.Popen([sys.argv[1], "flood"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                       env={"AW_FLOOD_MESSAGES": "0"})
def send(o):
    srv.stdin.write((json.dumps(o, separators=(",", ":")) + "\n").encode())
send({"jsonrpc": "2.0", "id": 0, "method": "initialize",
      "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                 "clientInfo": {"name": "flooder", "version": "1"}}})
srv.stdin.flush()
srv.stdout.readline()
send({"jsonrpc": "2.0", "method": "notifications/initialized"})
for i in range(int(sys.argv[2])):
    send({"jsonrpc": "2.0", "id": i + 1, "method": "tools/call",
          "params": {"name": "lookup", "arguments": {"word": "w%d" % i}}})
send({"jsonrpc": "2.0", "id": "flood", "method": "tools/call",
      "params": {"name": "flood", "arguments": {}}})
srv.stdin.flush()
count = [0]
def drain():
    for line in srv.stdout:
        count[0] += 1
        if count[0] == 20000:
            print("flooding", flush=True)
        if b'"id":"flood"' in line:
            return
t = threading.Thread(target=drain)
t.start()
sys.stdin.readline()
srv.stdin.close()
t.join()
srv.wait()
print("flooded", count[0], flush=True)
'''


def make_user():
    """A system user of the test's own; None when useradd is missing."""
    if shutil.which("useradd") is None:
        return None
    name = f"awflood{os.getpid() % 100000}"
    subprocess.run(["userdel", name], capture_output=True)  # a stale one from a killed run
    subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                    name], check=True, capture_output=True)
    return pwd.getpwnam(name)


def peak_rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bindir", required=True)
    ap.add_argument("--server", required=True)
    a = ap.parse_args()
    if (rc := node_tier_ready()) is not None:
        return rc
    user = make_user()
    if user is None:
        return skip_or_fail("needs useradd (passwd) to create the flooding user")
    tmp = os.path.realpath(tempfile.mkdtemp(prefix="aw-flood-e2e-"))
    endpoint = f"unix://{tmp}/aw.sock"
    cli = os.path.join(a.bindir, "agentwatch")
    log = os.path.join(tmp, "daemon.log")
    # The flooder's server binary, where the user can run it.
    shared = tempfile.mkdtemp(prefix="aw-flood-bin-")
    os.chmod(shared, 0o755)
    server = os.path.join(shared, "aw-e2e-evasive")
    shutil.copy(a.server, server)
    os.chmod(server, 0o755)
    procs = []
    try:
        daemon = start_daemon(a.bindir, endpoint, log, "--state-dir", os.path.join(tmp, "state"),
                              "--metrics-listen", "", "--log-level", "info")
        procs.append(daemon)
        aw = cli_json(cli, endpoint)

        def as_user():
            os.setgroups([])
            os.setgid(user.pw_gid)
            os.setuid(user.pw_uid)
        # The system's python: the user cannot reach an interpreter under /root.
        python = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
        flooder = subprocess.Popen([python, "-c", FLOOD_CLIENT, server, str(PENDING)],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                   preexec_fn=as_user, cwd="/")
        procs.append(flooder)
        ready, _, _ = select.select([flooder.stdout], [], [], 120)
        check(ready and flooder.stdout.readline().strip() == "flooding", "the flood started")

        calls = [{"tool": "run_command", "arguments": {"command": f"echo aw-victim-shell-{i}"}}
                 for i in range(SHELLS)]
        victim = subprocess.run(["node", CLIENT, "stdio", "node", TOOL_SERVER],
                                env=dict(os.environ, CALLS=json.dumps(calls)), cwd=TESTS,
                                capture_output=True, text=True, timeout=300)
        check(victim.returncode == 0, f"root's agent: {victim.stderr[-500:]}")
        check(flooder.poll() is None, "the flood lasted as long as root's agent")
        flooder.stdin.write("stop\n")
        flooder.stdin.flush()
        ready, _, _ = select.select([flooder.stdout], [], [], 120)
        done = flooder.stdout.readline().split() if ready else []
        flooder.wait(timeout=120)
        flooded = int(done[1]) if len(done) == 2 else 0
        print(f"the flooder wrote {flooded} notifications and left {PENDING} requests pending")

        def shells():
            got = set()
            for al in aw("alerts", "-n", "1000"):
                if al.get("rule_id") != "server-spawns-shell":
                    continue
                for i in range(SHELLS):
                    if f"aw-victim-shell-{i}" in al.get("summary", ""):
                        got.add(i)
            return got
        got = settle(lambda: shells() if len(shells()) == SHELLS else None, 60) or shells()
        check(len(got) == SHELLS,
              f"every shell of root's server is alerted under the flood: {len(got)}/{SHELLS}, "
              f"missing {sorted(set(range(SHELLS)) - got)[:10]}")

        def statuses():
            by = {}
            for c in aw("calls", "--tool", "run_command", "-n", "1000"):
                by[c.get("status")] = by.get(c.get("status"), 0) + 1
            return by
        got = settle(lambda: statuses() if statuses().get("ok", 0) == SHELLS else None, 30) \
            or statuses()
        if got.get("ok", 0) != SHELLS:
            counters = {c["name"]: int(c.get("value", 0))
                        for c in aw("status")[0].get("counters", [])}
            print("counters:", {k: v for k, v in counters.items() if v})
        check(got.get("ok", 0) == SHELLS,
              f"every one of root's calls is decoded and answered: {got}")

        flood_pid = None
        for s in aw("servers", "--all"):
            if s.get("name") == "evasive" or "evasive" in s.get("exe", ""):
                flood_pid = s.get("pid")
        check(flood_pid is not None, "the flooder's server was discovered")

        def named():
            for al in aw("alerts", "-n", "1000"):
                if al.get("rule_id") != "capture-evaded":
                    continue
                for ev in al.get("evidence", []):
                    f = ev.get("fields", {})
                    if f.get("mechanism") == "payload_budget":
                        return al
            return None
        budget = wait_for(named, 30, "a capture-evaded alert for the payload budget")
        check(str(flood_pid) in json.dumps(budget) or "evasive" in budget.get("summary", ""),
              f"the budget alert names the flooder's server: {budget.get('summary')}")
        sessions = [s for s in aw("sessions", "--all") if s.get("server_pid") == flood_pid]
        check(any(int(s.get("gaps", 0)) > 0 for s in sessions),
              f"the flooder's session counts its gaps: {sessions}")
        counters = {c["name"]: int(c.get("value", 0))
                    for c in aw("status")[0].get("counters", [])}
        check(counters.get("kernel_payload_throttled", 0) > 0,
              f"the kernel held the flooder to its budget: {counters}")
        check(counters.get("mcp_stream_gaps", 0) > 0, f"the gaps are counted: {counters}")
        rss = peak_rss_kb(daemon.pid)
        print(f"daemon peak RSS {rss // 1024} MB; counters: "
              f"throttled={counters.get('kernel_payload_throttled')} "
              f"shed={counters.get('kernel_payload_shed')} "
              f"payload_drops={counters.get('pipeline_payload_drops')} "
              f"queue_drops={counters.get('pipeline_queue_drops')} "
              f"gaps={counters.get('mcp_stream_gaps')}")
        check(rss <= RSS_LIMIT_KB, f"the daemon's peak RSS stays within 256 MB: {rss // 1024} MB")
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
        shutil.rmtree(shared, ignore_errors=True)
        subprocess.run(["userdel", user.pw_name], capture_output=True)
        rc = finish_run(procs, tmp, "flood e2e")
    return rc


if __name__ == "__main__":
    sys.exit(main())
