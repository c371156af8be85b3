#!/usr/bin/env python3
"""e2e: alerts delivered to a real rsyslog (Debian's rsyslogd, started here
on loopback) over TCP and TLS, and to a JSON-lines file, with nothing lost
through an outage.

1. rsyslogd listens on 127.0.0.1 with a plain TCP input and a TLS input
   (ossl driver, a certificate of a CA this test makes); each writes the
   raw message and rsyslog's own parse of MSGID and structured data to a
   file. The daemon has three sinks: syslog/tcp (medium and up), syslog/tls
   (everything) and a file (native JSON).
2. An SDK client has the project's tool server run shell commands: each a
   server-spawns-shell alert. Both syslog files must hold them as RFC 5424
   (PRI, version, timestamp, host, app, MSGID = rule, structured data with
   id, key and rule, parsed by rsyslog), with OCSF JSON as MSG.
   An HTTP receiver on loopback plays Splunk HEC (token checked, events
   concatenated), Elasticsearch _bulk (create by key; a key seen before is
   a 409) and a webhook (gzip body, HMAC-SHA256 signature checked).
3. Outage: rsyslog stops; 1,000 more alerts are raised and committed;
   agentwatchd is killed with SIGKILL and started again; rsyslog comes
   back. Every alert reaches both syslog inputs, counted by key; repeats
   only ever carry a key already seen.

Exit 77 = skipped (not root, node/npm packages or rsyslogd missing), unless
AGENTWATCH_REQUIRE_BPF=1.
"""
import gzip
import hashlib
import hmac
import http.server
import json
import os
import re
import signal
import sqlite3
import subprocess
import threading
import time

from awtest import (TESTS, begin, check, failing, finish_run, free_port, make_certs, need_program,
                    settle, start_daemon, wait_for)

HERE = os.path.dirname(os.path.abspath(__file__))
CLIENT = os.path.join(HERE, "mcp_client.mjs")
TOOL_SERVER = os.path.join(HERE, "tool_server.mjs")
RFC5424 = re.compile(r"^<(\d+)>1 (\S+) (\S+) agentwatch (\d+) (\S+) (\[.*?\]) (\{.*\})$")


def socket_host():
    import socket
    return socket.gethostname() + "/"


def start_rsyslog(tmp, tcp_port, tls_port):
    conf = os.path.join(tmp, "rsyslog.conf")
    work = os.path.join(tmp, "rsyslog-work")
    os.makedirs(work, exist_ok=True)
    with open(conf, "w") as f:
        f.write(f'''
global(workDirectory="{work}"
       defaultNetstreamDriverCAFile="{tmp}/ca.crt"
       defaultNetstreamDriverCertFile="{tmp}/server.crt"
       defaultNetstreamDriverKeyFile="{tmp}/server.key")
module(load="imtcp")
template(name="raw" type="string" string="%rawmsg%\\n")
template(name="parsed" type="string" string="%msgid% %structured-data%\\n")
ruleset(name="tcp") {{
  action(type="omfile" file="{tmp}/tcp.log" template="raw")
  action(type="omfile" file="{tmp}/tcp-parsed.log" template="parsed")
}}
ruleset(name="tls") {{
  action(type="omfile" file="{tmp}/tls.log" template="raw")
}}
input(type="imtcp" port="{tcp_port}" address="127.0.0.1" ruleset="tcp")
input(type="imtcp" port="{tls_port}" address="127.0.0.1" ruleset="tls"
      streamDriver.name="ossl" streamDriver.mode="1" streamDriver.authMode="anon")
''')
    p = subprocess.Popen(["rsyslogd", "-n", "-f", conf, "-i", os.path.join(tmp, "rsyslog.pid")],
                         stdout=subprocess.DEVNULL, stderr=open(os.path.join(tmp, "rsyslog.err"), "a"))

    def up():
        import socket
        for port in (tcp_port, tls_port):
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
            except OSError:
                return False
        return True
    wait_for(up, 20, "rsyslogd")
    return p


def messages(path):
    if not os.path.exists(path):
        return []
    with open(path, errors="replace") as f:
        return [l.rstrip("\n") for l in f if l.strip()]


