// Hostile and unlucky input, generated: 10,000 requests per run over every
// route and every kind of credential, from a fixed seed (SLUICE_FUZZ_SEED to
// explore others, SLUICE_FUZZ_RUNS for more). Each must be answered, within
// seconds, with no 5xx, and every error in the caller's own format with a
// message that says what is wrong. The mock upstream refuses what it cannot
// read with a 400, as providers do, so nothing is blamed on it.
import { env } from "cloudflare:test";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import type { ErrorShape } from "../src/formats/types.ts";
import { BASE, callWorker, TEST_ADMIN_KEY } from "./helpers.ts";
import { admin, appToken, uniqueId } from "./identity.ts";

const SEED = Number(env.SLUICE_FUZZ_SEED ?? 20261125);
const RUNS = Number(env.SLUICE_FUZZ_RUNS ?? 10_000);
const REQUEST_TIMEOUT_MS = 10_000;

interface Route {
  method: string;
  path: string;
  errors: ErrorShape;
  /** A body the route accepts, to mutate. */
  template?: Record<string, unknown>;
}

const chat = { model: "mock-echo", messages: [{ role: "user", content: "fuzz" }], max_tokens: 8 };
const contents = [{ role: "user", parts: [{ text: "fuzz" }] }];
/** Every route, with a body it accepts; admin writes touch only names of their own (`fuzz-*`). */
const ROUTES: Route[] = [
  { method: "POST", path: "/v1/chat/completions", errors: "openai", template: chat },
  {
    method: "POST",
    path: "/v1/responses",
    errors: "openai-responses",
    template: { model: "mock-echo", input: "fuzz", max_output_tokens: 8 },
  },
  { method: "POST", path: "/v1/completions", errors: "openai", template: { model: "mock-echo", prompt: "fuzz", max_tokens: 8 } },
  { method: "POST", path: "/v1/embeddings", errors: "openai", template: { model: "mock-echo", input: ["fuzz"] } },
  {
    method: "POST",
    path: "/v1/messages",
    errors: "anthropic",
    template: { model: "mock-echo", max_tokens: 8, messages: chat.messages },
  },
  {
    method: "POST",
    path: "/v1/messages/count_tokens",
    errors: "anthropic",
    template: { model: "mock-echo", messages: chat.messages },
  },
  { method: "POST", path: "/v1beta/models/mock-echo:generateContent", errors: "gemini", template: { contents } },
  { method: "POST", path: "/v1beta/models/mock-echo:streamGenerateContent?alt=sse", errors: "gemini", template: { contents } },
  { method: "POST", path: "/api/ai/generate", errors: "gemini", template: { model: "mock-echo", contents } },
  { method: "POST", path: "/api/ai/completion", errors: "openai", template: { ...chat, provider: "mock" } },
  { method: "POST", path: "/api/keys", errors: "openai", template: { name: "fuzz", rpm_limit: 5 } },
  {
    method: "PUT",
    path: "/api/provider-keys",
    errors: "openai",
    // The fuzz user's own key: it changes only that user's calls.
    template: { provider: "openai", api_key: "sk-fuzz-0123456789" },
  },
  { method: "POST", path: "/auth/token", errors: "openai" },
  { method: "POST", path: "/admin/keys", errors: "openai", template: { name: "fuzz", models: ["mock-*"], max_budget: 1 } },
  { method: "POST", path: "/admin/users", errors: "openai", template: { id: "fuzz-user", team_id: "fuzz-team" } },
  { method: "POST", path: "/admin/teams", errors: "openai", template: { id: "fuzz-team", name: "Fuzz" } },
  {
    method: "POST",
    path: "/admin/models",
    errors: "openai",
    template: { id: "fuzz-model", targets: [{ provider: "mock", model: "mock-echo" }] },
  },
  // For a provider no other test routes to: what the fuzz writes must not change what other suites see.
  {
    method: "POST",
    path: "/admin/credentials",
    errors: "openai",
    template: { provider: "fuzz-provider", api_key: "sk-fuzz-0123456789" },
  },
  { method: "POST", path: "/admin/billing/outbox/replay", errors: "openai", template: { request_ids: ["req_none"] } },
  { method: "GET", path: "/v1/models", errors: "openai" },
  { method: "GET", path: "/v1beta/models", errors: "gemini" },
  { method: "GET", path: "/api/ai/usage", errors: "openai" },
  { method: "GET", path: "/api/ai/quota", errors: "openai" },
  { method: "GET", path: "/admin/usage", errors: "openai" },
  { method: "GET", path: "/admin/keys", errors: "openai" },
  { method: "GET", path: "/admin/billing/outbox", errors: "openai" },
  { method: "GET", path: "/health", errors: "openai" },
];

