#!/usr/bin/env python3
"""A minimal MCP server over Streamable HTTP (plain HTTP on loopback) that
mints a session per initialize, for agentwatch's many-sessions benchmark:
JSON responses, tools `echo` and `add`, DELETE ends a session.

  sessions_server.py PORT
"""
import json
import sys
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOOLS = [
    {"name": "echo", "description": "Echoes the message",
     "inputSchema": {"type": "object", "properties": {"message": {"type": "string"}}}},
    {"name": "add", "description": "Adds a and b",
     "inputSchema": {"type": "object", "properties": {"a": {"type": "number"},
                                                      "b": {"type": "number"}}}},
]
SESSIONS = set()
LOCK = threading.Lock()


def answer(msg):
    method, params = msg.get("method"), msg.get("params") or {}
    if method == "initialize":
        return {"protocolVersion": params.get("protocolVersion", "2025-06-18"),
                "capabilities": {"tools": {}},
                "serverInfo": {"name": "sessions-bench-server", "version": "1.0"}}
    if method == "tools/list":
        return {"tools": TOOLS}
    if method == "tools/call":
        a = params.get("arguments") or {}
        if params.get("name") == "echo":
            return {"content": [{"type": "text", "text": "Echo: " + str(a.get("message"))}]}
        if params.get("name") == "add":
            return {"content": [{"type": "text", "text": str(a.get("a", 0) + a.get("b", 0))}]}
        return {"content": [{"type": "text", "text": "unknown tool"}], "isError": True}
    return {}


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
        out = json.dumps({"jsonrpc": "2.0", "id": msg["id"], "result": answer(msg)}).encode()
        self.reply(200, out, headers + [("Content-Type", "application/json")])


if __name__ == "__main__":
    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer.request_queue_size = 256
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
