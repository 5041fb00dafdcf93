// Hostile and unlucky input, generated: 10,000 requests per run over every
// route of the app and every kind of credential, from a fixed seed
// (SLUICE_FUZZ_SEED to explore others, SLUICE_FUZZ_RUNS for more). Each must
// be answered, within seconds, with no 5xx, and every error in the caller's
// own format with a message that says what is wrong: the field a mutation
// broke, by name. No promise may be left rejected. The mock upstream refuses
// what it cannot read with a 400, as providers do, so nothing is blamed on it.
import { env } from "cloudflare:test";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { MOCK_GOOGLE_CLIENT_ID, MOCK_GOOGLE_CLIENT_SECRET } from "../dev/mock-upstream/credentials.ts";
import { MOCK_MCP_ALPHA_TOKEN } from "../dev/mock-upstream/mcp.ts";
import { createApp } from "../src/app.ts";
import { parseConfig } from "../src/config/index.ts";
import type { ErrorShape } from "../src/formats/types.ts";
import { collectRoutes } from "../src/openapi/document.ts";
import { errorMessage, namedIn, namesField } from "./fuzz/errors.ts";
import { build, type Draw, drawArbitrary, type FuzzSetup } from "./fuzz/requests.ts";
import { FUZZ_MCP_URL, FUZZ_PROVIDER_URL, ROUTES } from "./fuzz/routes.ts";
import { BASE, callWorker, TEST_ADMIN_KEY } from "./helpers.ts";
import { admin, appToken, identityProvider, uniqueId } from "./identity.ts";

const SEED = Number(env.SLUICE_FUZZ_SEED ?? 20261125);
const RUNS = Number(env.SLUICE_FUZZ_RUNS ?? 10_000);
const REQUEST_TIMEOUT_MS = 10_000;

const mockRoot = String(env.MOCK_BASE_URL).replace(/\/v1$/, "");
const google = `${mockRoot}/__mock/google`;
/** The suite's bindings with Google accounts on (the mock plays Google), so those routes do their work. */
const bindings = {
  ...env,
  GOOGLE_OAUTH_CLIENT_ID: MOCK_GOOGLE_CLIENT_ID,
  GOOGLE_OAUTH_CLIENT_SECRET: MOCK_GOOGLE_CLIENT_SECRET,
  GOOGLE_OAUTH_BASE_URL: google,
  GOOGLE_TOKEN_URL: `${google}/token`,
  GOOGLE_REVOKE_URL: `${google}/revoke`,
  GOOGLE_GEMINI_API_URL: mockRoot,
  GOOGLE_CODE_ASSIST_URL: mockRoot,
};

/** The app's routes, as it names them, with the error shape each answers in. */
const APP_ROUTES = new Map(
  collectRoutes(createApp()).map((r) => [
    `${r.method} ${r.path}`,
    r.endpoint?.errors ?? r.errors ?? ("openai" satisfies ErrorShape),
  ]),
);

/** The routes that take a credential in `?key=`: Gemini's REST routes, and no other. */
const QUERY_CREDENTIAL_ROUTES = new Set(
  collectRoutes(createApp())
    .filter((r) => r.endpoint?.queryCredential)
    .map((r) => `${r.method} ${r.path}`),
);

/** Filled in before the run: credentials, the ids routes act on, each route's body. */
const setup: FuzzSetup = {
  bindings,
  jwksBindings: {},
  fixtures: {},
  secrets: {},
  templates: new Map(),
  bodyLimit: parseConfig(bindings).maxBodyBytes,
};

