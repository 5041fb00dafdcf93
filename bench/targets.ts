// What the benchmark measures, each listening on 127.0.0.1: Sluice's built
// Worker in workerd (Miniflare's API, no wrangler dev proxy), a bare
// forwarding Worker in the same runtime, Portkey's gateway on Node, and the
// mock upstream itself.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from "node:fs";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { convertV4MiniflareOptions, Miniflare, type V4MiniflareOptions } from "miniflare";

export const ROOT = fileURLToPath(new URL("..", import.meta.url));
const BUILD_DIR = `${ROOT}bench/.build`;
const PEERS_DIR = `${ROOT}bench/.peers`;
export const BENCH_ADMIN_KEY = "sk-admin-bench-0123456789abcdef";
const COMPATIBILITY_DATE = /compatibility_date\s*=\s*"([^"]+)"/.exec(readFileSync(`${ROOT}wrangler.toml`, "utf8"))?.[1];

export interface Infra {
  mockUrl: string;
  databaseUrl: string;
  redisUrl: string;
  redisToken: string;
  controlUrl: string;
  /** Which engines stand behind the Neon and Upstash stand-ins. */
  engines: string;
}

export interface Target {
  /** The bench's own names, or a minimal Worker of bench/floor/ by its file's name. */
  name:
    | "direct"
    | "forwarder"
    | "sluice"
    | "sluice-translated"
    | "sluice-traced"
    | "sluice-stream-usage"
    | "portkey"
    | `floor:${string}`;
  /** The chat completions URL. */
  url: string;
  headers: Record<string, string>;
  /** Processes whose peak memory is the target's. */
  pids: number[];
  /** Request bodies in the target's own format, when not OpenAI's. */
  bodies?: { plain: string; streamed: string };
  /** Index of the first stream event sent at the upstream's pace (events before it are framing). */
  pacedFrom?: number;
  /** The workerd instance, for the Workers in it (its cron, say). */
  miniflare?: Miniflare;
  close(): Promise<void>;
}

/**
 * Bundles the Worker the way `wrangler deploy` would (minified, unless a
 * profile wants readable names); returns its path and gzipped size.
 */
export function buildWorker(options: { minify?: boolean } = {}): { path: string; gzipBytes: number } {
  const outdir = options.minify === false ? `${BUILD_DIR}/unminified` : BUILD_DIR;
  mkdirSync(outdir, { recursive: true });
  // wrangler.toml names the dashboard's assets directory; it must exist to build.
  mkdirSync(`${ROOT}dist/assets`, { recursive: true });
  execFileSync(
    "npx",
    ["wrangler", "deploy", "--dry-run", "--outdir", outdir, ...(options.minify === false ? ["--minify=false"] : [])],
    {
      cwd: ROOT,
      stdio: "ignore",
      env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
    },
  );
  const path = `${outdir}/index.js`;
  return { path, gzipBytes: gzipSync(readFileSync(path), { level: 9 }).byteLength };
}

/**
 * Starts bench/infra.ts in a process group of its own (it forks the mock
 * upstream), so stopping it, or this process exiting for any reason, ends
 * every process it started.
 */
export async function startInfra(env: Record<string, string> = {}): Promise<{ infra: Infra; stop: () => void }> {
  const child = spawn(process.execPath, ["--import", "tsx", `${ROOT}bench/infra.ts`], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "inherit"],
    detached: true,
    env: { ...process.env, ...env },
  });
  const stop = () => {
    try {
      if (child.pid) process.kill(-child.pid, "SIGTERM");
    } catch {
      // Already gone.
    }
  };
  process.once("exit", stop);
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      stop();
      process.exit(130);
    });
  }
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).once("line", resolve);
    child.once("exit", (code) => reject(new Error(`bench infra exited with ${code}`)));
  });
  return { infra: JSON.parse(line) as Infra, stop };
}

function childPids(name: string): Set<number> {
  const pids = new Set<number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const status = readFileSync(`/proc/${entry}/status`, "utf8");
      if (status.includes(`Name:\t${name}`) && status.includes(`PPid:\t${process.pid}\n`)) pids.add(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return pids;
}

const TICKS_PER_SECOND = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100;

/** CPU time (user + system, every thread) the processes have used so far, in ms. */
export function cpuMs(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      // Fields after the command name (which may hold spaces): state is 3rd, utime 14th, stime 15th.
      const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ").at(-1)?.split(" ") ?? [];
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // The process has ended.
    }
  }
  return (ticks / TICKS_PER_SECOND) * 1000;
}

