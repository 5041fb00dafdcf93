// Drives the Worker inside workerd and reads back what it recorded.
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { createDatabase } from "../src/db/client.ts";
import { usageEvents } from "../src/db/schema.ts";
import worker from "../src/index.ts";
import { TEST_ADMIN_KEY } from "./setup/constants.ts";

export const BASE = "https://sluice.test";

/** A 1×1 PNG, for uploads: an image edit's image and mask. */
export const PNG = Uint8Array.from(
  atob("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="),
  (char) => char.charCodeAt(0),
);
export { TEST_ADMIN_KEY };

const mockRoot = String(env.MOCK_BASE_URL).replace(/\/v1$/, "");

/** OpenAI, Anthropic, Gemini and Mistral, each configured with the mock upstream as its base URL. */
export const mockProviderBindings = {
  ...env,
  OPENAI_BASE_URL: `${mockRoot}/v1`,
  OPENAI_API_KEY: "sk-test-openai-key",
  ANTHROPIC_BASE_URL: `${mockRoot}/v1`,
  ANTHROPIC_API_KEY: "sk-ant-test-key",
  GEMINI_BASE_URL: mockRoot,
  GEMINI_API_KEY: "gemini-test-key",
  MISTRAL_BASE_URL: `${mockRoot}/v1`,
  MISTRAL_API_KEY: "mistral-test-key",
};

/**
 * A `fetch` for an official SDK that calls the Worker instead of a socket.
 * Each request's deferred work goes into `pending`; a stream's ends with the
 * stream, which the SDK has yet to read, so await them after reading.
 */
export function workerFetch(pending: Promise<unknown>[], bindings: object = env) {
  return async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const ctx = createExecutionContext();
    const response = await worker.fetch(new Request(input, init), bindings as typeof env, ctx);
    pending.push(waitOnExecutionContext(ctx));
    return response;
  };
}

export interface Call {
  response: Response;
  /** Resolves once every `waitUntil` task of the request has finished: its limits settled, its record queued. */
  settled: () => Promise<void>;
  /** Resolves once the request's record is in the ledger too (the usage queue delivers it a moment later). */
  landed: () => Promise<void>;
}

export async function callWorker(request: Request, bindings: object = env): Promise<Call> {
  const ctx = createExecutionContext();
  const response = await worker.fetch(request, bindings as typeof env, ctx);
  const settled = () => waitOnExecutionContext(ctx);
  return {
    response,
    settled,
    landed: async () => {
      await settled();
      const requestId = response.headers.get("x-request-id") ?? "";
      if (!(await usageRow(requestId))) throw new Error(`no ledger row for ${requestId}`);
    },
  };
}

export function jsonRequest(path: string, body: unknown, headers: Record<string, string> = {}): Request {
  return new Request(`${BASE}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${TEST_ADMIN_KEY}`, "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

/** The `data:` payloads of an SSE body, in order. */
export async function sseData(response: Response): Promise<string[]> {
  const text = await response.text();
  return text
    .split(/\r?\n\r?\n/)
    .map((event) =>
      event
        .split(/\r?\n/)
        .filter((line) => line.startsWith("data:"))
        .map((line) => line.slice(5).trimStart())
        .join("\n"),
    )
    .filter((data) => data.length > 0);
}

export const db = () => createDatabase(env.DATABASE_URL);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A request's ledger row. Records reach the ledger through the usage queue,
 * a moment after the request's own deferred work, so this waits for the row
 * (up to `waitMs`) before saying there is none.
 */
export async function usageRow(requestId: string, { waitMs = 15_000 } = {}) {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const [row] = await db().select().from(usageEvents).where(eq(usageEvents.requestId, requestId));
    if (row || Date.now() >= deadline) return row;
    await sleep(20);
  }
}

/** What the mock upstream received for a gateway request. */
export async function upstreamRequest(requestId: string): Promise<{
  path: string;
  headers: Record<string, string>;
  body: Record<string, unknown>;
  receivedAt: number;
  abandoned: boolean;
  finished: boolean;
}> {
  const base = String(env.MOCK_BASE_URL).replace(/\/v1$/, "");
  const response = await fetch(`${base}/__mock/requests/${requestId}`);
  if (!response.ok) throw new Error(`mock upstream has no record of ${requestId}`);
  return response.json();
}

export const chat = (content: string, extra: Record<string, unknown> = {}) => ({
  model: "mock-echo",
  messages: [{ role: "user", content }],
  ...extra,
});
