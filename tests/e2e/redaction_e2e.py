#!/usr/bin/env python3
"""e2e: no secret leaves the daemon. Every positive sample of the credential
catalogue (userspace/redact/testdata/samples.yaml, both halves) is pushed
through the real daemon, with real MCP servers and no watch rule
(discovery), in each of the forms below, and every output of the daemon is
searched for any 12-character window of each secret.

The secret of a sample line is what its rule's regex
(userspace/redact/builtin_secrets.yaml) captures, group 1, computed here
with Python's `re`; a sample whose regex Python cannot compile, or that it
does not match, is skipped and counted. Each form gets its own variant of
each sample line: the secret's alphanumeric characters replaced by others
of their class (hex stays hex), except the rule's keywords, the words the
catalogue's regexes spell out (BEGIN, Proc-Type), key names (realm=) and
escapes (the n of \\n), kept only where the rule's regex still captures the
same span with the rule's entropy; so a hit names the form that leaked
it. A window with fewer than 6 characters that vary between the variants
is the format's, not the secret's, and is not searched for.

Forms (one form per message; many formats batched into one message where
the form allows it, within the daemon's preview bounds):
  args              tool-call arguments, client -> server (SDK server)
  result            a tool result (SDK server returning stored text)
  file              file content read through server-filesystem read_file
  nested            nested JSON: {"config": "..."} JSON-encoded in a result
  unicode           a raw server's result with every secret character
                    written as \\uXXXX
  http-body         Streamable HTTP (server-everything): a request body
  http-header       ... a header, X-Debug: <line>
  http-query        ... a query string, ?q=<percent-encoded line>
  resource-uri      a resources/read URI (raw server, which echoes it)
  server-argv       the argv of a server (raw servers started with them)
  shell-argv        the argv of a shell a server runs (sh -c 'echo ...')
  outside           bytes a fetch tool POSTs to 127.0.0.2 (egress_allow
                    narrowed to 127.0.0.1, as e2e.alerts does)
  tool-description  a tool's description (tools/list)
  tool-schema       a tool's input schema: a default and a description
  straddle-4k       one write that puts a secret's middle on its byte 4096
                    (and 8192, 12288: the capture's 4 KiB chunks)
  split-writes      write()s 10 ms apart, each boundary in a secret's middle

Outputs searched (each also JSON-unescaped up to three levels, percent-
decoded, and its base64 runs decoded: payload bytes are base64 in JSON):
the store (agentwatch.db, -wal, -shm as bytes, while the daemon runs and
after it stopped), `--json` of every CLI verb (status, events backlog,
agents, servers, sessions, calls, chains, alerts, rules, baseline, probes;
their tables too), of `tools --history` of a server of each identity, of
`chain ID` of each chain (and its tree and dot graph) and of `alert ID`
of each alert, the live streams (events, calls, chains and alerts
--follow), two file sinks (OCSF and native), /metrics, and the daemon's
log. Syslog is not covered here: awtest has no rsyslog fixture.

The searcher checks itself: the bytes that arrived at the "outside"
receiver and a planted file hold the secrets in clear, escaped and
percent-encoded, and must be found. Each form must also have reached the
outputs: masks carry HMAC-SHA256 fingerprints under the install key, which
this test writes, so the mask of each secret is recognised.

  redaction_e2e.py --bindir build/bin [--quick] [--keep]

Exit 77 = skipped (not root, or node/npm packages missing), unless
AGENTWATCH_REQUIRE_BPF=1.
"""
import argparse
import base64
import hashlib
import hmac
import json
import math
import os
import random
import re
import shlex
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import http.server
import urllib.parse
import urllib.request
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor

import warnings

import yaml

import awtest
from awtest import (FAILURES, MODULES, ROOT, TESTS, check, free_port, listening,
                    node_tier_ready, start_daemon, wait_for, write_file)

# unicode_escape warns on every backslash that starts no escape.
warnings.filterwarnings("ignore", category=DeprecationWarning)

HERE = os.path.dirname(os.path.abspath(__file__))
CLIENT = os.path.join(HERE, "mcp_client.mjs")
SDK_SERVER = os.path.join(HERE, "redaction_server.mjs")
RAW_SERVER = os.path.join(HERE, "redaction_raw_server.py")
FS = os.path.join(MODULES, "server-filesystem", "dist", "index.js")
EVERYTHING = os.path.join(MODULES, "server-everything", "dist", "index.js")
CATALOGUE = os.path.join(ROOT, "userspace", "redact", "builtin_secrets.yaml")
SAMPLES = os.path.join(ROOT, "userspace", "redact", "testdata", "samples.yaml")

FORMS = ["args", "result", "file", "nested", "unicode", "http-body", "http-header",
         "http-query", "resource-uri", "server-argv", "shell-argv", "outside",
         "tool-description", "tool-schema", "straddle-4k", "split-writes"]
WINDOW = 12
MIN_RANDOM = 6  # characters of a window that vary between forms, at least
KEY = "5e1f" * 16  # the install's fingerprint key (written to state/redaction.key)
MASK = re.compile(r"\[REDACTED:([A-Za-z0-9_.-]+):([0-9a-f]{6})\]")


# ---- samples and their secrets ---------------------------------------------

class Sample:
    def __init__(self, idx, rid, half, line, span, rx, keywords, entropy):
        self.idx, self.rid, self.half, self.line = idx, rid, half, line
        self.span, self.rx, self.keywords, self.entropy = span, rx, keywords, entropy
        self.group = 1 if rx.groups >= 1 else 0
        self.variants = {}  # form -> line

    def secret(self, form):
        a, b = self.span
        return self.variants[form][a:b]


def entropy(s):
    c = Counter(s)
    return -sum(n / len(s) * math.log2(n / len(s)) for n in c.values()) if s else 0.0


LITERALS = set()  # the alphanumeric runs the catalogue's regexes spell out


