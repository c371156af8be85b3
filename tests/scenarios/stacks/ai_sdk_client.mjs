// A scenario client on the Vercel AI SDK's MCP client (@ai-sdk/mcp), which
// implements MCP itself (its own JSON-RPC, stdio and Streamable HTTP
// transports; it does not use @modelcontextprotocol/sdk). By default it
// probes with server/discover (2026-07-28) and falls back to initialize.
// Tools are called the way an AI SDK agent calls them: client.tools()
// gives AI SDK tools whose execute() sends tools/call.
import { createMCPClient } from "@ai-sdk/mcp";
import { StdioMCPTransport } from "@ai-sdk/mcp/mcp-stdio";
import { firstText, runPlan } from "./plan.mjs";

await runPlan(async ({ mode, command, args, url, roots }) => {
  if (roots) throw new Error("ai_sdk_client: roots are not supported");
  const client = await createMCPClient({
    clientName: "ai-sdk-scenario-client",
    transport: mode === "stdio"
      ? new StdioMCPTransport({ command, args, stderr: "inherit" })
      : { type: "http", url },
  });
  let tools = null;
  return {
    info: { server: client.serverInfo ?? null,
            protocolVersion: client.initializeResult?.protocolVersion ?? null },
    listTools: async () => {
      tools = await client.tools();
      return Object.keys(tools);
    },
    listPrompts: async () => (await client.listPrompts()).prompts.map((p) => p.name),
    callTool: async (name, a) => {
      if (!tools || !tools[name]) tools = await client.tools();
      const r = await tools[name].execute(a, { toolCallId: `call-${Date.now()}`, messages: [] });
      return { isError: Boolean(r.isError), text: firstText(r) };
    },
    close: () => client.close(),
  };
});
