import { readFileSync } from "node:fs";
import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";
import {
  TEST_ADMIN_KEY,
  TEST_ENCRYPTION_KEY,
  TEST_JWT_AUDIENCE,
  TEST_JWT_ISSUER,
  TEST_JWT_SECRET,
} from "./tests/setup/constants.ts";

const compatibilityDate = /compatibility_date\s*=\s*"([^"]+)"/.exec(readFileSync("wrangler.toml", "utf8"))?.[1];

// Three projects. `unit`: the pure modules (translations, stream framing,
// signing, routing rules, time windows) in plain Node, in a second or two.
// `workers`: the Worker inside workerd, pointed at the stand-ins and mock
// upstream that tests/setup/global.ts starts (embedded engines, or real
// Postgres and Redis when TEST_DATABASE_URL and TEST_REDIS_URL are set).
// `docs`: the documentation's examples against the built Worker
// (tests/docs/, always on the embedded engines).
const workers = defineConfig({
  plugins: [
    cloudflareTest(({ inject }) => {
      const bindings = {
        DATABASE_URL: inject<string>("databaseUrl"),
        UPSTASH_REDIS_REST_URL: inject<string>("redisUrl"),
        UPSTASH_REDIS_REST_TOKEN: inject<string>("redisToken"),
        MOCK_BASE_URL: inject<string>("mockBaseUrl"),
        EVERYTHING_MCP_URL: inject<string>("everythingMcpUrl"),
        ADMIN_KEY: TEST_ADMIN_KEY,
        CORS_ORIGINS: "https://app.example.com",
        JWT_SECRET: TEST_JWT_SECRET,
        JWKS_URL: `${inject<string>("mockBaseUrl").replace(/\/v1$/, "")}/__mock/jwks`,
        JWT_ISSUER: TEST_JWT_ISSUER,
        JWT_AUDIENCE: TEST_JWT_AUDIENCE,
        ENCRYPTION_KEY: TEST_ENCRYPTION_KEY,
        // Catalog changes and cooldowns reach every isolate within half a second, so tests need not wait long.
        CATALOG_REFRESH: "500ms",
        // The fuzz suite explores another seed, or longer, when asked.
        ...(process.env.SLUICE_FUZZ_SEED && { SLUICE_FUZZ_SEED: process.env.SLUICE_FUZZ_SEED }),
        ...(process.env.SLUICE_FUZZ_RUNS && { SLUICE_FUZZ_RUNS: process.env.SLUICE_FUZZ_RUNS }),
      };
      return {
        wrangler: { configPath: "./wrangler.toml" },
        miniflare: {
          bindings,
          // The request logs' bucket, which wrangler.toml leaves for an operator to create and bind.
          r2Buckets: ["REQUEST_LOGS"],
          // The usage queue as wrangler.toml declares it, delivering within 50 ms so tests need not wait long.
          queueConsumers: {
            "sluice-usage": { maxBatchSize: 100, maxBatchTimeout: 0.05, maxRetries: 2, deadLetterQueue: "sluice-usage-dlq" },
            "sluice-usage-dlq": { maxBatchSize: 100, maxBatchTimeout: 0.05, maxRetries: 5 },
            "sluice-billing": { maxBatchSize: 10, maxBatchTimeout: 0.05, maxRetries: 2 },
          },
          // A second instance of the built Worker sharing Postgres and Redis: its own isolate, its own caches.
          serviceBindings: { SECOND_INSTANCE: "sluice-second" },
          workers: [
            {
              name: "sluice-second",
              modules: true,
              scriptPath: inject<string>("secondWorkerPath"),
              compatibilityDate,
              bindings,
            },
          ],
        },
      };
    }),
  ],
  test: {
    name: "workers",
    globalSetup: ["./tests/setup/global.ts"],
    include: ["tests/*.test.ts"],
    testTimeout: 20_000,
    hookTimeout: 60_000,
  },
});

export default defineConfig({
  test: {
    // Run-wide, not per project: vitest reads this option from the root config only.
    // workerd rejects one internal promise of its own when an upstream body is
    // cut mid-stream, or its fetch aborted while a read is under way (a stream
    // that went quiet), even though the read that met the error was handled.
    // Exactly those errors are ignored; anything else still fails the run.
    onUnhandledError: (error) => {
      const { message, name, retryable } = error as { message?: string; name?: string; retryable?: boolean };
      const internal = message === "Network connection lost." || (name === "AbortError" && retryable === true);
      return !internal;
    },
    projects: [
      { test: { name: "unit", include: ["tests/unit/**/*.test.ts"], environment: "node" } },
      workers,
      // `docs`: every shell and TypeScript example in README.md and docs/, run against the built Worker in workerd.
      {
        test: {
          name: "docs",
          include: ["tests/docs/**/*.test.ts"],
          environment: "node",
          globalSetup: ["./tests/docs/setup.ts"],
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
