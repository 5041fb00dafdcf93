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
