// The console's pure modules under node:test (ctest console.web_unit).
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  effectDestination, effectHighlights, effectKind, effectPath, eventType, isEgress,
  isLoaderPath, isLoopback, isSensitivePath, marksOf,
} from "../src/classify.js";
import { lineDiff } from "../src/diff.js";
import { buildProcessTree } from "../src/tree.js";
import { visibleText } from "../src/text.js";

const open = (p, seq = 1) => ({ seq: String(seq), type: "EVENT_TYPE_FILE_OPEN", summary: `open ${p} O_RDONLY|O_CLOEXEC = 3` });

test("event types by name and by number", () => {
  assert.equal(eventType("EVENT_TYPE_NET_CONNECT"), "NET_CONNECT");
  assert.equal(eventType(10), "FILE_OPEN");
  assert.equal(eventType(undefined), "UNSPECIFIED");
  assert.equal(effectKind({ type: "EVENT_TYPE_DNS_QUERY" }), "dns");
  assert.equal(effectKind({ type: "EVENT_TYPE_EXEC" }), "exec");
});

test("paths and destinations from summaries", () => {
  assert.equal(effectPath(open("/home/u/.aws/credentials")), "/home/u/.aws/credentials");
  assert.equal(effectPath(open("/tmp/a file with spaces")), "/tmp/a file with spaces");
  assert.equal(effectPath({ type: "EVENT_TYPE_FILE_OPEN", summary: "open /x/y O_RDONLY = ENOENT" }), "/x/y");
  assert.equal(effectPath({ type: "EVENT_TYPE_FILE_RENAME", summary: "rename /a -> /b = 0" }), "/a");
  const c = { type: "EVENT_TYPE_NET_CONNECT", summary: "connect tcp 127.0.0.1:40000 -> 127.0.0.2:8080 = 0" };
  assert.equal(effectDestination(c), "127.0.0.2:8080");
  assert.equal(effectDestination({ type: "EVENT_TYPE_DNS_QUERY", summary: "dns example.com via 1.1.1.1:53" }), "example.com");
});

test("loader, library and locale opens", () => {
  for (const p of ["/etc/ld.so.cache", "/lib/x86_64-linux-gnu/libc.so.6", "/usr/lib/x86_64-linux-gnu/libssl.so.3",
                   "/lib64/ld-linux-x86-64.so.2", "/usr/lib/locale/locale-archive", "/usr/share/locale/de/LC_MESSAGES/x.mo",
                   "/opt/app/plugin.so", "/opt/app/libz.so.1.2.13", "/usr/share/zoneinfo/UTC",
                   "/usr/lib/x86_64-linux-gnu/gconv/gconv-modules.cache", "/etc/ld.so.preload"]) {
    assert.ok(isLoaderPath(p), p);
  }
  for (const p of ["/home/u/.aws/credentials", "/etc/passwd", "/tmp/x.sock", "/srv/some.json", "/usr/bin/cat"]) {
    assert.ok(!isLoaderPath(p), p);
  }
});

// A malicious server chooses its own file names: a library it dropped in
// /tmp and loaded, or a file named like the loader's, is not folded away
// behind the loader mark.
test("files a server can name are never folded as the loader's", () => {
  for (const p of ["/tmp/payload.so", "/tmp/x/libc.so.6", "/dev/shm/.x.so", "/var/tmp/lib.so.1",
                   "/run/user/1000/a.so", "/tmp/ld.so.cache", "/srv/data/gconv-dump.json",
                   "/home/u/.ssh/id_rsa.so", "/home/u/.aws/credentials.so", "/tmp/usr/lib/locale/x"]) {
    assert.ok(!isLoaderPath(p), p);
  }
  const marks = marksOf([open("/etc/ld.so.cache", 1), open("/tmp/payload.so", 2)], false);
  assert.deepEqual(marks.map((m) => (m.loader ? "loader" : m.effect.seq)), ["loader", "2"]);
});

