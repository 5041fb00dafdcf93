// Holes in authorization, each shown closed: blocks that are state rather
// than markers that wear off, and end users' tokens that must expire and
// must be meant for this gateway.
import { env } from "cloudflare:test";
import { Redis } from "@upstash/redis/cloudflare";
import { SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { denyMarkerKey } from "../src/auth/deny-list.ts";
import { parseConfig } from "../src/config/index.ts";
import { BASE, callWorker, TEST_ADMIN_KEY } from "./helpers.ts";
import { admin, appToken, chatAs, errorOf, uniqueId } from "./identity.ts";
import { TEST_JWT_AUDIENCE, TEST_JWT_ISSUER, TEST_JWT_SECRET } from "./setup/constants.ts";

const redis = () => new Redis({ url: env.UPSTASH_REDIS_REST_URL, token: env.UPSTASH_REDIS_REST_TOKEN });

describe("a blocked team", () => {
  it("stays blocked for its keys, and its members' keys, after the deny marker has expired", async () => {
    const team = uniqueId("blocked-team");
    const member = uniqueId("member");
    expect((await admin("POST", "/admin/users", { id: member, team_id: team })).status).toBe(201);
    const teamKey = String((await admin("POST", "/admin/keys", { team_id: team, models: ["mock-*"] })).body.key);
    // A key of the member's, naming no team itself: the owner's team is its team.
    const memberKey = String((await admin("POST", "/admin/keys", { user_id: member, models: ["mock-*"] })).body.key);
    expect((await admin("PATCH", `/admin/teams/${team}`, { blocked: true })).status).toBe(200);
    // The marker bridges isolates' caches for five minutes; these keys were never cached, and it is gone.
    await redis().del(denyMarkerKey("team", team));
    for (const key of [teamKey, memberKey]) {
      const { response } = await callWorker(chatAs(key));
      expect(await errorOf(response)).toMatchObject({
        status: 403,
        code: "blocked",
        message: "The owner of this API key is blocked.",
      });
    }
    expect((await admin("PATCH", `/admin/teams/${team}`, { blocked: false })).status).toBe(200);
    const unblocked = uniqueId("after");
    const fresh = String((await admin("POST", "/admin/keys", { team_id: team, name: unblocked, models: ["mock-*"] })).body.key);
    expect((await callWorker(chatAs(fresh))).response.status).toBe(200);
  });
});

describe("end users' tokens", () => {
  const sign = (claims: Record<string, unknown>, expires: boolean) => {
    let jwt = new SignJWT(claims)
      .setProtectedHeader({ alg: "HS256" })
      .setIssuer(TEST_JWT_ISSUER)
      .setAudience(TEST_JWT_AUDIENCE)
      .setIssuedAt();
    if (expires) jwt = jwt.setExpirationTime("5m");
    return jwt.sign(new TextEncoder().encode(TEST_JWT_SECRET));
  };

  it("are refused without an expiry", async () => {
    const sub = uniqueId("forever");
    const { response } = await callWorker(chatAs(await sign({ sub }, false)));
    expect(await errorOf(response)).toMatchObject({ status: 401, message: "Token has no expiry (`exp`); tokens must expire." });
    expect((await callWorker(chatAs(await sign({ sub }, true)))).response.status).toBe(200);
  });

  it("need an issuer and an audience configured: a startup error names them", () => {
    const base = {
      DATABASE_URL: env.DATABASE_URL,
      UPSTASH_REDIS_REST_URL: env.UPSTASH_REDIS_REST_URL,
      UPSTASH_REDIS_REST_TOKEN: "t",
      ADMIN_KEY: "sk-admin-0123456789abcdef",
    };
    for (const idp of [{ JWT_SECRET: TEST_JWT_SECRET }, { JWKS_URL: "https://idp.example.com/jwks" }]) {
      expect(() => parseConfig({ ...base, ...idp })).toThrow(
        "JWT_ISSUER and JWT_AUDIENCE are required when JWT_SECRET or JWKS_URL is set",
      );
      expect(() => parseConfig({ ...base, ...idp, JWT_ISSUER: "https://app" })).toThrow(
        "JWT_ISSUER and JWT_AUDIENCE are required",
      );
      expect(parseConfig({ ...base, ...idp, JWT_ISSUER: "https://app", JWT_AUDIENCE: "sluice" }).jwt.issuer).toBe("https://app");
    }
    // Without end users' tokens, neither is needed.
    expect(parseConfig(base).jwt.secret).toBeUndefined();
  });
});

describe("routes that spend no tokens", () => {
  it("count minting keys and tokens against the caller's requests per minute", async () => {
    const sub = uniqueId("minter");
    expect((await admin("POST", "/admin/users", { id: sub, rpm_limit: 2 })).status).toBe(201);
    const token = await appToken({ sub });
    const mint = () =>
      callWorker(
        new Request(`${BASE}/api/keys`, {
          method: "POST",
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
          body: JSON.stringify({ name: "minted" }),
        }),
      );
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      const { response, settled } = await mint();
      statuses.push(response.status);
      if (response.status === 429) {
        expect(await errorOf(response)).toMatchObject({ code: "rate_limit_exceeded" });
        expect(response.headers.get("retry-after")).toBeTruthy();
      } else expect(response.headers.get("x-ratelimit-limit-requests")).toBe("2");
      await settled();
    }
    expect(statuses).toEqual([201, 201, 429]);

    const key = String((await admin("POST", "/admin/keys", { rpm_limit: 1, models: ["mock-*"] })).body.key);
    const exchange = () =>
      callWorker(new Request(`${BASE}/auth/token`, { method: "POST", headers: { authorization: `Bearer ${key}` } }));
    expect((await exchange()).response.status).toBe(200);
    expect((await exchange()).response.status).toBe(429);
  });
});

