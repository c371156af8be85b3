#!/usr/bin/env python3
"""The userspace folders' dependency order, checked.

Each folder under userspace/ is one stage with one CMake library (or a few).
A file may include, and a folder's targets may link, only folders that come
earlier in ORDER; folders on the same level are peers and may not use each
other. `cli` stands on the side and may use the levels named in SIDE;
`testing` holds the tests' event builders and is used by tests only.

Exits 1 listing every violation (file:line and what it included, or the
CMake target and what it linked); prints the order when all is well.
"""
import pathlib
import re
import sys

ORDER = [
    ["common"],                          # text, clocks, histogram
    ["net"],                             # DNS, sockaddr, curl/OpenSSL plumbing
    ["model"],                           # generated agentwatch.v1, event text, attribution
    ["redact"],                          # catalogue, decoded views, the Redactor
    ["proc", "kube", "sensor", "mcp"],   # sources and parsers
    ["detect"],                          # signals, rules, engine, baselines
    ["session"],                         # MCP stage + session tracker
    ["chain"],                           # correlator
    ["pipeline"],                        # pipeline thread, hub, queues, traces
    ["store"],                           # SQLite
    ["export", "ops"],                   # sinks; metrics + HTTP server
    ["api"],                             # gRPC service
    ["console"],                         # web console: assets, JSON API + SSE
    ["daemon"],                          # config, caps, composition root
]
# Folders outside the chain: what each may use.
SIDE = {
    "cli": {"common", "net", "model", "redact", "detect"},
    "testing": {"common", "net", "model"},
}
# Includes that are not a userspace folder, and the first level that may
# use them: the generated protobuf/gRPC code is the model; the shared
# kernel/user header and the skeletons belong to the sensor's level.
EXTERNAL = {
    "agentwatch/v1/": "model",
    "events.h": "sensor",
    "agentwatch.skel.h": "sensor",
    "probe.skel.h": "sensor",
}

LEVEL = {f: i for i, group in enumerate(ORDER) for f in group}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def allowed(src: str, dep: str, is_test: bool) -> bool:
    if dep == src:
        return True
    if dep == "testing":
        return is_test
    if src in SIDE:
        return dep in SIDE[src]
    if src not in LEVEL or dep not in LEVEL:
        return False
    return LEVEL[dep] < LEVEL[src]


def folder_of_include(path: str, folders: set):
    for prefix, level in EXTERNAL.items():
        if path == prefix or (prefix.endswith("/") and path.startswith(prefix)):
            return level
    head = path.split("/", 1)[0]
    if "/" in path and head in folders:
        return head
    return None  # a system or third-party header, or a generated test stub


def check_includes(root: pathlib.Path, folders: set, errors: list):
    for f in sorted(root.rglob("*")):
        if f.suffix not in (".cc", ".h", ".in") or not f.is_file():
            continue
        src = f.relative_to(root).parts[0]
        is_test = re.search(r"_(test|fuzz|bench)\.cc$", f.name) is not None
        for n, line in enumerate(f.read_text(errors="replace").splitlines(), 1):
            m = INCLUDE.match(line)
            if not m:
                continue
            dep = folder_of_include(m.group(1), folders)
            if dep is None:
                continue
            if not allowed(src, dep, is_test):
                errors.append(f"{f.relative_to(root.parent)}:{n}: {src}/ includes "
                              f"\"{m.group(1)}\" ({dep}/ is not before {src}/)")


