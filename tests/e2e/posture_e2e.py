#!/usr/bin/env python3
"""e2e: the posture family on live processes, read back through
`agentwatch posture` (table and --json) and `alerts --json`.

An agent (an @modelcontextprotocol/sdk client) with a long-lived OpenAI key
in its own environment, a HOME whose ~/.cursor/mcp.json holds a GitHub
token literally (and an AWS key by reference), and a project directory
whose .vscode/mcp.json only holds references, starts server-memory with a
GitHub token and a long-lived AWS key pair (AKIA, no session token) in its
environment and an API key on its command line. Then:
  - every one of those is listed, by variable, flag or key, with its kind
    and fingerprint, as a static-credential alert of medium severity;
  - references (${env:...}, ${input:...}) and a second server's temporary
    AWS credentials (ASIA with a session token) are not;
  - the same server started again with another GitHub token shows the new
    fingerprint as rotated from the old one;
  - no 12 characters of any of the secrets are in the posture table, its
    --json, `alerts --json`, `events --json`, the daemon's log or the store.

Exit 77 = skipped (not root, or node/npm packages missing), unless
AGENTWATCH_REQUIRE_BPF=1.
"""
import glob
import json
import os
import subprocess
import time

from awtest import (MODULES, TESTS, begin, check, cli_json, finish_run, settle, start_daemon,
                    write_file)

HERE = os.path.dirname(os.path.abspath(__file__))
CLIENT = os.path.join(HERE, "mcp_client.mjs")
MEMORY = os.path.join(MODULES, "server-memory", "dist", "index.js")

# Fake credentials in the providers' published shapes.
GITHUB = "ghp_Qw3rTy7uIo9pAs1dFg4hJk6lZx8cVb2nM5q0"
GITHUB_ROTATED = "ghp_Zx8cVb2nM5q0Qw3rTy7uIo9pAs1dFg4hJk6l"
GITHUB_IN_CONFIG = "ghp_Mn5bV7cX9zL1kJ3hG5fD7sA9pO1iU3yT5rE7"
AWS_ID = "AKIAZ7QPLM3XW5RT4BNE"
AWS_SECRET = "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"
AWS_TEMP_ID = "ASIAQ4RT6YU2IO3PL5KJ"
AWS_TEMP_SECRET = "z9Yx8Wv7Ut6Sr5Qp4On3Ml2Kj1Ih0GfEdCbA9z8"
AWS_SESSION = "IQoJb3JpZ2luX2VjEJr" + "x7Kd2Lm9Qp4Rs8Tv1Wy5Zb3Cf6Gh0Jk" * 4
OPENAI = "sk-proj-" + "Tq7Wm2Xr9Kc4Vb8Nd1Zf6Lp3Hs5Jy0Ga" + "Ue8Ri2Ow4Pt6"
API_KEY = "k3Jd8Xq2Lm7Vp9Rt4Wz6Ys1Nb5Hc0Fg3Ae8Ku"
SECRETS = [GITHUB, GITHUB_ROTATED, GITHUB_IN_CONFIG, AWS_ID, AWS_SECRET, AWS_TEMP_ID,
           AWS_TEMP_SECRET, AWS_SESSION, OPENAI, API_KEY]


def leaks(text):
    """The secrets of which some 12 characters are in text."""
    return sorted({s[:10] + "..." for s in SECRETS
                   for i in range(len(s) - 11) if s[i:i + 12] in text})


