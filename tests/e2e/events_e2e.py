#!/usr/bin/env python3
"""e2e: agentwatchd + agentwatch CLI against a real workload.

Starts the daemon with --watch-exe for the workload binary and --record,
runs the workload (watched) and an identical copy under another path
(unwatched), and reads the events back through `agentwatch events --json`,
both live (--follow) and from the backlog. Then stops the daemon with
SIGTERM and replays the recorded trace offline: the replayed stream must be
the live stream, event for event.

Exit 77 = skipped (not root), unless AGENTWATCH_REQUIRE_BPF=1.
"""
import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

from awtest import FAILURES, check, wait_for


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bindir", required=True)
    ap.add_argument("--workload", required=True)
    a = ap.parse_args()
    if os.geteuid() != 0:
        if os.environ.get("AGENTWATCH_REQUIRE_BPF") == "1":
            print("FAIL: BPF required but not running as root")
            return 1
        print("SKIP: needs root")
        return 77

    agentwatchd = os.path.join(a.bindir, "agentwatchd")
    cli = os.path.join(a.bindir, "agentwatch")
    tmp = tempfile.mkdtemp(prefix="aw-e2e-")
    tmp = os.path.realpath(tmp)
    sock = os.path.join(tmp, "run", "aw.sock")
    endpoint = "unix://" + sock
    trace = os.path.join(tmp, "trace.awtrace")
    workdir = os.path.join(tmp, "work")
    os.mkdir(workdir)
    # The unwatched twin: same code, other path.
    twin = os.path.join(tmp, "twin-workload")
    shutil.copy(a.workload, twin)
    # A stdio peer that echoes JSON-RPC lines back (a copy of cat, watched by
    # exact path) for the MCP decoding check.
    echo = os.path.join(tmp, "mcp-echo")
    shutil.copy(shutil.which("cat"), echo)
    log = open(os.path.join(tmp, "agentwatchd.log"), "w")

    # Bad values are refused up front with an error that names them.
    r = subprocess.run([agentwatchd, "--config", "/dev/null", "--ringbuf-size",
                        "1000"], capture_output=True, text=True)
    check(r.returncode == 2 and "ringbuf_size: 1000 must be a power of two"
          in r.stderr, f"bad flag: {r.returncode} {r.stderr.strip()}")
    bad_cfg = os.path.join(tmp, "bad.yaml")
    with open(bad_cfg, "w") as f:
        f.write("watch:\n  rules:\n    - exe: /x\n      cmd: y\n")
    r = subprocess.run([agentwatchd, "--config", bad_cfg, "--check-config"],
                       capture_output=True, text=True)
    check(r.returncode == 2 and "unknown key 'cmd'" in r.stderr,
          f"bad config: {r.returncode} {r.stderr.strip()}")

    # The config file that SIGHUP re-reads later.
    cfg = os.path.join(tmp, "agentwatch.yaml")
    with open(cfg, "w") as f:
        f.write("watch:\n  builtin_rules: false\n")

    daemon = subprocess.Popen(
        [agentwatchd, "--config", cfg, "--endpoint", endpoint,
         "--state-dir", os.path.join(tmp, "state"), "--no-builtin-rules",
         "--watch-exe", a.workload, "--watch-exe", echo, "--record", trace],
        stdout=log, stderr=subprocess.STDOUT)
    try:
        def status():
            r = subprocess.run([cli, "--endpoint", endpoint, "status", "--json"],
                               capture_output=True, text=True)
            return json.loads(r.stdout) if r.returncode == 0 else None
        if daemon.poll() is not None:
            raise SystemExit("daemon exited at start")
        st = wait_for(status, 60, "agentwatchd to serve")
        mode = os.stat(sock).st_mode & 0o777
        check(mode == 0o660, f"socket mode is {oct(mode)}, want 0660")
        caps = {p["capability"] for p in st.get("probes", []) if p.get("attached")}
        for cap in ("process.exec", "process.fork", "process.exit", "net.bytes"):
            check(cap in caps, f"no probe attached for {cap}")
        check("file+net+dns" in caps or "file.open" in caps,
              "no probe attached for file events")

        # Live stream first, so the workload's events arrive while we watch.
        follow = subprocess.Popen(
            [cli, "--endpoint", endpoint, "events", "--follow", "--json",
             "--watched", "--limit", "0"],
            stdout=subprocess.PIPE, text=True)
        live = []
        threading.Thread(
            target=lambda: [live.append(json.loads(l)) for l in follow.stdout],
            daemon=True).start()
        time.sleep(1.0)

        srv = socket.socket()
        srv.bind(("127.0.0.1", 0))
        srv.listen(8)
        port = srv.getsockname()[1]
        got = []

        def accept_all():
            for _ in range(2):  # the workload, then its unwatched twin
                c, _ = srv.accept()
                got.append(c.recv(100))
                c.close()
        acc = threading.Thread(target=accept_all, daemon=True)
        acc.start()

        w = subprocess.Popen([a.workload, workdir, str(port), "127.0.0.53",
                              "QUtJQUlPU0ZPRE5ON0VYQU1QTEU.e2e.agentwatch.test"])
        w.wait()
        t = subprocess.Popen([twin, workdir, str(port), "127.0.0.53",
                              "twin.e2e.agentwatch.test"])
        t.wait()
        acc.join(5)
        check(w.returncode == 3, f"workload exit {w.returncode}")
        check(t.returncode == 3, f"twin exit {t.returncode}")
        wpid, tpid = w.pid, t.pid

        def has_exit():
            return any(e.get("type") == "EVENT_TYPE_EXIT" and
                       e["process"]["pid"] == wpid for e in live)
        wait_for(has_exit, 10, "the workload's exit event on --follow")
        time.sleep(0.5)
        follow.terminate()
        follow.wait(5)

        # Backlog query, filtered by pid (the workload and its descendants).
        r = subprocess.run([cli, "--endpoint", endpoint, "events", "--json",
                            "--pid", str(wpid), "--limit", "10000"],
                           capture_output=True, text=True, check=True)
        backlog = [json.loads(l) for l in r.stdout.splitlines()]
        r = subprocess.run([cli, "--endpoint", endpoint, "events", "--json",
                            "--pid", str(tpid), "--limit", "10000"],
                           capture_output=True, text=True, check=True)
        twin_events = [json.loads(l) for l in r.stdout.splitlines()]
        # Human output works too.
        r = subprocess.run([cli, "--endpoint", endpoint, "events", "--pid",
                            str(wpid)], capture_output=True, text=True,
                           check=True)
        check("notes.txt" in r.stdout and "EVENT" in r.stdout,
              "human events table lacks the open")

        mine = [e for e in live if e["process"]["pid"] == wpid]
        by_type = {}
        for e in mine:
            by_type.setdefault(e["type"], []).append(e)

        def one(kind, pred=lambda e: True):
            c = [e for e in by_type.get(kind, []) if pred(e)]
            check(len(c) >= 1, f"no {kind} event for the workload")
            return c[0] if c else {}

        ex = one("EVENT_TYPE_EXEC")
        check(ex.get("exec", {}).get("filename") == a.workload, "exec filename")
        check(ex.get("process", {}).get("watched") is True, "exec watched")
        check(ex.get("exec", {}).get("watched_from_exec") is True,
              "--watch-exe path not marked by the kernel at exec")
        # The dynamic loader's first open comes microseconds after exec:
        # seen only because the kernel marks --watch-exe paths at exec.
        one("EVENT_TYPE_FILE_OPEN",
            lambda e: e["file"].get("path") == "/etc/ld.so.cache")
        op = one("EVENT_TYPE_FILE_OPEN",
                 lambda e: e["file"].get("raw_path") == "notes.txt")
        check(op.get("file", {}).get("path") == os.path.join(workdir, "notes.txt"),
              f"open path {op.get('file', {}).get('path')}")
        check(op.get("file", {}).get("resolved") is True, "open resolved")
        rn = one("EVENT_TYPE_FILE_RENAME")
        check(rn.get("file", {}).get("new_path") ==
              os.path.join(workdir, "notes.old"), "rename target")
        ul = one("EVENT_TYPE_FILE_UNLINK")
        check(ul.get("file", {}).get("path") == os.path.join(workdir, "notes.old"),
              "unlink path")
        cn = one("EVENT_TYPE_NET_CONNECT",
                 lambda e: e["net"].get("remote", {}).get("port") == port)
        check(cn.get("net", {}).get("remote", {}).get("address") == "127.0.0.1",
              "connect address")
        cl = one("EVENT_TYPE_NET_CLOSE",
                 lambda e: e["net"].get("remote", {}).get("port") == port)
        check(int(cl.get("net", {}).get("bytes_sent", 0)) == 18,
              f"bytes sent {cl.get('net', {}).get('bytes_sent')}")
        dq = one("EVENT_TYPE_DNS_QUERY")
        # The first label is base64 of an AWS key id: it leaves masked.
        names = dq.get("dns", {}).get("names", [])
        check(len(names) == 1 and names[0].startswith("[REDACTED:aws-access-key-id:") and
              names[0].endswith(".e2e.agentwatch.test.") and "QUtJQUlPU0ZPRE5ON0VYQU1QTEU" not in names[0],
              f"dns name {names}")
        check(dq.get("dns", {}).get("qtypes") == ["TXT"], "dns qtype")
        xt = one("EVENT_TYPE_EXIT")
        check(xt.get("exit", {}).get("exit_code") == 3, "exit code")
        kids = [e for e in live if e["type"] == "EVENT_TYPE_EXEC" and
                e["process"].get("ppid") == wpid]
        check(len(kids) == 1 and kids[0]["exec"]["filename"] == "/bin/sh" and
              kids[0]["process"].get("watched") is True and
              wpid in kids[0]["exec"].get("ancestry", []),
              "watched grandchild exec with ancestry")

        # Backlog by pid includes the child's events; nothing of the twin.
        check(any(e["process"]["pid"] != wpid for e in backlog),
              "--pid backlog lacks descendants")
        check({e["seq"] for e in mine} <= {e["seq"] for e in backlog},
              "--pid backlog misses live events")
        bad = [e for e in twin_events
               if not e["type"].startswith(("EVENT_TYPE_EXEC", "EVENT_TYPE_FORK",
                                            "EVENT_TYPE_EXIT"))]
        check(not bad, f"unwatched twin produced {len(bad)} file/net events")
        check(any(e["type"] == "EVENT_TYPE_EXEC" for e in twin_events),
              "twin exec missing (process events are for every process)")

        # MCP over stdio: JSON-RPC written to the watched echo's stdin and
        # read back from its stdout is decoded on both of its pipes, with
        # secrets redacted.
        peer = subprocess.Popen([echo], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE)
        reqs = [{"jsonrpc": "2.0", "id": 0, "method": "initialize",
                 "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                            "clientInfo": {"name": "e2e", "version": "1"}}},
                {"jsonrpc": "2.0", "method": "notifications/initialized"},
                {"jsonrpc": "2.0", "id": "t-1", "method": "tools/call",
                 "params": {"name": "fetch", "arguments": {
                     "url": "http://127.0.0.1/", "api_key": "sk-e2esecretvalue0123456789"}}}]
        for m in reqs:
            peer.stdin.write((json.dumps(m) + "\n").encode())
            peer.stdin.flush()
            peer.stdout.readline()
        peer.stdin.close()
        peer.wait()

        def mcp_events():
            r = subprocess.run([cli, "--endpoint", endpoint, "events", "--json",
                                "--pid", str(peer.pid), "--type", "mcp"],
                               capture_output=True, text=True)
            evs = [json.loads(l) for l in r.stdout.splitlines()]
            evs = [e for e in evs if "mcp" in e]  # not the derived calls
            return evs if len(evs) >= 6 else None
        mevs = wait_for(mcp_events, 10, "decoded MCP messages of the echo")
        got = [(e["mcp"]["direction"], e["mcp"].get("method", ""),
                e["mcp"].get("id", "")) for e in mevs]
        check(got == [("in", "initialize", "0"), ("out", "initialize", "0"),
                      ("in", "notifications/initialized", ""),
                      ("out", "notifications/initialized", ""),
                      ("in", "tools/call", '"t-1"'), ("out", "tools/call", '"t-1"')],
              f"decoded MCP messages: {got}")
        check(all(e["mcp"]["transport"] == "stdio" for e in mevs), "transport")
        check(not any("sk-e2esecret" in json.dumps(e) for e in mevs),
              "a secret in tool arguments was not redacted")
        check(any("[REDACTED:" in e["mcp"].get("params", "") for e in mevs),
              "redaction marker missing")

        # SIGHUP: a rule added to the file applies without a restart; a
        # broken file is refused and the running config stays.
        with open(cfg, "w") as f:
            f.write("watch:\n  builtin_rules: false\n  exe: [%s]\n" % json.dumps(twin))
        daemon.send_signal(signal.SIGHUP)
        time.sleep(1.0)
        t2 = subprocess.Popen([twin, workdir, str(port), "127.0.0.53",
                               "reload.e2e.agentwatch.test"])
        srv.settimeout(5)
        try:
            c, _ = srv.accept()
            c.close()
        except OSError:
            pass
        t2.wait()

        def reloaded_events():
            r = subprocess.run([cli, "--endpoint", endpoint, "events", "--json",
                                "--pid", str(t2.pid), "--type", "dns"],
                               capture_output=True, text=True)
            return [json.loads(l) for l in r.stdout.splitlines()]
        got_dns = wait_for(reloaded_events, 10, "events of the rule added by SIGHUP")
        check(got_dns[0]["dns"]["names"] == ["reload.e2e.agentwatch.test."],
              "dns of the process watched after reload")
        with open(cfg, "w") as f:
            f.write("watch: [broken\n")
        daemon.send_signal(signal.SIGHUP)
        time.sleep(0.5)
        check(daemon.poll() is None, "daemon died on a broken reload")
        check(status() is not None, "daemon stopped serving after a broken reload")

        # Stop: SIGTERM, clean exit, socket gone.
        daemon.send_signal(signal.SIGTERM)
        check(daemon.wait(15) == 0, f"daemon exit status {daemon.returncode}")
        check(not os.path.exists(sock), "socket left behind")

        # Replay: same pipeline, no kernel; identical events for the workload.
        # The live run's state dir: its redaction key, so masks read the same.
        r = subprocess.run([agentwatchd, "--config", "/dev/null",
                            "--state-dir", os.path.join(tmp, "state"),
                            "--no-builtin-rules", "--watch-exe", a.workload,
                            "--replay", trace],
                           capture_output=True, text=True)
        check(r.returncode == 0, f"replay exit {r.returncode}: {r.stderr[-500:]}")
        replayed = {e["seq"]: e for e in map(json.loads, r.stdout.splitlines())}
        check(len(replayed) > len(mine), "replay produced too few events")
        for e in live:
            re_ev = replayed.get(e["seq"])
            if not check(re_ev == e, f"replay differs at seq {e['seq']}"):
                # The first byte where they part, with what is around it.
                lj, rj = json.dumps(e), json.dumps(re_ev)
                at = next((i for i, (x, y) in enumerate(zip(lj, rj)) if x != y),
                          min(len(lj), len(rj)))
                print(" live:  ", lj[max(0, at - 200):at + 200])
                print(" replay:", rj[max(0, at - 200):at + 200])
                break
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait()
        log.close()
    if FAILURES:
        print(open(os.path.join(tmp, "agentwatchd.log")).read()[-3000:])
        print(f"e2e: {len(FAILURES)} failed")
        return 1
    shutil.rmtree(tmp, ignore_errors=True)
    print("e2e: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