def keys(lines):
    out = []
    for l in lines:
        m = re.search(r'key="([^"]+)"', l)
        if m:
            out.append(m.group(1))
    return out


class Http:
    """What the HTTP sinks delivered, checked as it arrives."""
    def __init__(self):
        self.hec, self.bulk, self.hook, self.errors = [], [], [], []
        self.bulk_ids = set()
        outer = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status, reply = 200, b"{}"
                try:
                    if self.path == "/services/collector/event":
                        if self.headers.get("Authorization") != "Splunk hec-token":
                            raise ValueError("HEC token")
                        dec = json.JSONDecoder()
                        text, i = body.decode(), 0
                        while i < len(text):
                            while i < len(text) and text[i].isspace():
                                i += 1
                            if i >= len(text):
                                break
                            ev, i = dec.raw_decode(text, i)
                            if ev.get("sourcetype") != "agentwatch:alert" or \
                                    ev["event"].get("class_uid") != 2004:
                                raise ValueError(f"HEC event {ev}")
                            outer.hec.append(ev["event"]["metadata"]["uid"])
                        reply = b'{"text":"Success","code":0}'
                    elif self.path == "/_bulk":
                        lines = body.decode().splitlines()
                        items = []
                        for a, d in zip(lines[0::2], lines[1::2]):
                            key = json.loads(a)["create"]["_id"]
                            json.loads(d)
                            seen = key in outer.bulk_ids
                            outer.bulk_ids.add(key)
                            outer.bulk.append(key)
                            items.append({"create": {"_id": key, "status": 409 if seen else 201}})
                        reply = json.dumps({"errors": any(x["create"]["status"] == 409
                                                          for x in items),
                                            "items": items}).encode()
                    elif self.path == "/hook":
                        want = hmac.new(b"hook-secret", body, hashlib.sha256).hexdigest()
                        if self.headers.get("X-Agentwatch-Signature") != "sha256=" + want:
                            raise ValueError("bad signature")
                        if self.headers.get("Content-Encoding") != "gzip":
                            raise ValueError("not gzip")
                        if self.headers.get("X-Team") != "secops":
                            raise ValueError("custom header missing")
                        for a in json.loads(gzip.decompress(body)):
                            outer.hook.append(a["delivery_key"])
                    else:
                        status = 404
                except Exception as e:  # noqa: BLE001 - any malformed delivery fails it
                    outer.errors.append(f"{self.path}: {e}")
                    status = 400
                self.send_response(status)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args):
                pass
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def shells(n, start):
    """The tool server runs n distinct shell commands: n alerts."""
    calls = [{"tool": "run_command", "arguments": {"command": f"echo {start + i}"}}
             for i in range(n)]
    r = subprocess.run(["node", CLIENT, "stdio", "node", TOOL_SERVER],
                       env=dict(os.environ, CALLS=json.dumps(calls)), cwd=TESTS,
                       capture_output=True, text=True, timeout=600)
    check(r.returncode == 0, f"the client ran: {r.stderr[-300:]}")


