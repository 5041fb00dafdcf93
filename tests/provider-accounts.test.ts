// A user's own Google account for Gemini: the whole OAuth flow against the
// mock's Google, the state's defences, refresh, revocation, disconnecting,
// and the user's calls reaching Gemini with their own bearer token.
import { env } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { SignJWT } from "jose";
import { describe, expect, it, onTestFinished, vi } from "vitest";
import { MOCK_GOOGLE_CLIENT_ID, MOCK_GOOGLE_CLIENT_SECRET, MOCK_GOOGLE_EMAIL } from "../dev/mock-upstream/credentials.ts";
import { providerAccounts } from "../src/db/schema.ts";
import { BASE, callWorker, db, mockProviderBindings, TEST_ADMIN_KEY, upstreamRequest, usageRow } from "./helpers.ts";
import { appToken, errorOf, uniqueId } from "./identity.ts";

const mockRoot = String(env.MOCK_BASE_URL).replace(/\/v1$/, "");
const google = `${mockRoot}/__mock/google`;
const bindings = {
  ...mockProviderBindings,
  GOOGLE_OAUTH_CLIENT_ID: MOCK_GOOGLE_CLIENT_ID,
  GOOGLE_OAUTH_CLIENT_SECRET: MOCK_GOOGLE_CLIENT_SECRET,
  GOOGLE_OAUTH_BASE_URL: google,
  GOOGLE_TOKEN_URL: `${google}/token`,
  GOOGLE_REVOKE_URL: `${google}/revoke`,
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const control = (path: string, body: unknown = {}) => fetch(`${google}${path}`, { method: "POST", body: JSON.stringify(body) });
const stats = async () =>
  (await (await fetch(`${google}/stats`)).json()) as { exchanged: number; refreshed: number; revoked: number };

async function asUser(userId: string, path: string, init: RequestInit = {}, env: object = bindings) {
  const token = await appToken({ sub: userId });
  return callWorker(
    new Request(`${BASE}${path}`, { ...init, headers: { authorization: `Bearer ${token}`, ...(init.headers ?? {}) } }),
    env,
  );
}

/** Google's consent screen, answered: where it sends the browser back. */
async function consent(startUrl: string, hint?: string): Promise<string> {
  const url = new URL(startUrl);
  if (hint) url.searchParams.set("login_hint", hint);
  const response = await fetch(url, { redirect: "manual" });
  expect(response.status).toBe(302);
  return response.headers.get("location") ?? "";
}

async function startFor(userId: string): Promise<string> {
  const { response } = await asUser(userId, "/api/provider-accounts/google/start", { headers: { accept: "application/json" } });
  expect(response.status).toBe(200);
  return ((await response.json()) as { url: string }).url;
}

async function connected(userId: string): Promise<void> {
  const back = await consent(await startFor(userId));
  const { response } = await callWorker(new Request(back), bindings);
  expect(response.status).toBe(200);
}

const geminiCall = (userId: string, text: string) =>
  asUser(userId, "/v1/chat/completions", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "gemini/mock-echo", messages: [{ role: "user", content: text }] }),
  });