describe("GET /health", () => {
  it("answers anyone from the last reading of the stores, and reads them afresh for the admin key", async () => {
    const read = async (headers: Record<string, string> = {}) => {
      const { response } = await callWorker(new Request(`${BASE}/health`, { headers }));
      expect(response.status).toBe(200);
      return String(((await response.json()) as { checked_at: string }).checked_at);
    };
    const first = await read();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await read()).toBe(first);
    const fresh = await read({ authorization: `Bearer ${TEST_ADMIN_KEY}` });
    expect(Date.parse(fresh)).toBeGreaterThan(Date.parse(first));
    expect(await read()).toBe(fresh);
  });
});

describe("an admin's change to a key", () => {
  const quotaOf = async (key: string) => {
    const response = await env.SECOND_INSTANCE.fetch(
      new Request(`${BASE}/api/ai/quota`, { headers: { authorization: `Bearer ${key}` } }),
    );
    return ((await response.json()) as { limits: { key: Record<string, unknown> } }).limits.key;
  };

  it("reaches an instance holding the key in its cache at that instance's next request, gated or not", async () => {
    const { id, key } = (await admin("POST", "/admin/keys", { models: ["mock-echo", "mock-lorem"], rpm_limit: 50 })).body;
    const secret = String(key);
    // The second instance reads the key once and keeps it for a minute.
    expect((await env.SECOND_INSTANCE.fetch(chatAs(secret, { model: "mock-lorem" }))).status).toBe(200);
    expect(await quotaOf(secret)).toMatchObject({ rpm_limit: 50 });

    expect((await admin("PATCH", `/admin/keys/${id}`, { models: ["mock-echo"], rpm_limit: 40 })).status).toBe(200);
    const refused = await env.SECOND_INSTANCE.fetch(chatAs(secret, { model: "mock-lorem" }));
    expect(await errorOf(refused)).toMatchObject({ status: 403, code: "model_not_allowed" });
    expect(await quotaOf(secret)).toMatchObject({ rpm_limit: 40 });
    expect((await env.SECOND_INSTANCE.fetch(chatAs(secret))).status).toBe(200);
  });

  it("to its owner's team reaches the key too", async () => {
    const team = uniqueId("moved-team");
    const user = uniqueId("owner");
    expect((await admin("POST", "/admin/users", { id: user })).status).toBe(201);
    const secret = String((await admin("POST", "/admin/keys", { user_id: user, models: ["mock-*"] })).body.key);
    expect((await env.SECOND_INSTANCE.fetch(chatAs(secret))).status).toBe(200);
    // The owner joins a team that is blocked: the key's copy on the second instance is stale, and read again.
    expect((await admin("POST", "/admin/teams", { id: team, blocked: true })).status).toBe(201);
    await redis().del(denyMarkerKey("team", team));
    expect((await admin("PATCH", `/admin/users/${user}`, { team_id: team })).status).toBe(200);
    const refused = await env.SECOND_INSTANCE.fetch(chatAs(secret));
    expect(await errorOf(refused)).toMatchObject({ status: 403, code: "blocked" });
  });
});

