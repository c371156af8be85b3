#!/usr/bin/env python3
"""e2e: operating agentwatchd. Two daemons on this host stand in for two
nodes (the second with NODE_NAME=node-b, as the DaemonSet sets it), each
serving metrics on loopback and over mTLS, and its API over TCP with mTLS.

  - /healthz and /readyz answer; /metrics parses as the Prometheus text
    format and its counters move with an MCP workload (events by type, MCP
    calls, rule matches by rule and severity, pipeline latency);
  - the mTLS listeners take a client certificate from the configured CA and
    refuse none or one from another CA (metrics and the gRPC API); clients
    holding half-begun handshakes on the metrics mTLS listener do not keep
    /healthz on loopback from answering;
  - the web console answers on loopback (refusing a Host that is not its
    own), and on a non-loopback address only over mTLS; a non-loopback
    console without TLS is a config error;
  - `agentwatch --endpoint A --endpoint B alerts` merges both nodes' alerts;
  - `agentwatch probes --detach file.open` turns /readyz to 503,
    agentwatch_ready to 0 and the gRPC health service (`agentwatch
    health`) to NOT_SERVING until the probes are attached again;
  - agentwatchd started without CAP_BPF and CAP_PERFMON says so and stops;
    the first daemon runs with only the least-privileged profile's
    capabilities (BPF, PERFMON, SYS_RESOURCE, SYS_PTRACE, DAC_READ_SEARCH),
    so the workload checks show that set is enough.

Exit 77 = skipped (not root, or node/npm packages missing), unless
AGENTWATCH_REQUIRE_BPF=1.
"""
import json
import os
import re
import socket
import ssl
import subprocess
import time
import urllib.request

from awtest import (TESTS, begin, check, finish_run, free_port, make_certs, wait_for)

HERE = os.path.dirname(os.path.abspath(__file__))
CLIENT = os.path.join(HERE, "mcp_client.mjs")
LEAST_CAPS = ["bpf", "perfmon", "sys_resource", "sys_ptrace", "dac_read_search"]
TOOL_SERVER = os.path.join(HERE, "tool_server.mjs")


def parse_metrics(text):
    """{"name{labels}": value}; checks the text format on the way."""
    out, declared = {}, set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            declared.add(line.split()[2])
            continue
        if not line or line.startswith("#"):
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? (\S+)$', line)
        if not check(m is not None, f"not a sample line: {line!r}"):
            continue
        name = m.group(1)
        base = re.sub(r"_(bucket|sum|count)$", "", name)
        check(name in declared or base in declared, f"sample {name} has no TYPE")
        out[name + (m.group(2) or "")] = float(m.group(3))
    return out


def http_get(url, ctx=None):
    try:
        with urllib.request.urlopen(url, timeout=10, context=ctx) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except (urllib.error.URLError, OSError) as e:
        return None, str(e)


def tls_context(certs, client="client"):
    ctx = ssl.create_default_context(cafile=os.path.join(certs, "ca.crt"))
    if client:
        ctx.load_cert_chain(os.path.join(certs, f"{client}.crt"), os.path.join(certs, f"{client}.key"))
    return ctx


def mtls_get(port, certs, client="client", path="/metrics"):
    """GET path over TLS to 127.0.0.1:port as server name agentwatch:
    (status, body), or (None, error) when the handshake or read fails."""
    ctx = tls_context(certs, client)
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
            with ctx.wrap_socket(raw, server_hostname="agentwatch") as s:
                s.sendall(f"GET {path} HTTP/1.1\r\nHost: agentwatch\r\n\r\n".encode())
                data = b""
                while chunk := s.recv(65536):
                    data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        return int(head.split()[1]), body.decode()
    except (ssl.SSLError, OSError, IndexError, ValueError) as e:
        return None, str(e)