def main():
    bindir, cli, tmp, endpoint = begin("aw-sinks-e2e-")
    if (rc := need_program("rsyslogd")) is not None:
        return rc
    procs = []
    web = Http()
    state = os.path.join(tmp, "state")
    log = os.path.join(tmp, "daemon.log")
    try:
        make_certs(tmp)
        tcp_port, tls_port = free_port(), free_port()
        rules = os.path.join(tmp, "rules.d")
        os.makedirs(rules)
        with open(os.path.join(rules, "10-test.yaml"), "w") as f:
            # Every one of 1,000 shells is its own alert (no rate limit).
            f.write("rules:\n  - id: server-spawns-shell\n    max_per_minute: 0\n")
        cfg = os.path.join(tmp, "agentwatch.yaml")
        with open(cfg, "w") as f:
            f.write(f"""sinks:
  - name: siem-tcp
    type: syslog
    protocol: tcp
    address: 127.0.0.1:{tcp_port}
    min_severity: medium
  - name: siem-tls
    type: syslog
    protocol: tls
    address: 127.0.0.1:{tls_port}
    ca: {tmp}/ca.crt
  - name: file
    type: file
    path: {tmp}/alerts.jsonl
    format: native
  - name: splunk
    type: http
    flavor: hec
    url: http://127.0.0.1:{web.port}/services/collector/event
    token: hec-token
  - name: elastic
    type: http
    flavor: elasticsearch
    url: http://127.0.0.1:{web.port}/_bulk
    index: agentwatch-alerts
  - name: hook
    type: http
    flavor: webhook
    format: native
    url: http://127.0.0.1:{web.port}/hook
    hmac_secret: hook-secret
    gzip: true
    headers: ["X-Team: secops"]
""")
        daemon_args = ("--config", cfg, "--state-dir", state, "--rules-dir", rules,
                       "--log-level", "info")
        rsyslog = start_rsyslog(tmp, tcp_port, tls_port)
        procs.append(rsyslog)
        daemon = start_daemon(bindir, endpoint, log, *daemon_args)
        procs.append(daemon)
        # A durable follower: it must see every alert version once, across
        # the daemon's SIGKILL and restart.
        follower_out = open(os.path.join(tmp, "follow.jsonl"), "w")
        follower = subprocess.Popen([cli, "--endpoint", endpoint, "--json", "alerts", "--follow",
                                     "--durable", "--cursor-file", os.path.join(tmp, "cursor")],
                                    stdout=follower_out, stderr=subprocess.DEVNULL)
        procs.append(follower)

        # Delivered and well formed.
        shells(3, 0)
        inputs = ("tcp.log", "tls.log", "alerts.jsonl")
        if not settle(lambda: all(len(messages(f"{tmp}/{n}")) >= 3 for n in inputs), 30):
            raise SystemExit("timed out waiting for the first 3 alerts: " + ", ".join(
                f"{n} {len(messages(f'{tmp}/{n}'))}" for n in inputs) +
                "; alerts the daemon holds: " + subprocess.run(
                    [cli, "--endpoint", endpoint, "alerts"], capture_output=True,
                    text=True).stdout[-1500:])
        first = messages(f"{tmp}/tcp.log")[0]
        m = RFC5424.match(first)
        check(m is not None, f"RFC 5424 over TCP: {first[:300]}")
        if m:
            pri, ts, host, _pid, msgid, sd, msg = m.groups()
            check(int(pri) == 16 * 8 + 3, f"PRI local0.err for a high alert: {pri}")
            check(re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", ts), f"timestamp {ts}")
            check(msgid == "server-spawns-shell", f"MSGID is the rule: {msgid}")
            check('id="' in sd and 'rule="server-spawns-shell"' in sd, f"structured data: {sd}")
            ocsf = json.loads(msg)
            check(ocsf.get("class_uid") == 2004 and ocsf.get("severity_id") == 4 and
                  ocsf.get("finding_info", {}).get("analytic", {}).get("uid") ==
                  "server-spawns-shell", f"OCSF detection finding: {msg[:300]}")
        parsed = messages(f"{tmp}/tcp-parsed.log")
        check(parsed and parsed[0].startswith("server-spawns-shell [agentwatch@32473 id="),
              f"rsyslog parsed MSGID and structured data: {parsed[:1]}")
        tls = messages(f"{tmp}/tls.log")
        check(tls and RFC5424.match(tls[0]) is not None, f"RFC 5424 over TLS: {tls[:1]}")
        native = json.loads(messages(f"{tmp}/alerts.jsonl")[0])
        check(native.get("rule_id") == "server-spawns-shell" and native.get("delivery_key"),
              f"native JSON in the file: {native}")
        wait_for(lambda: len(web.hec) >= 3 and len(web.bulk) >= 3 and len(web.hook) >= 3, 30,
                 "the HTTP sinks")
        check(not web.errors, f"the HTTP receiver accepted every request: {web.errors[:3]}")
        check(web.hec[0].startswith(socket_host()) and web.hook[0] == web.hec[0],
              f"HEC and webhook carry the same keys: {web.hec[:1]} {web.hook[:1]}")
        status = subprocess.run([cli, "--endpoint", endpoint, "status"], capture_output=True,
                                text=True).stdout
        check("SINKS" in status and "siem-tls" in status, f"status lists the sinks:\n{status}")

        # Outage: the receiver goes, 1,000 alerts are raised and committed,
        # the daemon is killed, comes back, and so does the receiver.
        rsyslog.send_signal(signal.SIGTERM)
        rsyslog.wait(timeout=30)
        shells(1000, 1000)
        db = os.path.join(state, "agentwatch.db")

        def committed():
            con = sqlite3.connect(db)
            n = con.execute("SELECT COUNT(*) FROM alerts WHERE rule_id = "
                            "'server-spawns-shell'").fetchone()[0]
            con.close()
            return n >= 1003
        wait_for(committed, 120, "1,003 alerts in the store")
        daemon.send_signal(signal.SIGKILL)
        daemon.wait()
        daemon = start_daemon(bindir, endpoint, log, *daemon_args)
        procs.append(daemon)
        rsyslog = start_rsyslog(tmp, tcp_port, tls_port)
        procs.append(rsyslog)

        def all_in():
            return (len(set(keys(messages(f"{tmp}/tcp.log")))) >= 1003 and
                    len(set(keys(messages(f"{tmp}/tls.log")))) >= 1003)
        try:
            wait_for(all_in, 120, "every alert at both inputs")
        except SystemExit:
            pass
        for name in ("tcp", "tls"):
            k = keys(messages(f"{tmp}/{name}.log"))
            ids = {x.rsplit("/", 2)[1] for x in k}
            check(len(ids) == 1003, f"{name}: every alert delivered: {len(ids)} of 1003 "
                                    f"({len(k)} messages)")
            # A repeat is the same alert version again (same key, same
            # alert in its message): what a receiver drops by the key.
            by_key = {}
            for line in messages(f"{tmp}/{name}.log"):
                mm = RFC5424.match(line)
                if mm:
                    kk = re.search(r'key="([^"]+)"', line).group(1)
                    aid = json.loads(mm.group(7))["unmapped"]["alert_id"]
                    check(by_key.setdefault(kk, aid) == aid, f"{name}: key {kk} is one alert")
            print(f"{name}: {len(k)} messages, {len(k) - len(set(k))} repeats by key")
        def followed():
            with open(os.path.join(tmp, "follow.jsonl")) as f:
                return [json.loads(l) for l in f if l.strip()]
        try:
            wait_for(lambda: len({a["id"] for a in followed()}) >= 1003, 60,
                     "the durable follower")
        except SystemExit:
            pass
        seen = followed()
        seqs = [int(a["outbox_seq"]) for a in seen]
        check(len({a["id"] for a in seen}) == 1003,
              f"the durable follower saw every alert across the restart: "
              f"{len({a['id'] for a in seen})} of 1003")
        check(len(seqs) == len(set(seqs)) and seqs == sorted(seqs),
              f"each outbox position once, in order ({len(seqs)} lines)")
        for name, got in (("hec", web.hec), ("elasticsearch", web.bulk), ("webhook", web.hook)):
            ids = {k.rsplit("/", 2)[1] for k in got}
            check(len(ids) == 1003, f"{name}: every alert delivered: {len(ids)} of 1003")
        check(not web.errors, f"no malformed HTTP delivery: {web.errors[:3]}")
        print(f"delivered: tcp {len(keys(messages(f'{tmp}/tcp.log')))} messages, "
              f"tls {len(keys(messages(f'{tmp}/tls.log')))} messages for 1003 alerts")
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=30)
    finally:
        if failing():
            for name in ("rsyslog.err",):
                path = os.path.join(tmp, name)
                if os.path.exists(path):
                    with open(path) as f:
                        print(f"--- {name}\n{f.read()[-3000:]}")
            with open(log) as f:
                print("--- sink log lines\n" + "".join(l for l in f if "sink" in l)[-3000:])
        web.server.shutdown()
        rc = finish_run(procs, tmp, "sinks e2e")
    return rc


if __name__ == "__main__":
    raise SystemExit(main())