def run_agent(tmp, home, project, server_env, args=(), until=None, timeout=60):
    """The agent: starts server-memory with server_env, lists its tools and
    keeps the session open (the daemon reads /proc while both run) until
    until() is true or timeout seconds passed; returns the agent's pid."""
    release = os.path.join(tmp, f"release-{time.monotonic_ns()}")
    env = dict(os.environ, HOME=home, OPENAI_API_KEY=OPENAI,
               SERVER_ENV=json.dumps(dict(server_env,
                                          MEMORY_FILE_PATH=os.path.join(tmp, "memory.jsonl"))),
               CALLS=json.dumps([{"waitFile": release}]))
    p = subprocess.Popen(["node", CLIENT, "stdio", "node", MEMORY] + list(args), env=env,
                         cwd=project, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    settle(lambda: p.poll() is not None or (until is not None and until()), timeout)
    write_file(release, "")
    out, err = p.communicate(timeout=60)
    check(p.returncode == 0, f"the agent ran: {err[-400:]}")
    return json.loads(out.strip().splitlines()[-1])["pid"] if out.strip() else 0


def main():
    bindir, cli, tmp, endpoint = begin("aw-posture-e2e-")
    if not os.path.exists(MEMORY):
        print("server-memory is not installed (tests/package.json)")
        return 77 if os.environ.get("AGENTWATCH_REQUIRE_BPF") != "1" else 1
    state = os.path.join(tmp, "state")
    log = os.path.join(tmp, "daemon.log")
    home = os.path.join(tmp, "home")
    project = os.path.join(tmp, "project")
    cursor = write_file(os.path.join(home, ".cursor", "mcp.json"), json.dumps({"mcpServers": {
        "github": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-github"],
                   "env": {"GITHUB_PERSONAL_ACCESS_TOKEN": GITHUB_IN_CONFIG}},
        "aws": {"command": "uvx", "args": ["awslabs.core-mcp-server"],
                "env": {"AWS_ACCESS_KEY_ID": "${env:AWS_ACCESS_KEY_ID}",
                        "AWS_SECRET_ACCESS_KEY": "${input:aws_secret}"}}}}, indent=2))
    write_file(os.path.join(project, ".vscode", "mcp.json"), json.dumps({
        "inputs": [{"id": "token", "type": "promptString", "password": True}],
        "servers": {"gh": {"command": "gh-mcp", "env": {"GH_TOKEN": "${input:token}"}}}}))
    procs = []
    aw = cli_json(cli, endpoint)
    try:
        daemon = start_daemon(bindir, endpoint, log, "--state-dir", state, "--log-level", "info")
        procs.append(daemon)

        def by_name():
            return {(f["subject"], f["name"]): f for f in aw("posture")}

        want = {("server", "GITHUB_TOKEN"), ("server", "AWS_ACCESS_KEY_ID"),
                ("server", "AWS_SECRET_ACCESS_KEY"), ("server", "api-key"),
                ("agent", "OPENAI_API_KEY"),
                ("agent", "mcpServers.github.env.GITHUB_PERSONAL_ACCESS_TOKEN")}
        agent = run_agent(tmp, home, project,
                          {"GITHUB_TOKEN": GITHUB, "AWS_ACCESS_KEY_ID": AWS_ID,
                           "AWS_SECRET_ACCESS_KEY": AWS_SECRET},
                          ["--api-key", API_KEY], until=lambda: want <= set(by_name()))
        # A second server with temporary AWS credentials only: held until
        # the daemon has discovered it (two servers known).
        run_agent(tmp, home, project, {"AWS_ACCESS_KEY_ID": AWS_TEMP_ID,
                                       "AWS_SECRET_ACCESS_KEY": AWS_TEMP_SECRET,
                                       "AWS_SESSION_TOKEN": AWS_SESSION},
                  until=lambda: len(aw("servers", "--all")) >= 2, timeout=30)
        found = by_name()
        check(want <= set(found), f"posture lists every static credential: missing "
                                  f"{sorted(want - set(found))}, got {sorted(found)}")
        gh = found.get(("server", "GITHUB_TOKEN"), {})
        check(gh.get("kind") == "github-pat-classic" and len(gh.get("fingerprint", "")) == 6,
              f"the GitHub token's kind and fingerprint: {gh}")
        check(gh.get("source") == "environ" and gh.get("severity") == "medium",
              f"from the environment, a medium alert: {gh}")
        key = found.get(("server", "AWS_ACCESS_KEY_ID"), {})
        check(key.get("kind") == "aws-access-key-id" and "no session token" in key.get("detail", ""),
              f"a long-lived AWS key without a session token: {key}")
        ai = found.get(("agent", "OPENAI_API_KEY"), {})
        check(ai.get("pid") == agent and ai.get("kind") == "openai-project-key",
              f"the agent's own key, with the agent's pid {agent}: {ai}")
        cfg = found.get(("agent", "mcpServers.github.env.GITHUB_PERSONAL_ACCESS_TOKEN"), {})
        check(cfg.get("source") == cursor, f"the literal token in {cursor}: {cfg}")
        names = {n for _, n in found}
        for ref in ("mcpServers.aws.env.AWS_ACCESS_KEY_ID", "mcpServers.aws.env.AWS_SECRET_ACCESS_KEY",
                    "servers.gh.env.GH_TOKEN", "AWS_SESSION_TOKEN"):
            check(ref not in names, f"{ref} (a reference, or temporary credentials) is not listed")
        temp = [f for f in found.values() if f["name"] == "AWS_ACCESS_KEY_ID"]
        check(len(temp) == 1, f"only the long-lived AWS key is listed, not the temporary one: {temp}")

        # Rotated: the same server (its command line), another token under
        # the same name.
        def rotated():
            return [f for f in aw("posture") if f["name"] == "GITHUB_TOKEN" and f["rotated"]]
        run_agent(tmp, home, project, {"GITHUB_TOKEN": GITHUB_ROTATED}, ["--api-key", API_KEY],
                  until=rotated)
        rot = rotated()
        check(rot and rot[0]["previous_fingerprint"] == gh.get("fingerprint") and
              rot[0]["fingerprint"] != gh.get("fingerprint"),
              f"the rotated token names the fingerprint it replaced: {rot}")

        table = subprocess.run([cli, "--endpoint", endpoint, "posture"], capture_output=True,
                               text=True).stdout
        check("GITHUB_TOKEN" in table and "github-pat-classic" in table and "rotated" in table,
              f"the posture table:\n{table}")
        alerts = [a for a in aw("alerts", "--limit", "1000") if a["rule_id"] == "static-credential"]
        check(len(alerts) >= len(want) + 1, f"each finding is a static-credential alert: {len(alerts)}")

        outputs = {
            "posture table": table,
            "posture --json": json.dumps(aw("posture")),
            "alerts --json": json.dumps(alerts),
            "events --json": subprocess.run([cli, "--endpoint", endpoint, "--json", "events",
                                             "--limit", "5000"], capture_output=True,
                                            text=True).stdout,
        }
        daemon.terminate()
        daemon.wait(timeout=30)
        with open(log, errors="replace") as f:
            outputs["daemon log"] = f.read()
        for path in glob.glob(os.path.join(state, "*")):
            if os.path.isfile(path):
                with open(path, "rb") as f:
                    outputs[os.path.basename(path)] = f.read().decode("latin-1")
        for name, text in outputs.items():
            check(not leaks(text), f"no secret in {name}: {leaks(text)}")
    finally:
        rc = finish_run(procs, tmp, "posture e2e")
    return rc


if __name__ == "__main__":
    raise SystemExit(main())
