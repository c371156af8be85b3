#!/usr/bin/env python3
"""e2e: real MCP servers and clients from the npm registry, no watch rules.

agentwatchd runs with --no-builtin-rules and no rule of its own, so every
server must be found by discovery. A client built on @modelcontextprotocol/sdk
(tests/e2e/mcp_client.mjs) drives:
  - server-filesystem and server-memory over stdio,
  - server-everything over Streamable HTTP and over the legacy HTTP+SSE
    transport (loopback ports),
  - a server-memory session that was already running when the daemon
    started (found from /proc, decoded from the next message on).
Each client prints what it did; `agentwatch calls|servers|sessions|tools
--json` must report exactly that: tool names, arguments, isError, pairing,
session identity and the client process.

Exit 77 = skipped (not root, or node/npm packages missing), unless
AGENTWATCH_REQUIRE_BPF=1.
"""
import json
import os
import signal
import subprocess
import sys
import time

from awtest import (MODULES, TESTS, begin, check, cli_json, finish_run, free_port, listening,
                    settle, wait_for)

HERE = os.path.dirname(os.path.abspath(__file__))
CLIENT = os.path.join(HERE, "mcp_client.mjs")




def server_js(pkg):
    return os.path.join(MODULES, pkg, "dist", "index.js")


def run_client(mode, target, calls, env=None, wait_file=None):
    e = dict(os.environ, CALLS=json.dumps(calls))
    if env:
        e.update(env)
    if wait_file:
        e["WAIT_FILE"] = wait_file
    args = ["node", CLIENT, mode] + target
    return subprocess.Popen(args, env=e, stdout=subprocess.PIPE, text=True,
                            cwd=TESTS)


def finish(p, what):
    out, _ = p.communicate(timeout=60)
    if not check(p.returncode == 0, f"{what}: client exited {p.returncode}"):
        return None
    return json.loads(out.strip().splitlines()[-1])


