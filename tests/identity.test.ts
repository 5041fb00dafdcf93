import { env } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { exportSPKI, SignJWT } from "jose";
import { describe, expect, it, vi } from "vitest";
import { users, virtualKeys } from "../src/db/schema.ts";
import { BASE, callWorker, db, usageRow } from "./helpers.ts";
import { admin, appToken, chatAs, errorOf, identityProvider, uniqueId } from "./identity.ts";
import { TEST_JWT_AUDIENCE, TEST_JWT_ISSUER } from "./setup/constants.ts";

const sha256 = async (text: string) =>
  [...new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)))]
    .map((b) => b.toString(16).padStart(2, "0"))
    .join("");

describe("end users by JWT", () => {
  it("creates a user on first sight with the default quota, from the configured claims", async () => {
    const sub = uniqueId("user");
    const team = uniqueId("team");
    const token = await appToken({ sub, email: `${sub}@example.com`, name: "Ada", team, tier: "pro" });
    const { response, settled } = await callWorker(chatAs(token));
    expect(response.status).toBe(200);
    await settled();

    const [row] = await db().select().from(users).where(eq(users.id, sub));
    expect(row).toMatchObject({ id: sub, email: `${sub}@example.com`, name: "Ada", teamId: team, tier: "pro" });
    expect(row?.lastActiveAt).toBeInstanceOf(Date);
    expect(await usageRow(response.headers.get("x-request-id") ?? "")).toMatchObject({
      principalType: "user",
      userId: sub,
      teamId: team,
      keyId: null,
    });

    const quota = await callWorker(new Request(`${BASE}/api/ai/quota`, { headers: { authorization: `Bearer ${token}` } }));
    const body = (await quota.response.json()) as {
      limits: { user: Record<string, number | null> };
      used: Record<string, number>;
    };
    expect(body.limits.user).toEqual({
      rpm_limit: 10,
      tpm_limit: null,
      tokens_per_day: 10_000,
      tokens_per_month: 300_000,
      usd_per_day: null,
      usd_per_month: null,
    });
    expect(body.used.tokens_today).toBe(6);
  });

  it.each(["RS256", "ES256", "EdDSA"] as const)("accepts an identity provider's %s token through its JWKS", async (alg) => {
    const idp = await identityProvider(alg);
    const { response } = await callWorker(chatAs(await idp.sign({ sub: uniqueId(alg) })), idp.bindings);
    expect(response.status).toBe(200);
  });

  it("uses another claim for the user id when configured", async () => {
    const bindings = { ...env, JWT_USER_CLAIM: "uid" };
    const uid = uniqueId("uid");
    const { response, settled } = await callWorker(chatAs(await appToken({ sub: "ignored", uid })), bindings);
    expect(response.status).toBe(200);
    await settled();
    expect(await usageRow(response.headers.get("x-request-id") ?? "")).toMatchObject({ userId: uid });
  });

  describe("refuses, with a helpful 401 that leaks nothing", () => {
    const refusal = async (credential: string, message: RegExp, bindings: object = env) => {
      const { response } = await callWorker(chatAs(credential), bindings);
      const error = await errorOf(response);
      expect(error).toMatchObject({ status: 401, type: "authentication_error" });
      expect(error.message).toMatch(message);
      expect(error.message).not.toContain(credential);
    };

    it("alg none", async () => {
      const header = btoa(JSON.stringify({ alg: "none", typ: "JWT" })).replace(/=+$/, "");
      const payload = btoa(JSON.stringify({ sub: "mallory", iss: TEST_JWT_ISSUER, aud: TEST_JWT_AUDIENCE })).replace(/=+$/, "");
      await refusal(`${header}.${payload}.`, /algorithm is not allowed/);
    });

    it("HS/RS key confusion: an HS256 token signed with the provider's public key", async () => {
      const idp = await identityProvider("RS256");
      const pem = await exportSPKI(idp.publicKey);
      const forged = await appToken({ sub: "mallory" }, { secret: pem });
      // With only a JWKS configured, HS256 is not an accepted algorithm at all.
      const { response } = await callWorker(chatAs(forged), { ...idp.bindings, JWT_SECRET: "" });
      const error = await errorOf(response);
      expect(error).toMatchObject({ status: 401, message: "Token algorithm is not allowed." });
      // And with both configured, the public key is not the HMAC secret.
      await refusal(forged, /signature is invalid/, idp.bindings);
    });

    it("expired", async () =>
      refusal(await appToken({ sub: "u" }, { expiresIn: Math.floor(Date.now() / 1000) - 120 }), /expired/));
    it("not yet valid", async () => refusal(await appToken({ sub: "u" }, { notBefore: "5m" }), /not valid yet/));
    it("wrong issuer", async () => refusal(await appToken({ sub: "u", iss: "https://evil.example.com/" }), /wrong issuer/));
    it("wrong audience", async () => refusal(await appToken({ sub: "u", aud: "another-app" }), /wrong audience/));
    it("tampered signature", async () => {
      const token = await appToken({ sub: "u" });
      const [head, , signature] = token.split(".");
      const payload = btoa(
        JSON.stringify({ sub: "admin", iss: TEST_JWT_ISSUER, aud: TEST_JWT_AUDIENCE, exp: 9_999_999_999 }),
      ).replace(/=+$/, "");
      await refusal(`${head}.${payload}.${signature}`, /signature is invalid/);
    });
    it("unknown kid", async () => {
      const idp = await identityProvider("ES256");
      await refusal(await idp.sign({ sub: "u" }, { kid: "no-such-kid" }), /unknown key/, idp.bindings);
    });
    it("a token without the user claim", async () => refusal(await appToken({ email: "x@example.com" }), /no `sub` claim/));
    it("a malformed token", async () => refusal("abc.def.ghi", /malformed/));
    it("garbage", async () => refusal("not-a-key", /Invalid API key/));
  });

  it("refuses a blocked user at once, even with the user cached", async () => {
    const sub = uniqueId("blocked");
    const token = await appToken({ sub });
    expect((await callWorker(chatAs(token))).response.status).toBe(200);
    expect((await admin("POST", `/admin/users/${sub}/block`)).status).toBe(200);
    const error = await errorOf((await callWorker(chatAs(token))).response);
    expect(error).toMatchObject({ status: 403, type: "permission_error", message: "This user is blocked." });
    await admin("POST", `/admin/users/${sub}/unblock`);
  });
});