def load_samples(quick):
    with open(CATALOGUE) as f:
        rules = {r["id"]: r for r in yaml.safe_load(f)["rules"]}
    for r in rules.values():
        # Not the letters of escapes and classes (\s, \b, A-Z).
        text = re.sub(r"\\.|\[[^\]]*\]|\{[^}]*\}|\(\?[a-z]*:?", " ", r["regex"])
        LITERALS.update(m.lower() for m in re.findall(r"[A-Za-z0-9]{3,}", text))
    with open(SAMPLES) as f:
        halves = yaml.safe_load(f)
    samples, skipped = [], []
    for half in ("eval", "tune"):
        for rid, d in halves[half].items():
            lines = (d or {}).get("positive") or []
            if quick:
                lines = lines[:1] if half == "eval" and sum(map(ord, rid)) % 6 == 0 else []
            for line in lines:
                rule = rules.get(rid)
                if rule is None:
                    skipped.append((rid, line, "no such rule in the catalogue"))
                    continue
                try:
                    rx = re.compile(rule["regex"])
                except re.error as e:
                    skipped.append((rid, line, f"Python re cannot compile the regex: {e}"))
                    continue
                m = rx.search(line)
                if m is None:
                    skipped.append((rid, line, "Python re does not match the line"))
                    continue
                g = 1 if rx.groups >= 1 and m.group(1) is not None else 0
                samples.append(Sample(len(samples), rid, half, line, m.span(g), rx,
                                      [k.lower() for k in rule.get("keywords", [])],
                                      float(rule.get("entropy") or 0)))
    return samples, skipped


def still_matches(s, line):
    m = s.rx.search(line)
    if m is None:
        return False
    g = 1 if s.rx.groups >= 1 and m.group(1) is not None else 0
    if m.span(g) != s.span:
        return False
    a, b = s.span
    if s.entropy and entropy(line[a:b]) < s.entropy:
        return False
    low = line.lower()
    return not s.keywords or any(k in low for k in s.keywords)


POOLS = ["0123456789", "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz"]


def make_variants(s):
    """One line per form: the secret's alphanumerics outside its keywords
    replaced by others of their class, where the regex still captures the
    same span."""
    a, b = s.span
    low = s.line.lower()
    fixed = set()
    for k in s.keywords:
        for m in re.finditer(re.escape(k), low):
            fixed.update(range(m.start(), m.end()))
    # Alphanumeric runs the regex spells out (BEGIN, PRIVATE, amzn), or
    # that any rule of the catalogue spells out (Proc-Type, DEK-Info),
    # stay; so do escapes (the n of \n, the digits of \u0041 and \x0a).
    pattern = s.rx.pattern.lower()
    pools = {}  # position -> the characters it may take
    for m in re.finditer(r"[A-Za-z0-9]+", s.line[a:b]):
        run = m.group(0).lower()
        after = s.line[a + m.end():a + m.end() + 2]
        if (len(run) >= 2 and run in pattern) or (len(run) >= 3 and run in LITERALS) \
                or (len(run) <= 16 and re.match(r"[\"']?[=:]", after)):  # a key's name
            fixed.update(range(a + m.start(), a + m.end()))
        # A hexadecimal run stays hexadecimal.
        for hexa in ("0123456789abcdef", "0123456789ABCDEF"):
            if len(run) >= 8 and all(c in hexa for c in m.group(0)):
                pools.update({a + k: hexa for k in range(m.start(), m.end())})
                break
    for m in re.finditer(r"\\(?:u[0-9A-Fa-f]{4}|x[0-9A-Fa-f]{2}|.)", s.line):
        fixed.update(range(m.start(), m.end()))
    mutable = [p for p in range(a, b)
               if s.line[p].isascii() and s.line[p].isalnum() and p not in fixed]
    for form in FORMS:
        rng = random.Random(f"{s.rid}/{s.idx}/{form}")

        def other(c, p):
            pool = pools.get(p) or next(x for x in POOLS if c in x)
            return rng.choice(pool.replace(c, ""))
        chars = list(s.line)
        for p in mutable:
            chars[p] = other(s.line[p], p)
        line = "".join(chars)
        if not still_matches(s, line):
            # Sixteen positions at a time, then one by one where that
            # fails: keep each change the regex allows.
            chars = list(s.line)
            for c0 in range(0, len(mutable), 16):
                group = mutable[c0:c0 + 16]
                old = [chars[p] for p in group]
                for p in group:
                    chars[p] = other(chars[p], p)
                if still_matches(s, "".join(chars)):
                    continue
                for p, o in zip(group, old):
                    chars[p] = o
                for p in group:
                    o = chars[p]
                    chars[p] = other(o, p)
                    if not still_matches(s, "".join(chars)):
                        chars[p] = o
            line = "".join(chars)
        s.variants[form] = line
    # The positions that differ between the forms' variants.
    s.mutable = {p for p in mutable if len({v[p] for v in s.variants.values()}) > 1}


# ---- the searcher -----------------------------------------------------------

JSON_ESC = re.compile(r'\\(?:u([0-9a-fA-F]{4})|(["\\/bfnrt]))')
SIMPLE = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


def json_unescape(t):
    try:
        return (t.replace("\\/", "/").encode("latin-1", "backslashreplace")
                .decode("unicode_escape", errors="replace"))
    except (UnicodeError, ValueError):
        pass
    return JSON_ESC.sub(lambda m: chr(int(m.group(1), 16)) if m.group(1) else SIMPLE[m.group(2)], t)


B64 = re.compile(r"[A-Za-z0-9+/]{16,}={0,2}")


def base64_runs(text):
    """Each base64 run of text decoded (payload bytes are base64 in JSON)."""
    out = []
    for m in B64.finditer(text):
        r = m.group(0)
        try:
            out.append(base64.b64decode(r + "=" * (-len(r) % 4)).decode("latin-1"))
        except ValueError:
            pass
    return "\n".join(out)