describe("CORS", () => {
  const from = (origin: string, path = "/v1/models", headers: Record<string, string> = {}) =>
    new Request(`${BASE}${path}`, { headers: { origin, authorization: `Bearer ${TEST_ADMIN_KEY}`, ...headers } });

  it("allows any origin with `*`, but never with credentials", async () => {
    const { response } = await callWorker(from("https://anyone.example.net"), { ...env, CORS_ORIGINS: "*" });
    expect(response.status).toBe(200);
    expect(response.headers.get("access-control-allow-origin")).toBe("*");
    expect(response.headers.get("access-control-allow-credentials")).toBeNull();
    const preflight = await callWorker(
      new Request(`${BASE}/v1/chat/completions`, {
        method: "OPTIONS",
        headers: { origin: "https://anyone.example.net", "access-control-request-method": "POST" },
      }),
      { ...env, CORS_ORIGINS: "*" },
    );
    expect(preflight.response.headers.get("access-control-allow-origin")).toBe("*");
    expect(preflight.response.headers.get("access-control-allow-credentials")).toBeNull();
  });

  it("answers every error with its headers, a configuration error included", async () => {
    const { ADMIN_KEY: _, ...misconfigured } = env as unknown as Record<string, string>;
    const broken = await callWorker(from("https://app.example.com", "/v1/models"), misconfigured);
    expect(broken.response.status).toBe(500);
    expect(((await broken.response.json()) as { error: { code: string } }).error.code).toBe("configuration_error");
    expect(broken.response.headers.get("access-control-allow-origin")).toBe("https://app.example.com");
    const unauthenticated = await callWorker(from("https://app.example.com", "/v1/models", { authorization: "Bearer nope" }));
    expect(unauthenticated.response.status).toBe(401);
    expect(unauthenticated.response.headers.get("access-control-allow-origin")).toBe("https://app.example.com");
    expect(unauthenticated.response.headers.get("access-control-expose-headers")).toContain("x-request-id");
  });
});

describe("names at the door", () => {
  it("a model name with a control character is the caller's 400, whichever way it comes", async () => {
    const cases: [Request, RegExp][] = [
      [chatAs(TEST_ADMIN_KEY, { model: "mock-echo\u0000" }), /`model`: must not contain control characters/],
      [
        new Request(`${BASE}/v1beta/models/mock-echo%00:generateContent`, {
          method: "POST",
          headers: { "x-goog-api-key": TEST_ADMIN_KEY, "content-type": "application/json" },
          body: JSON.stringify({ contents: [{ role: "user", parts: [{ text: "hi" }] }] }),
        }),
        /`model`: must not contain control characters/,
      ],
      [
        new Request(`${BASE}/v1beta/models/%E0%A4%A:generateContent`, {
          method: "POST",
          headers: { "x-goog-api-key": TEST_ADMIN_KEY, "content-type": "application/json" },
          body: JSON.stringify({ contents: [{ role: "user", parts: [{ text: "hi" }] }] }),
        }),
        /`model`: the path's model name is not valid percent-encoding/,
      ],
      [chatAs(TEST_ADMIN_KEY, { provider: "mock\u0007" }), /`provider`: must not contain control characters/],
      [chatAs(TEST_ADMIN_KEY, {}, { "x-sluice-provider": "m".repeat(65) }), /`x-sluice-provider`: must be at most 64/],
    ];
    for (const [request, message] of cases) {
      const { response } = await callWorker(request);
      expect(response.status).toBe(400);
      const body = (await response.json()) as { error: { message: string } };
      expect(body.error.message).toMatch(message);
    }
  });

  it("admin names, ids and metadata are held to the same rule, so nothing reaches Postgres that it refuses", async () => {
    for (const [path, body, field] of [
      ["/admin/keys", { name: "bad\u0000name" }, "name"],
      ["/admin/keys", { metadata: { session: "a\u0000b" } }, "metadata"],
      ["/admin/keys", { models: ["mock-\u0001"] }, "models.0"],
      ["/admin/users", { id: "user\u0000" }, "id"],
      ["/admin/teams", { id: uniqueId("t"), name: "x\ny" }, "name"],
      ["/admin/models", { id: "m\u0000", provider: "mock", upstream_id: "mock-echo" }, "id"],
    ] as const) {
      const { status, body: answer } = await admin("POST", path, body);
      expect(status).toBe(400);
      expect(String((answer.error as { message: string }).message)).toContain(`\`${field}\``);
    }
  });

  it("a JWT claim that cannot be a user's id or name is refused, not cut", async () => {
    for (const claims of [{ sub: "user\u0000x" }, { sub: "u".repeat(400) }, { sub: uniqueId("ok"), name: "a\u0007b" }]) {
      const { response } = await callWorker(chatAs(await appToken(claims)));
      expect(await errorOf(response)).toMatchObject({ status: 401, message: expect.stringMatching(/^Token claim `(sub|name)`/) });
    }
  });
});
