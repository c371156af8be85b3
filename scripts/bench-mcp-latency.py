#!/usr/bin/env python3
"""Added latency of agentwatch on MCP tool calls, next to what a proxy costs.

N tools/call round trips (server-everything `echo` over stdio, driven by
tests/e2e/mcp_client.mjs) in three conditions, interleaved round by round
so machine noise hits all of them alike:
  off    no agentwatchd running
  on     agentwatchd running (default config: the server is discovered
         and watched, its traffic captured and decoded)
  proxy  no agentwatchd; the same server behind supergateway
         (stdio -> Streamable HTTP), the client talking HTTP to it
Reports median and p99 per condition and their ratio to `off`.
Needs root and a build (scripts/test.sh).

  scripts/bench-mcp-latency.py [--calls 10000] [--rounds 5]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
TESTS = os.path.join(ROOT, "tests")
CLIENT = os.path.join(TESTS, "e2e", "mcp_client.mjs")
EVERYTHING = os.path.join(TESTS, "node_modules", "@modelcontextprotocol",
                          "server-everything", "dist", "index.js")
GATEWAY = os.path.join(TESTS, "node_modules", "supergateway", "dist", "index.js")
sys.path.insert(0, os.path.join(TESTS, "e2e"))
from awtest import free_port, listening  # noqa: E402
CALL = [{"tool": "echo", "arguments": {"message": "latency probe"}}]


def client(args, n):
    env = dict(os.environ, CALLS=json.dumps(CALL), REPEAT=str(n))
    out = subprocess.run(["node", CLIENT] + args, env=env, cwd=TESTS,
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])["latencies_ns"]


def run_off(n):
    return client(["stdio", "node", EVERYTHING, "stdio"], n)


def run_on(n, tmp):
    sock = f"unix://{tmp}/aw.sock"
    d = subprocess.Popen([os.path.join(ROOT, "build", "bin", "agentwatchd"),
                          "--endpoint", sock, "--state-dir", f"{tmp}/state",
                          "--log-level", "warn"], stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            if subprocess.run([os.path.join(ROOT, "build", "bin", "agentwatch"),
                               "--endpoint", sock, "status"],
                              capture_output=True).returncode == 0:
                break
            time.sleep(0.1)
        lat = client(["stdio", "node", EVERYTHING, "stdio"], n)
        calls = subprocess.run([os.path.join(ROOT, "build", "bin", "agentwatch"),
                                "--endpoint", sock, "calls", "--json", "-n", "100000",
                                "--tool", "echo"], capture_output=True, text=True).stdout
        seen = sum(1 for l in calls.splitlines() if l.strip())
        if seen < n:
            print(f"warning: agentwatch saw {seen} of {n} calls", file=sys.stderr)
        return lat
    finally:
        d.terminate()
        d.wait()


def run_proxy(n):
    port = free_port()
    gw = subprocess.Popen(["node", GATEWAY, "--stdio", f"node {EVERYTHING} stdio",
                           "--outputTransport", "streamableHttp", "--stateful",
                           "--port", str(port),
                           "--logLevel", "none"], cwd=TESTS,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            if listening(port):
                break
            time.sleep(0.1)
        return client(["http", f"http://127.0.0.1:{port}/mcp"], n)
    finally:
        gw.terminate()
        gw.wait()


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(len(v) * p))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=10000)
    ap.add_argument("--rounds", type=int, default=5)
    a = ap.parse_args()
    n = a.calls // a.rounds
    res = {"off": [], "on": [], "proxy": []}
    with tempfile.TemporaryDirectory(prefix="aw-lat-") as tmp:
        for r in range(a.rounds):
            res["off"] += run_off(n)
            res["on"] += run_on(n, tmp)
            res["proxy"] += run_proxy(n)
            print(f"round {r + 1}/{a.rounds} done", file=sys.stderr)
    base_med = statistics.median(res["off"])
    base_p99 = pct(res["off"], 0.99)
    print(f"{'condition':8s} {'calls':>6s} {'median':>10s} {'p99':>10s} "
          f"{'median/off':>10s} {'p99/off':>8s}")
    for k, v in res.items():
        med, p99 = statistics.median(v), pct(v, 0.99)
        print(f"{k:8s} {len(v):6d} {med / 1e3:8.1f}us {p99 / 1e3:8.1f}us "
              f"{med / base_med:10.3f} {p99 / base_p99:8.3f}")


if __name__ == "__main__":
    sys.exit(main())