// Text from the monitored world may not reorder itself or hide
// characters: bidi overrides, zero-width characters and Unicode tags are
// shown as code points.
test("reordering and invisible characters are shown", () => {
  assert.equal(visibleText("dns \u202Emoc.elgoog"), "dns ⟦U+202E⟧moc.elgoog");
  assert.equal(visibleText("read\u2066_file\u2069"), "read⟦U+2066⟧_file⟦U+2069⟧");
  assert.equal(visibleText("ok\u200B"), "ok⟦U+200B⟧");
  assert.equal(visibleText("Reads a file.\u{E0049}\u{E0067}"), "Reads a file.⟦U+E0049⟧⟦U+E0067⟧");
  assert.equal(visibleText("a\u0000b\u001b[31m"), "a⟦U+0000⟧b⟦U+001B⟧[31m");
  // What is only text stays as it is.
  for (const s of ["plain", "multi\nline\ttab", "日本語 ünïcödé", "👩‍💻", "❤️", "שלום"]) {
    assert.equal(visibleText(s), s);
  }
  assert.equal(visibleText(42), "42");
});

test("loader opens fold into one mark per call unless all are shown", () => {
  const effects = [open("/etc/ld.so.cache", 1), open("/lib/x86_64-linux-gnu/libc.so.6", 2), open("/etc/passwd", 3),
                   open("/usr/lib/locale/locale-archive", 4)];
  const folded = marksOf(effects, false);
  assert.equal(folded.length, 2);
  assert.equal(folded[0].loader, true);
  assert.equal(folded[0].count, 3);
  assert.equal(folded[1].effect.seq, "3");
  assert.equal(marksOf(effects, true).length, 4);
});

test("egress is a connection outside loopback; sensitive files", () => {
  assert.ok(isLoopback("127.0.0.2:8080"));
  assert.ok(isLoopback("[::1]:80"));
  assert.ok(!isLoopback("198.18.0.2:443"));
  assert.ok(!isLoopback("[2001:db8::1]:443"));
  assert.ok(isEgress({ type: "EVENT_TYPE_NET_CONNECT", summary: "connect tcp 10.0.0.2:1 -> 198.18.0.2:443 = 0" }));
  assert.ok(!isEgress({ type: "EVENT_TYPE_NET_CONNECT", summary: "connect tcp 127.0.0.1:1 -> 127.0.0.2:443 = 0" }));
  // An alert's egress evidence marks a loopback connection too.
  const lo = { seq: "9", type: "EVENT_TYPE_NET_CONNECT", summary: "connect tcp 127.0.0.1:1 -> 127.0.0.2:443 = 0" };
  assert.ok(effectHighlights(lo, new Set(["egress"])).has("egress"));
  assert.ok(!effectHighlights(lo, new Set()).has("egress"));
  assert.ok(isSensitivePath("/home/u/.aws/credentials"));
  assert.ok(isSensitivePath("/root/.ssh/id_ed25519"));
  assert.ok(!isSensitivePath("/home/u/project/README.md"));
  assert.ok(effectHighlights(open("/home/u/.ssh/id_rsa"), null).has("secret"));
});

test("line diff", () => {
  const d = lineDiff("a\nb\nc", "a\nB\nc\nd");
  assert.deepEqual(d.map((l) => `${l.op}:${l.text}`), ["same:a", "del:b", "add:B", "same:c", "add:d"]);
  assert.deepEqual(lineDiff("", "x").map((l) => l.op), ["add"]);
  assert.deepEqual(lineDiff("x", "").map((l) => l.op), ["del"]);
});

test("process tree from exec and exit events", () => {
  const ev = (pid, ppid, x) => ({ process: { pid, ppid }, ...x });
  const root = buildProcessTree([
    ev(10, 1, { exec: { filename: "/usr/bin/node", argv: ["node", "server.js"] } }),
    ev(11, 10, { exec: { filename: "/bin/sh", argv: ["sh", "-c", "id"] } }),
    ev(12, 11, { exec: { filename: "/usr/bin/id", argv: ["id"] } }),
    ev(12, 11, { exit: {} }),
    ev(13, 10, { exit: { exit_code: 2 } }),
    ev(99, 1, { exec: { filename: "/usr/bin/unrelated" } }),
  ], 10);
  assert.equal(root.pid, 10);
  assert.deepEqual(root.children.map((c) => c.pid), [11, 13]);
  assert.equal(root.children[0].children[0].pid, 12);
  assert.equal(root.children[0].children[0].exit.code, 0);
  assert.equal(root.children[1].exit.code, 2);
});
