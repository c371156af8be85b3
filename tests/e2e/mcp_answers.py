"""The answers of the small Python MCP servers of the tests (HTTPS in
tls_mcp_server.py, many sessions in tests/bench/sessions_server.py): tools
`echo` and `add`, no more."""

TOOLS = [
    {"name": "echo", "description": "Echoes the message",
     "inputSchema": {"type": "object", "properties": {"message": {"type": "string"}}}},
    {"name": "add", "description": "Adds a and b",
     "inputSchema": {"type": "object", "properties": {"a": {"type": "number"},
                                                      "b": {"type": "number"}}}},
]


def answer(msg, server_name):
    """The result for a JSON-RPC request, or None for an unknown method."""
    method, params = msg.get("method"), msg.get("params") or {}
    if method == "initialize":
        return {"protocolVersion": params.get("protocolVersion", "2025-06-18"),
                "capabilities": {"tools": {}},
                "serverInfo": {"name": server_name, "version": "1.0"}}
    if method == "tools/list":
        return {"tools": TOOLS}
    if method == "tools/call":
        a = params.get("arguments") or {}
        if params.get("name") == "echo":
            return {"content": [{"type": "text", "text": "Echo: " + str(a.get("message"))}]}
        if params.get("name") == "add":
            return {"content": [{"type": "text", "text": str(a.get("a", 0) + a.get("b", 0))}]}
        return {"content": [{"type": "text", "text": "unknown tool"}], "isError": True}
    if method == "ping":
        return {}
    return None
