// A stdio MCP server that logs without pause once initialized — one
// message every millisecond, its data the time it was sent and some text —
// and has one tool, echo. The e2e tests put it behind the gateway as the
// chatty upstream of issue 18 (5,000 sessions, each asking for every log
// line).
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { z } from "zod";

const server = new McpServer({ name: "chatty", version: "1" }, { capabilities: { logging: {} } });
server.registerTool("echo", { inputSchema: { message: z.string() } }, async ({ message }) => ({
  content: [{ type: "text", text: message }],
}));
const text = "log line ".repeat(20);
server.server.oninitialized = () => {
  setInterval(() => {
    server.server.sendLoggingMessage({ level: "info", logger: "chatty", data: `${Date.now()} ${text}` }).catch(() => {});
  }, 1);
};
process.stdout.on("error", () => process.exit(0)); // the gateway went away
await server.connect(new StdioServerTransport());
