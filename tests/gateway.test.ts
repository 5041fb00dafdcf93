import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { BASE, callWorker, TEST_ADMIN_KEY } from "./helpers.ts";

const get = (path: string, headers: Record<string, string> = {}) => new Request(`${BASE}${path}`, { headers });

describe("GET /health", () => {
  it("reports version, providers, and that Postgres and Redis answer", async () => {
    const { response } = await callWorker(get("/health"));
    expect(response.status).toBe(200);
    const body = (await response.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      status: "ok",
      version: "0.1.0",
      postgres: { ok: true },
      redis: { ok: true },
    });
    // The built-in mock, and catalog providers other suites add; none of the unconfigured built-ins.
    expect(body.providers).toContain("mock");
    expect(body.providers).not.toContain("openai");
  });

  it("says degraded, without details that name hosts, when a store does not answer", async () => {
    const bindings = { ...env, UPSTASH_REDIS_REST_URL: "http://127.0.0.1:9", DATABASE_URL: "postgres://u:p@127.0.0.1:9/db" };
    const { response } = await callWorker(get("/health"), bindings);
    expect(response.status).toBe(503);
    const body = (await response.json()) as Record<string, { ok: boolean; error?: string }>;
    expect(body.postgres).toMatchObject({ ok: false, error: "unreachable" });
    expect(body.redis).toMatchObject({ ok: false, error: "unreachable" });
    expect(JSON.stringify(body)).not.toContain("127.0.0.1");
  });
});

describe("GET /v1/models", () => {
  it("lists the models this configuration can serve, in OpenAI's shape", async () => {
    const { response } = await callWorker(get("/v1/models", { authorization: `Bearer ${TEST_ADMIN_KEY}` }));
    expect(response.status).toBe(200);
    const body = (await response.json()) as { object: string; data: { id: string; object: string; owned_by: string }[] };
    expect(body.object).toBe("list");
    expect(body.data).toContainEqual({ id: "mock-echo", object: "model", created: 1_700_000_000, owned_by: "mock" });
    expect(body.data).toContainEqual({ id: "mock-lorem", object: "model", created: 1_700_000_000, owned_by: "mock" });
    // Catalog models whose provider has no key here are not offered.
    expect(body.data.map((m) => m.id)).not.toContain("gpt-4o-mini");
  });

  it("includes a provider's models once it is configured", async () => {
    const bindings = { ...env, OPENAI_API_KEY: "sk-test-openai" };
    const { response } = await callWorker(get("/v1/models", { authorization: `Bearer ${TEST_ADMIN_KEY}` }), bindings);
    const body = (await response.json()) as { data: { id: string; owned_by: string }[] };
    expect(body.data).toContainEqual({ id: "gpt-4o-mini", object: "model", created: 1_700_000_000, owned_by: "openai" });
    expect(body.data.some((model) => model.id.startsWith("claude-"))).toBe(false);
  });

  it("needs a credential", async () => {
    const { response } = await callWorker(get("/v1/models"));
    expect(response.status).toBe(401);
  });
});

describe("configuration", () => {
  it("a missing setting is a JSON 500 that names the variable, not a stack trace", async () => {
    const { ADMIN_KEY: _, ...withoutAdminKey } = env as unknown as Record<string, string>;
    const { response } = await callWorker(get("/health"), withoutAdminKey);
    expect(response.status).toBe(500);
    const body = (await response.json()) as { error: { message: string; code: string } };
    expect(body.error.code).toBe("configuration_error");
    expect(body.error.message).toContain("ADMIN_KEY is required");
    expect(body.error.message).not.toContain(" at ");
  });

  it("an invalid setting is named with what is wrong", async () => {
    const { response } = await callWorker(get("/health"), { ...env, OPENAI_BASE_URL: "not a url", DATABASE_URL: "mysql://x" });
    const body = (await response.json()) as { error: { message: string } };
    expect(body.error.message).toContain("DATABASE_URL must be a postgres:// connection string");
    expect(body.error.message).toContain("OPENAI_BASE_URL must be an http(s) URL");
  });
});

