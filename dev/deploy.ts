// `npm run deploy`: from a Cloudflare login to a running gateway, and safe to
// run again. In order: the login checked; the queues and buckets that
// wrangler.toml binds created when missing; each required secret that is not
// yet set asked for (or taken from the environment), checked, and set; the
// migrations applied to the production database; the dashboard built; the
// Worker deployed unless the same bundle already is. `--dry-run` prints the
// plan and changes nothing. Wrangler is whichever `wrangler` is on PATH
// (`npm run` puts the project's own first).
import { spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline/promises";
import { fileURLToPath } from "node:url";
import { sql } from "drizzle-orm";
import { encryptionKey } from "../src/config/index.ts";
import { createDatabase } from "../src/db/client.ts";
import { buildDashboard } from "./build-dashboard.ts";
import { migrateDatabase } from "./migrate.ts";

const root = fileURLToPath(new URL("..", import.meta.url));

export class DeployError extends Error {}

type Wrangler = (args: string[], input?: string) => { ok: boolean; stdout: string; stderr: string };

function wranglerOnPath(): Wrangler {
  return (args, input) => {
    const run = spawnSync("wrangler", args, {
      cwd: root,
      input,
      encoding: "utf8",
      env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
    });
    if (run.error) throw new DeployError(`wrangler could not be started (${run.error.message}); run \`npm install\` first`);
    return { ok: run.status === 0, stdout: run.stdout ?? "", stderr: run.stderr ?? "" };
  };
}

/** What wrangler.toml binds that must exist in the account: queues (dead-letter ones too) and R2 buckets. */
export function boundResources(toml: string): { queues: string[]; buckets: string[] } {
  const uncommented = toml
    .split("\n")
    .map((line) => line.replace(/#.*$/, ""))
    .join("\n");
  // Only the top level: `[env.*]` sections are other environments, deployed by name.
  const topLevel = uncommented.split(/^\[+env\./m)[0] ?? "";
  const values = (key: string) =>
    [...topLevel.matchAll(new RegExp(`^\\s*${key}\\s*=\\s*"([^"]+)"`, "gm"))].map((m) => m[1] ?? "");
  const unique = (list: string[]) => [...new Set(list.filter(Boolean))];
  return { queues: unique([...values("queue"), ...values("dead_letter_queue")]), buckets: unique(values("bucket_name")) };
}

interface Secret {
  name: string;
  what: string;
  /** A problem with a value, or undefined when it will do. */
  check(value: string, known: Record<string, string>): Promise<string | undefined>;
  /** Made up when the answer is left empty (keys the gateway itself defines). */
  generate?(): string;
}

async function databaseProblem(value: string): Promise<string | undefined> {
  if (!/^postgres(?:ql)?:\/\//.test(value)) return "must be a postgres:// connection string";
  try {
    await createDatabase(value).execute(sql`select 1`);
    return undefined;
  } catch (error) {
    // The driver's message names the host, never the password.
    return `did not answer (${error instanceof Error ? error.message.split("\n")[0] : String(error)})`;
  }
}

async function redisProblem(url: string, token: string): Promise<string | undefined> {
  try {
    const response = await fetch(url.replace(/\/+$/, ""), {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify(["PING"]),
      signal: AbortSignal.timeout(10_000),
    });
    if (response.status === 401 || response.status === 403) return "the Redis REST token was refused";
    const body = (await response.json().catch(() => ({}))) as { result?: unknown };
    return body.result === "PONG" ? undefined : `the Redis REST URL did not answer PING (HTTP ${response.status})`;
  } catch (error) {
    return `the Redis REST URL could not be reached (${error instanceof Error ? error.message : String(error)})`;
  }
}

export const SECRETS: readonly Secret[] = [
  {
    name: "DATABASE_URL",
    what: "the Neon Postgres connection string",
    check: databaseProblem,
  },
  {
    name: "UPSTASH_REDIS_REST_URL",
    what: "the Upstash Redis REST URL",
    check: async (value) => (/^https?:\/\//.test(value) ? undefined : "must be an https:// URL"),
  },
  {
    name: "UPSTASH_REDIS_REST_TOKEN",
    what: "the Upstash Redis REST token",
    check: async (value, known) => {
      const url = known.UPSTASH_REDIS_REST_URL;
      return url ? redisProblem(url, value) : undefined;
    },
  },
  {
    name: "ADMIN_KEY",
    what: "the admin API key (empty: one is made for you)",
    check: async (value) => (value.length >= 16 ? undefined : "must be at least 16 characters"),
    generate: () => `sk-admin-${randomBytes(24).toString("base64url")}`,
  },
  {
    name: "ENCRYPTION_KEY",
    what: "the key that seals stored provider keys, 32 bytes in base64 (empty: one is made for you)",
    check: async (value) => {
      try {
        encryptionKey(value, "ENCRYPTION_KEY");
        return undefined;
      } catch {
        return "must be 32 random bytes in base64 (openssl rand -base64 32)";
      }
    },
    generate: () => randomBytes(32).toString("base64"),
  },
];

export interface DeployOptions {
  dryRun: boolean;
  /** Values given in the environment, used instead of asking. */
  env: Record<string, string | undefined>;
  ask(question: string): Promise<string>;
  say(line: string): void;
  wrangler?: Wrangler;
  /** Applies the migrations (the real one talks to the database). */
  migrate?(databaseUrl: string): Promise<void>;
  build?(): Promise<void>;
}

function setSecrets(wrangler: Wrangler): Set<string> {
  const listed = wrangler(["secret", "list", "--format", "json"]);
  if (!listed.ok) {
    // A Worker never deployed has no secrets yet; wrangler says it was not found.
    if (/not found|does not exist|10007/i.test(listed.stdout + listed.stderr)) return new Set();
    throw new DeployError(`wrangler secret list failed: ${listed.stderr.trim() || listed.stdout.trim()}`);
  }
  try {
    return new Set((JSON.parse(listed.stdout) as { name: string }[]).map((secret) => secret.name));
  } catch {
    throw new DeployError("wrangler secret list did not print JSON");
  }
}

/** A hash of the bundle wrangler would upload: the same hash means the same Worker. */
function bundleHash(wrangler: Wrangler): string {
  const out = mkdtempSync(join(tmpdir(), "sluice-bundle-"));
  try {
    const built = wrangler(["deploy", "--dry-run", "--outdir", out]);
    if (!built.ok) throw new DeployError(`the bundle did not build: ${built.stderr.trim() || built.stdout.trim()}`);
    const hash = createHash("sha256");
    for (const name of readdirSync(out, { recursive: true }).map(String).sort()) {
      try {
        hash.update(name).update(readFileSync(join(out, name)));
      } catch {
        // A directory.
      }
    }
    return hash.digest("hex").slice(0, 16);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

export async function deploy(options: DeployOptions): Promise<void> {
  const wrangler = options.wrangler ?? wranglerOnPath();
  const { say, dryRun } = options;
  const change = (line: string) => say(dryRun ? `would ${line}` : line);

  const who = wrangler(["whoami"]);
  if (!who.ok || /not authenticated|not logged in/i.test(who.stdout + who.stderr)) {
    throw new DeployError("not logged in to Cloudflare: run `npx wrangler login` first");
  }
  say("logged in to Cloudflare");

  const { queues, buckets } = boundResources(readFileSync(join(root, "wrangler.toml"), "utf8"));
  for (const queue of queues) {
    if (wrangler(["queues", "info", queue]).ok) continue;
    change(`create queue ${queue}`);
    if (!dryRun && !wrangler(["queues", "create", queue]).ok) throw new DeployError(`could not create queue ${queue}`);
  }
  for (const bucket of buckets) {
    if (wrangler(["r2", "bucket", "info", bucket]).ok) continue;
    change(`create R2 bucket ${bucket}`);
    if (!dryRun && !wrangler(["r2", "bucket", "create", bucket]).ok) throw new DeployError(`could not create bucket ${bucket}`);
  }

  const present = setSecrets(wrangler);
  const known: Record<string, string> = {};
  for (const secret of SECRETS) {
    if (present.has(secret.name)) continue;
    if (dryRun) {
      say(`would ask for ${secret.name} (${secret.what}) and set it`);
      continue;
    }
    let value = options.env[secret.name];
    for (let tries = 0; ; tries++) {
      if (value === undefined) value = (await options.ask(`${secret.name}, ${secret.what}: `)).trim();
      if (value === "" && secret.generate) {
        value = secret.generate();
        if (secret.name === "ADMIN_KEY") say(`ADMIN_KEY made for you, shown this once: ${value}`);
      }
      const problem = await secret.check(value, known);
      if (!problem) break;
      say(`${secret.name} ${problem}`);
      if (tries >= 2 || options.env[secret.name] !== undefined) throw new DeployError(`${secret.name} ${problem}`);
      value = undefined;
    }
    known[secret.name] = value;
    const put = wrangler(["secret", "put", secret.name], value);
    if (!put.ok) throw new DeployError(`could not set ${secret.name}: ${put.stderr.trim()}`);
    say(`set ${secret.name}`);
  }

  // The database URL of this run, or the environment's: a secret set earlier cannot be read back.
  const databaseUrl = known.DATABASE_URL ?? options.env.DATABASE_URL;
  if (dryRun) say("would apply the migrations in drizzle/ to the production database (those applied are skipped)");
  else if (databaseUrl) {
    try {
      await (options.migrate ?? migrateDatabase)(databaseUrl);
    } catch (error) {
      throw new DeployError(`the migrations could not be applied: ${error instanceof Error ? error.message : String(error)}`);
    }
    say("migrations applied");
  } else {
    say("migrations skipped: DATABASE_URL is set in Cloudflare but not here; run `DATABASE_URL=… npm run db:migrate`");
  }

  if (dryRun) {
    say("would build the dashboard and deploy the Worker, unless this bundle is already deployed");
    return;
  }
  await (options.build ?? (() => buildDashboard({ quiet: true })))();
  const hash = bundleHash(wrangler);
  const message = `sluice bundle ${hash}`;
  const status = wrangler(["deployments", "status", "--json"]);
  if (status.ok && status.stdout.includes(message)) {
    say(`the Worker is up to date (${message})`);
    return;
  }
  const deployed = wrangler(["deploy", "--message", message]);
  if (!deployed.ok) throw new DeployError(`wrangler deploy failed: ${deployed.stderr.trim() || deployed.stdout.trim()}`);
  say(`deployed (${message})`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const lines = createInterface({ input: process.stdin, terminal: false });
  // Read through the iterator, which keeps lines that arrive before they are asked for (piped answers).
  const answers = lines[Symbol.asyncIterator]();
  deploy({
    dryRun: process.argv.includes("--dry-run"),
    env: process.env,
    ask: async (question) => {
      process.stdout.write(question);
      const next = await answers.next();
      return next.done ? "" : next.value;
    },
    say: (line) => console.log(`deploy: ${line}`),
  }).then(
    () => lines.close(),
    (error: unknown) => {
      lines.close();
      console.error(`deploy: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    },
  );
}
