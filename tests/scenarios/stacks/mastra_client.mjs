// A scenario client on Mastra's MCP client (@mastra/mcp MCPClient). It does
// not implement MCP itself: each server connection is an official SDK v2
// Client (@modelcontextprotocol/client 2.0.0, its own pinned copy) with
// version negotiation "auto" (server/discover, then initialize for 2025-era
// servers). Tools are Mastra tools namespaced "server_tool", called as a
// Mastra agent calls them (tool.execute(arguments) sends tools/call).
import { MCPClient } from "@mastra/mcp";
import { runPlan, firstText } from "./plan.mjs";

let n = 0;
await runPlan(async ({ mode, command, args, url, roots }) => {
  if (roots) throw new Error("mastra_client: roots are not supported");
  const name = `server${++n}`;
  const mcp = new MCPClient({
    id: `scenario-${n}`,
    servers: { [name]: mode === "stdio" ? { command, args, stderr: "inherit" } : { url: new URL(url) } },
  });
  let tools = null;
  const load = async () => {
    tools = Object.fromEntries(Object.entries(await mcp.listTools())
      .map(([k, t]) => [k.slice(name.length + 1), t]));
  };
  return {
    info: {},
    listTools: async () => { await load(); return Object.keys(tools); },
    callTool: async (tool, a) => {
      if (!tools || !tools[tool]) await load();
      const r = await tools[tool].execute(a, {});
      return { isError: Boolean(r?.isError), text: firstText(r) ?? (typeof r === "string" ? r : undefined) };
    },
    close: () => mcp.disconnect(),
  };
});
