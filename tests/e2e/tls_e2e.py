#!/usr/bin/env python3
"""e2e: TLS plaintext of watched MCP clients (uprobes on OpenSSL).

An MCP server over HTTPS on loopback (tests/e2e/tls_mcp_server.py, Python's
ssl = OpenSSL) is called by
  - the @modelcontextprotocol/sdk client (node: its embedded OpenSSL),
  - curl (libssl.so),
both watched by a rule; `agentwatch calls` must show their calls decoded
from the plaintext. wget (GnuTLS, which is not hooked) must show up in
`agentwatch status` as a process whose TLS is not captured.

Exit 77 = skipped (not root, or tools missing), unless AGENTWATCH_REQUIRE_BPF=1.
"""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile

from awtest import check, finish_run, free_port, listening, wait_for

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(HERE)



def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bindir", required=True)
    a = ap.parse_args()
    need = ["node", "curl", "wget", "openssl"]
    if os.geteuid() != 0 or not all(shutil.which(t) for t in need) or \
            not os.path.isdir(os.path.join(TESTS, "node_modules")):
        why = "needs root, " + ", ".join(need) + " and `npm ci` in tests/"
        if os.environ.get("AGENTWATCH_REQUIRE_BPF") == "1":
            print("FAIL:", why)
            return 1
        print("SKIP:", why)
        return 77

    cli = os.path.join(a.bindir, "agentwatch")
    tmp = os.path.realpath(tempfile.mkdtemp(prefix="aw-tls-e2e-"))
    endpoint = f"unix://{tmp}/aw.sock"
    procs = []
    try:
        cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                        "-keyout", key, "-out", cert, "-days", "1",
                        "-subj", "/CN=127.0.0.1"], check=True, capture_output=True)
        port = free_port()
        cfg = os.path.join(tmp, "agentwatch.yaml")
        curl, wget = shutil.which("curl"), shutil.which("wget")
        # curl and wget by exact path (marked by the kernel at exec: they
        # connect within milliseconds), the node client by its URL.
        with open(cfg, "w") as f:
            f.write("watch:\n  builtin_rules: false\n  rules:\n"
                    "    - name: tls-clients\n"
                    f"      argv_contains: \"https://127.0.0.1:{port}/\"\n"
                    f"    - name: curl\n      exe: {json.dumps(curl)}\n"
                    f"    - name: wget\n      exe: {json.dumps(wget)}\n")
        daemon = subprocess.Popen(
            [os.path.join(a.bindir, "agentwatchd"), "--config", cfg,
             "--endpoint", endpoint, "--state-dir", os.path.join(tmp, "state")],
            stderr=open(os.path.join(tmp, "daemon.log"), "w"))
        procs.append(daemon)
        wait_for(lambda: subprocess.run([cli, "--endpoint", endpoint, "status"],
                                        capture_output=True).returncode == 0,
                 30, "the daemon")
        server = subprocess.Popen([sys.executable, os.path.join(HERE, "tls_mcp_server.py"),
                                   str(port), cert, key])
        procs.append(server)
        wait_for(lambda: listening(port), 20, "the HTTPS server")
        url = f"https://127.0.0.1:{port}/mcp"

        # The SDK client (node's OpenSSL).
        env = dict(os.environ, NODE_TLS_REJECT_UNAUTHORIZED="0", CALLS=json.dumps(
            [{"tool": "echo", "arguments": {"message": "over tls"}},
             {"tool": "add", "arguments": {"a": 2, "b": 40}}]))
        r = subprocess.run(["node", os.path.join(HERE, "mcp_client.mjs"), "http", url],
                           env=env, cwd=TESTS, capture_output=True, text=True, timeout=60)
        check(r.returncode == 0, f"node client: {r.stderr[-500:]}")
        node_rep = json.loads(r.stdout.strip().splitlines()[-1])

        # curl (libssl.so): one request, one tools/call.
        body = json.dumps({"jsonrpc": "2.0", "id": 77, "method": "tools/call",
                           "params": {"name": "add", "arguments": {"a": 1, "b": 1}}})
        c = subprocess.Popen([curl, "-sk", "-X", "POST", "-H",
                              "Content-Type: application/json", "-d", body, url],
                             stdout=subprocess.PIPE, text=True)
        out, _ = c.communicate(timeout=30)
        check('"result"' in out, f"curl answer: {out}")

        # wget (GnuTLS): not hooked, and status must say so.
        w = subprocess.Popen([wget, "-q", "-O", "/dev/null", "--no-check-certificate",
                              "--method=DELETE", url])
        w.wait(timeout=30)

        def calls():
            r = subprocess.run([cli, "--endpoint", endpoint, "calls", "--json"],
                               capture_output=True, text=True)
            cs = [json.loads(l) for l in r.stdout.splitlines() if l.strip()]
            n = sum(1 for x in cs if x.get("method") == "tools/call")
            return cs if n >= 3 else None
        cs = wait_for(calls, 15, "the TLS clients' calls")
        r = subprocess.run([cli, "--endpoint", endpoint, "sessions", "--all", "--json"],
                           capture_output=True, text=True)
        sessions = {x["id"]: x for x in map(json.loads, r.stdout.splitlines())}
        mine = [x for x in cs if sessions.get(x.get("session_id"), {}).get("client_pid")
                == node_rep["pid"]]
        check([(x["method"], x.get("tool", "")) for x in mine] ==
              [("initialize", ""), ("tools/list", ""), ("tools/call", "echo"),
               ("tools/call", "add")], f"node client calls over TLS: {mine}")
        check(all(x["status"] == "ok" for x in mine), "node client statuses")
        check(any(json.loads(x.get("arguments", "{}")) == {"message": "over tls"}
                  for x in mine), "arguments decoded from TLS plaintext")
        by_curl = [x for x in cs if sessions.get(x.get("session_id"), {}).get("client_pid")
                   == c.pid]
        check(len(by_curl) == 1 and by_curl[0].get("request_id") == "77" and
              by_curl[0].get("status") == "ok", f"curl call over TLS: {by_curl}")

        st = subprocess.run([cli, "--endpoint", endpoint, "status", "--json"],
                            capture_output=True, text=True)
        tls = json.loads(st.stdout).get("tls", [])
        check(any(t.get("attached") and t["path"].endswith("libssl.so.3") for t in tls),
              f"libssl hooked: {tls}")
        gnutls = [t for t in tls if t.get("library") == "gnutls"]
        check(len(gnutls) == 1 and not gnutls[0].get("attached") and
              w.pid in gnutls[0].get("pids", []),
              f"status names wget's GnuTLS as not captured: {tls}")

        daemon.send_signal(signal.SIGTERM)
        check(daemon.wait(timeout=20) == 0, "daemon exit code")
    finally:
        code = finish_run(procs, tmp, "tls e2e")
    return code


if __name__ == "__main__":
    sys.exit(main())
