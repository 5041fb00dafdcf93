// `npm run dev`: starts the local stand-ins, applies migrations, makes sure a
// dev admin key exists, and runs `wrangler dev` on http://127.0.0.1:8787 (or
// `PORT`; a free port when 8787 is taken and `PORT` is unset).
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { CONFIG_KEYS, ConfigError, parseConfig } from "../src/config/index.ts";
import { buildDashboard } from "./build-dashboard.ts";
import { appendDevVars, formatEnvFile, readDevVars } from "./env.ts";
import { migrateDatabase } from "./migrate.ts";
import { choosePort, type PortChoice, PortError } from "./standins/http.ts";
import { startStandIns } from "./standins/index.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const dataDir = `${root}.data`;

/**
 * A stand-in started on another port than its variable named (the port was
 * taken between the check and the start, and the stand-in moved): refused too.
 */
function assertKept(variable: string, choice: PortChoice | undefined, url: string | undefined): void {
  if (!choice?.fixed || !url) return;
  if (Number(new URL(url).port) !== choice.port) {
    throw new PortError(`${variable}=${choice.port}, but port ${choice.port} on 127.0.0.1 was taken as the stand-in started.`);
  }
}

function fromShell(): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const key of CONFIG_KEYS) {
    const value = process.env[key];
    if (value !== undefined) vars[key] = value;
  }
  return vars;
}

/**
 * The Worker's port, and each stand-in's that will start (one whose URL is
 * configured does not). A variable that names a port that is taken, or no
 * port, throws here, before anything is written or started.
 */
async function choosePorts(configured: Record<string, string>) {
  const gateway = await choosePort({ variable: "PORT", usual: 8787 });
  const chosen = [gateway.port];
  const standIn = async (variable: string, usual: number, needed: boolean): Promise<PortChoice | undefined> => {
    if (!needed) return undefined;
    const choice = await choosePort({ variable, usual, avoid: chosen });
    chosen.push(choice.port);
    return choice;
  };
  return {
    gateway,
    neon: await standIn("DEV_NEON_PORT", 5488, !configured.DATABASE_URL),
    upstash: await standIn("DEV_UPSTASH_PORT", 8079, !configured.UPSTASH_REDIS_REST_URL),
    mock: await standIn("DEV_MOCK_PORT", 8090, !configured.MOCK_BASE_URL),
  };
}

async function main(): Promise<void> {
  const devVars = readDevVars();
  const ports = await choosePorts({ ...devVars, ...fromShell() });
  const { gateway } = ports;
  mkdirSync(dataDir, { recursive: true });
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
    ports: { neon: ports.neon?.port, upstash: ports.upstash?.port, mock: ports.mock?.port },
  });
  const vars = { ...configured, ...standIns.vars };
  try {
    assertKept("DEV_NEON_PORT", ports.neon, standIns.vars.DATABASE_URL);
    assertKept("DEV_UPSTASH_PORT", ports.upstash, standIns.vars.UPSTASH_REDIS_REST_URL);
    assertKept("DEV_MOCK_PORT", ports.mock, standIns.vars.MOCK_BASE_URL);
  } catch (error) {
    await standIns.close();
    throw error;
  }

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
      String(gateway.port),
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

  await waitForHealth(`http://127.0.0.1:${gateway.port}/health`);
  printBanner({
    vars,
    gateway,
    database: standIns.neon ? (process.env.DEV_POSTGRES_URL ? "Postgres" : "PGlite in .data/pglite") : "DATABASE_URL",
  });
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

/** Where Workers AI models go when wrangler.toml binds no `AI` (a binding wins): the mock's REST API offline, or an account's. */
function workersAi(vars: Record<string, string>): string {
  const mock = vars.MOCK_BASE_URL?.replace(/\/v1$/, "");
  if (mock && vars.WORKERS_AI_BASE_URL === `${mock}/ai`) return "the mock's REST API (@cf/… models answer as mock-echo)";
  if (vars.WORKERS_AI_BASE_URL) return `REST API at ${where(vars.WORKERS_AI_BASE_URL)}`;
  return vars.WORKERS_AI_ACCOUNT_ID ? "Cloudflare's REST API" : "off";
}

function printBanner({ vars, gateway, database }: { vars: Record<string, string>; gateway: PortChoice; database: string }): void {
  const base = `http://127.0.0.1:${gateway.port}`;
  const moved = gateway.movedFrom ? ` (port ${gateway.movedFrom} was taken; PORT chooses one)` : "";
  console.log(`
  Sluice is running at ${base}${moved}
    database: ${database}   redis: ${process.env.DEV_REDIS_URL ? "Redis" : vars.UPSTASH_REDIS_REST_URL?.includes("127.0.0.1:") ? "embedded" : "Upstash"}
    admin key (in .dev.vars): ${vars.ADMIN_KEY}
    dashboard: ${base}/dashboard/   API docs: ${base}/docs
    stand-ins: Neon ${where(vars.DATABASE_URL)}, Upstash ${where(vars.UPSTASH_REDIS_REST_URL)}, mock upstream ${where(vars.MOCK_BASE_URL)}
    Workers AI: ${workersAi(vars)}

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
