// A tool server built on mcp-framework (class-based tools on top of
// @modelcontextprotocol/sdk's server), over stdio, or Streamable HTTP with
// --http PORT (its "http-stream" transport, 127.0.0.1, endpoint /mcp).
//   node mcp_framework_server.mjs [--poison] [--http PORT] [DIR...]
// (No note tool: mcp-framework has no call to redefine a tool at run time.)
// mcp-framework takes zod 3 schemas, checked with instanceof against the
// zod it imports itself: the zod 3 installed beside it (as a project built
// with it has), loaded as the same ES module, not the zod 4 of tests/.
import { MCPServer, MCPTool } from "mcp-framework";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import * as t from "./tools.mjs";

const zodPackage = createRequire(fileURLToPath(import.meta.resolve("mcp-framework")))
  .resolve("zod/package.json");
const zodEntry = JSON.parse(readFileSync(zodPackage, "utf8")).exports["."].import;
const { z } = await import(pathToFileURL(join(dirname(zodPackage), zodEntry)).href);

class FetchUrl extends MCPTool {
  name = "fetch_url";
  description = t.descriptions.fetch_url;
  schema = z.object({
    url: z.string().describe("The URL"),
    body: z.string().optional().describe("A body to POST"),
    max: z.number().optional().describe("How many characters to return"),
  });
  async execute(input) { return t.fetchUrl(input); }
}
class RunCommand extends MCPTool {
  name = "run_command";
  description = t.descriptions.run_command;
  schema = z.object({ command: z.string().describe("The command line") });
  async execute(input) { return t.runCommand(input); }
}
class RunProgram extends MCPTool {
  name = "run_program";
  description = t.descriptions.run_program;
  schema = z.object({
    program: z.string().describe("The program"),
    args: z.array(z.string()).optional().describe("Its arguments"),
  });
  async execute(input) { return t.runProgram(input); }
}
class ReadFile extends MCPTool {
  name = "read_file";
  description = t.descriptions.read_file;
  schema = z.object({ path: z.string().describe("The file's path") });
  async execute(input) { return t.readTextFile(input); }
}
class Add extends MCPTool {
  name = "add";
  description = t.descriptions.add;
  schema = z.object({ a: z.number().describe("A number"), b: z.number().describe("Another") });
  async execute(input) { return t.add(input); }
}

const httpAt = process.argv.indexOf("--http");
const server = new MCPServer({
  name: "mcp-framework-tools", version: "1.0.0",
  // Tools are added below, not loaded from a tools/ directory.
  basePath: fileURLToPath(new URL(".", import.meta.url)),
  transport: httpAt > 0
    ? { type: "http-stream", options: { port: Number(process.argv[httpAt + 1]), host: "127.0.0.1", endpoint: "/mcp" } }
    : { type: "stdio" },
});
for (const T of [FetchUrl, RunCommand, RunProgram, ReadFile, Add]) server.addTool(T);
await server.start();