describe("connecting a Google account", () => {
  it("runs the whole flow: consent with PKCE, the code exchanged, the refresh token sealed, never a token shown", async () => {
    const user = uniqueId("g-user");
    const redirect = await asUser(user, "/api/provider-accounts/google/start");
    expect(redirect.response.status).toBe(302);
    const start = new URL(redirect.response.headers.get("location") ?? "");
    expect(`${start.origin}${start.pathname}`).toBe(`${google}/o/oauth2/v2/auth`);
    expect(Object.fromEntries(start.searchParams)).toMatchObject({
      client_id: MOCK_GOOGLE_CLIENT_ID,
      redirect_uri: `${BASE}/api/provider-accounts/google/callback`,
      response_type: "code",
      code_challenge_method: "S256",
      access_type: "offline",
      prompt: "consent",
    });
    expect(start.searchParams.get("code_challenge")).toMatch(/^[\w-]{43}$/);
    expect(start.searchParams.get("scope")).toContain("https://www.googleapis.com/auth/generative-language.retriever");

    const back = await consent(start.toString());
    expect(back.startsWith(`${BASE}/api/provider-accounts/google/callback?`)).toBe(true);
    const callback = await callWorker(new Request(back), bindings);
    expect(callback.response.status).toBe(200);
    expect(callback.response.headers.get("content-type")).toContain("text/html");
    expect(callback.response.headers.get("content-security-policy")).toContain("default-src 'none'");
    const html = await callback.response.text();
    expect(html).toContain("Google account connected");
    expect(html).toContain(MOCK_GOOGLE_EMAIL);
    expect(html).not.toMatch(/ya29\.|1\/\/mock/);

    const listed = await asUser(user, "/api/provider-accounts");
    const body = await listed.response.text();
    expect(JSON.parse(body)).toMatchObject({
      data: [{ provider: "google", email: MOCK_GOOGLE_EMAIL, allow_fallback: false, scopes: expect.arrayContaining(["email"]) }],
    });
    expect(body).not.toMatch(/ya29\.|1\/\/mock/);
    const [row] = await db().select().from(providerAccounts).where(eq(providerAccounts.userId, user));
    expect(row?.ciphertext).toBeTruthy();
    expect(JSON.stringify(row)).not.toMatch(/ya29\.|1\/\/mock/);
  });

  it("sends the user's Gemini calls with their own bearer token, and keeps it out of responses, logs and the ledger", async () => {
    const logged: string[] = [];
    const spies = (["log", "info", "warn", "error"] as const).map((level) =>
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => void logged.push(args.map(String).join(" "))),
    );
    onTestFinished(() => {
      for (const spy of spies) spy.mockRestore();
      expect(logged.join("\n")).not.toMatch(/ya29\.|1\/\/mock/);
    });
    const user = uniqueId("g-call");
    await connected(user);
    const call = await geminiCall(user, "on my own quota");
    expect(call.response.status).toBe(200);
    const text = await call.response.text();
    expect(text).toContain("on my own quota");
    expect(text).not.toContain("ya29.");
    const upstream = await upstreamRequest(call.response.headers.get("x-request-id") ?? "");
    expect(upstream.headers.authorization).toMatch(/^Bearer ya29\.mock-/);
    expect(upstream.headers["x-goog-api-key"]).toBeUndefined();
    await call.settled();
    const row = await usageRow(call.response.headers.get("x-request-id") ?? "");
    expect(row).toMatchObject({ provider: "gemini", userId: user, status: 200 });
    expect(JSON.stringify(row)).not.toContain("ya29.");

    // Someone without an account: the gateway's own key, as before.
    const other = await geminiCall(uniqueId("g-none"), "shared key");
    expect(other.response.status).toBe(200);
    const theirs = await upstreamRequest(other.response.headers.get("x-request-id") ?? "");
    expect(theirs.headers["x-goog-api-key"]).toBe("gemini-test-key");
    expect(theirs.headers.authorization).toBeUndefined();
  });

  it("refreshes the access token before it expires", async () => {
    const user = uniqueId("g-refresh");
    // Tokens that live 61 s: Sluice treats them as expired a minute early, so at once.
    await control("/settings", { expires_in: 61 });
    try {
      await connected(user);
      const before = (await stats()).refreshed;
      const first = await geminiCall(user, "one");
      expect(first.response.status).toBe(200);
      await sleep(1_100);
      const second = await geminiCall(user, "two");
      expect(second.response.status).toBe(200);
      expect((await stats()).refreshed).toBeGreaterThanOrEqual(before + 1);
      const [a, b] = [
        await upstreamRequest(first.response.headers.get("x-request-id") ?? ""),
        await upstreamRequest(second.response.headers.get("x-request-id") ?? ""),
      ];
      expect(a.headers.authorization).not.toBe(b.headers.authorization);
    } finally {
      await control("/settings", { expires_in: 3600 });
    }
  });

  it("answers a revoked grant with a 401 that says to reconnect, or uses the gateway's key when the user allows it", async () => {
    const user = uniqueId("g-revoked");
    await control("/settings", { expires_in: 61 });
    try {
      await connected(user);
      await control("/revoke-all");
      await sleep(1_100);
      const refused = await geminiCall(user, "still mine?");
      expect(await errorOf(refused.response)).toMatchObject({
        status: 401,
        code: "google_account_reconnect",
        message:
          "Your Google account's access has expired or was revoked. Connect it again: GET /api/provider-accounts/google/start.",
      });

      const allowed = await asUser(user, "/api/provider-accounts/google", {
        method: "PATCH",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ allow_fallback: true }),
      });
      expect(await allowed.response.json()).toMatchObject({ provider: "google", allow_fallback: true });
      const served = await geminiCall(user, "fall back");
      expect(served.response.status).toBe(200);
      const upstream = await upstreamRequest(served.response.headers.get("x-request-id") ?? "");
      expect(upstream.headers["x-goog-api-key"]).toBe("gemini-test-key");
    } finally {
      await control("/settings", { expires_in: 3600 });
    }
  });

  it("disconnects: the grant revoked at Google, the account gone, the gateway's key again", async () => {
    const user = uniqueId("g-leave");
    await connected(user);
    const before = (await stats()).revoked;
    const { response } = await asUser(user, "/api/provider-accounts/google", { method: "DELETE" });
    expect(await response.json()).toEqual({ provider: "google", disconnected: true });
    expect((await stats()).revoked).toBe(before + 1);
    expect(await (await asUser(user, "/api/provider-accounts")).response.json()).toEqual({ data: [] });
    const call = await geminiCall(user, "after");
    const upstream = await upstreamRequest(call.response.headers.get("x-request-id") ?? "");
    expect(upstream.headers["x-goog-api-key"]).toBe("gemini-test-key");
    const again = await asUser(user, "/api/provider-accounts/google", { method: "DELETE" });
    expect(await again.response.json()).toEqual({ provider: "google", disconnected: false });
  });

  it("refuses a tampered, replayed or expired state, and a refused consent", async () => {
    const user = uniqueId("g-state");
    const back = await consent(await startFor(user));
    const tampered = new URL(back);
    const state = tampered.searchParams.get("state") ?? "";
    tampered.searchParams.set("state", `${state.slice(0, -2)}xy`);
    const forged = await callWorker(new Request(tampered), bindings);
    expect(forged.response.status).toBe(400);
    expect(await forged.response.text()).toContain("not one this gateway issued");

    expect((await callWorker(new Request(back), bindings)).response.status).toBe(200);
    const replayed = await callWorker(new Request(back), bindings);
    expect(replayed.response.status).toBe(400);
    expect(await replayed.response.text()).toContain("already used");

    // A state signed as the gateway signs them, but expired.
    const key = new Uint8Array(
      await crypto.subtle.digest("SHA-256", new TextEncoder().encode(`sluice:oauth-state:${TEST_ADMIN_KEY}`)),
    );
    const expired = await new SignJWT({ nonce: "n" })
      .setProtectedHeader({ alg: "HS256" })
      .setSubject(user)
      .setAudience("sluice:google-oauth")
      .setIssuedAt(Math.floor(Date.now() / 1000) - 700)
      .setExpirationTime(Math.floor(Date.now() / 1000) - 100)
      .sign(key);
    const old = await callWorker(new Request(`${BASE}/api/provider-accounts/google/callback?code=x&state=${expired}`), bindings);
    expect(old.response.status).toBe(400);

    const denied = await consent(await startFor(user), "deny");
    const refusal = await callWorker(new Request(denied), bindings);
    expect(refusal.response.status).toBe(400);
    expect(await refusal.response.text()).toContain("access_denied");
  });

  it("is off without an OAuth client, and only for signed-in users", async () => {
    const off = await asUser(uniqueId("g-off"), "/api/provider-accounts/google/start", {}, mockProviderBindings);
    expect(await errorOf(off.response)).toMatchObject({ status: 404, code: "google_oauth_disabled" });
    const admin = await callWorker(
      new Request(`${BASE}/api/provider-accounts/google/start`, { headers: { authorization: `Bearer ${TEST_ADMIN_KEY}` } }),
      bindings,
    );
    expect(await errorOf(admin.response)).toMatchObject({ status: 403, code: "user_required" });
  });
});
