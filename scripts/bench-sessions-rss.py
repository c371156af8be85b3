#!/usr/bin/env python3
"""Daemon memory under many MCP sessions: agentwatchd's RSS when idle, with
N sessions open at once (default 1,000: each initialized, its tools listed
and called twice, none closed), and after they end (the server exits).
Streamable HTTP on loopback (tests/bench/sessions_server.py), found by
discovery, no rules. Needs root and a build.

  scripts/bench-sessions-rss.py [--sessions N] [--connections C]

Targets (issue 4): RSS with 1,000 sessions <= 256 MB; back near idle after.
"""
import argparse
import http.client
import json
import os
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
from awtest import free_port, listening, wait_for  # noqa: E402


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return 0.0


def session(conn, port, i):
    def post(msg, sid=None):
        h = {"Content-Type": "application/json",
             "Accept": "application/json, text/event-stream"}
        if sid:
            h["Mcp-Session-Id"] = sid
        conn.request("POST", "/mcp", json.dumps(msg), h)
        r = conn.getresponse()
        r.read()
        return r.getheader("Mcp-Session-Id")
    sid = post({"jsonrpc": "2.0", "id": 0, "method": "initialize",
                "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                           "clientInfo": {"name": f"bench-{i}", "version": "1"}}})
    post({"jsonrpc": "2.0", "method": "notifications/initialized"}, sid)
    post({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}, sid)
    post({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
          "params": {"name": "echo", "arguments": {"message": f"session {i}"}}}, sid)
    post({"jsonrpc": "2.0", "id": 3, "method": "tools/call",
          "params": {"name": "add", "arguments": {"a": i, "b": 1}}}, sid)
    return sid


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sessions", type=int, default=1000)
    ap.add_argument("--connections", type=int, default=16)
    a = ap.parse_args()
    bindir = os.path.join(ROOT, "build", "bin")
    tmp = tempfile.mkdtemp(prefix="aw-rss-")
    endpoint = f"unix://{tmp}/aw.sock"
    cli = os.path.join(bindir, "agentwatch")
    daemon = subprocess.Popen(
        [os.path.join(bindir, "agentwatchd"), "--no-builtin-rules", "--endpoint", endpoint,
         "--state-dir", os.path.join(tmp, "state"), "--log-level", "warn"])
    server = None
    try:
        wait_for(lambda: subprocess.run([cli, "--endpoint", endpoint, "status"],
                                        capture_output=True).returncode == 0, 30, "daemon")
        time.sleep(3)
        idle = rss_mb(daemon.pid)
        port = free_port()
        server = subprocess.Popen([sys.executable, os.path.join(ROOT, "tests", "bench",
                                                                "sessions_server.py"), str(port)])
        wait_for(lambda: listening(port), 10, "server")
        counter = iter(range(a.sessions))
        lock = threading.Lock()

        def worker():
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            while True:
                with lock:
                    i = next(counter, None)
                if i is None:
                    break
                session(conn, port, i)
            conn.close()
        t0 = time.time()
        threads = [threading.Thread(target=worker) for _ in range(a.connections)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        took = time.time() - t0

        def sessions_seen():
            r = subprocess.run([cli, "--endpoint", endpoint, "sessions", "--json"],
                               capture_output=True, text=True)
            return sum(1 for l in r.stdout.splitlines() if l.strip())
        try:
            wait_for(lambda: sessions_seen() >= a.sessions, 60, "the sessions")
        except SystemExit:
            pass
        seen = sessions_seen()
        time.sleep(2)
        peak = rss_mb(daemon.pid)
        server.terminate()
        server.wait()
        time.sleep(35)  # the daemon trims its heap every 30 s
        after = rss_mb(daemon.pid)
        print(f"sessions opened: {a.sessions} in {took:.1f}s; seen by agentwatchd: {seen}")
        print(f"RSS idle {idle:.1f} MB; with {a.sessions} sessions open {peak:.1f} MB "
              f"(target <= 256); after they ended {after:.1f} MB "
              f"({after - idle:+.1f} MB over idle)")
    finally:
        if server and server.poll() is None:
            server.kill()
        daemon.terminate()
        daemon.wait()
        subprocess.run(["rm", "-rf", tmp])


if __name__ == "__main__":
    main()