describe("browser support", () => {
  it("answers CORS preflight for an allowed origin", async () => {
    const request = new Request(`${BASE}/v1/chat/completions`, {
      method: "OPTIONS",
      headers: {
        origin: "https://app.example.com",
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization, content-type",
      },
    });
    const { response } = await callWorker(request);
    expect(response.status).toBe(204);
    expect(response.headers.get("access-control-allow-origin")).toBe("https://app.example.com");
    expect(response.headers.get("access-control-allow-credentials")).toBe("true");
    expect(response.headers.get("access-control-allow-headers")).toContain("authorization");
  });

  it("does not allow other origins", async () => {
    const request = new Request(`${BASE}/v1/chat/completions`, {
      method: "OPTIONS",
      headers: { origin: "https://evil.example.net", "access-control-request-method": "POST" },
    });
    const { response } = await callWorker(request);
    expect(response.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("sends security headers and a request id on every response", async () => {
    const { response } = await callWorker(get("/nowhere"));
    expect(response.status).toBe(404);
    expect(response.headers.get("x-content-type-options")).toBe("nosniff");
    expect(response.headers.get("x-request-id")).toMatch(/^req_/);
  });
});

describe("one shape for every route", () => {
  it("every route that needs a caller declares it with endpoint(): its error shape, and whether it is gated", async () => {
    const { createApp } = await import("../src/app.ts");
    const { ENDPOINT } = await import("../src/routes/endpoint.ts");
    const routes = createApp().routes;
    const declared = routes.filter((r) => ENDPOINT in r.handler).map((r) => r.path);
    // `/mcp/*` covers `/mcp` itself too, as Hono runs it there.
    const covers = (pattern: string, path: string) =>
      pattern === path || (pattern.endsWith("/*") && (path.startsWith(pattern.slice(0, -1)) || path === pattern.slice(0, -2)));
    // Google's redirect back carries no credential of ours: its signed, one-use `state` names the user.
    const PUBLIC = new Set([
      "/",
      "/health",
      // Its own bearer check: the admin key, or METRICS_TOKEN for a scraper.
      "/metrics",
      "/api/provider-accounts/google/callback",
      // The same for an MCP server's redirect back, after a user connects their own account there.
      "/api/mcp-connections/callback",
      // An app's publishable key and proof, checked by the route itself, behind its own per-network limit.
      "/auth/attest",
      // Single sign-on: the provider's round trip, and the session cookie, which these routes read themselves.
      "/auth/sso/login",
      "/auth/sso/callback",
      "/auth/sso/session",
      "/auth/sso/logout",
      // MCP's OAuth protected-resource metadata (RFC 9728): public by definition, 404 unless configured.
      "/.well-known/oauth-protected-resource",
      "/.well-known/oauth-protected-resource/mcp",
      "/.well-known/oauth-protected-resource/mcp/:server",
      // Sluice's own OAuth authorization server for MCP clients: public by definition, 404 unless configured.
      "/.well-known/oauth-authorization-server",
      "/oauth/register",
      "/oauth/authorize",
      "/oauth/callback",
      "/oauth/consent",
      "/oauth/token",
      // The example app's page, script and styles (EXAMPLES=on).
      "/examples/chat",
      "/examples/chat.js",
      "/examples/chat.css",
    ]);
    const handlers = routes.filter((r) => r.method !== "ALL" && !PUBLIC.has(r.path));
    expect(handlers.length).toBeGreaterThan(40);
    const undeclared = handlers.filter((r) => !declared.some((pattern) => covers(pattern, r.path)));
    expect(undeclared.map((r) => `${r.method} ${r.path}`)).toEqual([]);
    // The calls that reach a provider admit through the limits check, which reads the deny markers.
    const gated = routes
      .filter((r) => ENDPOINT in r.handler && (r.handler as unknown as Record<symbol, { gated: boolean }>)[ENDPOINT]?.gated)
      .map((r) => r.path);
    expect(new Set(gated)).toEqual(
      new Set([
        "/v1/chat/completions",
        "/v1/responses",
        "/api/ai/completion",
        "/v1/completions",
        "/v1/embeddings",
        "/v1/messages",
        "/v1beta/models/*",
        "/v1alpha/models/*",
        "/v1/models/*",
        "/api/ai/generate",
        "/model/:modelId/converse",
        "/model/:modelId/converse-stream",
        "/v1/audio/transcriptions",
        "/v1/audio/translations",
        "/v1/audio/speech",
        "/v1/images/generations",
        "/v1/images/edits",
        "/v1/moderations",
        "/v2/chat",
        "/v2/rerank",
        "/v1/realtime",
      ]),
    );
  });

  const send = (path: string, body: unknown) =>
    callWorker(
      new Request(`${BASE}${path}`, {
        method: "POST",
        headers: { authorization: `Bearer ${TEST_ADMIN_KEY}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      }),
    );

  it("parses what it forwards: a wrong type is the caller's 400, in their format, not a 500 or an upstream's", async () => {
    const anthropic = await send("/v1/messages", {
      model: "anthropic/mock-echo",
      max_tokens: 10,
      tools: "x",
      messages: [{ role: "user", content: "hi" }],
    });
    expect(anthropic.response.status).toBe(400);
    expect(await anthropic.response.json()).toMatchObject({
      type: "error",
      error: { type: "invalid_request_error", message: expect.stringContaining("`tools`") },
    });

    const openai = await send("/v1/chat/completions", {
      model: "mock-echo",
      temperature: "hot",
      messages: [{ role: "user", content: "hi" }],
    });
    expect(openai.response.status).toBe(400);
    expect(await openai.response.json()).toMatchObject({
      error: { type: "invalid_request_error", param: "temperature", message: "Invalid `temperature`: must be a number" },
    });

    const gemini = await send("/v1beta/models/mock-echo:generateContent", {
      contents: [{ role: "user", parts: [{ text: "hi" }] }],
      generationConfig: { maxOutputTokens: -3 },
    });
    expect(gemini.response.status).toBe(400);
    expect(await gemini.response.json()).toMatchObject({
      error: { code: 400, status: "INVALID_ARGUMENT", message: expect.stringContaining("generationConfig.maxOutputTokens") },
    });
  });

  it("keeps fields it does not know on the way to a provider of the same format", async () => {
    const { response } = await send("/v1/chat/completions", {
      model: "mock-echo",
      messages: [{ role: "user", content: "hi" }],
      seed: 7,
      logit_bias: { "42": 1 },
      temperature: 0.3,
    });
    expect(response.status).toBe(200);
    const { upstreamRequest } = await import("./helpers.ts");
    const upstream = await upstreamRequest(response.headers.get("x-request-id") ?? "");
    expect(upstream.body).toMatchObject({ seed: 7, logit_bias: { "42": 1 }, temperature: 0.3 });
  });
});