def views(text, nested=False):
    """The text, JSON-unescaped up to three levels, each of those
    percent-decoded, and the same of its base64 runs decoded."""
    out = [("raw", text)]
    cur = text
    for level in (1, 2, 3):
        if "\\" not in cur:
            break
        nxt = json_unescape(cur)
        if nxt == cur:
            break
        out.append((f"unescaped{level}", nxt))
        cur = nxt
    for name, v in list(out):
        if "%" in v:
            d = urllib.parse.unquote(v, errors="replace")
            if d != v:
                out.append((name + "+percent", d))
    if not nested:
        decoded = base64_runs(text)
        if decoded:
            out += [("base64+" + name, v) for name, v in views(decoded, True)]
    return out


class Searcher:
    """Finds any WINDOW-character window of the secrets: 8-grams at a stride
    of 5 find candidates (every 12-character run holds one), the windows
    around a candidate confirm them."""

    def __init__(self, needles):
        self.windows = needles  # window -> set of (sample idx, form)
        self.grams = set()
        for w in needles:
            for i in range(WINDOW - 8 + 1):
                self.grams.add(w[i:i + 8])

    def drop(self, windows):
        for w in windows:
            self.windows.pop(w, None)

    def scan_text(self, text):
        found = {}
        grams, windows = self.grams, self.windows
        for q in range(0, len(text) - 7, 5):
            if text[q:q + 8] in grams:
                for p in range(max(0, q - 4), q + 1):
                    w = text[p:p + WINDOW]
                    if w in windows and w not in found:
                        found[w] = p
        return found

    def scan(self, data):
        """{window: (view, offset)} over every view of data (bytes or str)."""
        text = data.decode("latin-1") if isinstance(data, bytes) else data
        found = {}
        for name, v in views(text):
            for w, p in self.scan_text(v).items():
                found.setdefault(w, (name, p))
        return found


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def fingerprint(secret):
    return hmac.new(KEY.encode(), secret.encode(), hashlib.sha256).hexdigest()[:6]


# ---- traffic ----------------------------------------------------------------

def batches(items, limit, size=len):
    out, cur, n = [], [], 0
    for x in items:
        k = size(x)
        if cur and n + k > limit:
            out.append(cur)
            cur, n = [], 0
        cur.append(x)
        n += k
    if cur:
        out.append(cur)
    return out


def jesc(s):
    return json.dumps(s)[1:-1]


def uesc(s):
    return "".join(f"\\u{ord(c):04x}" for c in s)


CHILDREN = []  # every client and server this test starts, ended when it ends


class RawClient:
    """The test itself as an MCP client of a raw stdio server."""

    def __init__(self, argv):
        self.p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL)
        CHILDREN.append(self.p)
        self.id = 0

    def send(self, msg):
        self.p.stdin.write((json.dumps(msg) + "\n").encode())
        self.p.stdin.flush()

    def request(self, method, params=None):
        self.id += 1
        self.send({"jsonrpc": "2.0", "id": self.id, "method": method, "params": params or {}})
        while True:
            line = self.p.stdout.readline()
            if not line:
                raise RuntimeError(f"raw server closed during {method}")
            msg = json.loads(line)
            if msg.get("id") == self.id:
                return msg

    def initialize(self):
        self.request("initialize", {"protocolVersion": "2025-06-18", "capabilities": {},
                                    "clientInfo": {"name": "redaction-e2e", "version": "1"}})
        self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        self.request("tools/list")

    def close(self):
        self.p.stdin.close()
        self.p.wait(timeout=10)


class Outside:
    """The "outside" receiver on 127.0.0.2: keeps every body it got."""

    def __init__(self):
        self.bodies = []
        outer = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                outer.bodies.append(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass
        self.server = http.server.ThreadingHTTPServer(("127.0.0.2", free_port()), H)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


class Everything:
    """server-everything over Streamable HTTP, spoken to with urllib."""

    def __init__(self, port):
        self.base = f"http://127.0.0.1:{port}/mcp"
        self.sid = None
        self.id = 0

    def post(self, body, headers=None, query=""):
        # The test's own headers first: the payload preview of a read is
        # its first 256 bytes.
        h = dict(headers or {})
        h.update({"Content-Type": "application/json",
                  "Accept": "application/json, text/event-stream"})
        if self.sid:
            h["Mcp-Session-Id"] = self.sid
            h["MCP-Protocol-Version"] = "2025-06-18"
        req = urllib.request.Request(self.base + query, data=json.dumps(body).encode(),
                                     headers=h, method="POST")
        with urllib.request.urlopen(req, timeout=15) as r:
            return r.status, r.headers, r.read()

    def request(self, method, params=None, headers=None, query=""):
        self.id += 1
        return self.post({"jsonrpc": "2.0", "id": self.id, "method": method,
                          "params": params or {}}, headers, query)

    def initialize(self):
        _, h, _ = self.request("initialize", {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "redaction-e2e", "version": "1"}})
        self.sid = h.get("mcp-session-id")
        self.post({"jsonrpc": "2.0", "method": "notifications/initialized"})
        self.request("tools/list")


