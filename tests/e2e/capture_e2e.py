#!/usr/bin/env python3
"""e2e: capture that a server cannot dodge, on the real kernel.

A small MCP stdio server in C++ (aw-e2e-evasive) moves its bytes with the
syscall each case names; this script is its client (initialize, tools/list,
one tools/call whose result carries an injected instruction). For each way
through a user buffer (preadv2, recvmmsg and vmsplice for requests;
pwritev2, sendmmsg and vmsplice for responses) the call must be decoded,
answered, and its injected result must raise prompt-injection-in-content.
For each way around payload capture (splice, tee and sendfile of the
responses; io_uring, process_vm_writev and fds received over SCM_RIGHTS;
a flood of file opens past the server's record budget) the built-in
capture-evaded alert must name the server and the mechanism.

Exit 77 = skipped (not root), unless AGENTWATCH_REQUIRE_BPF=1.
"""
import argparse
import json
import os
import select
import socket
import subprocess
import sys
import tempfile
import time

import urllib.request

from awtest import (FAILURES, check, cli_json, finish_run, free_port, listening, settle,
                    skip_or_fail, start_daemon, wait_for)

HTTP_SERVER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "http_mcp_server.py")


def post(port, obj):
    req = urllib.request.Request(f"http://127.0.0.1:{port}/mcp", data=json.dumps(obj).encode(),
                                 headers={"Content-Type": "application/json",
                                          "Accept": "application/json, text/event-stream"})
    with urllib.request.urlopen(req, timeout=5) as r:
        return r.read()

# (mode, socket stdio, what must happen)
DECODED = [
    ("preadv2", False),
    ("recvmmsg", True),
    ("vmsplice-in", False),
    ("pwritev2", False),
    ("sendmmsg", True),
    ("vmsplice", False),
    ("preadv2,pwritev2", False),
    # Discovery: stdio pipes moved to fds 10 and 11 (dup2); a banner line on
    # stdout and a line that is no JSON on stdin before initialize.
    ("dup", False),
    ("banner", False),
]
EVADED = [
    ("splice", "splice"),
    ("tee", "tee"),
    ("sendfile", "sendfile"),
    ("io_uring", "io_uring"),
    ("process_vm_writev", "process_vm_writev"),
    ("scm_rights", "scm_rights"),
    # Past its record budget (record_rate): file records crowd the ring.
    ("openflood", "record budget"),
]


def tool_of(mode):
    return "lookup_" + "".join(c if c.isalnum() else "_" for c in mode)


