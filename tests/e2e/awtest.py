"""Helpers shared by the e2e scripts: checks that collect failures instead
of stopping at the first, polling with a deadline, a free loopback port,
and the end of a run."""
import os
import shutil
import socket
import time

FAILURES = []


def check(cond, msg):
    if not cond:
        FAILURES.append(msg)
        print("FAIL:", msg, flush=True)
    return cond


def wait_for(fn, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(0.1)
    raise SystemExit(f"timed out waiting for {what}")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def listening(port):
    """True once something accepts connections on 127.0.0.1:port."""
    try:
        socket.create_connection(("127.0.0.1", port), 0.2).close()
        return True
    except OSError:
        return False


def finish_run(procs, tmp, name):
    """Stops what a run started, shows the daemon's log when a check failed,
    removes the run's directory; returns the exit code."""
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait()
    log = os.path.join(tmp, "daemon.log")
    if FAILURES and os.path.exists(log):
        with open(log) as f:
            print(f.read()[-4000:])
    shutil.rmtree(tmp, ignore_errors=True)
    print(f"{len(FAILURES)} failures" if FAILURES else f"{name}: all checks passed")
    return 1 if FAILURES else 0
