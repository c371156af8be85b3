// The call plan of the scenario clients, the same as tests/e2e/mcp_client.mjs
// takes (so record.py drives every client library alike), over a small
// adapter each client file writes with its library:
//
//   connect({mode: "stdio"|"http", command, args, url, roots}) -> session
//   session.listTools() -> [names]; session.callTool(name, args) ->
//   {isError, text}; session.listPrompts() -> [names] (optional);
//   session.info -> {server, protocolVersion, sessionId}; session.close()
//
//   node CLIENT stdio <command> [args...] | http <url>
//   CALLS       JSON array: {tool, arguments} | {list: true} |
//               {listPrompts: true} | {sleep: s}
//   ROOTS       JSON array of directories declared as MCP roots
//   THEN_STDIO  "command args..." with THEN_CALLS: then the same process
//               drives a second stdio server
// "{{previous}}" in an argument string is replaced by the text of the last
// result (in THEN_CALLS: the first server's last result).
// It prints a JSON report (what was called, with what outcome) on stdout.
export async function runPlan(connect) {
  const [mode, target, ...rest] = process.argv.slice(2);
  if (mode !== "stdio" && mode !== "http") {
    console.error("usage: CLIENT stdio COMMAND [ARGS...] | http URL");
    process.exit(2);
  }
  const roots = JSON.parse(process.env.ROOTS || "null");
  const first = await connect(mode === "stdio"
    ? { mode, command: target, args: rest, roots } : { mode, url: target, roots });
  const report = { pid: process.pid, ...first.info, tools: await first.listTools(), calls: [] };
  let lastText = "";
  const fill = (v) => typeof v === "string" ? v.replaceAll("{{previous}}", lastText)
    : Array.isArray(v) ? v.map(fill)
    : v && typeof v === "object" ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fill(x)]))
    : v;
  for (const c of JSON.parse(process.env.CALLS || "[]")) {
    if (c.list) { report.relisted = await first.listTools(); continue; }
    if (c.listPrompts) { report.prompts = await first.listPrompts(); continue; }
    if (c.sleep) { await new Promise((r) => setTimeout(r, c.sleep * 1000)); continue; }
    let isError = false;
    let error = null;
    try {
      const r = await first.callTool(c.tool, fill(c.arguments ?? {}));
      isError = r.isError;
      if (r.text !== undefined) lastText = r.text;
    } catch (e) {
      error = String(e.message || e);
    }
    report.calls.push({ tool: c.tool, arguments: fill(c.arguments ?? {}), isError, error });
  }
  if (process.env.THEN_STDIO) {
    const [command, ...args] = process.env.THEN_STDIO.split(" ");
    const second = await connect({ mode: "stdio", command, args });
    await second.listTools();  // as agents do, before calling
    report.then = [];
    for (const c of JSON.parse(process.env.THEN_CALLS || "[]")) {
      if (c.list) { await second.listTools(); continue; }
      const a = fill(c.arguments ?? {});
      const r = await second.callTool(c.tool, a);
      report.then.push({ tool: c.tool, arguments: a, isError: r.isError });
    }
    await second.close();
  }
  await first.close();
  process.stdout.write(JSON.stringify(report) + "\n");
}

// The text of a CallToolResult's first text block.
export function firstText(result) {
  return (result?.content || []).find((x) => x.type === "text")?.text;
}