beforeAll(async () => {
  const { secrets, fixtures, jwksBindings, templates } = setup;
  // Its `/mcp` reaches the fuzz's one MCP server, not every server the fuzz's admin writes register.
  const key = await admin("POST", "/admin/keys", { name: uniqueId("fuzz"), settings: { mcp_servers: ["fuzz-mcp"] } });
  secrets.key = String(key.body.key);
  const token = await callWorker(
    new Request(`${BASE}/auth/token`, { method: "POST", headers: { authorization: `Bearer ${secrets.key}` } }),
  );
  secrets.token = String(((await token.response.json()) as { access_token: string }).access_token);
  // The default quota allows a user 10 requests a minute and 10,000 tokens a day: the suite's user gets more.
  const user = uniqueId("fuzz-user");
  const made = await admin("POST", "/admin/users", {
    id: user,
    rpm_limit: 1_000_000,
    tokens_per_day: 2_000_000_000,
    tokens_per_month: 2_000_000_000,
    settings: { mcp_servers: ["fuzz-mcp"] },
  });
  expect(made.status).toBe(201);
  secrets.user = await appToken({ sub: user });
  for (const alg of ["RS256", "ES256", "EdDSA"] as const) {
    const idp = await identityProvider(alg);
    secrets[alg.toLowerCase()] = await idp.sign({ sub: user });
    jwksBindings[alg.toLowerCase()] = { ...bindings, JWKS_URL: idp.bindings.JWKS_URL };
  }

  // What the routes with an id in their path act on; each route that ends a thing has one of its own.
  expect((await admin("POST", "/admin/teams", { id: "fuzz-team", name: "Fuzz" })).status).toBe(201);
  expect((await admin("POST", "/admin/users", { id: "fuzz-user", team_id: "fuzz-team" })).status).toBe(201);
  for (const id of ["fuzz-provider", "fuzz-provider-gone"]) {
    await admin("POST", "/admin/providers", { id, kind: "mock", base_url: FUZZ_PROVIDER_URL });
  }
  for (const id of ["fuzz-model", "fuzz-model-gone"]) {
    await admin("POST", "/admin/models", { id, provider: "fuzz-provider", upstream_id: "mock-echo" });
  }
  for (const id of ["fuzz-guardrail", "fuzz-guardrail-gone"]) {
    await admin("POST", "/admin/guardrails", { id, name: "Fuzz", phase: "input", mode: "flag", kinds: ["email"] });
  }
  for (const name of ["fuzz-route", "fuzz-route-gone"]) {
    await admin("POST", "/admin/routes", { name, rule: { type: "model", model: "fuzz-model" } });
  }
  for (const name of ["key", "rotatedKey", "revokedKey", "deletedKey"]) {
    fixtures[name] = String((await admin("POST", "/admin/keys", { name: `fuzz-${name}` })).body.id);
  }
  for (const name of ["fuzz-mcp", "fuzz-mcp-gone"]) {
    const auth = { type: "bearer", token: MOCK_MCP_ALPHA_TOKEN };
    await admin("POST", "/admin/mcp/servers", { name, url: FUZZ_MCP_URL, auth, timeout_ms: 2000 });
  }
  for (const name of ["credential", "deletedCredential"]) {
    const made = await admin("POST", "/admin/credentials", { provider: "fuzz-provider", api_key: "sk-fuzz-0123456789" });
    fixtures[name] = String(made.body.id);
  }
  // An app for native callers (no Origin), whose key the exchange's template carries.
  for (const id of ["fuzz-app", "fuzz-app-rotated", "fuzz-app-gone"]) {
    const made = await admin("POST", "/admin/apps", { id, name: "Fuzz", ios_bundle_ids: ["com.example.fuzz"] });
    // A database kept from an earlier run has it already.
    if (made.status === 409) made.body = (await admin("GET", `/admin/apps/${id}`)).body;
    if (id === "fuzz-app") {
      const attest = ROUTES.find((route) => route.route === "POST /auth/attest");
      if (attest) {
        templates.set(attest, {
          publishable_key: String(made.body.publishable_key),
          bundle_id: "com.example.fuzz",
          device_id: "fuzz-device-0001",
        });
        const exchanged = await callWorker(
          new Request(`${BASE}/auth/attest`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify(templates.get(attest)),
          }),
        );
        const link = ROUTES.find((route) => route.route === "POST /auth/attest/link");
        const { access_token: guestToken } = (await exchanged.response.json()) as { access_token: string };
        if (link) templates.set(link, { guest_token: guestToken });
      }
    }
  }
  for (const route of ROUTES) {
    if (route.unchangedBy) templates.set(route, (await admin("GET", route.path)).body);
    else if (route.template) templates.set(route, route.template);
  }
});

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

describe("the fuzz's routes", () => {
  it("are every route of the app, and only those: a new route cannot be left out", () => {
    const listed = new Set(ROUTES.map((r) => r.route));
    expect([...APP_ROUTES.keys()].filter((route) => !listed.has(route))).toEqual([]);
    expect([...listed].filter((route) => !APP_ROUTES.has(route))).toEqual([]);
  });
});

describe("a credential in the URL", () => {
  it("is taken by Gemini's REST routes only: on every other route of the app it is a 401 that says where to put it", async () => {
    expect([...QUERY_CREDENTIAL_ROUTES].sort()).toEqual([
      "GET /v1beta/models",
      "POST /v1/models/*",
      "POST /v1alpha/models/*",
      "POST /v1beta/models/*",
    ]);
    const fill = (text: string) => text.replace(/\{(\w+)\}/g, (_, name: string) => setup.fixtures[name] ?? name);
    for (const route of ROUTES) {
      if (route.auth === "none") continue;
      const secret = route.auth === "admin" ? TEST_ADMIN_KEY : setup.secrets[route.auth];
      expect(secret, route.route).toBeTypeOf("string");
      const [method = "GET"] = route.route.split(" ");
      const body = setup.templates.get(route);
      const url = `${BASE}${fill(route.path)}${route.path.includes("?") ? "&" : "?"}key=${encodeURIComponent(secret ?? "")}`;
      const { response, settled } = await callWorker(
        new Request(url, {
          method,
          headers: { "content-type": "application/json" },
          ...(body !== undefined && { body: JSON.stringify(body) }),
        }),
        setup.bindings,
      );
      const text = await response.text();
      await settled();
      if (QUERY_CREDENTIAL_ROUTES.has(route.route)) {
        expect(response.status, `${route.route} → ${text.slice(0, 200)}`).toBe(200);
        continue;
      }
      expect(response.status, `${route.route} → ${text.slice(0, 200)}`).toBe(401);
      expect(text, route.route).toContain("`?key=`");
    }
  });
});