/** Peak resident memory of a process, in MiB (VmHWM). */
export function peakMemoryMiB(pid: number): number {
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Number(match[1]) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

async function startWorkerd(name: Target["name"], options: V4MiniflareOptions): Promise<Target> {
  const before = childPids("workerd");
  const mf = new Miniflare(convertV4MiniflareOptions({ host: "127.0.0.1", port: 0, ...options } as V4MiniflareOptions));
  const url = await mf.ready;
  const pids = [...childPids("workerd")].filter((pid) => !before.has(pid));
  return {
    name,
    url: new URL("/v1/chat/completions", url).toString(),
    headers: {},
    pids,
    miniflare: mf,
    close: () => mf.dispose(),
  };
}

/**
 * Every per-request check on: a virtual key with a model allowlist, per-minute
 * limits and a budget, owned by a user with daily and monthly quotas and a
 * team, all high enough never to refuse.
 */
async function benchKey(base: string): Promise<string> {
  const admin = (path: string, body: unknown) =>
    fetch(new URL(path, base), {
      method: "POST",
      headers: { authorization: `Bearer ${BENCH_ADMIN_KEY}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    }).then((r) => r.json() as Promise<{ key?: string }>);
  const user = `bench-${Date.now()}`;
  await admin("/admin/users", {
    id: user,
    team_id: "bench-team",
    tokens_per_day: 2e9,
    tokens_per_month: 2e9,
    usd_per_day: 1e9,
    usd_per_month: 1e9,
    rpm_limit: 1e9,
    tpm_limit: 2e9,
  });
  const created = await admin("/admin/keys", {
    user_id: user,
    team_id: "bench-team",
    models: ["mock-*"],
    rpm_limit: 1e9,
    tpm_limit: 2e9,
    max_budget: 1e9,
    budget_duration: "1mo",
  });
  if (!created.key) throw new Error("bench: could not create a virtual key");
  return created.key;
}

/**
 * The same Sluice, called in Anthropic's format: every request decoded to the
 * canonical form, sent to the OpenAI-dialect mock, and the answer translated
 * back — the translation path, beside the passthrough one.
 */
export function sluiceTranslated(sluice: Target): Target {
  const messages = [{ role: "user", content: "Benchmark this gateway, please." }];
  return {
    ...sluice,
    name: "sluice-translated",
    url: sluice.url.replace("/v1/chat/completions", "/v1/messages"),
    headers: { "x-api-key": (sluice.headers.authorization ?? "").replace("Bearer ", ""), "anthropic-version": "2023-06-01" },
    bodies: {
      plain: JSON.stringify({ model: "mock-echo", max_tokens: 64, messages }),
      streamed: JSON.stringify({
        model: "mock-lorem",
        max_tokens: 256,
        stream: true,
        messages: [{ role: "user", content: "stream" }],
      }),
    },
    // message_start, then content_block_start arrives with the first delta.
    pacedFrom: 2,
    close: async () => undefined,
  };
}

/** A workerd of its own for one Worker, and the URL it listens on: for cold starts. */
export async function startRuntime(options: V4MiniflareOptions): Promise<{ mf: Miniflare; url: URL }> {
  const mf = new Miniflare(convertV4MiniflareOptions({ host: "127.0.0.1", port: 0, ...options } as V4MiniflareOptions));
  return { mf, url: await mf.ready };
}

export interface SluiceExtra {
  inspectorPort?: number;
  bindings?: Record<string, string>;
  /**
   * No usage queue bound: the isolate writes its records to Postgres itself,
   * in one insert per batch, as a deployment without a queue does. Miniflare's
   * queue broker runs in Sluice's own process, so its work is otherwise in
   * the process's CPU and memory, where a deployed Worker's queue is not.
   */
  directLedger?: boolean;
}

export function sluiceOptions(infra: Infra, scriptPath: string, extra: SluiceExtra = {}): V4MiniflareOptions {
  return {
    inspectorPort: extra.inspectorPort,
    modules: true,
    scriptPath,
    compatibilityDate: COMPATIBILITY_DATE,
    // As wrangler.toml declares them: usage records go to the ledger in batches through the queue,
    // and the billing webhook's wake-ups through their own.
    queueProducers: {
      ...(!extra.directLedger && { USAGE_QUEUE: { queueName: "sluice-usage" } }),
      BILLING_QUEUE: { queueName: "sluice-billing" },
    },
    queueConsumers: {
      "sluice-usage": { maxBatchSize: 100, maxBatchTimeout: 1, maxRetries: 10, deadLetterQueue: "sluice-usage-dlq" },
      "sluice-usage-dlq": { maxBatchSize: 100, maxBatchTimeout: 5, maxRetries: 100 },
      "sluice-billing": { maxBatchSize: 10, maxBatchTimeout: 1, maxRetries: 5 },
    },
    bindings: {
      DATABASE_URL: infra.databaseUrl,
      UPSTASH_REDIS_REST_URL: infra.redisUrl,
      UPSTASH_REDIS_REST_TOKEN: infra.redisToken,
      MOCK_BASE_URL: `${infra.mockUrl}/v1`,
      ADMIN_KEY: BENCH_ADMIN_KEY,
      ...extra.bindings,
    },
  };
}

export async function startSluice(infra: Infra, scriptPath: string, extra: SluiceExtra = {}): Promise<Target> {
  const target = await startWorkerd("sluice", sluiceOptions(infra, scriptPath, extra));
  return { ...target, headers: { authorization: `Bearer ${await benchKey(target.url)}` } };
}

export function forwarderOptions(infra: Infra, extra: { inspectorPort?: number } = {}): V4MiniflareOptions {
  return {
    ...extra,
    modules: true,
    scriptPath: `${ROOT}bench/forwarder/index.js`,
    compatibilityDate: COMPATIBILITY_DATE,
    bindings: { UPSTREAM: infra.mockUrl },
  };
}

export function startForwarder(infra: Infra, extra: { inspectorPort?: number } = {}): Promise<Target> {
  return startWorkerd("forwarder", forwarderOptions(infra, extra));
}

/** A minimal Worker of bench/floor/ (one step of Sluice's, alone) in the forwarder's runtime, with its binding. */
export function startFloorWorker(infra: Infra, file: string): Promise<Target> {
  const { scriptPath: _forwarder, ...options } = forwarderOptions(infra);
  // Listed, not found from the entry's imports: each Worker with the module the stream Workers share.
  const modules = [`${file}.js`, "drain.js"].map((name) => ({ type: "ESModule" as const, path: `${ROOT}bench/floor/${name}` }));
  return startWorkerd(`floor:${file}`, { ...options, modules, modulesRoot: `${ROOT}bench/floor` });
}

export function directTarget(infra: Infra): Target {
  return { name: "direct", url: `${infra.mockUrl}/v1/chat/completions`, headers: {}, pids: [], close: async () => undefined };
}

function ensurePeersInstalled(): string {
  const entry = `${PEERS_DIR}/node_modules/@portkey-ai/gateway/build/start-server.js`;
  const manifest = `${ROOT}bench/peers/package.json`;
  const installed = `${PEERS_DIR}/package.json`;
  if (!existsSync(entry) || !existsSync(installed) || statSync(installed).mtimeMs < statSync(manifest).mtimeMs) {
    mkdirSync(PEERS_DIR, { recursive: true });
    execFileSync("cp", [manifest, installed]);
    console.error("bench: installing peers into bench/.peers (first run only)");
    execFileSync("npm", ["install", "--no-audit", "--no-fund", "--ignore-scripts", "--no-package-lock"], {
      cwd: PEERS_DIR,
      stdio: "ignore",
    });
  }
  return entry;
}

async function waitForPort(url: string, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`peer exited with ${child.exitCode}`);
    try {
      await fetch(url);
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  throw new Error(`peer did not start at ${url}`);
}

export async function startPortkey(infra: Infra, port: number): Promise<Target> {
  const entry = ensurePeersInstalled();
  const child = spawn(process.execPath, ["--import", `${ROOT}bench/peers/loopback.mjs`, entry, "--headless", `--port=${port}`], {
    cwd: PEERS_DIR,
    stdio: "ignore",
  });
  const base = `http://127.0.0.1:${port}`;
  await waitForPort(base, child);
  return {
    name: "portkey",
    url: `${base}/v1/chat/completions`,
    headers: {
      authorization: "Bearer sk-bench-upstream",
      "x-portkey-provider": "openai",
      "x-portkey-custom-host": `${infra.mockUrl}/v1`,
      "x-portkey-forward-headers": "x-mock-latency-ms,x-mock-chunks,x-mock-interval-ms,x-mock-tokens",
    },
    pids: child.pid ? [child.pid] : [],
    close: async () => {
      child.kill("SIGTERM");
    },
  };
}

/** The value after `--name` on the bench's command line, or undefined when it was not given. */
export function option(name: string): string | undefined {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? process.argv[at + 1] : undefined;
}

/** `NAME=value,…` as bindings: what `--b-env` and `--env` take. */
export function bindingsFrom(text: string | undefined): Record<string, string> {
  return Object.fromEntries(
    (text ?? "")
      .split(",")
      .filter(Boolean)
      .map((pair) => [pair.slice(0, pair.indexOf("=")), pair.slice(pair.indexOf("=") + 1)]),
  );
}

/** Runs a bench's `main` to its end: exit 0, or its failure's stack and exit 1 (a stray server never keeps it alive). */
export function runBench(main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(`bench: ${error instanceof Error ? error.stack : String(error)}`);
      process.exit(1);
    },
  );
}
