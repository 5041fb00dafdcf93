// `npm run deploy` against a fake wrangler on PATH, which records what it was
// asked and keeps an account's state in a file: the plan in order, only the
// missing secrets asked for, invalid ones refused, nothing done twice, and
// nothing at all on a dry run. The database and Redis it checks are the
// local stand-ins.
import { spawn } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { boundResources } from "../../dev/deploy.ts";
import { type NeonStandIn, startNeonStandIn } from "../../dev/standins/neon-http.ts";
import { startUpstashStandIn, type UpstashStandIn } from "../../dev/standins/upstash-rest.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));
const tsx = join(root, "node_modules/.bin/tsx");

/** A wrangler that answers from `state.json` beside it and appends each call to `calls.log`. */
const FAKE_WRANGLER = `#!/usr/bin/env node
const fs = require("node:fs");
const path = require("node:path");
const dir = __dirname;
const statePath = path.join(dir, "state.json");
const state = JSON.parse(fs.readFileSync(statePath, "utf8"));
const args = process.argv.slice(2);
const input = process.stdin.isTTY ? "" : fs.readFileSync(0, "utf8");
fs.appendFileSync(path.join(dir, "calls.log"), JSON.stringify(args) + "\\n");
const save = () => fs.writeFileSync(statePath, JSON.stringify(state));
const [a, b, c, d] = args;
if (a === "whoami") { console.log(state.loggedIn ? "You are logged in with an API Token." : "You are not authenticated. Please run \`wrangler login\`."); process.exit(0); }
if (a === "queues" && b === "info") process.exit(state.queues.includes(c) ? 0 : 1);
if (a === "queues" && b === "create") { state.queues.push(c); save(); process.exit(0); }
if (a === "r2" && b === "bucket" && c === "info") process.exit(state.buckets.includes(d) ? 0 : 1);
if (a === "r2" && b === "bucket" && c === "create") { state.buckets.push(d); save(); process.exit(0); }
if (a === "secret" && b === "list") { console.log(JSON.stringify(Object.keys(state.secrets).map((name) => ({ name, type: "secret_text" })))); process.exit(0); }
if (a === "secret" && b === "put") { state.secrets[c] = input; save(); process.exit(0); }
if (a === "deploy" && args.includes("--dry-run")) { const out = args[args.indexOf("--outdir") + 1]; fs.writeFileSync(path.join(out, "index.js"), state.bundle); process.exit(0); }
if (a === "deployments" && b === "status") { console.log(JSON.stringify({ annotations: { "workers/message": state.deployed.at(-1) ?? "" } })); process.exit(0); }
if (a === "deploy") { state.deployed.push(args[args.indexOf("--message") + 1]); save(); process.exit(0); }
console.error("fake wrangler: unknown command " + args.join(" ")); process.exit(2);
`;

interface Account {
  loggedIn: boolean;
  queues: string[];
  buckets: string[];
  secrets: Record<string, string>;
  deployed: string[];
  bundle: string;
}

let neon: NeonStandIn;
let upstash: UpstashStandIn;
let dir: string;

beforeAll(async () => {
  neon = await startNeonStandIn({});
  upstash = await startUpstashStandIn({});
  dir = mkdtempSync(join(tmpdir(), "sluice-deploy-"));
  writeFileSync(join(dir, "wrangler"), FAKE_WRANGLER);
  chmodSync(join(dir, "wrangler"), 0o755);
}, 60_000);

afterAll(async () => {
  await Promise.all([neon?.close(), upstash?.close()]);
  rmSync(dir, { recursive: true, force: true });
});

function account(state: Partial<Account> = {}): void {
  const fresh: Account = { loggedIn: true, queues: [], buckets: [], secrets: {}, deployed: [], bundle: "bundle-1", ...state };
  writeFileSync(join(dir, "state.json"), JSON.stringify(fresh));
  writeFileSync(join(dir, "calls.log"), "");
}

const state = () => JSON.parse(readFileSync(join(dir, "state.json"), "utf8")) as Account;
const calls = () =>
  readFileSync(join(dir, "calls.log"), "utf8")
    .split("\n")
    .filter(Boolean)
    .map((line) => (JSON.parse(line) as string[]).join(" "));
/** The calls that change the account. */
const changes = () => calls().filter((call) => /^(queues create|r2 bucket create|secret put|deploy --message)/.test(call));

/** Runs the deploy command; asynchronously, since the stand-ins it checks answer from this process. */
function run(args: string[], input: string, env: Record<string, string> = {}) {
  return new Promise<{ status: number | null; out: string }>((resolve) => {
    const child = spawn(tsx, ["dev/deploy.ts", ...args], {
      cwd: root,
      env: { PATH: `${dir}:${process.env.PATH}`, HOME: process.env.HOME ?? "", ...env },
      timeout: 120_000,
    });
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.on("close", (status) => resolve({ status, out }));
    child.stdin.end(input);
  });
}

const encryptionKey = Buffer.alloc(32, 7).toString("base64");