describe("generated hostile requests", () => {
  it(`are answered without a 5xx, in the caller's format, naming the problem (${RUNS} requests, seed ${SEED})`, {
    timeout: 600_000,
  }, async () => {
    const statuses = new Map<number, number>();
    const deferred: Promise<void>[] = [];
    /** Routes whose handler a request reached: a 2xx, or the answer a route that cannot succeed here gives. */
    const reached = new Set<string>();
    const rejections: unknown[] = [];
    const onRejection = (event: PromiseRejectionEvent) => rejections.push(event.reason);
    globalThis.addEventListener("unhandledrejection", onRejection);
    // Each route once first, as its own caller with the body it accepts; the generated requests follow.
    const examples = ROUTES.map((route): [Draw] => [
      {
        route,
        auth: "own",
        kind: "valid",
        value: null,
        text: "",
        segment: "",
        header: { name: "x-sluice-cache", value: "" },
        pick: 0,
        cut: 0,
      },
    ]);
    try {
      await fc.assert(
        fc.asyncProperty(drawArbitrary, async (draw) => {
          const { route, kind } = draw;
          const { request, bindings: used, what, mutation, header, escaped } = build(draw, setup);
          const { response, settled } = await withTimeout(callWorker(request, used), what);
          const text = await withTimeout(response.text(), what);
          // Deferred work (limits settled, records queued) is awaited a few hundred at a time: each waits on a batch.
          deferred.push(withTimeout(settled(), `deferred work of ${what}`));
          if (deferred.length >= 200) await Promise.all(deferred.splice(0));
          const status = response.status;
          statuses.set(status, (statuses.get(status) ?? 0) + 1);
          expect(status, `${what} → ${status} ${text.slice(0, 300)}`).toBeLessThan(500);
          const known = route.reached?.(status, text) ?? false;
          if (kind !== "path" && ((status >= 200 && status < 300) || known)) reached.add(route.route);
          if (kind === "oversized" && setup.templates.has(route)) {
            expect(status, `${what} → ${status} ${text.slice(0, 300)}`).toBe(413);
          }
          if (status < 400) return;
          if (route.page && (response.headers.get("content-type") ?? "").startsWith("text/html")) {
            // A page for a browser, saying what went wrong, with nothing sent to it written back as markup.
            expect(text, what).toContain("<h1>");
            expect(text, what).not.toMatch(/<(script|img)\b/i);
            return;
          }
          let parsed: unknown;
          try {
            parsed = JSON.parse(text);
          } catch {
            throw new Error(`${what} → ${status} with a body that is not JSON: ${text.slice(0, 200)}`);
          }
          const shapes: ErrorShape[] = escaped
            ? ["openai", "anthropic", "gemini", "bedrock"]
            : [APP_ROUTES.get(route.route) ?? "openai"];
          const message = shapes.map((shape) => errorMessage(shape, parsed)).find((m) => m !== undefined);
          expect(message, `${what} → not in ${shapes.join(" or ")} error shape: ${text.slice(0, 300)}`).toBeTypeOf("string");
          expect(message?.length, `${what}: an empty message`).toBeGreaterThan(8);
          expect(message).not.toBe("Internal error.");
          if (status !== 400 || known) return;
          const named = namedIn(parsed, message ?? "");
          if (mutation) {
            expect(
              namesField(named, mutation),
              `${what} → 400 not naming \`${mutation.path.join(".")}\`: ${text.slice(0, 300)}`,
            ).toBe(true);
          }
          if (kind === "path" && route.segment === "mock-echo" && !escaped)
            // Bedrock's routes name the path's model as AWS does, `modelId`.
            expect(
              named.some((name) => name === "model" || name === "modelId"),
              `${what} → ${text.slice(0, 300)}`,
            ).toBe(true);
          if (header && header !== "content-type") {
            // The header by name, or what it said (`Unknown provider \`nope\``).
            const sent = request.headers.get(header) ?? "";
            expect(named.includes(header) || named.includes(sent), `${what} → 400 naming neither: ${text.slice(0, 300)}`).toBe(
              true,
            );
          }
        }),
        { seed: SEED, numRuns: RUNS, endOnFailure: true, examples },
      );
      await Promise.all(deferred);
    } finally {
      globalThis.removeEventListener("unhandledrejection", onRejection);
    }
    console.log(`fuzz: statuses ${JSON.stringify(Object.fromEntries([...statuses].sort(([a], [b]) => a - b)))}`);
    expect(rejections.map(String), "promises left rejected").toEqual([]);
    // Every route of the app did its work at least once.
    expect([...APP_ROUTES.keys()].filter((route) => !reached.has(route))).toEqual([]);
    // The run exercised both sides: answers, and refusals of every common kind.
    expect(statuses.get(200) ?? 0).toBeGreaterThan(RUNS / 20);
    for (const status of [400, 401, 403, 404, 413])
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