describe("virtual keys", () => {
  it("shows the secret once and stores only its hash and suffix", async () => {
    const created = await admin("POST", "/admin/keys", {
      name: "ci",
      models: ["mock-*"],
      rpm_limit: 100,
      metadata: { purpose: "ci" },
    });
    expect(created.status).toBe(201);
    const secret = String(created.body.key);
    expect(secret).toMatch(/^sk-[A-Za-z0-9_-]{43}$/);
    expect(created.body).toMatchObject({
      name: "ci",
      models: ["mock-*"],
      rpm_limit: 100,
      key_suffix: secret.slice(-4),
      revoked_at: null,
    });

    const [row] = await db()
      .select()
      .from(virtualKeys)
      .where(eq(virtualKeys.id, String(created.body.id)));
    expect(row?.keyHash).toBe(await sha256(secret));
    expect(JSON.stringify(row)).not.toContain(secret);

    const listed = await admin("GET", "/admin/keys");
    expect(JSON.stringify(listed.body)).not.toContain(secret);
    expect((listed.body.data as { id: string }[]).some((key) => key.id === created.body.id)).toBe(true);
    const fetched = await admin("GET", `/admin/keys/${created.body.id}`);
    expect(fetched.body.key).toBeUndefined();
    expect(fetched.body.key_display).toBe(`sk-…${secret.slice(-4)}`);
  });

  it("authenticates wherever each SDK puts its key", async () => {
    const { body } = await admin("POST", "/admin/keys", { name: "sdk-places" });
    const secret = String(body.key);
    const payload = JSON.stringify({ model: "mock-echo", messages: [{ role: "user", content: "hi" }] });
    for (const request of [
      new Request(`${BASE}/v1/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${secret}` },
        body: payload,
      }),
      new Request(`${BASE}/v1/chat/completions`, { method: "POST", headers: { "x-api-key": secret }, body: payload }),
      new Request(`${BASE}/v1/chat/completions`, { method: "POST", headers: { "x-goog-api-key": secret }, body: payload }),
      // Google's REST clients put it in the URL, which only Gemini's routes take.
      new Request(`${BASE}/v1beta/models/mock-echo:generateContent?key=${secret}`, {
        method: "POST",
        body: JSON.stringify({ contents: [{ role: "user", parts: [{ text: "hi" }] }] }),
      }),
    ]) {
      const { response, settled } = await callWorker(request);
      expect(response.status).toBe(200);
      await settled();
      expect(await usageRow(response.headers.get("x-request-id") ?? "")).toMatchObject({ principalType: "key", keyId: body.id });
    }
  });

  it("refuses models outside the key's allowlist with a 403", async () => {
    const { body } = await admin("POST", "/admin/keys", { models: ["mock-lorem"] });
    const error = await errorOf((await callWorker(chatAs(String(body.key)))).response);
    expect(error).toMatchObject({ status: 403, type: "permission_error", code: "model_not_allowed" });
    expect((await callWorker(chatAs(String(body.key), { model: "mock-lorem" }))).response.status).toBe(200);
  });

  it("binds an allowlist to the deployment: a provider the caller picks must be one the key may use", async () => {
    const bindings = { ...env, OPENAI_BASE_URL: env.MOCK_BASE_URL, OPENAI_API_KEY: "sk-test-openai-key" };
    const call = async (key: string, extra: Record<string, unknown>, headers: Record<string, string> = {}) =>
      (await callWorker(chatAs(key, extra, headers), bindings)).response;
    const narrow = String((await admin("POST", "/admin/keys", { models: ["mock-*"] })).body.key);
    for (const picked of [
      await call(narrow, { provider: "openai" }),
      await call(narrow, {}, { "x-sluice-provider": "openai" }),
      await call(narrow, { model: "openai/mock-echo" }),
    ]) {
      const error = await errorOf(picked);
      expect(error).toMatchObject({ status: 403, code: "model_not_allowed" });
    }
    expect(await errorOf(await call(narrow, { provider: "openai" }))).toMatchObject({
      message: "This key may use the model `mock-echo`, but not on the provider `openai`.",
    });
    expect((await call(narrow, {})).status).toBe(200);
    // Naming the deployment allows it, and the call goes there.
    const wide = String((await admin("POST", "/admin/keys", { models: ["mock-*", "openai/mock-*"] })).body.key);
    const served = await call(wide, { provider: "openai" });
    expect(served.status).toBe(200);
    expect(served.headers.get("x-sluice-provider")).toBe("openai");
    const anyOpenAI = String((await admin("POST", "/admin/keys", { models: ["openai/*"] })).body.key);
    expect((await call(anyOpenAI, { model: "openai/mock-echo" })).status).toBe(200);
    expect((await call(anyOpenAI, {})).status).toBe(403);
  });

  it("refuses an expired key", async () => {
    const { body } = await admin("POST", "/admin/keys", { duration: "1s" });
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const error = await errorOf((await callWorker(chatAs(String(body.key)))).response);
    expect(error).toMatchObject({ status: 401, message: "This API key has expired." });
  });

  it("updates a key's settings", async () => {
    const { body } = await admin("POST", "/admin/keys", { name: "before" });
    const updated = await admin("PATCH", `/admin/keys/${body.id}`, { name: "after", tpm_limit: 5000, models: ["mock-echo"] });
    expect(updated.body).toMatchObject({ id: body.id, name: "after", tpm_limit: 5000, models: ["mock-echo"] });
  });

  it("a key revoked through one instance is refused by another within a second", async () => {
    const { body } = await admin("POST", "/admin/keys", { name: "revoke-me" });
    const secret = String(body.key);
    // The second instance has seen (and cached) the key.
    expect((await env.SECOND_INSTANCE.fetch(chatAs(secret))).status).toBe(200);
    const revoked = await admin("DELETE", `/admin/keys/${body.id}`);
    expect(revoked.body.revoked_at).not.toBeNull();
    const started = Date.now();
    const response = await env.SECOND_INSTANCE.fetch(chatAs(secret));
    expect(Date.now() - started).toBeLessThan(1000);
    expect(await errorOf(response)).toMatchObject({ status: 401, message: "This API key has been revoked." });
    // And this instance too, from Postgres.
    expect((await callWorker(chatAs(secret))).response.status).toBe(401);
  });

  it("rotates: a new secret works, the old one is refused at once", async () => {
    const { body } = await admin("POST", "/admin/keys", { name: "rotate-me", rpm_limit: 7 });
    const old = String(body.key);
    expect((await callWorker(chatAs(old))).response.status).toBe(200);
    const rotated = await admin("POST", `/admin/keys/${body.id}/rotate`);
    expect(rotated.status).toBe(201);
    expect(rotated.body).toMatchObject({ name: "rotate-me", rpm_limit: 7, rotated_from: body.id });
    expect(rotated.body.key).not.toBe(old);
    expect((await callWorker(chatAs(String(rotated.body.key)))).response.status).toBe(200);
    expect(await errorOf((await callWorker(chatAs(old))).response)).toMatchObject({ status: 401 });
  });

  it("mints a sandbox key for an org, with a budget, an expiry and a session id that follows its usage", async () => {
    const org = uniqueId("org");
    const { status, body } = await admin("POST", "/admin/keys", {
      name: "sandbox",
      team_id: org,
      max_budget: 0.5,
      budget_duration: "1d",
      duration: "30m",
      metadata: { session_id: "sess-42" },
    });
    expect(status).toBe(201);
    expect(body).toMatchObject({ team_id: org, max_budget: 0.5, budget_duration: "1d", metadata: { session_id: "sess-42" } });
    const expiresIn = new Date(String(body.expires_at)).getTime() - Date.now();
    expect(expiresIn).toBeGreaterThan(29 * 60_000);
    expect(expiresIn).toBeLessThanOrEqual(30 * 60_000);
    const { response, settled } = await callWorker(chatAs(String(body.key)));
    await settled();
    expect(await usageRow(response.headers.get("x-request-id") ?? "")).toMatchObject({
      teamId: org,
      keyId: body.id,
      metadata: { session_id: "sess-42" },
    });
  });

  it("rejects unknown fields and bad durations with a 400 naming the field", async () => {
    expect((await admin("POST", "/admin/keys", { duration: "soon" })).body).toMatchObject({ error: { param: "duration" } });
    expect((await admin("POST", "/admin/keys", { surprise: 1 })).status).toBe(400);
  });

  it("keeps the admin API to the admin key", async () => {
    const { body } = await admin("POST", "/admin/keys", {});
    const { response } = await callWorker(
      new Request(`${BASE}/admin/keys`, { headers: { authorization: `Bearer ${body.key}` } }),
    );
    expect(await errorOf(response)).toMatchObject({ status: 403, code: "admin_only" });
  });
});

