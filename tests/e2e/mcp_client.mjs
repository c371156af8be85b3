// An MCP client built on @modelcontextprotocol/sdk, for agentwatch's
// end-to-end tests and benchmarks. It connects to one server, lists its
// tools, makes the calls it is given, and prints (as JSON on stdout) what it
// did, so a test can compare that with what agentwatch reported.
//
//   node mcp_client.mjs stdio <command> [args...]   (server spawned on stdio)
//   node mcp_client.mjs http <url>                  (Streamable HTTP)
//   node mcp_client.mjs sse <url>                   (legacy HTTP+SSE)

// Calls come from the CALLS environment variable: a JSON array of
// {"tool": name, "arguments": {...}, "progress": bool, "cancelAfterMs": n}
// ("progress" asks for progress notifications; "cancelAfterMs" cancels the
// call after that long). A {"waitFile": path} step pauses until that file
// exists (the session stays open meanwhile); {"sleep": s} pauses s seconds;
// {"list": true} lists the tools again (after a server announced a change);
// {"listPrompts": true} lists the prompts.
// REPEAT=n repeats them n times and prints per-call latencies instead of
// results (benchmark mode).
//
// SERVER_ENV (stdio): a JSON object of variables the server is started
// with, besides the SDK's default environment.
//
// THEN_STDIO="command args..." with THEN_CALLS: afterwards the same process
// connects to a second server over stdio and makes those calls, with
// "{{previous}}" in an argument string replaced by the text of the last
// result from the first server (data moving from one server to another).
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport, getDefaultEnvironment } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js";
import { ListRootsRequestSchema } from "@modelcontextprotocol/sdk/types.js";

const [mode, target, ...rest] = process.argv.slice(2);
let transport;
if (mode === "stdio") {
  // SERVER_ENV='{"NAME": "value"}': the server's environment on top of the
  // SDK's default (as an agent's MCP configuration "env" block gives it).
  const env = process.env.SERVER_ENV
    ? { ...getDefaultEnvironment(), ...JSON.parse(process.env.SERVER_ENV) } : undefined;
  transport = new StdioClientTransport({ command: target, args: rest, stderr: "inherit", env });
} else if (mode === "http") {
  transport = new StreamableHTTPClientTransport(new URL(target));
} else if (mode === "sse") {
  transport = new SSEClientTransport(new URL(target));
} else {
  console.error("usage: mcp_client.mjs stdio|http|sse TARGET [ARGS...]");
  process.exit(2);
}

// ROOTS='["/abs/dir", ...]': the client declares MCP roots and answers the
// server's roots/list with them.
const roots = JSON.parse(process.env.ROOTS || "null");
const client = new Client({ name: "agentwatch-e2e-client", version: "1.0.0" },
                          roots ? { capabilities: { roots: { listChanged: false } } } : undefined);
if (roots) {
  client.setRequestHandler(ListRootsRequestSchema, async () => ({
    roots: roots.map((p) => ({ uri: `file://${p}`, name: p.split("/").pop() })),
  }));
}
await client.connect(transport);
const report = {
  pid: process.pid,
  server: client.getServerVersion(),
  protocolVersion: transport.protocolVersion ?? null,
  sessionId: transport.sessionId ?? null,
  tools: [],
  calls: [],
};
const listed = await client.listTools();
report.tools = listed.tools.map((t) => t.name);

// WAIT_FILE: connect and list tools first, then wait for the file to
// exist before calling (a server already running when a monitor starts).
if (process.env.WAIT_FILE) {
  process.stderr.write("mcp_client: connected, waiting\n");
  const { existsSync } = await import("node:fs");
  while (!existsSync(process.env.WAIT_FILE)) await new Promise((r) => setTimeout(r, 50));
}

const calls = JSON.parse(process.env.CALLS || "[]");
let lastText = "";
const repeat = Number(process.env.REPEAT || "0");
if (repeat > 0) {
  const lat = [];
  for (let i = 0; i < repeat; i++) {
    for (const c of calls) {
      const t0 = process.hrtime.bigint();
      await client.callTool({ name: c.tool, arguments: c.arguments });
      lat.push(Number(process.hrtime.bigint() - t0));
    }
  }
  report.latencies_ns = lat;
} else {
  for (const c of calls) {
    if (c.list) {
      report.relisted = (await client.listTools()).tools.map((t) => t.name);
      continue;
    }
    if (c.listPrompts) {
      report.prompts = (await client.listPrompts()).prompts.map((p) => p.name);
      continue;
    }
    if (c.sleep) {
      await new Promise((r) => setTimeout(r, c.sleep * 1000));
      continue;
    }
    if (c.waitFile) {
      const { existsSync } = await import("node:fs");
      process.stderr.write(`mcp_client: waiting for ${c.waitFile}\n`);
      while (!existsSync(c.waitFile)) await new Promise((r) => setTimeout(r, 50));
      continue;
    }
    let isError = false;
    let error = null;
    let progress = 0;
    const options = {};
    if (c.progress) options.onprogress = () => { progress++; };
    if (c.cancelAfterMs) options.signal = AbortSignal.timeout(c.cancelAfterMs);
    try {
      const r = await client.callTool({ name: c.tool, arguments: c.arguments },
                                      undefined, options);
      isError = Boolean(r.isError);
      const text = (r.content || []).find((x) => x.type === "text");
      if (text) lastText = text.text;
    } catch (e) {
      error = String(e.message || e);
    }
    report.calls.push({ tool: c.tool, arguments: c.arguments, isError, error,
                        progress, cancelled: Boolean(c.cancelAfterMs) && error !== null });
  }
}
if (process.env.THEN_STDIO) {
  const [cmd, ...args] = process.env.THEN_STDIO.split(" ");
  const second = new Client({ name: "agentwatch-e2e-client", version: "1.0.0" });
  await second.connect(new StdioClientTransport({ command: cmd, args, stderr: "inherit" }));
  await second.listTools();  // as agents do, before calling
  const fill = (v) => typeof v === "string" ? v.replaceAll("{{previous}}", lastText)
    : Array.isArray(v) ? v.map(fill)
    : v && typeof v === "object" ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fill(x)]))
    : v;
  report.then = [];
  for (const c of JSON.parse(process.env.THEN_CALLS || "[]")) {
    if (c.list) {
      await second.listTools();
      continue;
    }
    if (c.listPrompts) {
      await second.listPrompts();
      continue;
    }
    const a = fill(c.arguments);
    const r = await second.callTool({ name: c.tool, arguments: a });
    report.then.push({ tool: c.tool, arguments: a, isError: Boolean(r.isError) });
  }
  await second.close();
}

// A cancelled call's notifications/cancelled goes out asynchronously; let it
// leave before the transport closes.
if (report.calls.some((c) => c.cancelled)) await new Promise((r) => setTimeout(r, 300));
await client.close();
process.stdout.write(JSON.stringify(report) + "\n");
