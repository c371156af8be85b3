#!/usr/bin/env python3
"""A minimal MCP server over HTTPS (Python's ssl, i.e. OpenSSL's libssl),
for agentwatch's TLS e2e test: Streamable HTTP with JSON responses, one
session, tools `echo` and `add`. Not a general server.

  tls_mcp_server.py PORT CERT KEY
"""
import json
import ssl
import sys
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from mcp_answers import answer

SESSION = str(uuid.uuid4())


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        self.send_response(405)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_DELETE(self):
        # Slow on purpose: a short-lived client is still there when the
        # monitor looks at the libraries it mapped.
        time.sleep(1.5)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        msg = json.loads(body)
        if "id" not in msg or "method" not in msg:
            self.send_response(202)
            self.send_header("Content-Length", "0")
            self.send_header("Mcp-Session-Id", SESSION)
            self.end_headers()
            return
        result = answer(msg, "tls-test-server")
        out = {"jsonrpc": "2.0", "id": msg["id"]}
        if result is None:
            out["error"] = {"code": -32601, "message": "Method not found"}
        else:
            out["result"] = result
        data = json.dumps(out).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Mcp-Session-Id", SESSION)
        self.end_headers()
        self.wfile.write(data)


def main():
    port, cert, key = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    srv = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