/** The default quota allows a user 10 requests a minute: the suite's users get their own, larger policy. */
const credentials: Record<string, string> = {};

beforeAll(async () => {
  const key = await admin("POST", "/admin/keys", { name: uniqueId("fuzz") });
  credentials.key = String(key.body.key);
  const token = await callWorker(
    new Request(`${BASE}/auth/token`, { method: "POST", headers: { authorization: `Bearer ${credentials.key}` } }),
  );
  credentials.token = String(((await token.response.json()) as { access_token: string }).access_token);
  const user = uniqueId("fuzz-user");
  await admin("POST", "/admin/users", { id: user, rpm_limit: 1_000_000, tokens_per_day: null, tokens_per_month: null });
  credentials.user = await appToken({ sub: user });
});

type Auth = "admin" | "key" | "token" | "user" | "none" | "garbage" | "basic" | "empty-bearer" | "api-key-header" | "goog-header";

function headersFor(auth: Auth): Record<string, string> {
  switch (auth) {
    case "admin":
      return { authorization: `Bearer ${TEST_ADMIN_KEY}` };
    case "key":
    case "token":
    case "user":
      return { authorization: `Bearer ${credentials[auth]}` };
    case "none":
      return {};
    case "garbage":
      return { authorization: `Bearer ${"x".repeat(300)}.${"y".repeat(20)}.z` };
    case "basic":
      return { authorization: "Basic Zm9vOmJhcg==" };
    case "empty-bearer":
      return { authorization: "Bearer " };
    case "api-key-header":
      return { "x-api-key": credentials.key ?? "" };
    case "goog-header":
      return { "x-goog-api-key": credentials.key ?? "" };
  }
}

/** Every path to a value inside a template, as key lists. */
function pathsOf(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (Array.isArray(value)) return [prefix, ...value.flatMap((v, i) => pathsOf(v, [...prefix, i]))];
  if (value && typeof value === "object") {
    return [prefix, ...Object.entries(value).flatMap(([k, v]) => pathsOf(v, [...prefix, k]))];
  }
  return [prefix];
}

function setAt(value: unknown, path: (string | number)[], replacement: unknown | typeof DELETE): unknown {
  if (path.length === 0) return replacement === DELETE ? undefined : replacement;
  const [head, ...rest] = path as [string | number, ...(string | number)[]];
  const copy = (Array.isArray(value) ? [...value] : { ...(value as object) }) as Record<string | number, unknown>;
  if (rest.length === 0 && replacement === DELETE) delete copy[head];
  else copy[head] = setAt(copy[head], rest, replacement);
  return copy;
}

const DELETE = Symbol("delete");
const nested = (depth: number) => `${"[".repeat(depth)}1${"]".repeat(depth)}`;

