#!/usr/bin/env python3
"""e2e: the embedded store survives kill -9.

An agent (an @modelcontextprotocol/sdk client) drives server-filesystem
over stdio, with no watch rule: two calls, then it pauses with its session
open. The daemon is killed with SIGKILL and started again on the same
state directory. Then:
  - the earlier chain is still listed and shows its calls with their file
    effects, now closed;
  - the still-running server is re-discovered (from /proc) and the agent's
    next calls are recorded in a new chain, with call and chain ids past
    the stored ones;
  - after a clean stop the database passes integrity_check, holds every
    call once, and is readable by its owner only.

Exit 77 = skipped (not root, or node/npm packages missing), unless
AGENTWATCH_REQUIRE_BPF=1.
"""
import json
import os
import signal
import sqlite3
import stat
import subprocess
import time

from awtest import (MODULES, TESTS, begin, check, cli_json, finish_run, start_daemon, wait_for)

HERE = os.path.dirname(os.path.abspath(__file__))
CLIENT = os.path.join(HERE, "mcp_client.mjs")


def main():
    bindir, cli, tmp, endpoint = begin("aw-store-e2e-")
    state = os.path.join(tmp, "state")
    db = os.path.join(state, "agentwatch.db")
    files = os.path.join(tmp, "files")
    os.makedirs(files)
    before = os.path.join(files, "before.txt")
    with open(before, "w") as f:
        f.write("written before the crash\n")
    procs = []

    aw = cli_json(cli, endpoint)

    log = os.path.join(tmp, "daemon.log")

    def run_daemon(n):
        with open(log, "a") as f:
            f.write(f"--- daemon run {n}\n")
        d = start_daemon(bindir, endpoint, log, "--state-dir", state, "--log-level", "info")
        procs.append(d)
        return d

    def counter(name):
        st = aw("status")
        for c in (st[0].get("counters", []) if st else []):
            if c["name"] == name:
                return int(c.get("value", 0))
        return 0

    try:
        d1 = run_daemon(1)
        go = os.path.join(tmp, "go")
        after = os.path.join(files, "after.txt")
        calls = [
            {"tool": "read_text_file", "arguments": {"path": before}},
            {"tool": "list_directory", "arguments": {"path": files}},
            {"waitFile": go},
            {"tool": "write_file", "arguments": {"path": after, "content": "after\n"}},
            {"tool": "read_text_file", "arguments": {"path": after}},
        ]
        agent = subprocess.Popen(
            ["node", CLIENT, "stdio", "node",
             os.path.join(MODULES, "server-filesystem", "dist", "index.js"), files],
            env=dict(os.environ, CALLS=json.dumps(calls)), stdout=subprocess.PIPE,
            text=True, cwd=TESTS)
        procs.append(agent)

        def first_chain():
            for c in aw("chains"):
                if c.get("calls", 0) >= 3:  # tools/list is a call too
                    return c
            return None
        chain1 = wait_for(first_chain, 60, "the agent's first calls in a chain")
        # In the store: the chain's updates went out in a committed batch.
        wait_for(lambda: counter("store_updates_written") >= 3, 10, "a store batch")
        d1.send_signal(signal.SIGKILL)
        d1.wait()

        d2 = run_daemon(2)
        listed = {c["id"]: c for c in aw("chains")}
        check(chain1["id"] in listed, f"chain {chain1['id']} is listed after the restart")
        old = aw("chain", str(chain1["id"]))
        old = old[0] if old else {}
        check(not old.get("open", False), "the earlier chain is closed after the restart")
        tools = [e["call"].get("tool") for e in old.get("entries", []) if "call" in e]
        check(tools[-2:] == ["read_text_file", "list_directory"],
              f"the earlier chain's calls survived: {tools}")
        read = [e for e in old.get("entries", [])
                if e.get("call", {}).get("tool") == "read_text_file"]
        check(read and any(before in x.get("summary", "") and x.get("summary", "").startswith("open ")
                           for x in read[0].get("effects", [])),
              f"the stored read_text_file call kept its file effect: {read}")
        check(any(a.get("pid") == agent.pid for a in aw("agents", "--all")),
              "the agent is listed after the restart")

        # The server is re-discovered; the agent's next calls are recorded.
        open(go, "w").close()
        out, _ = agent.communicate(timeout=60)
        check(agent.returncode == 0, f"the agent exited {agent.returncode}")

        def new_chain():
            for c in aw("chains"):
                if c["id"] > chain1["id"] and c.get("agent_pid") == agent.pid:
                    return c
            return None
        chain2 = wait_for(new_chain, 30, "a new chain after the restart")
        new = aw("chain", str(chain2["id"]))
        new = new[0] if new else {}
        new_calls = [e["call"] for e in new.get("entries", []) if "call" in e]
        check([c.get("tool") for c in new_calls] == ["write_file", "read_text_file"],
              f"the calls after the restart: {[c.get('tool') for c in new_calls]}")
        check(new_calls and any(after in x.get("summary", "") and "O_WRONLY" in x.get("summary", "")
                                for x in new.get("entries", [{}])[0].get("effects", [])),
              f"write_file's effect after the restart: {new.get('entries', [{}])[0]}")
        old_ids = {e["call"]["call_id"] for e in old.get("entries", []) if "call" in e}
        check(all(int(c["call_id"]) > max(int(i) for i in old_ids) for c in new_calls),
              "call ids go on past the stored ones")
        server_pid = new_calls[0].get("server_pid") if new_calls else None
        servers = [s for s in aw("servers", "--all") if s.get("pid") == server_pid]
        # One record: a server's id (pid and start time) is the same whether
        # the daemon saw it start or found it in /proc.
        check(len(servers) == 1 and int(servers[0].get("calls", 0)) >= 2,
              f"the running server was re-discovered, under the same id: {servers}")

        d2.send_signal(signal.SIGTERM)
        d2.wait(timeout=30)
        check(d2.returncode == 0, f"the daemon stopped cleanly: {d2.returncode}")
        check(stat.S_IMODE(os.stat(db).st_mode) == 0o600, "the database is mode 0600")
        con = sqlite3.connect(db)
        check(con.execute("PRAGMA integrity_check").fetchone()[0] == "ok", "integrity_check")
        rows = con.execute("SELECT tool, COUNT(*) FROM calls WHERE method = 'tools/call' "
                           "GROUP BY tool ORDER BY tool").fetchall()
        check(rows == [("list_directory", 1), ("read_text_file", 2), ("write_file", 1)],
              f"every call stored once: {rows}")
        chained = con.execute("SELECT COUNT(DISTINCT chain_id) FROM calls "
                              "WHERE method = 'tools/call'").fetchone()[0]
        check(chained == 2, f"the calls are in two chains: {chained}")
        # The tracker's records went in too.
        for table, least in (("agents", 1), ("servers", 1), ("sessions", 1),
                             ("tool_versions", 10)):
            n = con.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
            check(n >= least, f"{table} holds {n} rows (at least {least})")
        effects = con.execute("SELECT COUNT(*) FROM effects e JOIN calls c ON "
                              "e.call_id = c.call_id WHERE c.tool = 'write_file' "
                              "AND e.summary LIKE 'open %after.txt%'").fetchone()[0]
        check(effects == 1, f"write_file's file effect is stored once: {effects}")
        con.close()
    finally:
        rc = finish_run(procs, tmp, "store e2e")
    return rc


if __name__ == "__main__":
    raise SystemExit(main())
