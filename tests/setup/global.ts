// Starts the stand-ins and the mock upstream for the whole test run.
// Embedded engines by default; TEST_DATABASE_URL and TEST_REDIS_URL switch
// to real servers (a fresh database is created, and the Redis db is flushed).
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { resolve } from "node:path";
import pg from "pg";
import type { TestProject } from "vitest/node";
import { buildDashboard } from "../../dev/build-dashboard.ts";
import { migrateDatabase } from "../../dev/migrate.ts";
import { startStandIns } from "../../dev/standins/index.ts";
import { startEverythingServer } from "./everything.ts";

declare module "vitest" {
  export interface ProvidedContext {
    databaseUrl: string;
    redisUrl: string;
    redisToken: string;
    mockBaseUrl: string;
    engines: string;
    secondWorkerPath: string;
    /** A real MCP server from npm (server-everything), over Streamable HTTP. */
    everythingMcpUrl: string;
  }
}

async function freshDatabase(serverUrl: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `sluice_test_${process.pid}_${Date.now()}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const client = new pg.Client({ connectionString: serverUrl });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    },
  };
}

export default async function setup(project: TestProject) {
  const database = process.env.TEST_DATABASE_URL ? await freshDatabase(process.env.TEST_DATABASE_URL) : undefined;
  const standIns = await startStandIns({}, { postgres: database?.url, redis: process.env.TEST_REDIS_URL });
  if (standIns.upstash?.engine.kind === "redis") await standIns.upstash.engine.call(["FLUSHDB"]);
  const vars = standIns.vars;
  await migrateDatabase(vars.DATABASE_URL ?? "");
  // The dashboard's static assets, which wrangler.toml serves and the Worker build needs.
  await buildDashboard({ quiet: true });

  project.provide("databaseUrl", vars.DATABASE_URL ?? "");
  project.provide("redisUrl", vars.UPSTASH_REDIS_REST_URL ?? "");
  project.provide("redisToken", vars.UPSTASH_REDIS_REST_TOKEN ?? "");
  project.provide("mockBaseUrl", vars.MOCK_BASE_URL ?? "");
  // A second Worker instance, built as it deploys, so tests can show what one isolate does is seen by another.
  // Inside the project: workerd will not load modules from outside its starting directory.
  mkdirSync(".data", { recursive: true });
  const buildDir = mkdtempSync(".data/second-worker-");
  execFileSync("npx", ["wrangler", "deploy", "--dry-run", "--outdir", buildDir], {
    stdio: "ignore",
    env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
  });
  project.provide("secondWorkerPath", resolve(buildDir, "index.js"));
  const everything = await startEverythingServer();
  project.provide("everythingMcpUrl", everything.url);
  project.provide("engines", `${standIns.neon?.engine.kind}+${standIns.upstash?.engine.kind}`);
  console.log(`sluice tests: postgres engine ${standIns.neon?.engine.kind}, redis engine ${standIns.upstash?.engine.kind}`);

  return async () => {
    everything.close();
    await standIns.close();
    await database?.drop();
    rmSync(buildDir, { recursive: true, force: true });
  };
}
