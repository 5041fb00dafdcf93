// A user's own Google account for Gemini: the whole OAuth flow against the
// mock's Google, the state's defences, refresh, revocation, disconnecting,
// and the user's calls reaching Gemini with their own bearer token.
import { env } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { SignJWT } from "jose";
import { describe, expect, it, onTestFinished, vi } from "vitest";
import { MOCK_GOOGLE_CLIENT_ID, MOCK_GOOGLE_CLIENT_SECRET, MOCK_GOOGLE_EMAIL } from "../dev/mock-upstream/credentials.ts";
import { providerAccounts } from "../src/db/schema.ts";
import { BASE, callWorker, db, mockProviderBindings, sseData, TEST_ADMIN_KEY, upstreamRequest, usageRow } from "./helpers.ts";
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
  // Accounts' calls go to the mock's Gemini API, which takes only tokens its Google issued.
  GOOGLE_GEMINI_API_URL: mockRoot,
  GOOGLE_CODE_ASSIST_URL: mockRoot,
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

/** The browser's cookie from a start response, as it would send it back. */
const cookieOf = (response: Response) => (response.headers.get("set-cookie") ?? "").split(";")[0] ?? "";

/** A sign-in started from a browser: the consent URL, and the cookie that browser now holds. */
async function startFor(userId: string, env: object = bindings): Promise<{ url: string; cookie: string }> {
  const { response } = await asUser(userId, "/api/provider-accounts/google/start", { method: "POST" }, env);
  expect(response.status).toBe(200);
  return { url: ((await response.json()) as { url: string }).url, cookie: cookieOf(response) };
}

/** Google's redirect back, arriving in a browser with this cookie. */
const returning = (back: string, cookie: string, env: object = bindings) =>
  callWorker(new Request(back, { headers: { cookie } }), env);

async function connected(userId: string, env: object = bindings): Promise<void> {
  const { url, cookie } = await startFor(userId, env);
  const { response } = await returning(await consent(url), cookie, env);
  expect(response.status).toBe(200);
}

const geminiCall = (userId: string, text: string, env: object = bindings) =>
  asUser(
    userId,
    "/v1/chat/completions",
    {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "gemini/mock-echo", messages: [{ role: "user", content: text }] }),
    },
    env,
  );

