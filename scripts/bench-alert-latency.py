#!/usr/bin/env python3
"""Alert latency: from the kernel event that completes a pattern to the
alert reaching a client of `StreamAlerts` (`agentwatch alerts --follow`).

An SDK client drives the project's test tool server (tests/e2e/
tool_server.mjs) to run N distinct shell commands; each exec completes
server-spawns-shell. For every alert the latency is the time it was read
from the stream minus its last evidence's event time (both CLOCK_REALTIME
on this host). Needs root, a build and `npm ci` in tests/.

  scripts/bench-alert-latency.py [N]      (default 200)
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
from awtest import TESTS, start_daemon  # noqa: E402

BIN = os.path.join(ROOT, "build", "bin")


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    tmp = tempfile.mkdtemp(prefix="aw-latency-")
    endpoint = f"unix://{tmp}/aw.sock"
    daemon = start_daemon(BIN, endpoint, os.path.join(tmp, "daemon.log"), "--state-dir",
                          os.path.join(tmp, "state"), "--no-store")
    got = {}
    stream = subprocess.Popen([os.path.join(BIN, "agentwatch"), "--endpoint", endpoint, "--json",
                               "alerts", "--follow"], stdout=subprocess.PIPE, text=True)

    def read():
        for line in stream.stdout:
            now = time.time_ns()
            a = json.loads(line)
            if a.get("rule_id") != "server-spawns-shell" or a.get("id") in got:
                continue
            last = max(int(e.get("time_unix_ns", 0)) for e in a.get("evidence", [{}]))
            got[a["id"]] = (now - last) / 1e6
    t = threading.Thread(target=read, daemon=True)
    t.start()
    time.sleep(0.5)
    calls = [{"tool": "run_command", "arguments": {"command": f"echo {i}"}} for i in range(n)]
    subprocess.run(["node", os.path.join(TESTS, "e2e", "mcp_client.mjs"), "stdio", "node",
                    os.path.join(TESTS, "e2e", "tool_server.mjs")],
                   env=dict(os.environ, CALLS=json.dumps(calls)), cwd=TESTS, check=True,
                   capture_output=True, timeout=600)
    deadline = time.time() + 10
    while len(got) < n and time.time() < deadline:
        time.sleep(0.1)
    stream.terminate()
    daemon.terminate()
    daemon.wait()
    lat = sorted(got.values())
    if not lat:
        raise SystemExit("no alerts arrived")
    q = statistics.quantiles(lat, n=100)
    print(f"alerts {len(lat)}/{n}; latency ms: median {statistics.median(lat):.2f}, "
          f"p95 {q[94]:.2f}, p99 {q[98]:.2f}, max {lat[-1]:.2f} (target: within 100)")


if __name__ == "__main__":
    main()