describe("token exchange", () => {
  it("turns a key into a short-lived token that acts as the key", async () => {
    const { body } = await admin("POST", "/admin/keys", { name: "browser" });
    const exchange = await callWorker(
      new Request(`${BASE}/auth/token`, { method: "POST", headers: { authorization: `Bearer ${body.key}` } }),
    );
    expect(exchange.response.status).toBe(200);
    const token = (await exchange.response.json()) as { access_token: string; token_type: string; expires_in: number };
    expect(token.token_type).toBe("Bearer");
    expect(token.expires_in).toBeGreaterThan(800);
    expect(token.expires_in).toBeLessThanOrEqual(900);

    const { response, settled } = await callWorker(chatAs(token.access_token));
    expect(response.status).toBe(200);
    await settled();
    expect(await usageRow(response.headers.get("x-request-id") ?? "")).toMatchObject({ principalType: "key", keyId: body.id });

    await admin("DELETE", `/admin/keys/${body.id}`);
    expect(await errorOf((await callWorker(chatAs(token.access_token))).response)).toMatchObject({ status: 401 });
  });

  it("refuses tokens Sluice did not sign", async () => {
    const forged = await new SignJWT({ typ: "key" })
      .setProtectedHeader({ alg: "HS256" })
      .setIssuer("sluice")
      .setAudience("sluice")
      .setSubject("key_anything")
      .setExpirationTime("5m")
      .sign(new TextEncoder().encode("guessed"));
    expect(await errorOf((await callWorker(chatAs(forged))).response)).toMatchObject({
      status: 401,
      message: "Token signature is invalid.",
    });
  });
});