def write_config(path, state, ports, certs, console_host="127.0.0.1"):
    with open(path, "w") as f:
        f.write(f"""state_dir: {state}
metrics:
  listen: 127.0.0.1:{ports['plain']}
  tls_listen: 127.0.0.1:{ports['tls']}
api:
  tcp_listen: 127.0.0.1:{ports['grpc']}
console:
  listen: {console_host}:{ports['console']}
tls:
  cert: {certs}/server.crt
  key: {certs}/server.key
  client_ca: {certs}/ca.crt
""")


def main():
    bindir, cli, tmp, endpoint = begin("aw-operate-e2e-")
    certs = make_certs(os.path.join(tmp, "certs"))
    # A second CA whose client certificate must be refused.
    rogue = make_certs(os.path.join(tmp, "rogue"))
    os.rename(os.path.join(rogue, "client.crt"), os.path.join(certs, "rogue.crt"))
    os.rename(os.path.join(rogue, "client.key"), os.path.join(certs, "rogue.key"))
    procs = []
    nodes = {}
    try:
        for name in ("a", "b"):
            d = os.path.join(tmp, name)
            os.makedirs(d)
            ports = {"plain": free_port(), "tls": free_port(), "grpc": free_port(),
                     "console": free_port()}
            cfg = os.path.join(d, "agentwatch.yaml")
            # Node b serves its console on every address: with mTLS only.
            write_config(cfg, os.path.join(d, "state"), ports, certs,
                         "127.0.0.1" if name == "a" else "0.0.0.0")
            env = dict(os.environ)
            env.pop("NODE_NAME", None)
            if name == "b":
                env["NODE_NAME"] = "node-b"
            ep = f"unix://{d}/aw.sock"
            log = os.path.join(tmp, "daemon.log")
            # Node a runs with only the capabilities of the least-privileged
            # profile: the workload checks below run against it.
            prefix = (["setpriv", "--bounding-set=-all," + ",".join("+" + c for c in LEAST_CAPS)]
                      if name == "a" else [])
            p = subprocess.Popen(prefix + [os.path.join(bindir, "agentwatchd"), "--config", cfg,
                                  "--endpoint", ep, "--no-builtin-rules", "--rules-dir",
                                  os.path.join(d, "rules.d")], stderr=open(log, "a"), env=env)
            procs.append(p)
            nodes[name] = dict(ports=ports, ep=ep, proc=p)
        for name, n in nodes.items():
            plain = f"http://127.0.0.1:{n['ports']['plain']}"

            def ready():
                if n["proc"].poll() is not None:
                    raise SystemExit(f"daemon {name} exited")
                return http_get(plain + "/readyz")[0] == 200
            wait_for(ready, 40, f"daemon {name} ready")
        a = nodes["a"]
        plain = f"http://127.0.0.1:{a['ports']['plain']}"
        check(http_get(plain + "/healthz") == (200, "ok\n"), "/healthz")
        # Anyone who can reach the mTLS listener can connect without a
        # certificate: clients that begin a handshake and send nothing more
        # hold connections of the server /healthz shares (16). The kubelet's
        # /healthz on loopback is answered all the same.
        idle = []
        try:
            for _ in range(20):
                s = socket.create_connection(("127.0.0.1", a["ports"]["tls"]), timeout=10)
                s.sendall(b"\x16\x03\x01")  # a ClientHello's first bytes, then nothing
                idle.append(s)
            time.sleep(0.3)  # accepted by now
            got = http_get(plain + "/healthz")
            check(got == (200, "ok\n"),
                  f"/healthz while 20 clients hold handshakes open on the mTLS listener: {got}")
        finally:
            for s in idle:
                s.close()
        check(http_get(plain + "/nope")[0] == 404, "unknown paths are 404")
        status, text = http_get(plain + "/metrics")
        check(status == 200, f"/metrics: {status}")
        before = parse_metrics(text)
        for fam in ("agentwatch_build_info", "agentwatch_ready", "agentwatch_probe_attached",
                    "agentwatch_events_total", "agentwatch_kernel_events_total",
                    "agentwatch_events_dropped_total", "agentwatch_process_table_size",
                    "agentwatch_mcp_sessions", "agentwatch_pipeline_latency_seconds_bucket",
                    "agentwatch_mcp_calls_total"):
            check(any(k.split("{")[0] == fam for k in before), f"/metrics has {fam}")
        check(before.get("agentwatch_ready") == 1, "agentwatch_ready is 1")
        with open(f"/proc/{a['proc'].pid}/status") as f:
            eff = int(re.search(r"CapEff:\s*([0-9a-f]+)", f.read()).group(1), 16)
        check(eff & ~((1 << 39) | (1 << 38) | (1 << 24) | (1 << 19) | (1 << 2)) == 0,
              f"node a runs with the least-privileged capabilities only ({eff:#x})")

        # The workload: an MCP agent whose tool server runs a shell.
        project = os.path.join(tmp, "project")
        os.makedirs(project)
        r = subprocess.run(["node", CLIENT, "stdio", "node", TOOL_SERVER, project],
                           env=dict(os.environ, CALLS=json.dumps([
                               {"tool": "note", "arguments": {"text": "hello"}},
                               {"tool": "run_command", "arguments": {"command": "id"}},
                               {"tool": "note", "arguments": {"text": "bye"}}])),
                           capture_output=True, text=True, timeout=60, cwd=TESTS)
        check(r.returncode == 0, f"the agent: {r.stderr[-500:]}")

        def moved():
            m = parse_metrics(http_get(plain + "/metrics")[1])
            return m if m.get('agentwatch_rule_matches_total{rule="server-spawns-shell",severity="high"}', 0) >= 1 \
                and m.get("agentwatch_mcp_calls_total", 0) >= before.get("agentwatch_mcp_calls_total", 0) + 3 else None
        try:
            after = wait_for(moved, 20, "the metrics to move")
        except SystemExit:
            after = parse_metrics(http_get(plain + "/metrics")[1])
        check(after.get('agentwatch_rule_matches_total{rule="server-spawns-shell",severity="high"}', 0) >= 1,
              "rule matches by rule and severity: server-spawns-shell")
        check(after.get("agentwatch_mcp_calls_total", 0) >= before.get("agentwatch_mcp_calls_total", 0) + 3,
              "MCP calls counted")
        check(after.get('agentwatch_events_total{type="exec"}', 0) > before.get('agentwatch_events_total{type="exec"}', 0),
              "exec events counted")
        check(after.get("agentwatch_pipeline_latency_seconds_count", 0) >
              before.get("agentwatch_pipeline_latency_seconds_count", 0), "latency observed")
        check(after.get('agentwatch_pipeline_latency_seconds_bucket{le="+Inf"}') ==
              after.get("agentwatch_pipeline_latency_seconds_count"), "+Inf bucket == count")

        # mTLS: the configured CA's client certificate in, others out.
        status, body = mtls_get(a["ports"]["tls"], certs)
        check(status == 200 and "agentwatch_ready" in body, f"metrics over mTLS: {status} {body[:200]}")
        status, err = mtls_get(a["ports"]["tls"], certs, client=None)
        check(status is None, f"metrics over TLS without a client certificate must fail: {status}")
        status, err = mtls_get(a["ports"]["tls"], certs, client="rogue")
        check(status is None, f"a client certificate from another CA must fail: {status}")

        # The console: plain HTTP on loopback (a); on a non-loopback address
        # (b, 0.0.0.0) only over TLS with a client certificate of the CA.
        console_a = f"http://127.0.0.1:{a['ports']['console']}"
        status, body = http_get(console_a + "/api/status")
        check(status == 200 and json.loads(body).get("version"), f"console status: {status} {body[:200]}")
        status, body = http_get(console_a + "/")
        check(status == 200 and "<" in body, f"console page: {status}")
        req = urllib.request.Request(console_a + "/api/status", headers={"Host": "rebound.example"})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                status = r.status
        except urllib.error.HTTPError as e:
            status = e.code
        check(status == 403, f"the console refuses a Host that is not its own: {status}")
        b = nodes["b"]
        cport = b["ports"]["console"]
        status, body = mtls_get(cport, certs, path="/api/status")
        check(status == 200 and '"version"' in body, f"console over mTLS: {status} {body[:200]}")
        for client in (None, "rogue"):
            status, err = mtls_get(cport, certs, client=client, path="/api/status")
            check(status is None, f"console without a client certificate of the CA ({client}) "
                                  f"must fail: {status}")
        status, body = http_get(f"http://127.0.0.1:{cport}/api/status")
        check(status != 200, f"plain HTTP to the mTLS console must fail: {status}")
        bad_cfg = os.path.join(tmp, "console-no-tls.yaml")
        with open(bad_cfg, "w") as f:
            f.write("console:\n  listen: 0.0.0.0:9591\n")
        r = subprocess.run([os.path.join(bindir, "agentwatchd"), "--config", bad_cfg,
                            "--check-config"], capture_output=True, text=True, timeout=30)
        check(r.returncode != 0 and "console.listen" in r.stderr + r.stdout,
              f"a non-loopback console without TLS is a config error: {r.stderr[-400:]}")
        tls_flags = ["--tls-ca", f"{certs}/ca.crt", "--tls-cert", f"{certs}/client.crt",
                     "--tls-key", f"{certs}/client.key", "--tls-server-name", "agentwatch"]
        ep_a = f"127.0.0.1:{a['ports']['grpc']}"
        ep_b = f"127.0.0.1:{nodes['b']['ports']['grpc']}"
        r = subprocess.run([cli, "--endpoint", a["ep"], "health"], capture_output=True, text=True)
        check(r.returncode == 0 and r.stdout.strip() == "SERVING", f"gRPC health: {r.stdout} {r.stderr}")
        r = subprocess.run([cli, "--endpoint", ep_a] + tls_flags + ["status", "--json"],
                           capture_output=True, text=True, timeout=30)
        check(r.returncode == 0 and json.loads(r.stdout or "{}").get("ready") is True,
              f"status over TCP with mTLS: {r.returncode} {r.stderr}")
        r = subprocess.run([cli, "--endpoint", ep_a, "status"], capture_output=True, text=True, timeout=30)
        check(r.returncode == 2 and "--tls-cert" in r.stderr, f"TCP without TLS flags is refused: {r.stderr}")
        # Changing the daemon is for its unix socket only.
        r = subprocess.run([cli, "--endpoint", ep_a] + tls_flags + ["probes", "--detach", "file.open"],
                           capture_output=True, text=True, timeout=30)
        check(r.returncode != 0 and "unix socket" in r.stderr,
              f"probes --detach over TCP is refused: {r.returncode} {r.stderr}")
        rogue_flags = list(tls_flags)
        rogue_flags[3], rogue_flags[5] = f"{certs}/rogue.crt", f"{certs}/rogue.key"
        r = subprocess.run([cli, "--endpoint", ep_a] + rogue_flags + ["status"],
                           capture_output=True, text=True, timeout=30)
        check(r.returncode != 0, f"the API refuses another CA's client: {r.stdout}")

        # Both nodes in one command.
        def both():
            r = subprocess.run([cli, "--endpoint", ep_a, "--endpoint", ep_b] + tls_flags +
                               ["alerts", "--json"], capture_output=True, text=True, timeout=30)
            al = [json.loads(l) for l in r.stdout.splitlines() if l.strip()]
            nodes_seen = {x.get("node") for x in al if x.get("rule_id") == "server-spawns-shell"}
            return al if r.returncode == 0 and "node-b" in nodes_seen and len(nodes_seen) == 2 else None
        try:
            merged = wait_for(both, 20, "alerts from both nodes")
        except SystemExit:
            merged = []
        check(merged, "alerts --endpoint A --endpoint B has both nodes' shell alerts")
        r = subprocess.run([cli, "--endpoint", ep_a, "--endpoint", ep_b] + tls_flags + ["alerts"],
                           capture_output=True, text=True, timeout=30)
        check("NODE" in r.stdout.splitlines()[0] if r.stdout else False,
              f"the merged table has a NODE column: {r.stdout[:300]}")
        r = subprocess.run([cli, "--endpoint", ep_a, "--endpoint", ep_b] + tls_flags +
                           ["status", "--json"], capture_output=True, text=True, timeout=30)
        st = [json.loads(l) for l in r.stdout.splitlines() if l.strip()]
        check(r.returncode == 0 and [s.get("endpoint") for s in st] == [ep_a, ep_b] and
              [s.get("node") == "node-b" for s in st] == [False, True] and
              all(s.get("ready") for s in st),
              f"status --json from both, tagged: {[(s.get('endpoint'), s.get('node'), s.get('ready')) for s in st]}")

        # Readiness follows the probes.
        aw_a = [cli, "--endpoint", a["ep"]]
        r = subprocess.run(aw_a + ["probes", "--detach", "file.open"], capture_output=True, text=True)
        check(r.returncode == 0 and "detached" in r.stdout, f"probes --detach: {r.stdout} {r.stderr}")
        check(http_get(plain + "/readyz")[0] == 503, "/readyz is 503 with a probe detached")
        try:
            wait_for(lambda: subprocess.run(aw_a + ["health"], capture_output=True, text=True)
                     .stdout.strip() == "NOT_SERVING", 5, "gRPC health NOT_SERVING")
        except SystemExit:
            check(False, "the gRPC health service turns NOT_SERVING with a probe detached")
        m = parse_metrics(http_get(plain + "/metrics")[1])
        check(m.get("agentwatch_ready") == 0, "agentwatch_ready is 0 with a probe detached")
        check(any(k.startswith("agentwatch_probe_attached{capability=\"file.open\"") and v == 0
                  for k, v in m.items()), "the detached probe shows 0")
        r = subprocess.run(aw_a + ["status"], capture_output=True, text=True)
        check("NOT READY: probes detached" in r.stdout, f"status says why: {r.stdout[:400]}")
        r = subprocess.run(aw_a + ["probes", "--attach", "file.open"], capture_output=True, text=True)
        check(r.returncode == 0, f"probes --attach: {r.stderr}")
        check(http_get(plain + "/readyz")[0] == 200, "/readyz is 200 again")
        try:
            wait_for(lambda: subprocess.run(aw_a + ["health"], capture_output=True, text=True)
                     .returncode == 0, 5, "gRPC health SERVING")
        except SystemExit:
            check(False, "the gRPC health service serves again once attached")
        r = subprocess.run(aw_a + ["probes", "--detach", "no-such-probe"], capture_output=True, text=True)
        check(r.returncode != 0 and "no probe" in r.stderr, f"an unknown probe is an error: {r.stderr}")

        # Without CAP_BPF and CAP_PERFMON (and CAP_SYS_ADMIN), it says which.
        r = subprocess.run(["setpriv", "--bounding-set=-bpf,-perfmon,-sys_admin",
                            os.path.join(bindir, "agentwatchd"), "--no-store", "--endpoint",
                            f"unix://{tmp}/nocaps.sock", "--state-dir", os.path.join(tmp, "nocaps"),
                            "--rules-dir", os.path.join(tmp, "none")],
                           capture_output=True, text=True, timeout=60)
        check(r.returncode != 0 and "CAP_BPF" in r.stderr and "CAP_PERFMON" in r.stderr,
              f"missing capabilities named: rc={r.returncode} {r.stderr[-600:]}")
    finally:
        rc = finish_run(procs, tmp, "operate e2e")
    return rc


if __name__ == "__main__":
    raise SystemExit(main())
