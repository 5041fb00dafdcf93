// A local stand-in for Upstash's Redis REST API: `POST /` (one command),
// `POST /pipeline` and `POST /multi-exec`, bearer-token auth, base64 replies
// when asked, and Lua scripts that stock Redis accepts.
import { createHash } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { closeServer, countedServer, listen, RoundTripCounter, readBody, sendJson } from "./http.ts";
import { openRedisEngine, type RedisEngine, type RedisReply } from "./redis-engine.ts";

export interface UpstashStandIn {
  url: string;
  token: string;
  port: number;
  engine: RedisEngine;
  counter: RoundTripCounter;
  close(): Promise<void>;
}

type Reply = { result: RedisReply } | { error: string };

const sha1 = (text: string) => createHash("sha1").update(text).digest("hex");

/**
 * `@upstash/ratelimit` starts its scripts with `#!lua flags=allow-key-locking`,
 * which stock Redis 7 rejects. Scripts are kept by the SHA of the text the
 * client sent and run without that line.
 */
class ScriptCache {
  private readonly byClientSha = new Map<string, string>();

  remember(script: string): string {
    const sha = sha1(script);
    this.byClientSha.set(sha, script.replace(/^#!lua[^\n]*\n/, ""));
    return sha;
  }

  lookup(sha: string): string | undefined {
    return this.byClientSha.get(sha.toLowerCase());
  }

  /** Rewrites script commands into plain EVALs, or answers them itself. */
  rewrite(command: string[]): string[] | Reply {
    const [name = "", ...args] = command;
    switch (name.toUpperCase()) {
      case "EVAL":
      case "EVAL_RO": {
        const [script = "", ...rest] = args;
        this.remember(script);
        return ["EVAL", this.lookup(sha1(script)) ?? script, ...rest];
      }
      case "EVALSHA":
      case "EVALSHA_RO": {
        const [sha = "", ...rest] = args;
        const script = this.lookup(sha);
        if (!script) return { error: "NOSCRIPT No matching script. Please use EVAL." };
        return ["EVAL", script, ...rest];
      }
      case "SCRIPT": {
        const [sub = "", ...rest] = args;
        if (sub.toUpperCase() === "LOAD") return { result: this.remember(rest[0] ?? "") };
        if (sub.toUpperCase() === "EXISTS") return { result: rest.map((sha) => (this.lookup(sha) ? 1 : 0)) };
        if (sub.toUpperCase() === "FLUSH") {
          this.byClientSha.clear();
          return { result: "OK" };
        }
        return command;
      }
      default:
        return command;
    }
  }
}

function encodeBase64(reply: RedisReply): RedisReply {
  if (typeof reply === "string") return reply === "OK" ? reply : Buffer.from(reply, "utf8").toString("base64");
  if (Array.isArray(reply)) return reply.map(encodeBase64);
  return reply;
}

function parseCommand(value: unknown): string[] {
  if (!Array.isArray(value) || value.length === 0) throw new Error("ERR a command is a non-empty JSON array");
  return value.map((part) => (typeof part === "string" ? part : JSON.stringify(part)));
}

function errorText(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.startsWith("ERR") || /^[A-Z]+ /.test(text) ? text : `ERR ${text}`;
}

export async function startUpstashStandIn(options: {
  engine?: RedisEngine;
  target?: string;
  port?: number;
  token?: string;
}): Promise<UpstashStandIn> {
  const engine = options.engine ?? (await openRedisEngine(options.target));
  const token = options.token ?? "sluice-local-redis-token";
  const scripts = new ScriptCache();
  const counter = new RoundTripCounter();

  async function run(command: string[]): Promise<Reply> {
    const rewritten = scripts.rewrite(command);
    if (!Array.isArray(rewritten)) return rewritten;
    try {
      return { result: await engine.call(rewritten) };
    } catch (error) {
      return { error: errorText(error) };
    }
  }

  async function answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.headers.authorization !== `Bearer ${token}`) {
      sendJson(res, 401, { error: "Unauthorized" });
      return;
    }
    if (req.method !== "POST") {
      sendJson(res, 405, { error: "ERR this stand-in takes commands as POST bodies" });
      return;
    }
    const base64 = String(req.headers["upstash-encoding"] ?? "").toLowerCase() === "base64";
    const encode = (reply: Reply): Reply => ("result" in reply && base64 ? { result: encodeBase64(reply.result) } : reply);
    let body: unknown;
    try {
      body = JSON.parse(await readBody(req));
    } catch {
      sendJson(res, 400, { error: "ERR request body is not JSON" });
      return;
    }
    const path = (req.url ?? "/").split("?")[0];
    try {
      if (path === "/pipeline") {
        if (!Array.isArray(body)) throw new Error("ERR a pipeline is an array of commands");
        // Sent together on one connection, so the engine runs them in order, as Redis runs a pipeline.
        const commands = body.map(parseCommand);
        const replies = await Promise.all(commands.map((command) => run(command)));
        sendJson(res, 200, replies.map(encode));
      } else if (path === "/multi-exec") {
        if (!Array.isArray(body)) throw new Error("ERR a transaction is an array of commands");
        const commands = body.map(parseCommand).map((c) => scripts.rewrite(c));
        const plain = commands.filter((c): c is string[] => Array.isArray(c));
        if (plain.length !== commands.length) throw new Error("ERR script management commands cannot run in a transaction");
        sendJson(res, 200, (await engine.transaction(plain)).map(encode));
      } else if (path === "/" || path === "") {
        const reply = await run(parseCommand(body));
        sendJson(res, "error" in reply ? 400 : 200, encode(reply));
      } else {
        sendJson(res, 404, { error: `ERR unknown endpoint ${path}` });
      }
    } catch (error) {
      sendJson(res, 400, { error: errorText(error) });
    }
  }

  const server = countedServer(counter, answer, (error) => ({ error: errorText(error) }));
  const port = await listen(server, options.port);
  return {
    url: `http://127.0.0.1:${port}`,
    token,
    port,
    engine,
    counter,
    close: async () => {
      await closeServer(server);
      await engine.close();
    },
  };
}