describe("self-service keys", () => {
  it("a signed-in user mints a key for themself within their own limits", async () => {
    const sub = uniqueId("self");
    const token = await appToken({ sub });
    const mint = (body: unknown) =>
      callWorker(
        new Request(`${BASE}/api/keys`, {
          method: "POST",
          headers: { authorization: `Bearer ${token}` },
          body: JSON.stringify(body),
        }),
      );
    const ok = await mint({ name: "my cli", rpm_limit: 5 });
    expect(ok.response.status).toBe(201);
    const created = (await ok.response.json()) as { key: string; user_id: string; rpm_limit: number };
    expect(created).toMatchObject({ user_id: sub, rpm_limit: 5 });
    expect((await callWorker(chatAs(created.key))).response.status).toBe(200);

    const tooMany = await mint({ rpm_limit: 1000 });
    expect(await errorOf(tooMany.response)).toMatchObject({ status: 403, code: "above_own_limit" });
    const unlimited = await mint({ rpm_limit: null });
    expect(unlimited.response.status).toBe(403);
  });

  it("is for users only", async () => {
    const { body } = await admin("POST", "/admin/keys", {});
    const { response } = await callWorker(
      new Request(`${BASE}/api/keys`, { method: "POST", headers: { authorization: `Bearer ${body.key}` }, body: "{}" }),
    );
    expect(await errorOf(response)).toMatchObject({ status: 403, code: "user_required" });
  });
});