def main():
    bindir, cli, tmp, endpoint = begin("aw-mcp-e2e-")
    agentwatchd = os.path.join(bindir, "agentwatchd")
    files = os.path.join(tmp, "files")
    os.makedirs(files)
    with open(os.path.join(files, "notes.txt"), "w") as f:
        f.write("meeting at noon\n")
    procs = []

    aw = cli_json(cli, endpoint)

    try:
        # A session that runs before the daemon does.
        go = os.path.join(tmp, "go")
        early_calls = [{"tool": "create_entities", "arguments": {"entities": [
            {"name": "early", "entityType": "note", "observations": ["seen late"]}]}},
            {"tool": "read_graph", "arguments": {}}]
        early = run_client("stdio", ["node", server_js("server-memory")], early_calls,
                           env={"MEMORY_FILE_PATH": os.path.join(tmp, "early.json")},
                           wait_file=go)
        procs.append(early)
        time.sleep(3)  # connected and listed its tools

        daemon = subprocess.Popen(
            [agentwatchd, "--no-builtin-rules", "--endpoint", endpoint,
             "--state-dir", os.path.join(tmp, "state"), "--log-level", "info"],
            stderr=open(os.path.join(tmp, "daemon.log"), "w"))
        procs.append(daemon)

        def ready():
            r = subprocess.run([cli, "--endpoint", endpoint, "status"],
                               capture_output=True, text=True)
            return r.returncode == 0
        wait_for(ready, 30, "the daemon")
        open(go, "w").close()

        fs_calls = [
            {"tool": "read_text_file", "arguments": {"path": os.path.join(files, "notes.txt")}},
            {"tool": "read_text_file", "arguments": {"path": "/etc/shadow"}},
            {"tool": "list_directory", "arguments": {"path": files}},
            {"tool": "write_file", "arguments": {"path": os.path.join(files, "out.txt"),
                                                 "content": "token=sk-e2eSECRETvalue0123456789abcd"}},
            {"tool": "move_file", "arguments": {"source": os.path.join(files, "out.txt"),
                                                "destination": os.path.join(files, "moved.txt")}},
        ]
        fs = run_client("stdio", ["node", server_js("server-filesystem"), files], fs_calls)
        mem_calls = [
            {"tool": "create_entities", "arguments": {"entities": [
                {"name": "Alice", "entityType": "person", "observations": ["likes tea"]}]}},
            {"tool": "search_nodes", "arguments": {"query": "Alice"}},
            {"tool": "no_such_tool", "arguments": {}},
        ]
        mem = run_client("stdio", ["node", server_js("server-memory")], mem_calls,
                         env={"MEMORY_FILE_PATH": os.path.join(tmp, "mem.json")})
        reports = {"filesystem": finish(fs, "filesystem"), "memory": finish(mem, "memory")}

        # Data moving between servers: one agent reads a file through
        # server-filesystem and stores its text through server-memory.
        with open(os.path.join(files, "plan.txt"), "w") as f:
            f.write("Project Falcon launch plan: ship on March 3rd, budget 40k, "
                    "vendor Acme Robotics, contact Dana at extension 4471.\n")
        flow = run_client(
            "stdio", ["node", server_js("server-filesystem"), files],
            [{"tool": "read_text_file", "arguments": {"path": os.path.join(files, "plan.txt")}}],
            env={"THEN_STDIO": "node " + server_js("server-memory"),
                 "MEMORY_FILE_PATH": os.path.join(tmp, "flow.json"),
                 "THEN_CALLS": json.dumps([
                     {"tool": "create_entities", "arguments": {"entities": [
                         {"name": "falcon", "entityType": "project",
                          "observations": ["{{previous}}"]}]}},
                     {"tool": "search_nodes", "arguments": {"query": "weather"}}])})
        flow_rep = finish(flow, "data flow")

        http_port, sse_port = free_port(), free_port()
        for port, mode in ((http_port, "streamableHttp"), (sse_port, "sse")):
            p = subprocess.Popen(["node", server_js("server-everything"), mode],
                                 env=dict(os.environ, PORT=str(port)), cwd=TESTS,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            procs.append(p)

        for port in (http_port, sse_port):
            wait_for(lambda: listening(port), 30, f"server-everything on {port}")
        ev_calls = [
            {"tool": "echo", "arguments": {"message": "hello over http"}},
            {"tool": "get-sum", "arguments": {"a": 19, "b": 23}},
            {"tool": "trigger-long-running-operation",
             "arguments": {"duration": 1, "steps": 3}, "progress": True},
            {"tool": "trigger-long-running-operation",
             "arguments": {"duration": 5, "steps": 5}, "cancelAfterMs": 600},
        ]
        reports["http"] = finish(run_client(
            "http", [f"http://127.0.0.1:{http_port}/mcp"], ev_calls), "http")
        sse_calls = [{"tool": "echo", "arguments": {"message": "hello over sse"}},
                     {"tool": "get-sum", "arguments": {"a": 1, "b": 2}}]
        reports["sse"] = finish(run_client(
            "sse", [f"http://127.0.0.1:{sse_port}/sse"], sse_calls), "sse")
        reports["early"] = finish(early, "early")
        if None in reports.values():
            return 1

        def all_calls():
            cs = aw("calls", "-n", "1000")
            want = sum(len(r["calls"]) for r in reports.values())
            got = [c for c in cs if c.get("method") == "tools/call"
                   and c.get("status") != "pending"]
            return cs if len(got) >= want else None
        calls = wait_for(all_calls, 20, "every tools/call reported")
        servers = aw("servers", "--all")
        print(f"checking {len(calls)} calls", flush=True)
        sessions = aw("sessions", "--all")
        print(f"{len(servers)} servers, {len(sessions)} sessions", flush=True)
        for c in calls:
            print("  ", c.get("session_id"), c.get("method"), c.get("tool", ""),
                  c.get("status"), flush=True)

        for name, rep in reports.items():
            mine = [s for s in sessions if s.get("client_pid") == rep["pid"]]
            if not check(len(mine) == 1, f"{name}: one session with client pid "
                         f"{rep['pid']}, got {[(s['id'], s.get('client_pid')) for s in sessions]}"):
                continue
            sess = mine[0]
            got = [c for c in calls if c.get("session_id") == sess["id"]
                   and c.get("method") == "tools/call"]
            check([c.get("tool") for c in got] == [c["tool"] for c in rep["calls"]],
                  f"{name}: tools {[c.get('tool') for c in got]} != "
                  f"{[c['tool'] for c in rep['calls']]}")
            for c, r in zip(got, rep["calls"]):
                args = json.loads(c.get("arguments", "{}"))
                secretless = json.loads(json.dumps(r["arguments"]).replace(
                    "sk-e2eSECRETvalue0123456789abcd", "[REDACTED]"))
                if "sk-e2eSECRET" in json.dumps(r["arguments"]):
                    check("sk-e2eSECRET" not in c.get("arguments", ""),
                          f"{name}: secret in arguments not redacted")
                else:
                    check(args == secretless, f"{name}: arguments {args} != {r['arguments']}")
                if r.get("cancelled"):
                    check(c.get("status") == "cancelled", f"{name}: {c}")
                elif r["error"] is not None:
                    check(c.get("status") == "error", f"{name}: expected error {c}")
                else:
                    check(bool(c.get("is_error")) == r["isError"],
                          f"{name}: isError {c.get('is_error')} != {r['isError']} for {c.get('tool')}")
                    check(c.get("status") == ("tool_error" if r["isError"] else "ok"),
                          f"{name}: status {c.get('status')}")
                    check(int(c.get("latency_ns", 0)) > 0, f"{name}: latency {c}")
                if r.get("progress"):
                    check(c.get("progress_count", 0) >= 1,
                          f"{name}: progress notifications not counted: {c}")
            if name != "early":
                check(sess.get("client_name") == "agentwatch-e2e-client",
                      f"{name}: clientInfo {sess.get('client_name')}")
                init = [c for c in calls if c.get("session_id") == sess["id"]
                        and c.get("method") == "initialize"]
                check(len(init) == 1 and init[0].get("status") == "ok",
                      f"{name}: initialize {init}")
                lists = [c for c in calls if c.get("session_id") == sess["id"]
                         and c.get("method") == "tools/list"]
                check(len(lists) == 1 and lists[0].get("result_summary") ==
                      f"tools={len(rep['tools'])}", f"{name}: tools/list {lists}")
            srv = [s for s in servers if s["id"] == sess["server_id"]]
            if check(len(srv) == 1, f"{name}: server of the session"):
                s = srv[0]
                want_t = {"filesystem": "stdio", "memory": "stdio", "early": "stdio",
                          "http": "http", "sse": "sse"}[name]
                check(s.get("transport") == want_t, f"{name}: transport {s.get('transport')}")
                check(s.get("discovered_by") in ("stdio", "http"),
                      f"{name}: found by {s.get('discovered_by')}")
                if name != "early":
                    check(s.get("name") == rep["server"]["name"],
                          f"{name}: serverInfo {s.get('name')} != {rep['server']['name']}")
                    check(s.get("tool_count") == len(rep["tools"]), f"{name}: tool count")
                    inv = aw("tools", s["id"])
                    check(len(inv) == 1 and sorted(t["name"] for t in inv[0].get("tools", []))
                          == sorted(rep["tools"]), f"{name}: tool inventory")
                    check(all(len(t["hash"]) == 64 for t in inv[0].get("tools", [])),
                          f"{name}: tool hashes")
            if rep.get("sessionId"):
                check(sess.get("mcp_session_id") == rep["sessionId"],
                      f"{name}: Mcp-Session-Id {sess.get('mcp_session_id')} != {rep['sessionId']}")

        # The data flow is linked: the memory call carries the file's text.
        if flow_rep:
            by_agent = {x["id"]: x.get("client_pid") for x in sessions}
            mine = [c for c in calls if by_agent.get(c.get("session_id")) == flow_rep["pid"]
                    and c.get("method") == "tools/call"]
            tools = {c.get("tool"): c for c in mine}
            read, store = tools.get("read_text_file"), tools.get("create_entities")
            unrelated = tools.get("search_nodes")
            if check(read and store and unrelated, f"data-flow calls: {[c.get('tool') for c in mine]}"):
                flows = store.get("flows", [])
                check(len(flows) == 1 and flows[0].get("from_call_id") == read.get("call_id")
                      and flows[0].get("from_tool") == "read_text_file",
                      f"create_entities linked to read_text_file: {flows}")
                check(not unrelated.get("flows"), f"unrelated call linked: {unrelated}")
                check(store.get("server_id") != read.get("server_id"),
                      "the flow crosses servers")

        # Agents: each client process, with its clientInfo and servers.
        agents = {a["pid"]: a for a in aw("agents", "--all")}
        for name in ("filesystem", "memory", "http", "sse"):
            a = agents.get(reports[name]["pid"])
            if check(a is not None, f"{name}: agent {reports[name]['pid']} listed"):
                check(a.get("client_name") == "agentwatch-e2e-client" and
                      len(a.get("servers", [])) == 1 and int(a.get("calls", 0)) >= 3,
                      f"{name}: agent record {a}")
        if flow_rep:
            check(len(agents.get(flow_rep["pid"], {}).get("servers", [])) == 2,
                  "the data-flow agent used two servers")

        # Action chains: each call holds the file effects it caused.
        chains = aw("chains")
        fs_chain = [c for c in chains if c.get("agent_pid") == reports["filesystem"]["pid"]]
        mem_chain = [c for c in chains if c.get("agent_pid") == reports["memory"]["pid"]]
        if check(len(fs_chain) == 1 and len(mem_chain) == 1,
                 f"one chain per agent: {[(c['id'], c.get('agent_pid')) for c in chains]}"):
            tree = aw("chain", str(fs_chain[0]["id"]))[0]
            per_tool = []
            for e in tree.get("entries", []):
                call = e.get("call", {})
                if call.get("method") == "tools/call":
                    per_tool.append((call.get("tool"),
                                     [x.get("summary", "") for x in e.get("effects", [])]))
            check([t for t, _ in per_tool] == [c["tool"] for c in fs_calls],
                  f"chain calls in order: {[t for t, _ in per_tool]}")
            notes, out = os.path.join(files, "notes.txt"), os.path.join(files, "out.txt")
            moved = os.path.join(files, "moved.txt")
            want = [
                lambda fx: any(x.startswith(f"open {notes} ") for x in fx),
                lambda fx: not any(notes in x or out in x for x in fx),  # denied: no open
                lambda fx: any(x.startswith(f"open {files} ") for x in fx),
                lambda fx: any(x.startswith(f"open {out} ") and "O_CREAT" in x for x in fx),
                lambda fx: any(x.startswith(f"rename {out} -> {moved} = 0") for x in fx),
            ]
            for (tool, fx), ok in zip(per_tool, want):
                check(ok(fx), f"chain: effects of {tool}: {fx}")
            # Nothing of one call under another: out.txt only in write and move.
            for tool, fx in per_tool[:3]:
                check(not any(out in x for x in fx), f"chain: {tool} has {fx}")
            mtree = aw("chain", str(mem_chain[0]["id"]))[0]
            check(not any(files in x.get("summary", "") for e in mtree.get("entries", [])
                          for x in e.get("effects", [])),
                  "the memory agent's chain holds none of the filesystem agent's effects")

        # `calls --follow` streams calls as they finish.
        follow = subprocess.Popen([cli, "--endpoint", endpoint, "calls", "--follow",
                                   "-n", "0", "--json", "--tool", "echo"],
                                  stdout=subprocess.PIPE, text=True)
        time.sleep(1)
        finish(run_client("http", [f"http://127.0.0.1:{http_port}/mcp"],
                          [{"tool": "echo", "arguments": {"message": "live"}}]), "live")
        line = follow.stdout.readline()
        follow.terminate()
        live = json.loads(line) if line.strip() else {}
        check(json.loads(live.get("arguments", "{}")) == {"message": "live"},
              f"calls --follow: {line!r}")

        # More calls than one gRPC answer holds (4 MiB): 1,100 echo calls of
        # 3,800 characters each; the CLI pages `calls` and `chain` to the whole.
        big = "p" * 3800
        bulk = finish(run_client("stdio", ["node", server_js("server-everything"), "stdio"],
                                 [{"tool": "echo", "arguments": {"message": big}}],
                                 env={"REPEAT": "1100"}), "bulk")
        if bulk:
            def bulk_calls():
                r = subprocess.run([cli, "--endpoint", endpoint, "calls", "--tool", "echo",
                                    "--limit", "100000", "--json"],
                                   capture_output=True, text=True, timeout=60)
                check(r.returncode == 0, f"calls --limit 100000: {r.stderr}")
                got = [json.loads(l) for l in r.stdout.splitlines() if l.strip()]
                return [c for c in got if big in c.get("arguments", "")], len(r.stdout)
            ok = settle(lambda: len(bulk_calls()[0]) >= 1100, 60)
            calls, size = bulk_calls()
            check(ok and len(calls) == 1100 and size > (4 << 20),
                  f"calls --limit 100000: {len(calls)} of the 1100 bulk calls, {size} bytes")
            check(all(int(calls[i - 1].get("started_ktime_ns", 0)) <=
                      int(calls[i].get("started_ktime_ns", 0)) for i in range(1, len(calls))),
                  "calls --limit 100000: in start order")
            bulk_chain = [c for c in aw("chains") if c.get("agent_pid") == bulk["pid"]]
            if check(len(bulk_chain) == 1, f"one chain of the bulk agent: {bulk_chain}"):
                r = subprocess.run([cli, "--endpoint", endpoint, "chain",
                                    str(bulk_chain[0]["id"]), "--json"],
                                   capture_output=True, text=True, timeout=60)
                check(r.returncode == 0, f"chain of the bulk agent: {r.stderr}")
                entries = json.loads(r.stdout).get("entries", []) if r.returncode == 0 else []
                echoes = [e for e in entries if e.get("call", {}).get("tool") == "echo"]
                check(len(echoes) == 1100 and len(r.stdout) > (4 << 20),
                      f"chain of the bulk agent: {len(echoes)} echo calls of 1100, "
                      f"{len(r.stdout)} bytes")

        daemon.send_signal(signal.SIGTERM)
        check(daemon.wait(timeout=20) == 0, "daemon exit code")
    finally:
        code = finish_run(procs, tmp, "mcp e2e")
    return code



if __name__ == "__main__":
    sys.exit(main())
