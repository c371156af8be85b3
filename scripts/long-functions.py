#!/usr/bin/env python3
"""Lists functions longer than a bound and source files longer than another.

Usage: scripts/long-functions.py [--max-function N] [--max-file N] [PATH...]
(defaults: 150 and 800 lines; paths default to userspace/ and bpf/).

A function is found by its body: a line that opens a brace after a
parenthesised signature at namespace or class level, to the brace that
closes it (braces in strings, chars and comments are skipped). It is a
review aid, not a parser: it prints what it finds and exits 1 when
anything is over.
"""
import pathlib
import re
import sys

SIG = re.compile(r"^(?:[\w:<>,*&~\s\[\]]+?)\b([~\w:]+)\s*\(.*\)\s*(?:const\s*)?(?:noexcept\s*)?(?:override\s*)?(?:->\s*[\w:<>,*& ]+)?\s*\{\s*$")


def strip(line: str, state: dict) -> str:
    out = []
    i = 0
    while i < len(line):
        if state["block"]:
            j = line.find("*/", i)
            if j < 0:
                return "".join(out)
            state["block"] = False
            i = j + 2
            continue
        c = line[i]
        if line.startswith("//", i):
            break
        if line.startswith("/*", i):
            state["block"] = True
            i += 2
            continue
        if c in "\"'":
            q = c
            i += 1
            while i < len(line) and line[i] != q:
                i += 2 if line[i] == "\\" else 1
            i += 1
            continue
        out.append(c)
        i += 1
    return "".join(out)


def functions(path: pathlib.Path):
    lines = path.read_text(errors="replace").splitlines()
    state = {"block": False}
    depth = 0
    cur = None  # (name, start line, depth at open)
    sig_buf = ""
    for n, raw in enumerate(lines, 1):
        code = strip(raw, state)
        if cur is None:
            sig_buf = (sig_buf + " " + code.strip()).strip() if code.strip() else ""
            if len(sig_buf) > 400:
                sig_buf = sig_buf[-400:]
            m = SIG.match(sig_buf) if code.rstrip().endswith("{") else None
            if m and not re.match(r"^(if|for|while|switch|namespace|struct|class|enum|union)\b",
                                  sig_buf) and "=" not in sig_buf.split("(")[0]:
                cur = (m.group(1), n, depth)
            if code.rstrip().endswith(("{", "}", ";")):
                sig_buf = ""
        depth += code.count("{") - code.count("}")
        if cur is not None and depth <= cur[2]:
            yield cur[0], cur[1], n
            cur = None


def main() -> int:
    args = sys.argv[1:]
    max_fn, max_file = 150, 800
    paths = []
    while args:
        a = args.pop(0)
        if a == "--max-function":
            max_fn = int(args.pop(0))
        elif a == "--max-file":
            max_file = int(args.pop(0))
        else:
            paths.append(pathlib.Path(a))
    root = pathlib.Path(__file__).resolve().parents[1]
    if not paths:
        paths = [root / "userspace", root / "bpf"]
    over = 0
    for p in paths:
        files = [p] if p.is_file() else sorted(
            f for f in p.rglob("*") if f.suffix in (".cc", ".h", ".c") and "vmlinux" not in f.parts)
        for f in files:
            n_lines = len(f.read_text(errors="replace").splitlines())
            rel = f.relative_to(root) if f.is_relative_to(root) else f
            if n_lines > max_file:
                print(f"{rel}: {n_lines} lines (file bound {max_file})")
                over += 1
            for name, a, b in functions(f):
                if b - a + 1 > max_fn:
                    print(f"{rel}:{a}: {name}: {b - a + 1} lines (function bound {max_fn})")
                    over += 1
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