class SdkClient:
    """An SDK client (mcp_client.mjs) that connects, lists the tools, waits
    for the file go, then makes its calls."""

    def __init__(self, server_argv, calls, go, what):
        self.what = what
        self.p = subprocess.Popen(
            ["node", CLIENT, "stdio"] + server_argv,
            env=dict(os.environ, CALLS=json.dumps([{"waitFile": go}] + calls)),
            cwd=TESTS, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        CHILDREN.append(self.p)
        self.err = []
        self.waiting = threading.Event()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.p.stderr:
            self.err.append(line)
            if line.startswith("mcp_client: waiting for"):
                self.waiting.set()
        self.waiting.set()  # ended: nothing to wait for

    def finish(self):
        out = self.p.stdout.read()
        self.p.wait(timeout=180)
        self.reader.join(timeout=10)
        check(self.p.returncode == 0,
              f"{self.what}: the SDK client ran: {''.join(self.err)[-500:]}")
        try:
            rep = json.loads(out.strip().splitlines()[-1])
        except (ValueError, IndexError):
            return
        errs = [c for c in rep.get("calls", []) if c.get("error") or c.get("isError")]
        check(not errs, f"{self.what}: every call succeeded: {str(errs)[:300]}")


def drive(samples, tmp, outside_url, everything_port, counts, barrier):
    """Sends every (sample, form). counts[form] = samples sent in it. Every
    server is started and initialized first, and the forms sent only once
    the daemon discovered them all (barrier()): a server the daemon is
    late to discover is not watched, and its later bytes not seen."""
    data = {"result": [], "nested": [], "shell": [], "post": [], "outside": outside_url}
    lines = {f: [s.variants[f] for s in samples] for f in FORMS}
    for f in FORMS:
        counts[f] = len(samples)
    go = os.path.join(tmp, "go")
    clients = []

    # SDK server: args, result, nested, shell-argv, outside; a session (an
    # agent, a chain) per form, and the 500 posts in sessions of 50.
    sessions = defaultdict(list)
    for i, b in enumerate(batches(list(enumerate(lines["args"])), 3300,
                                  lambda x: len(jesc(x[1])) + 12)):
        sessions["args"].append({"tool": "take", "arguments": {"n": i, "samples": {
            f"sample_{k}": line for k, line in b}}})
    for b in batches(lines["result"], 900, lambda x: len(x) + 1):
        sessions["result"].append({"tool": "result", "arguments": {"n": len(data["result"])}})
        data["result"].append("\n".join(b))
    for b in batches(lines["nested"], 700, lambda x: len(jesc(x)) + 2):
        sessions["nested"].append({"tool": "nested", "arguments": {"n": len(data["nested"])}})
        data["nested"].append("\n".join(b))
    for b in batches(lines["shell-argv"], 800, lambda x: len(shlex.quote(x)) + 1):
        sessions["shell-argv"].append({"tool": "shell", "arguments": {"n": len(data["shell"])}})
        data["shell"].append("echo " + " ".join(shlex.quote(x) for x in b) + " > /dev/null")
    for line in lines["outside"]:
        n = len(data["post"])
        sessions[f"outside {n // 50}"].append({"tool": "post", "arguments": {"n": n}})
        data["post"].append(line)
    datafile = write_file(os.path.join(tmp, "data", "sdk.json"), json.dumps(data))
    for what, calls in sessions.items():
        clients.append(SdkClient(["node", SDK_SERVER, datafile], calls, go, what))

    # Tool definitions: a description (batched) and a schema's default and
    # description (one sample each); tools/list answers under 12 KiB. Each
    # server by a path of its own (a symlink): a server identity of its
    # own, so that one's tools are not another's redefinition.
    desc = batches(lines["tool-description"], 900, lambda x: len(x) + 1)
    schema = lines["tool-schema"]
    entries = []
    for i in range(max(len(desc), (len(schema) + 1) // 2)):
        d = "\n".join(desc[i]) if i < len(desc) else "Returns ok."
        dflt = schema[2 * i] if 2 * i < len(schema) else "none"
        dd = schema[2 * i + 1] if 2 * i + 1 < len(schema) else "A value."
        entries.append([d, dflt, dd])
    groups = batches(entries, 11000, lambda e: sum(len(jesc(x)) for x in e) + 200)
    for gi, g in enumerate(groups):
        link = os.path.join(tmp, "defs", str(gi), "redaction_server.mjs")
        os.makedirs(os.path.dirname(link))
        os.symlink(SDK_SERVER, link)
        f = write_file(os.path.join(tmp, "data", f"describe-{gi}.json"), json.dumps({"describe": g}))
        clients.append(SdkClient(["node", link, f], [], go, "tool definitions"))

    # File content through server-filesystem.
    files = os.path.join(tmp, "files")
    fcalls = []
    for i, b in enumerate(batches(lines["file"], 900, lambda x: len(x) + 1)):
        p = write_file(os.path.join(files, f"batch-{i:03d}.txt"), "\n".join(b) + "\n")
        fcalls.append({"tool": "read_file", "arguments": {"path": p}})
    clients.append(SdkClient(["node", FS, files], fcalls, go, "server-filesystem"))

    # Raw servers: \u escapes, a 4 KiB straddle, two writes; resources/read.
    head = '{"jsonrpc":"2.0","result":{"content":[{"type":"text","text":"'
    tail = '"}]},"id":@ID@}\n'
    uni = []
    for b in batches(samples, 700, lambda s: len(s.line) + 1):
        body = []
        for s in b:
            a, e = s.span
            v = s.variants["unicode"]
            body.append(jesc(v[:a]) + uesc(v[a:e]) + jesc(v[e:]))
        uni.append([head + "\\n".join(body) + tail])
    # Straddles: each secret's middle on a 4 KiB boundary of one write (the
    # capture's chunks), three to a write (4096, 8192, 12288; the capture
    # keeps 16 KiB of a write).
    filler = "Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 300
    straddle, cur, n_in = [], head, 0
    for s in samples:
        a, e = s.span
        h = a + (e - a) // 2  # the secret's middle
        v = s.variants["straddle-4k"]
        before = "\\n" + jesc(v[:h])
        pad = 4096 * (n_in + 1) - len(cur) - len(before)
        if pad < 2 or n_in == 3:
            if n_in:
                straddle.append([cur + tail])
            cur, n_in = head, 0
            pad = 4096 - len(cur) - len(before)
        check(pad >= 2, f"{s.rid}: the straddle fits")
        cur += filler[:max(pad, 0)] + before + jesc(v[h:]) + "\\n"
        n_in += 1
    if n_in:
        straddle.append([cur + tail])
    # Split writes: each secret cut in its middle between two writes, eight
    # secrets to a response (nine writes).
    split = []
    for b in batches(samples, 8, lambda s: 1):
        parts = [head + "Sample: "]
        for s in b:
            a, e = s.span
            h = a + (e - a) // 2
            v = s.variants["split-writes"]
            parts[-1] += jesc(v[:h])
            parts.append(jesc(v[h:]) + "\\n")
        parts[-1] += tail
        split.append(parts)
    raw = {}
    for form, responses in (("unicode", uni), ("straddle-4k", straddle), ("split-writes", split),
                            ("resource-uri", [])):
        f = write_file(os.path.join(tmp, "data", f"raw-{form}.json"),
                       json.dumps({"responses": responses, "sleep": 0.01}))
        raw[form] = (RawClient([sys.executable, RAW_SERVER, f]), len(responses))

    # Servers whose argv holds the lines.
    empty = write_file(os.path.join(tmp, "data", "empty.json"), "{}")
    argv_servers = [RawClient([sys.executable, RAW_SERVER, empty] + b)
                    for b in batches(lines["server-argv"], 900, lambda x: len(x) + 1)]
    for c, _ in raw.values():
        c.initialize()
    for c in argv_servers:
        c.initialize()

    # server-everything over Streamable HTTP.
    ev = Everything(everything_port)
    ev.initialize()

    t0 = time.time()
    for c in clients:  # connected and listed
        c.waiting.wait(timeout=120)
    took = barrier()
    print(f"  {len(clients)} SDK sessions, {len(raw) + len(argv_servers)} raw servers and "
          f"server-everything started; the daemon discovered them {took:.1f}s after "
          f"({time.time() - t0:.1f}s)", flush=True)

    # The forms.
    t0 = time.time()
    write_file(go, "")

    def raw_calls(form):
        c, n = raw[form]
        if form == "resource-uri":
            for line in lines[form]:
                uri = "note://samples/item?line=" + urllib.parse.quote(
                    line, safe="/:@!$&'()*+,;=-._~")
                r = c.request("resources/read", {"uri": uri})
                check(r.get("result", {}).get("contents", [{}])[0].get("uri") == uri,
                      "resources/read answered with the URI")
        else:
            for i in range(n):
                r = c.request("tools/call", {"name": "get", "arguments": {"n": i}})
                check("result" in r, f"{form}: the raw server answered call {i}")
        c.close()

    def http_forms():
        # A body (batched), a header and a query string (one per request).
        for b in batches(lines["http-body"], 3000, lambda x: len(jesc(x)) + 2):
            st, _, _ = ev.request("tools/call", {"name": "echo",
                                                 "arguments": {"message": "\n".join(b)}})
            check(st == 200, f"http-body: echo answered {st}")
        sent = 0
        for line in lines["http-header"]:
            if "\n" in line or "\r" in line:
                continue  # a header holds one line
            ev.request("ping", headers={"X-Debug": line})
            sent += 1
        counts["http-header"] = sent
        for line in lines["http-query"]:
            ev.request("ping", query="?q=" + urllib.parse.quote(line, safe=""))
    with ThreadPoolExecutor(5) as pool:
        jobs = [pool.submit(raw_calls, f) for f in raw] + [pool.submit(http_forms)]
        for j in jobs:
            j.result()
    for c in argv_servers:
        c.close()
    for c in clients:
        c.finish()
    print(f"  the forms sent ({time.time() - t0:.1f}s)", flush=True)
    return lines


# ---- outputs ----------------------------------------------------------------

RETRIED = []  # CLI calls that failed once (a slow answer: a deadline)


def collect(cli, endpoint, metrics_port, tmp, state, outputs, prefix="", timings=None):
    """Every output of the daemon into outputs[name] = bytes."""
    timings = {} if timings is None else timings

    def run(name, *args, json_out=True, must=True):
        cmd = [cli, "--endpoint", endpoint] + list(args) + (["--json"] if json_out else [])
        t0 = time.time()
        for attempt in (1, 2):
            r = subprocess.run(cmd, capture_output=True, timeout=120)
            if r.returncode == 0:
                break
            if attempt == 1 and b"Deadline Exceeded" in r.stderr and not must:
                RETRIED.append(f"agentwatch {' '.join(args)}{' --json' if json_out else ''}: "
                               f"Deadline Exceeded")
                break
            RETRIED.append(f"agentwatch {' '.join(args)}{' --json' if json_out else ''}: "
                           f"{r.stderr.decode(errors='replace').strip()[-200:]}")
        timings[name] = time.time() - t0
        outputs[prefix + name] = r.stdout + r.stderr
        if must:
            check(r.returncode == 0, f"agentwatch {' '.join(args)}"
                                     f"{' --json' if json_out else ''}: {r.stderr[-300:]}")
        return r
    verbs = [("status",), ("events", "--limit", "100000"), ("agents", "--all"),
             ("servers", "--all"), ("sessions", "--all"), ("calls", "--limit", "100000"),
             ("chains", "--limit", "100000"), ("alerts", "--limit", "100000"), ("rules",),
             ("baseline",), ("probes",)]
    jobs = []
    for v in verbs:
        jobs.append((" ".join(v) + " --json", v, True))
        jobs.append((" ".join(v), v, False))
    jobs.append(("baseline --export", ("baseline", "--export"), False))
    with ThreadPoolExecutor(4) as pool:
        rs = dict(zip([j[0] for j in jobs],
                      pool.map(lambda j: run(j[0], *j[1], json_out=j[2],
                                             must=j[1][0] not in ("calls", "servers")), jobs)))

    def objs(name):
        out = []
        for l in outputs.get(prefix + name, b"").splitlines():
            try:
                out.append(json.loads(l))
            except ValueError:
                pass
        return out
    jobs = []
    # Per id: --json (and a chain's tree and graph); the calls server by
    # server when all of them at once were too slow to answer.
    servers = [(s.get("id"), s.get("identity")) for s in objs("servers --all --json")]
    if any(r.returncode != 0 for n, r in rs.items() if n.startswith("servers")):
        # Too slow to answer for all of them at once: the running ones, and
        # the ids of all from the store.
        RETRIED.append("agentwatch servers --all: servers, and the ids from the store")
        run("servers --json", "servers")
        try:
            con = sqlite3.connect(f"file:{state}/agentwatch.db?mode=ro", uri=True, timeout=10)
            servers = con.execute("SELECT server_id, server_identity FROM calls "
                                  "GROUP BY server_id").fetchall()
            con.close()
        except sqlite3.Error as e:
            check(False, f"the server ids from the store: {e}")
    if any(r.returncode != 0 for n, r in rs.items() if n.startswith("calls")):
        RETRIED.append("agentwatch calls: listed server by server instead")
        for sid, _ in servers:
            jobs.append((f"calls --server {sid} --json",
                         ("calls", "--server", str(sid), "--limit", "100000"), True, False))
    # Inventories are kept per server identity: one server of each.
    identities = {}
    for sid, ident in servers:
        identities.setdefault(ident, str(sid))
    for sid in identities.values():
        jobs.append((f"tools {sid} --history --json", ("tools", sid, "--history"), True))
    for c in objs("chains --limit 100000 --json"):
        cid = str(c["id"])
        jobs.append((f"chain {cid} --json", ("chain", cid), True))
        jobs.append((f"chain {cid}", ("chain", cid), False))
        jobs.append((f"chain {cid} --format dot", ("chain", cid, "--format", "dot"), False))
    for x in objs("alerts --limit 100000 --json"):
        jobs.append((f"alert {x['id']} --json", ("alert", str(x["id"])), True))
    with ThreadPoolExecutor(3) as pool:
        # (The calls of one server are also in its chains and the store.)
        list(pool.map(lambda j: run(j[0], *j[1], json_out=j[2],
                                    must=j[3] if len(j) > 3 else True), jobs))
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10) as r:
            outputs[prefix + "/metrics"] = r.read()
    except OSError as e:
        check(False, f"/metrics: {e}")
    for name in ("ocsf.jsonl", "native.jsonl", "daemon.log"):
        p = os.path.join(tmp, name)
        if os.path.exists(p):
            with open(p, "rb") as f:
                outputs[prefix + name] = f.read()
    read_store(state, outputs, prefix)
    return timings


def read_store(state, outputs, prefix):
    for suffix in ("", "-wal", "-shm"):
        p = os.path.join(state, "agentwatch.db" + suffix)
        if os.path.exists(p):
            with open(p, "rb") as f:
                outputs[prefix + "agentwatch.db" + suffix] = f.read()


# ---- the run ----------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bindir", required=True)
    ap.add_argument("--quick", action="store_true", help="a sixth of the formats, one sample each")
    ap.add_argument("--keep", action="store_true", help="keep the run's directory")
    opts = ap.parse_args()
    if (rc := node_tier_ready()) is not None:
        return rc
    started = time.time()
    bindir, cli = opts.bindir, os.path.join(opts.bindir, "agentwatch")
    tmp = os.path.realpath(tempfile.mkdtemp(prefix="aw-redaction-e2e-"))
    endpoint = f"unix://{tmp}/aw.sock"

    samples, skipped = load_samples(opts.quick)
    for s in samples:
        make_variants(s)
    rules_n = len({s.rid for s in samples})
    print(f"{len(samples)} positive samples of {rules_n} formats; "
          f"{len(skipped)} skipped (Python re cannot compile or match them)", flush=True)
    for rid, line, why in skipped:
        print(f"  skipped {rid}: {why}: {line[:80]}")

    # The needles: every window of every (sample, form) secret.
    needles = defaultdict(set)
    unmutated = sum(1 for s in samples if len({s.secret(f) for f in FORMS}) == 1)
    few = 0
    for s in samples:
        for f in FORMS:
            sec = s.secret(f)
            a = s.span[0]
            starts = [0] if len(sec) < WINDOW else range(len(sec) - WINDOW + 1)
            for i in starts:
                w = sec[i:i + WINDOW]
                if "\n" in w or "\r" in w:
                    continue
                # A window of mostly fixed text (a prefix, a run of "A"s)
                # is the format's, not the secret's.
                if sum(1 for k in range(a + i, a + i + len(w)) if k in s.mutable) < MIN_RANDOM:
                    few += 1
                    continue
                needles[w].add((s.idx, f))
    # Windows that the lines hold outside their secrets (a certificate next
    # to a key, the text a base64 secret encodes), as sent or base64'd,
    # are no secret's.
    context = 0
    for s in samples:
        for f in FORMS:
            a, b = s.span
            v = s.variants[f]
            ctx = v[:a] + "\0" + v[b:]
            for t in [ctx] + [base64.b64encode(ctx[k:].encode()).decode() for k in range(3)]:
                for i in range(len(t) - WINDOW + 1):
                    if needles.pop(t[i:i + WINDOW], None) is not None:
                        context += 1
    print(f"{few} windows dropped: fewer than {MIN_RANDOM} of their characters vary; "
          f"{context} more: the sample lines hold them outside the secret")
    shared = sum(1 for k in needles.values() if len({f for _, f in k}) > 1)
    print(f"{len(needles)} distinct windows; {shared} shared by several forms (a secret's "
          f"fixed part); samples no form could vary: {unmutated}", flush=True)
    searcher = Searcher(needles)

    state = os.path.join(tmp, "state")
    os.makedirs(state)
    write_file(os.path.join(state, "redaction.key"), KEY + "\n")
    os.chmod(os.path.join(state, "redaction.key"), 0o600)
    os.makedirs(os.path.join(tmp, "secrets.d"))
    rules = os.path.join(tmp, "rules.d")
    write_file(os.path.join(rules, "10-test.yaml"),
               "lists:\n  egress_allow: [\"127.0.0.1/32\"]\n")
    cfg = write_file(os.path.join(tmp, "agentwatch.yaml"), f"""secrets_dir: {tmp}/secrets.d
sinks:
  - name: ocsf
    type: file
    path: {tmp}/ocsf.jsonl
  - name: native
    type: file
    path: {tmp}/native.jsonl
    format: native
""")
    metrics_port = free_port()
    log = os.path.join(tmp, "daemon.log")
    procs = []
    outside = Outside()
    outputs = {}
    counts = {}
    try:
        daemon = start_daemon(bindir, endpoint, log, "--config", cfg, "--state-dir", state,
                              "--rules-dir", rules, "--log-level", "debug",
                              "--metrics-listen", f"127.0.0.1:{metrics_port}")
        procs.append(daemon)
        # What the daemon says before it saw a secret: windows found there
        # are not secret (a fixed part of a format the daemon names itself).
        baseline = {}
        collect(cli, endpoint, metrics_port, tmp, state, baseline)
        structural = set()
        for data in baseline.values():
            structural.update(searcher.scan(data))
        searcher.drop(structural)
        print(f"{len(structural)} windows dropped: the daemon printed them before any "
              f"traffic: {sorted(structural)[:10]}", flush=True)

        follows = {}
        for verb in ("events", "calls", "chains", "alerts"):
            out = open(os.path.join(tmp, f"follow-{verb}.jsonl"), "wb")
            p = subprocess.Popen([cli, "--endpoint", endpoint, "--json", verb, "--follow"],
                                 stdout=out, stderr=subprocess.STDOUT)
            procs.append(p)
            follows[verb] = (p, out)

        everything_port = free_port()
        ev = subprocess.Popen(["node", EVERYTHING, "streamableHttp"],
                              env=dict(os.environ, PORT=str(everything_port)), cwd=TESTS,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(ev)
        wait_for(lambda: listening(everything_port), 30, "server-everything")

        empty = write_file(os.path.join(tmp, "data", "empty.json"), "{}")

        def barrier():
            """The daemon may be behind the kernel's ring buffers (one per
            kind of event, each read at its own pace): an exec and an MCP
            initialize naming a mark are sent; once both are listed,
            everything before them was processed. Returns the seconds that
            took."""
            t0 = time.time()
            mark = f"aw-redaction-mark-{os.getpid()}-{int(t0 * 1000)}"
            subprocess.run(["/bin/sh", "-c", f": {mark}"], check=True)
            c = RawClient([sys.executable, RAW_SERVER, empty])
            c.request("initialize", {"protocolVersion": "2025-06-18", "capabilities": {},
                                     "clientInfo": {"name": mark, "version": "1"}})
            c.close()

            def seen(kind):
                r = subprocess.run([cli, "--endpoint", endpoint, "--json", "events", "--type",
                                    kind, "--limit", "5000"], capture_output=True, timeout=60)
                return mark.encode() in r.stdout
            wait_for(lambda: seen("exec") and seen("mcp"), 300,
                     "the daemon to process what happened")
            return time.time() - t0

        t0 = time.time()
        print("traffic:", flush=True)
        lines = drive(samples, tmp, f"http://127.0.0.2:{outside.port}/collect", everything_port,
                      counts, barrier)
        print(f"traffic done in {time.time() - t0:.1f}s; daemon CPU so far "
              f"{cpu_seconds(daemon.pid):.1f}s", flush=True)
        took = barrier()
        print(f"the daemon caught up {took:.1f}s after the traffic; daemon CPU "
              f"{cpu_seconds(daemon.pid):.1f}s", flush=True)

        # Settle: the store writes once a second; the sinks follow the outbox.
        time.sleep(2)
        t0 = time.time()
        timings = collect(cli, endpoint, metrics_port, tmp, state, outputs)
        slow = sorted(timings.items(), key=lambda x: -x[1])[:5]
        print("slowest CLI calls: " + ", ".join(f"{n} {t:.1f}s" for n, t in slow))
        big = sorted(outputs.items(), key=lambda x: -len(x[1]))[:8]
        print("largest outputs: " + ", ".join(f"{n} {len(d) / 1e6:.1f}MB" for n, d in big))
        for verb, (p, out) in follows.items():
            p.send_signal(signal.SIGINT)
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
            out.close()
            with open(os.path.join(tmp, f"follow-{verb}.jsonl"), "rb") as f:
                outputs[f"{verb} --follow --json"] = f.read()
        if RETRIED:
            print(f"NOTE: {len(RETRIED)} CLI calls failed (a slow answer) and were tried again:")
            for r in RETRIED[:10]:
                print("  " + r)
        connects = [l for l in outputs["events --follow --json"].splitlines()
                    if b"EVENT_TYPE_NET_CONNECT" in l and b'"127.0.0.2"' in l]
        check(connects, "the daemon saw the fetch tool connect to 127.0.0.2 (bytes sent "
                        "outside were inspected)")

        # The searcher's self-check: what arrived outside holds every
        # outside secret in clear; a planted file holds some escaped.
        got = searcher.scan(b"\n".join(outside.bodies))
        found = {s for w in got for s, f in searcher.windows[w] if f == "outside"}
        findable = {s for w, k in searcher.windows.items() for s, f in k if f == "outside"}
        check(len(outside.bodies) == counts["outside"],
              f"the outside receiver got every POST ({len(outside.bodies)} of {counts['outside']})")
        check(found == findable, f"self-check: the searcher finds each outside secret in the "
              f"bytes received ({len(found)} of {len(findable)})")
        plant = samples[:4]
        planted = ("x " + plant[0].secret("args") + " y\n" +
                   json.dumps({"a": uesc(plant[1 % len(plant)].secret("args"))}) + "\n" +
                   urllib.parse.quote(plant[2 % len(plant)].secret("args"), safe="") + "\n" +
                   json.dumps(json.dumps({"b": plant[3 % len(plant)].secret("args")})))
        selfcheck = write_file(os.path.join(tmp, "selfcheck.txt"), planted)
        with open(selfcheck, "rb") as f:
            got = searcher.scan(f.read())
        found = {s for w in got for s, f in searcher.windows[w] if f == "args"}
        check(found >= {s.idx for s in plant}, f"self-check: the searcher finds secrets "
              f"planted in clear, \\u-escaped, percent-encoded and in nested JSON ({found})")

        # The search. A window of one form's secret names its (format,
        # form); a window several forms share counts for those of them
        # found by their own windows in the same output, else for the
        # sample, form unknown.
        hits = defaultdict(lambda: defaultdict(set))  # (idx, form) -> where -> {view}
        first = {}  # (idx, form) -> (where, view, offset)
        fixed_only = defaultdict(lambda: defaultdict(set))  # idx -> where -> {window}
        masks = Counter()

        def search(names):
            for name in names:
                found = {}
                for view, v in views(outputs[name].decode("latin-1")):
                    for w, p in searcher.scan_text(v).items():
                        found.setdefault(w, (view, p))
                    for m in MASK.finditer(v):
                        masks[m.group(2)] += 1
                deferred = []
                for w, (view, p) in found.items():
                    keys = searcher.windows[w]
                    if len({f for _, f in keys}) == 1:
                        for key in keys:
                            hits[key][name].add(view)
                            first.setdefault(key, (name, view, p))
                    else:
                        deferred.append((w, view, keys))
                for w, view, keys in deferred:
                    mine = [k for k in keys if name in hits.get(k, {})]
                    for k in mine:
                        hits[k][name].add(view)
                    if not mine:
                        for i in {i for i, _ in keys}:
                            fixed_only[i][name].add(w)

        # While the daemon stops (its probes take a while to detach), the
        # outputs so far; then the store and log it leaves.
        t1 = time.time()
        daemon.send_signal(signal.SIGTERM)
        search(list(outputs))
        try:
            daemon.wait(timeout=max(1, 30 - (time.time() - t1)))
            print(f"agentwatchd stopped {time.time() - t1:.1f}s after SIGTERM", flush=True)
        except subprocess.TimeoutExpired:
            # Its probes detach slowly on a busy host: not this test's matter.
            daemon.kill()
            daemon.wait()
            print(f"NOTE: agentwatchd had not stopped {time.time() - t1:.0f}s after SIGTERM; "
                  f"killed", flush=True)
        before = set(outputs)
        read_store(state, outputs, "after stop: ")
        with open(log, "rb") as f:
            outputs["daemon.log after stop"] = f.read()
        search([n for n in outputs if n not in before])
        print(f"{len(outputs)} outputs, {sum(map(len, outputs.values())) / 1e6:.1f} MB, "
              f"collected and searched in {time.time() - t0:.1f}s", flush=True)
        # Per form: sent, reached an output masked, leaked.
        by_idx = {s.idx: s for s in samples}
        # SENT: samples sent in the form; MASKED: of them, how many reached
        # some output as their mask (the fingerprint under the test's key);
        # LEAKED: samples (and formats) of which some window was found.
        print(f"\n{'FORM':18} {'SENT':>5} {'MASKED':>6} {'LEAKED':>6} {'FORMATS':>7}  "
              f"WHERE (output: samples leaked there)")
        for f in FORMS:
            sent = counts.get(f, 0)
            masked = sum(1 for s in samples if fingerprint(s.secret(f)) in masks)
            leaked = sorted(i for (i, ff) in hits if ff == f)
            where = Counter(n for i in leaked for n in hits[(i, f)])
            print(f"{f:18} {sent:5} {masked:6} {len(leaked):6} "
                  f"{len({by_idx[i].rid for i in leaked}):7}  "
                  + ", ".join(f"{n}: {c}" for n, c in where.most_common(5)))
            check(masked > 0, f"{f}: some secret of this form reached an output, masked")
        leaks = sorted(hits, key=lambda k: (FORMS.index(k[1]), by_idx[k[0]].rid))
        if leaks:
            print(f"\nLEAKS: {len(leaks)} (sample, form) pairs, "
                  f"{len({(by_idx[i].rid, f) for i, f in leaks})} (format, form) pairs")
            cache = {}
            for i, f in leaks:
                s = by_idx[i]
                where = "; ".join(n + ("" if v == {"raw"} else f" [{','.join(sorted(v))}]")
                                  for n, v in sorted(hits[(i, f)].items()))
                print(f"{f:16} {s.rid:38} {where}")
                name, view, p = first[(i, f)]
                if name not in cache:
                    cache = {name: dict(views(outputs[name].decode("latin-1")))}
                v = cache[name][view]
                print(f"{'':16} e.g. {name} [{view}]: {v[max(0, p - 120):p + 100]!r}")
        if fixed_only:
            print(f"\nFIXED PARTS: {len(fixed_only)} samples with only a window that "
                  f"several forms share (a fixed part of the format) found")
            for i, where in sorted(fixed_only.items()):
                print(f"{by_idx[i].rid:40} " + "; ".join(
                    f"{n} {sorted(ws)[:2]}" for n, ws in sorted(where.items())))
        check(not leaks and not fixed_only,
              f"no secret in any output ({len(leaks)} (sample, form) pairs leaked, "
              f"{len(fixed_only)} samples with a fixed part only)")
    finally:
        outside.server.shutdown()
        for p in procs + CHILDREN:
            if p.poll() is None:
                p.kill()
                p.wait()
        if opts.keep:
            print(f"kept {tmp}")
        else:
            import shutil
            shutil.rmtree(tmp, ignore_errors=True)
    print(f"run time {time.time() - started:.0f}s")
    print(f"{len(FAILURES)} failures" if FAILURES else "redaction e2e: all checks passed")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    raise SystemExit(main())
