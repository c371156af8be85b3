#!/usr/bin/env python3
"""A raw MCP server over stdio (JSON-RPC written by hand, no SDK) for
agentwatch's redaction test (redaction_e2e.py):

    redaction_raw_server.py DATA.json [ARGS...]

ARGS are ignored (the test puts secrets there: a server's argv).
DATA.json: {"responses": [[part, ...], ...], "sleep": seconds}.
  tools/call get {n}: writes responses[n], each part with its own write()
                      and `sleep` between parts; "@ID@" in a part is the
                      request's id (the test puts it after the secret, so
                      that the offsets before it do not depend on the id)
  resources/read:     answers with the URI it was asked for
  initialize, tools/list, resources/list, ping: the usual answers.
"""
import json
import os
import sys
import time


def write(b):
    while b:
        n = os.write(1, b)
        b = b[n:]


def answer(rid, result):
    write((json.dumps({"jsonrpc": "2.0", "id": rid, "result": result}) + "\n").encode())


def main():
    with open(sys.argv[1]) as f:
        data = json.load(f)
    responses = data.get("responses", [])
    pause = data.get("sleep", 0.01)
    for line in sys.stdin.buffer:
        if not line.strip():
            continue
        msg = json.loads(line)
        method, rid = msg.get("method"), msg.get("id")
        if rid is None:
            continue  # a notification
        if method == "initialize":
            answer(rid, {"protocolVersion": msg["params"].get("protocolVersion", "2025-06-18"),
                         "capabilities": {"tools": {}, "resources": {}},
                         "serverInfo": {"name": "redaction-raw-server", "version": "1.0.0"}})
        elif method == "tools/list":
            answer(rid, {"tools": [{"name": "get", "description": "Returns stored response n.",
                                    "inputSchema": {"type": "object",
                                                    "properties": {"n": {"type": "number"}}}}]})
        elif method == "resources/list":
            answer(rid, {"resources": []})
        elif method == "resources/read":
            uri = msg["params"]["uri"]
            answer(rid, {"contents": [{"uri": uri, "mimeType": "text/plain", "text": "ok"}]})
        elif method == "tools/call":
            parts = responses[msg["params"]["arguments"]["n"]]
            for i, part in enumerate(parts):
                if i:
                    time.sleep(pause)
                write(part.replace("@ID@", json.dumps(rid)).encode())
        else:
            answer(rid, {})


if __name__ == "__main__":
    main()
