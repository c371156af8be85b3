// A scenario client on the official SDK v2 (@modelcontextprotocol/client
// 2.4.0) with version negotiation "auto": it probes server/discover and
// speaks the 2026-07-28 revision (no initialize; every request carries
// protocol version, client info and capabilities in _meta) to servers that
// offer it, and falls back to initialize (2025-11-25) with servers that do
// not. Stdio or Streamable HTTP; the call plan of plan.mjs.
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { StdioClientTransport } from "@modelcontextprotocol/client/stdio";
import { firstText, runPlan } from "./plan.mjs";

await runPlan(async ({ mode, command, args, url, roots }) => {
  const client = new Client({ name: "sdk2-scenario-client", version: "1.0.0" }, {
    versionNegotiation: { mode: "auto" },
    ...(roots ? { capabilities: { roots: {} } } : {}),
  });
  if (roots) {
    client.setRequestHandler("roots/list", async () => ({
      roots: roots.map((p) => ({ uri: `file://${p}`, name: p.split("/").pop() })),
    }));
  }
  const transport = mode === "stdio"
    ? new StdioClientTransport({ command, args, stderr: "inherit" })
    : new StreamableHTTPClientTransport(new URL(url));
  await client.connect(transport);
  return {
    info: { server: client.getServerVersion(), protocolVersion: client.getNegotiatedProtocolVersion?.() ?? null,
            sessionId: transport.sessionId ?? null },
    listTools: async () => (await client.listTools()).tools.map((t) => t.name),
    listPrompts: async () => (await client.listPrompts()).prompts.map((p) => p.name),
    callTool: async (name, a) => {
      const r = await client.callTool({ name, arguments: a });
      return { isError: Boolean(r.isError), text: firstText(r) };
    },
    close: () => client.close(),
  };
});
