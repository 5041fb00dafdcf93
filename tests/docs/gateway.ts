// The gateway the documentation's examples run against: the Worker built as
// it deploys (`wrangler deploy --dry-run`), in workerd through Miniflare,
// with its usage queues as wrangler.toml declares them, in front of the
// stand-ins (embedded PGlite and Redis, in memory) and the mock upstream.
// Every provider's base URL is the mock, and the catalog's well-known models
// are served by the mock's echo model, so examples read as they would against
// real providers and still run here, offline.
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { promisify } from "node:util";
import { convertV4MiniflareOptions, Log, LogLevel, Miniflare, type V4MiniflareOptions } from "miniflare";
import { buildApiDocs } from "../../dev/build-dashboard.ts";
import { migrateDatabase } from "../../dev/migrate.ts";
import {
  MOCK_AWS_ACCESS_KEY_ID,
  MOCK_AWS_REGION,
  MOCK_AWS_SECRET_ACCESS_KEY,
  MOCK_VERTEX_ACCOUNT_PATH,
} from "../../dev/mock-upstream/credentials.ts";
import { MOCK_TURNSTILE_SECRET, TURNSTILE_PATH } from "../../dev/mock-upstream/turnstile.ts";
import { startStandIns } from "../../dev/standins/index.ts";
import { ROOT } from "./markdown.ts";

/** What the examples find in their environment, as a reader's shell would have it under `npm run dev`. */
export const DOCS_ADMIN_KEY = "sk-admin-docs-0123456789abcdef";
/** The values docs/authentication.md configures for an app's own JWTs. */
export const DOCS_JWT = {
  secret: "docs-app-jwt-secret-0123456789abcdef",
  issuer: "https://auth.example.com/",
  audience: "my-app",
};
export const DOCS_WEBHOOK_SECRET = "whsec_dev_0123456789abcdef";

/** Catalog models the examples name, each served here by the mock's `mock-echo` on its own provider. */
export const ECHOED_MODELS = [
  "gpt-4o-mini",
  "gpt-4.1",
  "claude-sonnet-4-5",
  "gemini-2.5-flash",
  "gemini-2.5-pro",
  "mistral-small-latest",
];

export interface DocsGateway {
  /** The gateway's origin, as `$SLUICE`. */
  url: string;
  /** The mock upstream's origin. */
  mockUrl: string;
  close(): Promise<void>;
}

const COMPATIBILITY_DATE = /compatibility_date\s*=\s*"([^"]+)"/.exec(readFileSync(`${ROOT}wrangler.toml`, "utf8"))?.[1];

/** The Worker bundled as `wrangler deploy` would, into a directory of its own inside the project (workerd loads nothing outside it). */
async function buildWorker(): Promise<string> {
  mkdirSync(`${ROOT}.data`, { recursive: true });
  // wrangler.toml names the dashboard's assets directory; it must exist to build.
  mkdirSync(`${ROOT}dist/assets`, { recursive: true });
  const outdir = mkdtempSync(`${ROOT}.data/docs-worker-`);
  await promisify(execFile)("npx", ["wrangler", "deploy", "--dry-run", "--outdir", outdir], {
    cwd: ROOT,
    env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
  });
  return outdir;
}

async function prepareCatalog(url: string): Promise<void> {
  for (const model of ECHOED_MODELS) {
    const response = await fetch(`${url}/admin/models/${model}`, {
      method: "PATCH",
      headers: { authorization: `Bearer ${DOCS_ADMIN_KEY}`, "content-type": "application/json" },
      body: JSON.stringify({ upstream_id: "mock-echo" }),
    });
    if (!response.ok) throw new Error(`docs gateway: PATCH /admin/models/${model}: ${response.status} ${await response.text()}`);
  }
}

