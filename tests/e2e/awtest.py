"""Helpers shared by the e2e scripts: checks that collect failures instead
of stopping at the first, polling with a deadline, a free loopback port,
and the end of a run."""
import argparse
import http.server
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
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


def settle(fn, timeout):
    """Waits up to timeout seconds for fn() to be true and returns its last
    value either way (the check that follows says what was missing)."""
    deadline = time.time() + timeout
    while True:
        v = fn()
        if v or time.time() >= deadline:
            return v
        time.sleep(0.1)


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


def failing():
    """True when a check failed or the run is being cut short by an
    exception (a wait_for that timed out): called from a finally block, it
    sees the exception on its way out."""
    return bool(FAILURES) or sys.exc_info()[1] is not None


def finish_run(procs, tmp, name):
    """Stops what a run started, shows the daemon's log when a check failed
    or a wait timed out, removes the run's directory; returns the exit
    code."""
    failed = failing()
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait()
    log = os.path.join(tmp, "daemon.log")
    if failed and os.path.exists(log):
        with open(log) as f:
            print(f.read()[-4000:])
    shutil.rmtree(tmp, ignore_errors=True)
    if FAILURES:
        print(f"{len(FAILURES)} failures")
    elif failed:
        print(f"{name}: cut short: {sys.exc_info()[1]}")
    else:
        print(f"{name}: all checks passed")
    return 1 if failed else 0


TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODULES = os.path.join(TESTS, "node_modules", "@modelcontextprotocol")


ROOT = os.path.dirname(TESTS)


def make_certs(directory):
    """The project's own TLS material (scripts/gen-certs.sh) in directory: a
    CA (ca.crt), a server certificate for "agentwatch", localhost and
    127.0.0.1 (server.crt, server.key) and a client certificate
    (client.crt, client.key)."""
    subprocess.run([os.path.join(ROOT, "scripts", "gen-certs.sh"), directory], check=True,
                   capture_output=True)
    return directory


def write_file(path, text):
    """Writes text to path, making its directory first."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    return path


def fake_aws_credentials(home):
    """A planted ~/.aws/credentials (AWS's documented example key) under
    home; returns its path."""
    return write_file(os.path.join(home, ".aws", "credentials"),
                      "[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\n")


def skip_or_fail(why):
    """77 (skipped), or 1 when AGENTWATCH_REQUIRE_BPF=1 forbids skips."""
    if os.environ.get("AGENTWATCH_REQUIRE_BPF") == "1":
        print("FAIL:", why)
        return 1
    print("SKIP:", why)
    return 77


def need_program(name):
    """None when name is on PATH, else skip_or_fail's code."""
    if shutil.which(name):
        return None
    return skip_or_fail(f"needs {name} (scripts/install-deps.sh installs it)")


def outside_web():
    """A web server answering "ok" on 127.0.0.2: loopback, but outside when
    a test's rules narrow the egress allow-list to 127.0.0.1. Returns
    (server, port); server.shutdown() ends it."""
    class Quiet(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass
    port = free_port()
    web = http.server.ThreadingHTTPServer(("127.0.0.2", port), Quiet)
    threading.Thread(target=web.serve_forever, daemon=True).start()
    return web, port


def node_tier_ready():
    """None when root, node and the npm packages are there; else the exit
    code (77 = skipped, or 1 when AGENTWATCH_REQUIRE_BPF=1 forbids skips)."""
    if os.geteuid() == 0 and shutil.which("node") and os.path.isdir(MODULES):
        return None
    return skip_or_fail("needs root, node and `npm ci` in tests/")


def cli_json(cli, endpoint):
    """aw(*args): `agentwatch ARGS --json` as a list of objects (a failure
    is a failed check)."""
    def aw(*args):
        r = subprocess.run([cli, "--endpoint", endpoint] + list(args) + ["--json"],
                           capture_output=True, text=True, timeout=30)
        check(r.returncode == 0, f"agentwatch {' '.join(args)}: {r.stderr}")
        return [json.loads(l) for l in r.stdout.splitlines() if l.strip()]
    return aw


def start_daemon(bindir, endpoint, log, *args):
    """Starts agentwatchd (no built-in watch rules) and waits until it
    answers; log is appended to."""
    args = list(args)
    # The console's and /metrics' default ports are one per host: off
    # unless a test asks, so that two runs on one machine do not collide.
    for flag in ("--console-listen", "--metrics-listen"):
        if not any(a.startswith(flag) for a in args):
            args += [flag, ""]
    d = subprocess.Popen([os.path.join(bindir, "agentwatchd"), "--no-builtin-rules",
                          "--endpoint", endpoint] + args, stderr=open(log, "a"))
    wait_for(lambda: subprocess.run([os.path.join(bindir, "agentwatch"), "--endpoint",
                                     endpoint, "status"], capture_output=True).returncode == 0,
             30, "the daemon")
    return d


def begin(prefix):
    """The start of a node-tier e2e run: parses --bindir, exits (77, or 1
    when skips are forbidden) unless the tier can run, and makes the run's
    directory. Returns (bindir, cli, tmp, endpoint)."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--bindir", required=True)
    a = ap.parse_args()
    if (rc := node_tier_ready()) is not None:
        raise SystemExit(rc)
    tmp = os.path.realpath(tempfile.mkdtemp(prefix=prefix))
    return a.bindir, os.path.join(a.bindir, "agentwatch"), tmp, f"unix://{tmp}/aw.sock"
