// `@modelcontextprotocol/server-everything`, the protocol's reference test
// server from npm, run over Streamable HTTP on a free local port for the
// tests that put a real MCP server behind the gateway.
import { type ChildProcess, spawn } from "node:child_process";
import { createRequire } from "node:module";
import { freePort } from "../../dev/standins/http.ts";

export interface EverythingServer {
  url: string;
  close(): void;
}

export async function startEverythingServer(): Promise<EverythingServer> {
  const port = await freePort();
  const entry = createRequire(import.meta.url).resolve("@modelcontextprotocol/server-everything/dist/index.js");
  const child: ChildProcess = spawn(process.execPath, [entry, "streamableHttp"], {
    env: { ...process.env, PORT: String(port) },
    stdio: ["ignore", "ignore", "pipe"],
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("server-everything did not start within 20 s")), 20_000);
    child.stderr?.on("data", (chunk: Buffer) => {
      if (chunk.toString().includes("listening on port")) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`server-everything exited with ${code}`));
    });
  });
  // It logs every request; what it says after starting is of no interest.
  child.stderr?.resume();
  return { url: `http://127.0.0.1:${port}/mcp`, close: () => child.kill() };
}