class Server:
    """The evasive server as a child with pipes (or a socketpair) for stdio."""

    def __init__(self, exe, mode, sockets):
        # A tool name of its own: alerts are folded by tool.
        self.tool = tool_of(mode)
        if sockets:
            mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
            self.proc = subprocess.Popen([exe, mode, self.tool], stdin=theirs.fileno(),
                                         stdout=theirs.fileno())
            theirs.close()
            self.sock = mine
            self.wfd = self.rfd = mine.fileno()
        else:
            self.sock = None
            self.proc = subprocess.Popen([exe, mode, self.tool], stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE)
            self.wfd = self.proc.stdin.fileno()
            self.rfd = self.proc.stdout.fileno()
        self.buf = b""

    def send(self, obj):
        os.write(self.wfd, (json.dumps(obj) + "\n").encode())

    def recv(self, timeout=10):
        """The next response (lines that are no JSON, and notifications,
        are read past), or None on timeout or end of stream."""
        end = time.time() + timeout
        while True:
            while b"\n" not in self.buf:
                left = end - time.time()
                if left <= 0 or not select.select([self.rfd], [], [], left)[0]:
                    return None
                chunk = os.read(self.rfd, 65536)
                if not chunk:
                    return None
                self.buf += chunk
            line, self.buf = self.buf.split(b"\n", 1)
            # A response (notifications from the server are read past).
            if line.startswith(b"{"):
                msg = json.loads(line)
                if "id" in msg:
                    return msg

    def session(self, word, noise=False, pause=0):
        """The handshake and one call (pause seconds after the handshake);
        the call's response or None."""
        if noise:
            os.write(self.wfd, b"# a wrapper's line that is no JSON\n")
        self.send({"jsonrpc": "2.0", "id": 1, "method": "initialize",
                   "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                              "clientInfo": {"name": "capture-e2e", "version": "1"}}})
        if self.recv() is None:
            return None
        self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        self.send({"jsonrpc": "2.0", "id": 2, "method": "tools/list"})
        if self.recv() is None:
            return None
        time.sleep(pause)
        self.send({"jsonrpc": "2.0", "id": 3, "method": "tools/call",
                   "params": {"name": self.tool, "arguments": {"word": word}}})
        return self.recv()

    def close(self):
        if self.sock:
            self.sock.close()
        else:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bindir", required=True)
    ap.add_argument("--server", required=True)
    a = ap.parse_args()
    if os.geteuid() != 0:
        return skip_or_fail("needs root (BPF)")
    tmp = os.path.realpath(tempfile.mkdtemp(prefix="aw-capture-e2e-"))
    endpoint = f"unix://{tmp}/aw.sock"
    cli = os.path.join(a.bindir, "agentwatch")
    log = os.path.join(tmp, "daemon.log")
    procs = []
    try:
        daemon = start_daemon(a.bindir, endpoint, log, "--state-dir", os.path.join(tmp, "state"),
                              "--metrics-listen", "", "--log-level", "info")
        procs.append(daemon)
        aw = cli_json(cli, endpoint)
        pids = {}
        for mode, sockets in DECODED + [(m, False) for m, _ in EVADED]:
            s = Server(a.server, mode, sockets)
            pids[mode] = s.proc.pid
            resp = s.session(f"word-{mode}", noise=(mode == "banner"))
            check(resp is not None and "result" in resp,
                  f"{mode}: the server answered the call: {resp}")
            s.close()

        def calls():
            return aw("calls", "-n", "1000")
        for mode, _ in DECODED:
            pid = pids[mode]

            def decoded():
                got = [c for c in calls() if c.get("server_pid") == pid and
                       c.get("method") == "tools/call"]
                return got if got and got[0].get("status") == "ok" else None
            try:
                got = wait_for(decoded, 15, f"{mode}: the call decoded")
            except SystemExit:
                got = [c for c in calls() if c.get("server_pid") == pid]
            ok = got and got[0].get("tool") == tool_of(mode) and got[0].get("status") == "ok"
            check(ok, f"{mode}: tools/call {tool_of(mode)} decoded and answered: "
                      f"{[(c.get('method'), c.get('tool'), c.get('status')) for c in got or []]}")

        # Requests the server acts on, decoded whatever their ids and bytes:
        # an id past 64 bits and one past a double's range, invalid UTF-8 in
        # _meta, one larger than the capture limit (payload_max); and a
        # 20 KB notification just before a small response.
        dec = Server(a.server, "bignote", False)
        tool = dec.tool
        # Its 20 KB notifications would spend the discovery budget of its
        # stdout before the daemon's verdict: the calls wait for it (a
        # server on probation is captured only up to probe_bytes).
        if dec.session("first", pause=1.0) is None:
            check(False, "decoders: the handshake")
        raw = [b'{"jsonrpc":"2.0","id":18446744073709551616,"method":"tools/call","params":'
               b'{"name":"' + tool.encode() + b'","arguments":{"word":"big"}}}',
               b'{"jsonrpc":"2.0","id":1e400,"method":"tools/call","params":'
               b'{"name":"' + tool.encode() + b'","arguments":{"word":"huge"}}}',
               b'{"jsonrpc":"2.0","id":41,"method":"tools/call","params":{"name":"' +
               tool.encode() + b'","arguments":{"word":"u"},"_meta":{"x":"a\xff\xc3(b"}}}',
               b'{"jsonrpc":"2.0","id":42,"method":"tools/call","params":{"name":"' +
               tool.encode() + b'","arguments":{"word":"' + b"w" * 40000 + b'"}}}']
        for line in raw:
            os.write(dec.wfd, line + b"\n")
            check(dec.recv() is not None, f"decoders: answered {line[:60]}")
        dec.close()
        want_notes = {"18446744073709551616": "out of range", "1e400": "out of range",
                      "41": "UTF-8", "42": "truncated"}

        def decoded_all():
            got = {c.get("request_id"): c for c in calls()
                   if c.get("server_pid") == dec.proc.pid and c.get("tool") == tool}
            return got if all(k in got and got[k].get("status") == "ok"
                              for k in list(want_notes) + ["3"]) else None
        settle(decoded_all, 15)
        got = {c.get("request_id"): c for c in calls()
               if c.get("server_pid") == dec.proc.pid and c.get("tool") == tool}
        check(got.get("3", {}).get("status") == "ok",
              f"decoders: a 20 KB notification before the response loses nothing: {got.get('3')}")
        for rid, note in want_notes.items():
            c = got.get(rid, {})
            check(c.get("status") == "ok" and note in c.get("decode_note", ""),
                  f"decoders: call id {rid} decoded, answered and marked '{note}': "
                  f"{(c.get('status'), c.get('decode_note'))}")

        # HTTP: health checks before the first MCP request. Within the
        # budget the server is found at its first MCP request; past it (a
        # listener judged no MCP server) a sample of later connections is
        # still probed, so it is found among them.
        for name, checks, tries in (("http-health", 10, 1), ("http-sampled", 40, 200)):
            port = free_port()
            http = subprocess.Popen([sys.executable, HTTP_SERVER, str(port), tool_of(name)])
            procs.append(http)
            wait_for(lambda: listening(port), 20, f"{name}: the HTTP server")
            for _ in range(checks):
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5).read()
            pid = http.pid

            def found():
                return [c for c in calls() if c.get("server_pid") == pid and
                        c.get("tool") == tool_of(name) and c.get("status") == "ok"]
            for i in range(tries):
                post(port, {"jsonrpc": "2.0", "id": 1, "method": "initialize",
                            "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                                       "clientInfo": {"name": "capture-e2e", "version": "1"}}})
                post(port, {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                            "params": {"name": tool_of(name), "arguments": {}}})
                if i % 20 == 19 and found():
                    break
            settle(found, 15)
            check(found(), f"{name}: after {checks} health checks the HTTP server's call is "
                           f"decoded")
            http.terminate()
            http.wait()

        def alerts():
            return aw("alerts", "-n", "1000")

        def injected(pid):
            return [x for x in alerts() if x.get("rule_id") == "prompt-injection-in-content"
                    and x.get("server_pid") == pid]
        for mode, _ in DECODED:
            settle(lambda: injected(pids[mode]), 15)
            check(injected(pids[mode]), f"{mode}: the injected result raised "
                                        f"prompt-injection-in-content")

        def evaded(pid, mechanism):
            return [x for x in alerts() if x.get("rule_id") == "capture-evaded"
                    and x.get("server_pid") == pid and mechanism in x.get("summary", "")]
        for mode, mechanism in EVADED:
            settle(lambda: evaded(pids[mode], mechanism), 15)
            got = evaded(pids[mode], mechanism)
            check(got and got[0].get("severity") == "high",
                  f"{mode}: a high capture-evaded alert names the server and {mechanism}: "
                  f"{[(x.get('rule_id'), x.get('summary')) for x in alerts() if x.get('server_pid') == pids[mode]]}")
        daemon.terminate()
        daemon.wait(timeout=60)
    finally:
        rc = finish_run(procs, tmp, "capture e2e")
    return rc


if __name__ == "__main__":
    sys.exit(main())