export async function startDocsGateway(): Promise<DocsGateway> {
  const built = buildWorker();
  const standIns = await startStandIns({}, {});
  const vars = standIns.vars;
  const mockUrl = (vars.MOCK_BASE_URL ?? "").replace(/\/v1$/, "");
  await migrateDatabase(vars.DATABASE_URL ?? "");
  const vertexAccount = await (await fetch(`${mockUrl}${MOCK_VERTEX_ACCOUNT_PATH}`)).text();
  const outdir = await built;
  // The static assets the examples read (`/openapi.json`), beside the Worker as wrangler.toml serves them.
  writeFileSync(`${outdir}/assets/_headers`, await buildApiDocs(`${outdir}/assets`));
  const bindings: Record<string, string> = {
    ...vars,
    ADMIN_KEY: DOCS_ADMIN_KEY,
    ENCRYPTION_KEY: Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64"),
    CORS_ORIGINS: "https://app.example.com",
    JWT_SECRET: DOCS_JWT.secret,
    JWT_ISSUER: DOCS_JWT.issuer,
    JWT_AUDIENCE: DOCS_JWT.audience,
    OPENAI_BASE_URL: `${mockUrl}/v1`,
    OPENAI_API_KEY: "sk-docs-openai",
    ANTHROPIC_BASE_URL: `${mockUrl}/v1`,
    ANTHROPIC_API_KEY: "sk-ant-docs",
    GEMINI_BASE_URL: mockUrl,
    GEMINI_API_KEY: "gemini-docs",
    MISTRAL_BASE_URL: `${mockUrl}/v1`,
    MISTRAL_API_KEY: "mistral-docs",
    COHERE_BASE_URL: `${mockUrl}/v2`,
    COHERE_API_KEY: "cohere-docs",
    AWS_ACCESS_KEY_ID: MOCK_AWS_ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY: MOCK_AWS_SECRET_ACCESS_KEY,
    AWS_REGION: MOCK_AWS_REGION,
    BEDROCK_BASE_URL: mockUrl,
    VERTEX_SERVICE_ACCOUNT: vertexAccount,
    VERTEX_BASE_URL: mockUrl,
    // docs/observability.md: traces to the mock's collector, and /metrics on.
    OTEL_EXPORTER_OTLP_ENDPOINT: `${mockUrl}/__mock/otlp/docs`,
    METRICS: "on",
    BILLING_WEBHOOK_URL: `${mockUrl}/__mock/hooks/billing`,
    BILLING_WEBHOOK_SECRET: DOCS_WEBHOOK_SECRET,
    ALERTS_WEBHOOK_URL: `${mockUrl}/__mock/hooks/alerts`,
    // The mock plays Turnstile's siteverify for docs/apps.md.
    TURNSTILE_SECRET_KEY: MOCK_TURNSTILE_SECRET,
    TURNSTILE_VERIFY_URL: `${mockUrl}${TURNSTILE_PATH}`,
  };
  const miniflare = new Miniflare(
    convertV4MiniflareOptions({
      host: "127.0.0.1",
      port: 0,
      log: new Log(LogLevel.WARN),
      // No request.cf from the network: the suite runs offline.
      cf: false,
      modules: true,
      scriptPath: `${outdir}/index.js`,
      compatibilityDate: COMPATIBILITY_DATE,
      assets: { directory: `${outdir}/assets`, routerConfig: { has_user_worker: true } },
      bindings,
      // docs/observability.md's request logs: the bucket an operator binds.
      r2Buckets: ["REQUEST_LOGS"],
      // As wrangler.toml declares them, delivering within 50 ms so examples that read the ledger need not wait long.
      queueProducers: { USAGE_QUEUE: { queueName: "sluice-usage" } },
      queueConsumers: {
        "sluice-usage": { maxBatchSize: 100, maxBatchTimeout: 0.05, maxRetries: 2, deadLetterQueue: "sluice-usage-dlq" },
        "sluice-usage-dlq": { maxBatchSize: 100, maxBatchTimeout: 0.05, maxRetries: 5 },
      },
    } as V4MiniflareOptions),
  );
  const url = new URL(await miniflare.ready).origin;
  await prepareCatalog(url);
  return {
    url,
    mockUrl,
    close: async () => {
      await miniflare.dispose();
      await standIns.close();
      rmSync(outdir, { recursive: true, force: true });
    },
  };
}
