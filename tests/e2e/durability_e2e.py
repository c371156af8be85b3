#!/usr/bin/env python3
"""e2e: alerts are never lost, from raise to the sink, on the real kernel.

Alerts come from the project's tool server (an SDK stdio server) running
distinct shell commands (`echo awdur<N>x`, one server-spawns-shell alert
each) while:

1. kill -9, five times at random moments: the daemon is started again at
   once each time. Every command that ran while a daemon was up (started
   after it answered, ended half a second before its kill) has its alert
   in the file sink (repeats allowed, none missing).
2. A full disk: the state directory is on a 3 MiB tmpfs that is filled up
   while alerts come. /readyz turns 503 and says the store cannot write;
   the alerts still reach the file sink (from memory); once the filler is
   removed /readyz is 200 again and every alert is in the store.
3. A store that cannot open at start (a directory where its file goes):
   not ready, alerts reach the sink all the same; once the path is freed
   the store opens in the background and has them.

Exit 77 = skipped (not root, or the node packages missing), unless
AGENTWATCH_REQUIRE_BPF=1.
"""
import errno
import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import threading
import time
import urllib.error
import urllib.request

from awtest import begin, check, failing, finish_run, free_port, settle, start_daemon, wait_for

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(HERE)
CLIENT = os.path.join(HERE, "mcp_client.mjs")
TOOL_SERVER = os.path.join(HERE, "tool_server.mjs")
MARK = re.compile(r"awdur(\d+)x")


def shells(start, n):
    """The tool server runs n distinct shell commands; (start, n, t0, t1)."""
    calls = [{"tool": "run_command", "arguments": {"command": f"echo awdur{start + i}x"}}
             for i in range(n)]
    t0 = time.time()
    r = subprocess.run(["node", CLIENT, "stdio", "node", TOOL_SERVER],
                       env=dict(os.environ, CALLS=json.dumps(calls)), cwd=TESTS,
                       capture_output=True, text=True, timeout=300)
    t1 = time.time()
    check(r.returncode == 0, f"the client ran: {r.stderr[-300:]}")
    return (start, n, t0, t1)


def marks(path):
    """The command numbers in a file sink's alerts."""
    if not os.path.exists(path):
        return set()
    with open(path, errors="replace") as f:
        return {int(m) for m in MARK.findall(f.read())}


def stored_marks(db):
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        rows = con.execute("SELECT record FROM alerts").fetchall()
    finally:
        con.close()
    out = set()
    for (record,) in rows:
        out |= {int(m) for m in MARK.findall(record.decode("latin-1"))}
    return out


def readyz(port):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=3) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError as e:
        return 0, str(e)


def write_config(tmp, name):
    cfg = os.path.join(tmp, f"{name}.yaml")
    with open(cfg, "w") as f:
        f.write(f"""sinks:
  - name: file
    type: file
    path: {tmp}/{name}-alerts.jsonl
    format: native
""")
    return cfg, f"{tmp}/{name}-alerts.jsonl"


def kill_nine(bindir, tmp, endpoint, rules, log, procs):
    cfg, sink = write_config(tmp, "kill")
    state = os.path.join(tmp, "state-kill")
    args = ("--config", cfg, "--state-dir", state, "--rules-dir", rules, "--metrics-listen", "")
    daemon = start_daemon(bindir, endpoint, log, *args)
    procs.append(daemon)
    uptimes = []  # (up, killed)
    batches = []
    done = threading.Event()

    def produce():
        n = 0
        while not done.is_set():
            batches.append(shells(n, 8))
            n += 8
    producer = threading.Thread(target=produce)
    producer.start()
    rng = random.Random()
    for _ in range(5):
        up = time.time()
        time.sleep(rng.uniform(1.5, 4.5))
        killed = time.time()
        daemon.send_signal(signal.SIGKILL)
        daemon.wait()
        uptimes.append((up, killed))
        daemon = start_daemon(bindir, endpoint, log, *args)
        procs.append(daemon)
    up = time.time()
    uptimes.append((up, float("inf")))

    def counted_now():
        counted = set()
        for start, n, t0, t1 in list(batches):
            if any(t0 >= u and t1 + 0.5 <= k for u, k in uptimes):
                counted |= set(range(start, start + n))
        return counted
    # The killed daemons' windows are short and random (and a loaded
    # machine runs few shells in them): the last daemon stays up until
    # enough commands ran in a window, at least 3 s, at most 60 s.
    deadline = up + 60
    time.sleep(3)
    while len(counted_now()) < 40 and time.time() < deadline:
        time.sleep(0.5)
    done.set()
    producer.join()
    counted = counted_now()
    check(len(counted) >= 40, f"enough commands ran while a daemon was up: {len(counted)}")
    settle(lambda: counted <= marks(sink), 60)
    missing = sorted(counted - marks(sink))
    check(not missing, f"kill -9 x5: every alert of a command run while the daemon was up is "
                       f"in the sink; missing {len(missing)} of {len(counted)}: {missing[:20]}")
    with open(sink) as f:
        lines = sum(1 for _ in f)
    print(f"kill -9 x5: {len(counted)} commands counted of {sum(b[1] for b in batches)}, "
          f"{lines} lines in the sink")
    daemon.send_signal(signal.SIGTERM)
    daemon.wait(timeout=60)


