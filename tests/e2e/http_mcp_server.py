#!/usr/bin/env python3
"""A minimal MCP server over Streamable HTTP (JSON responses) with a health
check, for capture_e2e.py: POST /mcp takes initialize, tools/list and
tools/call of one tool; GET /health answers "ok" (what load balancers and
orchestrators poll before any client comes).

usage: http_mcp_server.py PORT TOOL
"""
import json
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

TOOL = sys.argv[2]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, code, body, ctype):
        data = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self.reply(200, "ok\n", "text/plain")

    def do_POST(self):
        req = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
        if "id" not in req:
            self.reply(202, "", "application/json")
            return
        m = req.get("method")
        if m == "initialize":
            result = {"protocolVersion": "2025-06-18", "capabilities": {"tools": {}},
                      "serverInfo": {"name": "http-sample", "version": "1"}}
        elif m == "tools/list":
            result = {"tools": [{"name": TOOL, "description": "Looks a word up.",
                                 "inputSchema": {"type": "object"}}]}
        else:
            result = {"content": [{"type": "text", "text": "definition: a word"}]}
        self.reply(200, json.dumps({"jsonrpc": "2.0", "id": req["id"], "result": result}),
                   "application/json")


HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
