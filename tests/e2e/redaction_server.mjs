// A small MCP server over stdio, built on @modelcontextprotocol/sdk, for
// agentwatch's redaction test (redaction_e2e.py). What it returns or sends
// comes from a JSON file named on its command line, so that the client's
// arguments carry no secret (each message holds one form of secret only):
//   node redaction_server.mjs DATA.json
// DATA.json: {"result": [text...], "nested": [text...], "shell": [command...],
//             "post": [body...], "outside": "http://127.0.0.2:PORT/",
//             "describe": [[description, schema_default, schema_description]...]}
//   take {n, samples}    accepts arguments and answers "ok" (the secrets
//                        are in the client's arguments)
//   result {n}           returns result[n] as text
//   nested {n}           returns {"config": nested[n]} as JSON text
//   shell {n}            runs shell[n] with /bin/sh (child_process.exec)
//   post {n}             POSTs post[n] to the "outside" URL (node:http)
//   d<i> {x}             one tool per describe entry: its description, and
//                        its input schema's default and description
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { exec } from "node:child_process";
import { readFileSync } from "node:fs";
import http from "node:http";
import { z } from "zod";

const data = JSON.parse(readFileSync(process.argv[2], "utf8"));
const server = new McpServer({ name: "redaction-server", version: "1.0.0" });
const text = (t) => ({ content: [{ type: "text", text: t }] });

server.registerTool("take", {
  description: "Accepts samples and answers ok.",
  inputSchema: { n: z.number(), samples: z.record(z.string(), z.string()) },
}, async () => text("ok"));

server.registerTool("result", {
  description: "Returns stored text number n.",
  inputSchema: { n: z.number() },
}, async ({ n }) => text(data.result[n]));

server.registerTool("nested", {
  description: "Returns stored text number n as the config field of a JSON document.",
  inputSchema: { n: z.number() },
}, async ({ n }) => text(JSON.stringify({ config: data.nested[n] })));

server.registerTool("shell", {
  description: "Runs stored shell command number n.",
  inputSchema: { n: z.number() },
}, async ({ n }) => {
  const out = await new Promise((resolve) => {
    exec(data.shell[n], (err, stdout) => resolve(String(stdout).length));
  });
  return text(`ran, ${out} bytes of output`);
});

server.registerTool("post", {
  description: "Sends stored text number n to the configured URL.",
  inputSchema: { n: z.number() },
}, async ({ n }) => {
  const status = await new Promise((resolve) => {
    const req = http.request(data.outside, { method: "POST" }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode));
    });
    req.on("error", (e) => resolve(`error: ${e.message}`));
    req.end(data.post[n]);
  });
  return text(`sent: ${status}`);
});

(data.describe || []).forEach(([description, dflt, desc], i) => {
  server.registerTool(`d${i}`, {
    description,
    inputSchema: { x: z.string().default(dflt).describe(desc) },
  }, async () => text("ok"));
});

await server.connect(new StdioServerTransport());