def full_disk(bindir, tmp, endpoint, rules, log, procs):
    small = os.path.join(tmp, "small")
    os.makedirs(small)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m,mode=0700", "tmpfs", small], check=True)
    try:
        cfg, sink = write_config(tmp, "full")
        port = free_port()
        state = os.path.join(small, "state")
        daemon = start_daemon(bindir, endpoint, log, "--config", cfg, "--state-dir", state,
                              "--rules-dir", rules, "--metrics-listen", f"127.0.0.1:{port}")
        procs.append(daemon)
        wait_for(lambda: readyz(port)[0] == 200, 30, "ready on an empty disk")
        produced = set()
        b = shells(100000, 3)
        produced |= set(range(b[0], b[0] + b[1]))
        wait_for(lambda: produced <= marks(sink), 30, "the first alerts")
        filler = os.path.join(small, "filler")
        with open(filler, "wb") as f:
            try:
                while True:
                    f.write(b"\0" * 65536)
                    f.flush()
            except OSError as e:
                check(e.errno == errno.ENOSPC, f"the disk filled up: {e}")
        # The store's WAL may have room left: alerts come until it is used.
        start = 100100
        for _ in range(20):
            b = shells(start, 15)
            produced |= set(range(b[0], b[0] + b[1]))
            start += 15
            if readyz(port)[0] == 503:
                break
        status, why = readyz(port)
        check(status == 503 and "cannot write" in why,
              f"/readyz is 503 with the reason while the disk is full: {status} {why.strip()}")
        b = shells(start, 10)
        produced |= set(range(b[0], b[0] + b[1]))
        settle(lambda: produced <= marks(sink), 30)
        check(produced <= marks(sink), f"every alert reached the sink while the disk was full: "
                                       f"missing {sorted(produced - marks(sink))[:20]}")
        os.unlink(filler)
        settle(lambda: readyz(port)[0] == 200, 30)
        check(readyz(port)[0] == 200, f"/readyz is 200 again: {readyz(port)}")
        db = os.path.join(state, "agentwatch.db")
        settle(lambda: produced <= stored_marks(db), 30)
        lost = sorted(produced - stored_marks(db))
        check(not lost, f"full disk: 0 alerts lost in the store: lost {len(lost)} of "
                        f"{len(produced)}: {lost[:20]}")
        print(f"full disk: {len(produced)} alerts, none lost")
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=60)
    finally:
        subprocess.run(["umount", "-l", small])


def unopenable(bindir, tmp, endpoint, rules, log, procs):
    cfg, sink = write_config(tmp, "closed")
    port = free_port()
    state = os.path.join(tmp, "state-closed")
    blocker = os.path.join(state, "agentwatch.db")
    os.makedirs(blocker)  # a directory where the database file goes
    daemon = start_daemon(bindir, endpoint, log, "--config", cfg, "--state-dir", state,
                          "--rules-dir", rules, "--metrics-listen", f"127.0.0.1:{port}")
    procs.append(daemon)
    status, why = readyz(port)
    check(status == 503 and "store" in why, f"not ready while the store cannot open: {status} "
                                             f"{why.strip()}")
    b = shells(200000, 4)
    produced = set(range(b[0], b[0] + b[1]))
    settle(lambda: produced <= marks(sink), 30)
    check(produced <= marks(sink), f"alerts reach the sink while the store cannot open: "
                                   f"missing {sorted(produced - marks(sink))}")
    os.rmdir(blocker)
    settle(lambda: readyz(port)[0] == 200, 30)
    check(readyz(port)[0] == 200, f"ready once the store opened: {readyz(port)}")
    settle(lambda: produced <= stored_marks(blocker), 30)
    check(produced <= stored_marks(blocker), "the alerts held while it could not open are stored")
    daemon.send_signal(signal.SIGTERM)
    daemon.wait(timeout=60)


def main():
    bindir, _cli, tmp, endpoint = begin("aw-durability-e2e-")
    procs = []
    log = os.path.join(tmp, "daemon.log")
    try:
        rules = os.path.join(tmp, "rules.d")
        os.makedirs(rules)
        with open(os.path.join(rules, "10-test.yaml"), "w") as f:
            # Every shell is its own alert (no rate limit).
            f.write("rules:\n  - id: server-spawns-shell\n    max_per_minute: 0\n")
        kill_nine(bindir, tmp, endpoint, rules, log, procs)
        full_disk(bindir, tmp, endpoint, rules, log, procs)
        unopenable(bindir, tmp, endpoint, rules, log, procs)
    finally:
        if failing() and os.path.exists(log):
            with open(log) as f:
                print("--- daemon log (store and sink lines)\n" +
                      "".join(l for l in f if "store" in l or "sink" in l)[-4000:])
        rc = finish_run(procs, tmp, "durability e2e")
    return rc


if __name__ == "__main__":
    raise SystemExit(main())