describe("npm run deploy", () => {
  it("reads the queues and buckets wrangler.toml binds, dead-letter queues included, other environments left out", () => {
    const toml = `[[queues.producers]]\nqueue = "q-a"\n[[queues.consumers]]\nqueue = "q-a"\ndead_letter_queue = "q-dlq"\n# queue = "commented"\n[[r2_buckets]]\nbinding = "LOGS"\nbucket_name = "logs"\n[env.test]\n[[env.test.queues.producers]]\nqueue = "q-test"\n`;
    expect(boundResources(toml)).toEqual({ queues: ["q-a", "q-dlq"], buckets: ["logs"] });
  });

  it("does the plan in order, asks only for missing secrets, and refuses an invalid one until it is right", async () => {
    account({ secrets: { ADMIN_KEY: "set-before" } });
    // Redis from the answers; a short encryption key refused, then a good one.
    const answers = [upstash.url, upstash.token, "too-short", encryptionKey].join("\n");
    const { status, out } = await run([], `${answers}\n`, { DATABASE_URL: neon.url });
    expect(out).toContain("ENCRYPTION_KEY must be 32 random bytes in base64");
    expect(status).toBe(0);
    expect(out).not.toContain(upstash.token);

    const log = calls();
    expect(log[0]).toBe("whoami");
    expect(changes()).toEqual([
      "queues create sluice-usage",
      "queues create sluice-usage-dlq",
      "secret put DATABASE_URL",
      "secret put UPSTASH_REDIS_REST_URL",
      "secret put UPSTASH_REDIS_REST_TOKEN",
      "secret put ENCRYPTION_KEY",
      expect.stringMatching(/^deploy --message sluice bundle [0-9a-f]{16}$/),
    ]);
    // The bundle is built (a dry run into a folder) before the deploy that ships it.
    expect(log.findIndex((call) => call.startsWith("deploy --dry-run"))).toBeLessThan(
      log.findIndex((call) => call.startsWith("deploy --message")),
    );
    expect(state().secrets).toEqual({
      ADMIN_KEY: "set-before",
      DATABASE_URL: neon.url,
      UPSTASH_REDIS_REST_URL: upstash.url,
      UPSTASH_REDIS_REST_TOKEN: upstash.token,
      ENCRYPTION_KEY: encryptionKey,
    });
    expect(out).toContain("migrations applied");
  }, 180_000);

  it("changes nothing on a second run", async () => {
    const before = state();
    writeFileSync(join(dir, "calls.log"), "");
    const { status, out } = await run([], "", { DATABASE_URL: neon.url });
    expect(status).toBe(0);
    expect(changes()).toEqual([]);
    expect(state()).toEqual(before);
    expect(out).toContain("the Worker is up to date");
  }, 180_000);

  it("deploys again once the bundle changes", async () => {
    const before = state();
    writeFileSync(join(dir, "state.json"), JSON.stringify({ ...before, bundle: "bundle-2" }));
    writeFileSync(join(dir, "calls.log"), "");
    const { status } = await run([], "");
    expect(status).toBe(0);
    expect(changes()).toEqual([expect.stringMatching(/^deploy --message sluice bundle /)]);
  }, 180_000);

  it("prints the plan on --dry-run and changes nothing", async () => {
    account();
    const { status, out } = await run(["--dry-run"], "");
    expect(status).toBe(0);
    expect(changes()).toEqual([]);
    expect(state().secrets).toEqual({});
    for (const line of [
      "would create queue sluice-usage",
      "would create queue sluice-usage-dlq",
      "would ask for DATABASE_URL",
      "would ask for ADMIN_KEY",
      "would apply the migrations",
      "would build the dashboard and deploy the Worker",
    ]) {
      expect(out).toContain(line);
    }
  }, 180_000);

  it("refuses a Redis token the Redis does not take, and sets nothing after it", async () => {
    account();
    const { status, out } = await run([], "", {
      DATABASE_URL: neon.url,
      UPSTASH_REDIS_REST_URL: upstash.url,
      UPSTASH_REDIS_REST_TOKEN: "not-the-token",
    });
    expect(status).toBe(1);
    expect(out).toContain("UPSTASH_REDIS_REST_TOKEN the Redis REST token was refused");
    expect(changes()).not.toContain("secret put UPSTASH_REDIS_REST_TOKEN");
    expect(changes().some((call) => call.startsWith("deploy"))).toBe(false);
  }, 180_000);

  it("refuses a database that does not answer", async () => {
    account();
    const { status, out } = await run([], "", { DATABASE_URL: "postgres://sluice:pw@127.0.0.1:9/none" });
    expect(status).toBe(1);
    expect(out).toContain("DATABASE_URL did not answer");
    expect(out).not.toContain(":pw@");
    expect(changes().filter((call) => call.startsWith("secret put"))).toEqual([]);
  }, 180_000);

  it("stops before anything when not logged in", async () => {
    account({ loggedIn: false });
    const { status, out } = await run([], "");
    expect(status).toBe(1);
    expect(out).toContain("not logged in to Cloudflare: run `npx wrangler login` first");
    expect(calls()).toEqual(["whoami"]);
  }, 60_000);
});