def check_links(root: pathlib.Path, folders: set, errors: list):
    # Which folder defines each aw_* target.
    owner = {}
    texts = {}
    for d in sorted(folders):
        cm = root / d / "CMakeLists.txt"
        if not cm.exists():
            continue
        text = re.sub(r"#.*", "", cm.read_text())
        texts[d] = text
        for m in re.finditer(r"add_library\(\s*(aw_\w+)", text):
            owner[m.group(1)] = d
    for d, text in texts.items():
        for m in re.finditer(r"target_link_libraries\(\s*(\S+)([^)]*)\)", text):
            target, libs = m.group(1), m.group(2).split()
            is_test = not target.startswith("aw_") and target not in ("agentwatchd", "agentwatch")
            for lib in libs:
                dep = owner.get(lib)
                if dep is not None and not allowed(d, dep, is_test):
                    errors.append(f"userspace/{d}/CMakeLists.txt: {target} links {lib} "
                                  f"({dep}/ is not before {d}/)")
        for m in re.finditer(r"agentwatch_(?:test|fuzz)\(([^)]*)\)", text):
            body = m.group(1)
            libs = body.split("LIBS", 1)[1].split() if "LIBS" in body else []
            for lib in libs:
                dep = owner.get(lib)
                if dep is not None and not allowed(d, dep, True):
                    errors.append(f"userspace/{d}/CMakeLists.txt: a test links {lib} "
                                  f"({dep}/ is not before {d}/)")


def check_subdirs(root: pathlib.Path, folders: set, errors: list):
    known = set(LEVEL) | set(SIDE)
    for d in sorted(folders - known):
        errors.append(f"userspace/{d}/ is in no level of the order (add it to ORDER or SIDE)")
    for d in sorted(known - folders):
        errors.append(f"userspace/{d}/ is in the order but does not exist")
    text = re.sub(r"#.*", "", (root / "CMakeLists.txt").read_text())
    added = re.findall(r"add_subdirectory\((\w+)\)", text)
    chain = [d for d in added if d in LEVEL]
    if [LEVEL[d] for d in chain] != sorted(LEVEL[d] for d in chain):
        errors.append("userspace/CMakeLists.txt adds the folders out of order: " + " ".join(added))


def check(repo: pathlib.Path) -> list:
    root = repo / "userspace"
    folders = {p.name for p in root.iterdir() if p.is_dir()}
    errors = []
    check_subdirs(root, folders, errors)
    check_includes(root, folders, errors)
    check_links(root, folders, errors)
    return errors


def self_test(repo: pathlib.Path) -> int:
    """Plants one violation of each kind in a copy and expects each named."""
    import shutil
    import tempfile
    plants = [
        ("userspace/proc/cgroup.cc", "#include \"session/mcp_tracker.h\"\n", "proc/ includes"),
        ("userspace/proc/cgroup.cc", "#include \"kube/kube.h\"\n", "(kube/ is not before proc/)"),
        ("userspace/cli/format.cc", "#include \"pipeline/hub.h\"\n", "cli/ includes"),
        ("userspace/common/text.cc", "#include \"agentwatch/v1/agentwatch.pb.h\"\n", "(model/ is not before common/)"),
        ("userspace/mcp/CMakeLists.txt", "target_link_libraries(aw_mcp PUBLIC aw_store)\n", "aw_mcp links aw_store"),
        ("userspace/store/store.cc", "#include \"testing/events.h\"\n", "store/ includes \"testing/"),
    ]
    failed = 0
    for rel, line, expect in plants:
        with tempfile.TemporaryDirectory() as tmp:
            copy = pathlib.Path(tmp)
            shutil.copytree(repo / "userspace", copy / "userspace")
            f = copy / rel
            f.write_text(line + f.read_text())
            errors = check(copy)
            if not any(expect in e for e in errors):
                print(f"self-test: planting {line.strip()!r} in {rel} was not caught: {errors}")
                failed += 1
    if failed == 0:
        print(f"self-test: {len(plants)} planted violations caught")
    return 1 if failed else 0


def main() -> int:
    args = [a for a in sys.argv[1:] if a != "--self-test"]
    repo = pathlib.Path(args[0] if args else pathlib.Path(__file__).resolve().parents[2])
    if "--self-test" in sys.argv[1:] and self_test(repo):
        return 1
    errors = check(repo)
    if errors:
        print("layout: dependency order violated:")
        for e in errors:
            print("  " + e)
        return 1
    print("layout: " + " -> ".join("|".join(g) for g in ORDER) +
          "; side: " + ", ".join(f"{k} (uses {', '.join(sorted(v))})" for k, v in SIDE.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