describe("secrets stay secret", () => {
  it("no key, token or provider secret reaches the logs or an error", async () => {
    const logged: string[] = [];
    const spies = (["log", "warn", "error", "info", "debug"] as const).map((level) =>
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
        logged.push(args.map(String).join(" "));
      }),
    );
    try {
      const { body } = await admin("POST", "/admin/keys", { name: "logged" });
      const secret = String(body.key);
      const providerKey = "sk-reject-provider-secret-in-logs-1234";
      const responses = [
        await callWorker(chatAs(secret)),
        await callWorker(chatAs(`${secret}x`)),
        await callWorker(chatAs(await appToken({ sub: "u" }, { secret: "wrong-secret" }))),
        await callWorker(chatAs(secret, { model: "openai/mock-echo" }), {
          ...env,
          OPENAI_BASE_URL: env.MOCK_BASE_URL,
          OPENAI_API_KEY: providerKey,
        }),
      ];
      await admin("DELETE", `/admin/keys/${body.id}`);
      responses.push(await callWorker(chatAs(secret)));
      for (const { response, settled } of responses) {
        const text = await response.text();
        await settled();
        for (const leaked of [secret, providerKey, "provider-secret"]) expect(text).not.toContain(leaked);
      }
      const everything = logged.join("\n");
      for (const leaked of [secret, providerKey, "provider-secret"]) expect(everything).not.toContain(leaked);
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
  });
});

describe("admin input bounds", () => {
  it("refuses a limit too large to store with a 400, not a 500", async () => {
    const { status, body } = await admin("POST", "/admin/users", { id: uniqueId("big"), tokens_per_month: 1e12 });
    expect(status).toBe(400);
    expect(body).toMatchObject({ error: { param: "tokens_per_month" } });
  });
});