/** One generated request: a route, a credential, and a body made from its template. */
const requestArbitrary = fc
  .record({
    route: fc.constantFrom(...ROUTES),
    auth: fc.constantFrom<Auth>(
      "admin",
      "admin",
      "key",
      "token",
      "user",
      "none",
      "garbage",
      "basic",
      "empty-bearer",
      "api-key-header",
      "goog-header",
    ),
    kind: fc.constantFrom(
      "valid",
      "replace",
      "replace",
      "delete",
      "json",
      "truncate",
      "duplicate",
      "deep",
      "content-type",
      "stream",
      "query",
    ),
    value: fc.jsonValue({ maxDepth: 3 }),
    pick: fc.nat(),
    cut: fc.nat(),
  })
  .map(({ route, auth, kind, value, pick, cut }) => {
    const template = route.template ?? {};
    const paths = pathsOf(template).filter((p) => p.length > 0);
    const path = paths[pick % Math.max(1, paths.length)] ?? ["model"];
    let body: string | undefined = JSON.stringify(template);
    let contentType = "application/json";
    let url = `${BASE}${route.path}`;
    if (kind === "replace") body = JSON.stringify(setAt(template, path, value));
    if (kind === "delete") body = JSON.stringify(setAt(template, path, DELETE));
    if (kind === "json") body = JSON.stringify(value);
    if (kind === "truncate") body = body.slice(0, cut % Math.max(1, body.length));
    if (kind === "duplicate") body = `{"model":5,${body.slice(1)}`;
    if (kind === "deep") body = JSON.stringify({ ...template, messages: JSON.parse(nested(64 + (pick % 400))) });
    if (kind === "content-type")
      contentType = ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"][pick % 3] ?? "";
    if (kind === "stream") body = JSON.stringify({ ...template, stream: true });
    if (kind === "query") {
      const params = ["limit", "from", "to", "group_by", "cursor", "status", "format", "metadata.session_id", "offset", "alt"];
      url += `${url.includes("?") ? "&" : "?"}${params[pick % params.length]}=${encodeURIComponent(JSON.stringify(value).slice(0, 200))}`;
    }
    if (route.method === "GET") body = undefined;
    return { route, auth, kind, url, body, contentType };
  });

/** The error shape each format's callers read. */
function errorMessage(shape: ErrorShape, body: unknown): string | undefined {
  const value = body as { type?: string; error?: { message?: unknown; type?: unknown; code?: unknown; status?: unknown } };
  if (shape === "anthropic")
    return value.type === "error" && typeof value.error?.type === "string" ? String(value.error.message) : undefined;
  if (shape === "gemini") {
    return typeof value.error?.code === "number" && typeof value.error.status === "string"
      ? String(value.error.message)
      : undefined;
  }
  return typeof value.error?.type === "string" ? String(value.error.message) : undefined;
}

/** The work, or a failure naming it when it takes longer than a request may; the timer goes with the answer. */
async function withTimeout<T>(work: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms: ${what}`)), REQUEST_TIMEOUT_MS);
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

describe("generated hostile requests", () => {
  it(`are answered without a 5xx, in the caller's format, naming the problem (${RUNS} requests, seed ${SEED})`, {
    timeout: 600_000,
  }, async () => {
    const statuses = new Map<number, number>();
    const deferred: Promise<void>[] = [];
    await fc.assert(
      fc.asyncProperty(requestArbitrary, async ({ route, auth, kind, url, body, contentType }) => {
        const what = `${route.method} ${url} as ${auth} (${kind}): ${body?.slice(0, 200)}`;
        const request = new Request(url, {
          method: route.method,
          headers: { ...headersFor(auth), ...(body === undefined ? {} : { "content-type": contentType }), "x-mock-chunks": "2" },
          body,
        });
        const { response, settled } = await withTimeout(callWorker(request), what);
        const text = await withTimeout(response.text(), what);
        // Deferred work (limits settled, records queued) is awaited a few hundred at a time: each waits on a batch.
        deferred.push(withTimeout(settled(), `deferred work of ${what}`));
        if (deferred.length >= 200) await Promise.all(deferred.splice(0));
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        expect(response.status, `${what} → ${response.status} ${text.slice(0, 300)}`).toBeLessThan(500);
        if (response.status >= 400) {
          let parsed: unknown;
          try {
            parsed = JSON.parse(text);
          } catch {
            throw new Error(`${what} → ${response.status} with a body that is not JSON: ${text.slice(0, 200)}`);
          }
          const message = errorMessage(route.errors, parsed);
          expect(message, `${what} → not in ${route.errors}'s error shape: ${text.slice(0, 300)}`).toBeTypeOf("string");
          expect(message?.length, `${what}: an empty message`).toBeGreaterThan(8);
          expect(message).not.toBe("Internal error.");
        }
      }),
      { seed: SEED, numRuns: RUNS, endOnFailure: true },
    );
    await Promise.all(deferred);
    console.log(`fuzz: statuses ${JSON.stringify(Object.fromEntries([...statuses].sort(([a], [b]) => a - b)))}`);
    // The run exercised both sides: answers, and refusals of every common kind.
    expect(statuses.get(200) ?? 0).toBeGreaterThan(RUNS / 20);
    for (const status of [400, 401, 403])
      expect(statuses.get(status) ?? 0, `no ${status} in ${[...statuses]}`).toBeGreaterThan(0);
  });
});

