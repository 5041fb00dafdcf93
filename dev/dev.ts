// `npm run dev`: starts the local stand-ins, applies migrations, makes sure a
// dev admin key exists, and runs `wrangler dev` on http://127.0.0.1:8787.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { CONFIG_KEYS, ConfigError, parseConfig } from "../src/config/index.ts";
import { buildDashboard } from "./build-dashboard.ts";
import { appendDevVars, formatEnvFile, readDevVars } from "./env.ts";
import { migrateDatabase } from "./migrate.ts";
import { startStandIns } from "./standins/index.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const dataDir = `${root}.data`;
const port = Number(process.env.PORT ?? 8787);

/** Whether a port on 127.0.0.1 is free to listen on. */
function isFree(candidate: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once("error", () => resolve(false));
    probe.listen(candidate, "127.0.0.1", () => probe.close(() => resolve(true)));
  });
}

/**
 * A stand-in's port: the variable's when set; else its usual one, which the
 * README's examples use, when free; else any free port (a second checkout,
 * or another program on the usual one). The banner says which.
 */
async function portFor(variable: string, usual: number): Promise<number> {
  const chosen = process.env[variable];
  if (chosen) return Number(chosen);
  return (await isFree(usual)) ? usual : 0;
}

function fromShell(): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const key of CONFIG_KEYS) {
    const value = process.env[key];
    if (value !== undefined) vars[key] = value;
  }
  return vars;
}

async function main(): Promise<void> {
  mkdirSync(dataDir, { recursive: true });
  const devVars = readDevVars();
  if (!devVars.ADMIN_KEY) {
    devVars.ADMIN_KEY = `sk-admin-${randomBytes(24).toString("base64url")}`;
    appendDevVars({ ADMIN_KEY: devVars.ADMIN_KEY });
    console.log("sluice dev: created a dev admin key in .dev.vars");
  }
  if (!devVars.ENCRYPTION_KEY) {
    // Seals the provider keys users store locally; kept, so they stay readable across restarts.
    devVars.ENCRYPTION_KEY = randomBytes(32).toString("base64");
    appendDevVars({ ENCRYPTION_KEY: devVars.ENCRYPTION_KEY });
    console.log("sluice dev: created a dev encryption key in .dev.vars");
  }
  // Shell variables win over .dev.vars; stand-ins fill whatever is still missing.
  const configured = { ...devVars, ...fromShell() };
  const standIns = await startStandIns(configured, {
    postgres: process.env.DEV_POSTGRES_URL ?? `${dataDir}/pglite`,
    redis: process.env.DEV_REDIS_URL,
    ports: {
      neon: await portFor("DEV_NEON_PORT", 5488),
      upstash: await portFor("DEV_UPSTASH_PORT", 8079),
      mock: await portFor("DEV_MOCK_PORT", 8090),
    },
  });
  const vars = { ...configured, ...standIns.vars };

  try {
    parseConfig(vars);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    for (const problem of error.problems) console.error(`sluice dev: configuration: ${problem}`);
    await standIns.close();
    process.exit(1);
  }

  await migrateDatabase(vars.DATABASE_URL ?? "");
  await buildDashboard();
  const envFile = `${dataDir}/dev.env`;
  writeFileSync(envFile, formatEnvFile(vars), { mode: 0o600 });

  const wrangler = spawn(
    "npx",
    [
      "wrangler",
      "dev",
      "--ip",
      "127.0.0.1",
      "--port",
      String(port),
      "--env-file",
      envFile,
      "--show-interactive-dev-session=false",
    ],
    { cwd: root, stdio: "inherit", env: { ...process.env, WRANGLER_SEND_METRICS: "false" } },
  );
  const stop = async (code: number) => {
    wrangler.kill("SIGTERM");
    await standIns.close();
    process.exit(code);
  };
  process.on("SIGINT", () => void stop(0));
  process.on("SIGTERM", () => void stop(0));
  wrangler.on("exit", (code) => void stop(code ?? 0));

  await waitForHealth(`http://127.0.0.1:${port}/health`);
  printBanner(vars, standIns.neon ? (process.env.DEV_POSTGRES_URL ? "Postgres" : "PGlite in .data/pglite") : "DATABASE_URL");
}

async function waitForHealth(url: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    try {
      const response = await fetch(url);
      if (response.status < 500 || response.status === 503) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** A URL's host and port only: the banner never prints a credential. */
function where(url: string | undefined): string {
  try {
    return url ? new URL(url).host : "-";
  } catch {
    return "-";
  }
}

function printBanner(vars: Record<string, string>, database: string): void {
  const base = `http://127.0.0.1:${port}`;
  console.log(`
  Sluice is running at ${base}
    database: ${database}   redis: ${process.env.DEV_REDIS_URL ? "Redis" : vars.UPSTASH_REDIS_REST_URL?.includes("127.0.0.1:") ? "embedded" : "Upstash"}
    admin key (in .dev.vars): ${vars.ADMIN_KEY}
    dashboard: ${base}/dashboard/   API docs: ${base}/docs
    stand-ins: Neon ${where(vars.DATABASE_URL)}, Upstash ${where(vars.UPSTASH_REDIS_REST_URL)}, mock upstream ${where(vars.MOCK_BASE_URL)}

  Stream a completion from the mock model:

    curl -N ${base}/v1/chat/completions \\
      -H "Authorization: Bearer ${vars.ADMIN_KEY}" \\
      -H "Content-Type: application/json" \\
      -d '{"model":"mock-echo","stream":true,"messages":[{"role":"user","content":"Hello from Sluice"}]}'
`);
}

main().catch((error: unknown) => {
  console.error(`sluice dev: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
