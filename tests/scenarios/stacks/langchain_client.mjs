// A scenario client on LangChain.js's MCP adapters
// (@langchain/mcp-adapters MultiServerMCPClient). It does not implement MCP
// itself: its connections are @modelcontextprotocol/sdk (v1) Client and
// transports, which it configures and wraps; tools are LangChain
// DynamicStructuredTools, called as a LangChain agent calls them
// (tool.invoke(arguments) sends tools/call).
import { MultiServerMCPClient } from "@langchain/mcp-adapters";
import { runPlan } from "./plan.mjs";

let n = 0;
await runPlan(async ({ mode, command, args, url, roots }) => {
  if (roots) throw new Error("langchain_client: roots are not supported");
  const name = `server${++n}`;
  const client = new MultiServerMCPClient({
    throwOnLoadError: true,
    prefixToolNameWithServerName: false,
    useStandardContentBlocks: true,
    mcpServers: {
      [name]: mode === "stdio"
        ? { transport: "stdio", command, args, stderr: "inherit", restart: { enabled: false } }
        : { transport: "http", url },
    },
  });
  let tools = null;
  const load = async () => { tools = Object.fromEntries((await client.getTools()).map((t) => [t.name, t])); };
  return {
    info: {},
    listTools: async () => { await load(); return Object.keys(tools); },
    callTool: async (tool, a) => {
      if (!tools || !tools[tool]) await load();
      try {
        const out = await tools[tool].invoke(a);
        // A string, a standard content block, or an array of them.
        const blocks = typeof out === "string" ? [{ type: "text", text: out }] : [out].flat();
        const text = blocks.filter((b) => b?.type === "text").map((b) => b.text).join("");
        return { isError: false, text };
      } catch (e) {
        // An MCP result with isError comes back as a thrown ToolException.
        return { isError: true, text: String(e.message || e) };
      }
    },
    close: () => client.close(),
  };
});