const adminRequest = (method: string, path: string, body: unknown) =>
  new Request(`${BASE}${path}`, {
    method,
    headers: { authorization: `Bearer ${TEST_ADMIN_KEY}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });

describe("connecting a Google account", () => {
  it("runs the whole flow: consent with PKCE, the code exchanged, the refresh token sealed, never a token shown", async () => {
    const user = uniqueId("g-user");
    const started = await asUser(user, "/api/provider-accounts/google/start", { method: "POST" });
    expect(started.response.status).toBe(200);
    expect(started.response.headers.get("cache-control")).toBe("no-store");
    const answer = (await started.response.json()) as { url: string; user_id: string };
    expect(answer.user_id).toBe(user);
    const start = new URL(answer.url);
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

    // The browser now holds the cookie that binds this sign-in to it: HttpOnly, for the gateway's site only.
    const cookie = started.response.headers.get("set-cookie") ?? "";
    expect(cookie).toMatch(/^__Host-sluice-google=[\w-]{43}; Path=\/; Max-Age=600; HttpOnly; SameSite=Lax; Secure$/);
    const back = await consent(start.toString());
    expect(back.startsWith(`${BASE}/api/provider-accounts/google/callback?`)).toBe(true);
    const callback = await returning(back, cookie.split(";")[0] ?? "");
    expect(callback.response.status).toBe(200);
    // Used: the cookie is cleared.
    expect(callback.response.headers.get("set-cookie")).toMatch(/^__Host-sluice-google=; Path=\/; Max-Age=0/);
    expect(callback.response.headers.get("content-type")).toContain("text/html");
    expect(callback.response.headers.get("content-security-policy")).toContain("default-src 'none'");
    const html = await callback.response.text();
    expect(html).toContain("Google account connected");
    expect(html).toContain(MOCK_GOOGLE_EMAIL);
    // The page names the Sluice user the account now serves, so a person who did not mean to connect can tell.
    expect(html).toContain(`the Sluice user ${user}`);
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
          "Your Google account's access has expired or was revoked. Connect it again: POST /api/provider-accounts/google/start.",
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
    expect(await response.json()).toEqual({ provider: "google", disconnected: true, revoked: true });
    expect((await stats()).revoked).toBe(before + 1);
    expect(await (await asUser(user, "/api/provider-accounts")).response.json()).toEqual({ data: [] });
    const call = await geminiCall(user, "after");
    const upstream = await upstreamRequest(call.response.headers.get("x-request-id") ?? "");
    expect(upstream.headers["x-goog-api-key"]).toBe("gemini-test-key");
    const again = await asUser(user, "/api/provider-accounts/google", { method: "DELETE" });
    expect(await again.response.json()).toEqual({ provider: "google", disconnected: false, revoked: false });
  });

  it("gets a fresh token when Gemini refuses the one it holds, and says to reconnect when the grant is gone", async () => {
    const user = uniqueId("g-refused");
    await connected(user);
    // Each call's reservation (4,096 of a new user's 10,000 tokens a day) is settled before the next is admitted.
    const first = await geminiCall(user, "first");
    expect(first.response.status).toBe(200);
    await first.settled();
    const before = (await stats()).refreshed;
    // Google stops honouring the access token Sluice holds (it still thinks it has an hour): one refresh, and served.
    await control("/expire");
    const retried = await geminiCall(user, "again");
    expect(retried.response.status).toBe(200);
    await retried.settled();
    expect((await stats()).refreshed).toBe(before + 1);
    // The grant itself revoked: the held token is refused, the refresh too, and the user is told to reconnect.
    await control("/revoke-all");
    const refused = await geminiCall(user, "and now?");
    expect(await errorOf(refused.response)).toMatchObject({ status: 401, code: "google_account_reconnect" });
  });

  it("shares one refresh among requests that find the token expired together", async () => {
    const user = uniqueId("g-together");
    // More at once than a new user's default quota allows (10 a minute, 10,000 tokens a day, 4,096 reserved for each).
    const created = await callWorker(
      adminRequest("POST", "/admin/users", { id: user, rpm_limit: 100, tokens_per_day: 1_000_000 }),
      bindings,
    );
    expect(created.response.status).toBe(201);
    await control("/settings", { expires_in: 61 });
    try {
      await connected(user);
      // Tokens that live 61 s are refreshed a minute early: a second on, every request finds this one expired.
      await sleep(1_100);
      const before = (await stats()).refreshed;
      const calls = await Promise.all(Array.from({ length: 6 }, (_, i) => geminiCall(user, `together ${i}`)));
      for (const call of calls) expect(call.response.status).toBe(200);
      expect((await stats()).refreshed).toBe(before + 1);
    } finally {
      await control("/settings", { expires_in: 3600 });
    }
  });

  it("never sends the user's token to a provider of Gemini's kind that is not Google's", async () => {
    const user = uniqueId("g-elsewhere");
    await connected(user);
    const provider = uniqueId("not-google");
    const model = uniqueId("elsewhere-model");
    expect(
      (await callWorker(adminRequest("POST", "/admin/providers", { id: provider, kind: "gemini", base_url: mockRoot }), bindings))
        .response.status,
    ).toBe(201);
    expect(
      (await callWorker(adminRequest("POST", "/admin/models", { id: model, provider, upstream_id: "mock-echo" }), bindings))
        .response.status,
    ).toBe(201);
    const call = await asUser(user, "/v1/chat/completions", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model, messages: [{ role: "user", content: "where does this go" }] }),
    });
    expect(call.response.status).toBe(200);
    const upstream = await upstreamRequest(call.response.headers.get("x-request-id") ?? "");
    expect(JSON.stringify(upstream.headers)).not.toContain("ya29.");
  });

  it("reaches Code Assist, the Gemini CLI's API, with the project found when the account connected", async () => {
    const codeAssist = { ...bindings, GOOGLE_ACCOUNT_API: "code-assist" };
    const user = uniqueId("g-code-assist");
    const start = await startFor(user, codeAssist);
    expect(new URL(start.url).searchParams.get("scope")).toBe("openid email https://www.googleapis.com/auth/cloud-platform");
    await connected(user, codeAssist);
    const [row] = await db().select().from(providerAccounts).where(eq(providerAccounts.userId, user));
    expect(row).toMatchObject({ api: "code-assist", project: "mock-code-assist-project" });

    // A chat client, translated: the request wrapped for Code Assist, the answer unwrapped.
    const chat = await geminiCall(user, "through code assist", codeAssist);
    expect(chat.response.status).toBe(200);
    expect(JSON.stringify(await chat.response.json())).toContain("through code assist");
    const sent = await upstreamRequest(chat.response.headers.get("x-request-id") ?? "");
    expect(sent.path).toBe("/v1internal:generateContent");
    expect(sent.body).toMatchObject({
      model: "mock-echo",
      project: "mock-code-assist-project",
      request: { contents: expect.any(Array) },
    });
    expect(sent.headers.authorization).toMatch(/^Bearer ya29\.mock-/);

    // A Gemini client, streamed as it was sent: each event out of its wrapping, in Gemini's own shape.
    const streamed = await asUser(
      user,
      "/v1beta/models/gemini%2Fmock-echo:streamGenerateContent?alt=sse",
      {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ contents: [{ role: "user", parts: [{ text: "one two three" }] }] }),
      },
      codeAssist,
    );
    expect(streamed.response.status).toBe(200);
    const events = (await sseData(streamed.response)).map((data) => JSON.parse(data) as Record<string, unknown>);
    expect(events.length).toBeGreaterThan(1);
    for (const event of events) {
      expect(event.response).toBeUndefined();
      expect(event.candidates).toBeDefined();
    }
    expect(events.at(-1)).toMatchObject({ usageMetadata: { promptTokenCount: 3 } });
    await streamed.settled();
    const row2 = await usageRow(streamed.response.headers.get("x-request-id") ?? "");
    expect(row2).toMatchObject({ provider: "gemini", promptTokens: 3, status: 200 });
    expect((await upstreamRequest(streamed.response.headers.get("x-request-id") ?? "")).path).toBe(
      "/v1internal:streamGenerateContent",
    );
  });

  it("refuses a tampered, replayed or expired state, and a refused consent", async () => {
    const user = uniqueId("g-state");
    const { url, cookie } = await startFor(user);
    const back = await consent(url);
    const tampered = new URL(back);
    const state = tampered.searchParams.get("state") ?? "";
    tampered.searchParams.set("state", `${state.slice(0, -2)}xy`);
    const forged = await returning(tampered.toString(), cookie);
    expect(forged.response.status).toBe(400);
    expect(await forged.response.text()).toContain("not one this gateway issued");

    // Re-signed by someone without the gateway's key, for another user: refused the same way.
    const [, payload] = state.split(".");
    const claims = JSON.parse(atob((payload ?? "").replaceAll("-", "+").replaceAll("_", "/"))) as Record<string, unknown>;
    const resigned = await new SignJWT({ ...claims, sub: uniqueId("mallory") })
      .setProtectedHeader({ alg: "HS256" })
      .sign(new TextEncoder().encode("not-the-gateway-key-0123456789"));
    const other = new URL(back);
    other.searchParams.set("state", resigned);
    expect(await (await returning(other.toString(), cookie)).response.text()).toContain("not one this gateway issued");

    expect((await returning(back, cookie)).response.status).toBe(200);
    const replayed = await returning(back, cookie);
    expect(replayed.response.status).toBe(400);
    expect(await replayed.response.text()).toContain("already used");

    // This state's own claims, nonce and browser binding included, signed as the gateway signs them, but expired:
    // only its expiry is wrong.
    const fresh = await startFor(user);
    const freshState = new URL(fresh.url).searchParams.get("state") ?? "";
    const freshClaims = JSON.parse(atob((freshState.split(".")[1] ?? "").replaceAll("-", "+").replaceAll("_", "/"))) as Record<
      string,
      unknown
    >;
    const key = new Uint8Array(
      await crypto.subtle.digest("SHA-256", new TextEncoder().encode(`sluice:oauth-state:${TEST_ADMIN_KEY}`)),
    );
    const expired = await new SignJWT({ ...freshClaims })
      .setProtectedHeader({ alg: "HS256" })
      .setIssuedAt(Math.floor(Date.now() / 1000) - 700)
      .setExpirationTime(Math.floor(Date.now() / 1000) - 100)
      .sign(key);
    const old = await returning(`${BASE}/api/provider-accounts/google/callback?code=x&state=${expired}`, fresh.cookie);
    expect(old.response.status).toBe(400);
    expect(await old.response.text()).toContain("or it has expired");
    // The same state, unexpired, still completes: the expiry was the only fault.
    expect((await returning(await consent(fresh.url), fresh.cookie)).response.status).toBe(200);

    const refused = await startFor(user);
    const denied = await returning(await consent(refused.url, "deny"), refused.cookie);
    expect(denied.response.status).toBe(400);
    expect(await denied.response.text()).toContain("access_denied");
  });

  it("completes only in the browser that started it: a link sent to someone else connects nothing", async () => {
    const attacker = uniqueId("g-attacker");
    const { url, cookie } = await startFor(attacker);
    // The victim opens the attacker's link and consents; their browser has no cookie, or the victim's own.
    const back = await consent(url);
    const victims = await startFor(uniqueId("g-victim"));
    for (const browser of ["", victims.cookie, `${cookie.split("=")[0]}=${"A".repeat(43)}`]) {
      const landed = await returning(back, browser);
      expect(landed.response.status).toBe(400);
      expect(await landed.response.text()).toContain("the browser that started it");
    }
    expect(await (await asUser(attacker, "/api/provider-accounts")).response.json()).toEqual({ data: [] });
    // The attacker's own browser can still finish it, once.
    expect((await returning(back, cookie)).response.status).toBe(200);
  });

  it("cannot be started by a link: no GET, and no credential taken from the URL", async () => {
    const attacker = uniqueId("g-link");
    const minted = await asUser(attacker, "/api/keys", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "attacker" }),
    });
    const { key } = (await minted.response.json()) as { key: string };
    // What a victim's browser does with the attacker's link: a GET, then (a form on another site) a POST, key in the URL.
    const link = `${BASE}/api/provider-accounts/google/start?key=${encodeURIComponent(key)}`;
    const opened = await callWorker(new Request(link), bindings);
    expect(opened.response.status).toBe(404);
    expect(opened.response.headers.get("set-cookie")).toBeNull();
    const posted = await callWorker(new Request(link, { method: "POST" }), bindings);
    const refusal = await errorOf(posted.response);
    expect(refusal).toMatchObject({ status: 401 });
    expect(refusal.message).toContain("`?key=`");
    expect(posted.response.headers.get("set-cookie")).toBeNull();
    // The same key in a header, as the gateway's own page or the user's app sends it, starts it.
    const own = await callWorker(
      new Request(`${BASE}/api/provider-accounts/google/start`, { method: "POST", headers: { authorization: `Bearer ${key}` } }),
      bindings,
    );
    expect(own.response.status).toBe(200);
    expect(own.response.headers.get("set-cookie")).toMatch(/^__Host-sluice-google=/);
  });

  it("refuses a consent that granted less than the API needs, saying what is missing", async () => {
    const user = uniqueId("g-partial");
    const { url, cookie } = await startFor(user);
    const landed = await returning(await consent(url, "partial"), cookie);
    expect(landed.response.status).toBe(400);
    const page = await landed.response.text();
    expect(page).toContain("Google granted less than Sluice needs");
    expect(page).toContain("https://www.googleapis.com/auth/generative-language.retriever");
    expect(await (await asUser(user, "/api/provider-accounts")).response.json()).toEqual({ data: [] });
  });

  it("is off without an OAuth client, and only for signed-in users", async () => {
    const off = await asUser(uniqueId("g-off"), "/api/provider-accounts/google/start", { method: "POST" }, mockProviderBindings);
    expect(await errorOf(off.response)).toMatchObject({ status: 404, code: "google_oauth_disabled" });
    const admin = await callWorker(
      new Request(`${BASE}/api/provider-accounts/google/start`, {
        method: "POST",
        headers: { authorization: `Bearer ${TEST_ADMIN_KEY}` },
      }),
      bindings,
    );
    expect(await errorOf(admin.response)).toMatchObject({ status: 403, code: "user_required" });
    // A key an administrator bound to a user does not act at that user's Google account.
    const user = uniqueId("g-bound");
    expect((await callWorker(adminRequest("POST", "/admin/users", { id: user }), bindings)).response.status).toBe(201);
    const given = await callWorker(adminRequest("POST", "/admin/keys", { user_id: user }), bindings);
    const key = String(((await given.response.json()) as { key: string }).key);
    const bound = await callWorker(
      new Request(`${BASE}/api/provider-accounts/google/start`, { method: "POST", headers: { authorization: `Bearer ${key}` } }),
      bindings,
    );
    expect(await errorOf(bound.response)).toMatchObject({ status: 403, code: "user_required" });
  });
});
