// The Redis engines behind the Upstash stand-in: embedded ioredis-mock (Lua
// through fengari), or a real Redis server through ioredis.
import Redis from "ioredis";
import RedisMock from "ioredis-mock";

export type RedisReply = string | number | null | RedisReply[];

export interface RedisEngine {
  readonly kind: "embedded" | "redis";
  call(command: string[]): Promise<RedisReply>;
  /** MULTI … EXEC: every reply, or the error each command met. */
  transaction(commands: string[][]): Promise<({ result: RedisReply } | { error: string })[]>;
  close(): Promise<void>;
}

/** ioredis-mock turns some replies into objects (HGETALL); Upstash sends Redis' flat arrays. */
function toWireReply(value: unknown): RedisReply {
  if (value === null || value === undefined) return null;
  if (typeof value === "string" || typeof value === "number") return value;
  if (Buffer.isBuffer(value)) return value.toString("utf8");
  if (Array.isArray(value)) return value.map(toWireReply);
  if (typeof value === "object") return Object.entries(value).flatMap(([k, v]) => [k, toWireReply(v)]);
  return String(value);
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

class RealRedisEngine implements RedisEngine {
  readonly kind = "redis";
  constructor(private readonly client: InstanceType<typeof Redis>) {}

  async call([name, ...args]: string[]): Promise<RedisReply> {
    return toWireReply(await this.client.call(name ?? "", ...args));
  }

  async transaction(commands: string[][]) {
    const replies = (await this.client.multi(commands).exec()) ?? [];
    return replies.map(([error, result]) => (error ? { error: errorText(error) } : { result: toWireReply(result) }));
  }

  async close(): Promise<void> {
    await this.client.quit();
  }
}

type MockMethod = (...args: string[]) => Promise<unknown>;

const SET_OPTIONS = new Set(["NX", "XX", "GET", "EX", "PX", "EXAT", "PXAT", "KEEPTTL"]);

/** Redis reads SET's options in any case (Upstash sends `ex`, `nx`); ioredis-mock only in capitals. */
function setArguments([key = "", value = "", ...options]: string[]): string[] {
  return [key, value, ...options.map((option) => (SET_OPTIONS.has(option.toUpperCase()) ? option.toUpperCase() : option))];
}

class EmbeddedRedisEngine implements RedisEngine {
  readonly kind = "embedded";
  private readonly client = new RedisMock();
  private queue: Promise<unknown> = Promise.resolve();

  /** One command or transaction at a time, as a Redis server runs them. */
  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(work, work);
    this.queue = next.catch(() => undefined);
    return next;
  }

  call(command: string[]): Promise<RedisReply> {
    return this.exclusive(() => this.run(command));
  }

  private async run([name, ...args]: string[]): Promise<RedisReply> {
    const command = (name ?? "").toLowerCase();
    const method = (this.client as unknown as Record<string, MockMethod | undefined>)[command];
    if (typeof method !== "function") throw new Error(`ERR unknown command '${name}'`);
    return toWireReply(await method.apply(this.client, command === "set" ? setArguments(args) : args));
  }

  transaction(commands: string[][]) {
    return this.exclusive(async () => {
      const replies: ({ result: RedisReply } | { error: string })[] = [];
      for (const command of commands) {
        try {
          replies.push({ result: await this.run(command) });
        } catch (error) {
          replies.push({ error: errorText(error) });
        }
      }
      return replies;
    });
  }

  async close(): Promise<void> {
    this.client.disconnect();
  }
}

/** `redis://…` selects a real server; anything else the embedded engine. */
export async function openRedisEngine(target: string | undefined): Promise<RedisEngine> {
  if (target && /^rediss?:\/\//.test(target)) {
    const client = new Redis(target, { lazyConnect: true, maxRetriesPerRequest: 1 });
    // While the server is away, commands fail (the stand-in answers an error) and the client reconnects.
    client.on("error", () => undefined);
    await client.connect();
    return new RealRedisEngine(client);
  }
  return new EmbeddedRedisEngine();
}
