#!/usr/bin/env python3
"""A minimal MCP server over Streamable HTTP (plain HTTP on loopback) that
mints a session per initialize, for agentwatch's many-sessions benchmark:
JSON responses, tools `echo` and `add`, DELETE ends a session.

  sessions_server.py PORT
"""
import json
import os
import sys
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
from mcp_answers import answer  # noqa: E402

SESSIONS = set()
LOCK = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, code, body=b"", headers=()):
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_DELETE(self):
        with LOCK:
            SESSIONS.discard(self.headers.get("Mcp-Session-Id"))
        self.reply(200)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        msg = json.loads(body)
        sid = self.headers.get("Mcp-Session-Id")
        headers = []
        if msg.get("method") == "initialize":
            sid = str(uuid.uuid4())
            with LOCK:
                SESSIONS.add(sid)
        elif sid not in SESSIONS:
            self.reply(404)
            return
        headers.append(("Mcp-Session-Id", sid))
        if "id" not in msg:
            self.reply(202, headers=headers)
            return
        result = answer(msg, "sessions-bench-server")
        out = json.dumps({"jsonrpc": "2.0", "id": msg["id"],
                          "result": {} if result is None else result}).encode()
        self.reply(200, out, headers + [("Content-Type", "application/json")])


if __name__ == "__main__":
    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer.request_queue_size = 256
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