describe("the cases that once answered 5xx", () => {
  const send = (method: string, path: string, body: string, headers: Record<string, string> = {}) =>
    callWorker(
      new Request(`${BASE}${path}`, {
        method,
        headers: { authorization: `Bearer ${TEST_ADMIN_KEY}`, "content-type": "application/json", ...headers },
        body,
      }),
    );

  it.each([
    ["POST", "/admin/models", '{"id": 5, "targets": "mock"}', /`id`|`targets`/],
    ["POST", "/admin/models", "[]", /Invalid/],
    [
      "POST",
      "/v1/messages",
      '{"model":"mock-echo","max_tokens":5,"messages":[{"role":"user","content":{"a":1}}]}',
      /`messages\.0\.content`/,
    ],
    ["POST", "/v1/messages", '{"model":"mock-echo","max_tokens":5,"messages":"hi"}', /`messages`/],
    ["POST", "/v1/chat/completions", '{"model":"mock-echo","messages":[{"role":"user","content":5}]}', /`messages\.0\.content`/],
    ["POST", "/v1/chat/completions", '{"model":5,"messages":[{"role":"user","content":"x"}]}', /`model`: must be a string/],
    [
      "POST",
      "/v1/chat/completions",
      '{"model":"mock-echo","messages":[{"role":"user","content":"x"}],"temperature":"hot"}',
      /`temperature`: must be a number/,
    ],
  ])("%s %s %s → 400 naming the field", async (method, path, body, message) => {
    const { response } = await send(method, path, body);
    expect(response.status).toBe(400);
    const error = ((await response.json()) as { error: { message: string } }).error;
    expect(error.message).toMatch(message);
  });
});

describe("the mock upstream, sent what it cannot read", () => {
  const mockRoot = String(env.MOCK_BASE_URL).replace(/\/v1$/, "");
  it.each([
    ["/v1/chat/completions", { model: "mock-echo", messages: [{ role: "user", content: 5 }] }, "openai"],
    ["/v1/messages", { model: "mock-echo", max_tokens: 5, messages: [{ role: "user", content: { a: 1 } }] }, "anthropic"],
    ["/v1beta/models/mock-echo:generateContent", { contents: [{ role: "user", parts: 7 }] }, "gemini"],
    ["/v1/embeddings", { model: "mock-echo", input: [1, 2] }, "openai"],
  ] as const)("%s answers a 400 in its provider's error shape, not a crash", async (path, body, shape) => {
    const response = await fetch(`${mockRoot}${path}`, {
      method: "POST",
      // Each provider's own credential header: a Gemini bearer value is an OAuth token, which the mock checks.
      headers: {
        "content-type": "application/json",
        ...(shape === "gemini" ? { "x-goog-api-key": "sk-mock" } : { authorization: "Bearer sk-mock" }),
      },
      body: JSON.stringify(body),
    });
    expect(response.status).toBe(400);
    expect(errorMessage(shape, await response.json())).toMatch(/Invalid request body|must be/);
  });
});
