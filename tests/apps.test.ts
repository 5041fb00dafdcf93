// Apps without a backend: registered by the admin, their publishable key
// exchanged (from their origins, with their proofs) for a guest token, and
// guests limited per device, per network and per app, and recorded as such.
import { env } from "cloudflare:test";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { MOCK_TURNSTILE_SECRET, TURNSTILE_PATH } from "../dev/mock-upstream/turnstile.ts";
import { issueGuestToken } from "../src/apps/guest-token.ts";
import { BASE, callWorker, TEST_ADMIN_KEY, usageRow } from "./helpers.ts";
import { admin, appToken, chatAs, errorOf, uniqueId } from "./identity.ts";

const mockRoot = String(env.MOCK_BASE_URL).replace(/\/v1$/, "");
const ORIGIN = "https://game.example";
const APP_CHECK_PROJECT = "123456789";
const APP_CHECK_APP = "1:123456789:ios:0a1b2c";
const appCheckKid = uniqueId("appcheck");
const bindings = {
  ...env,
  TURNSTILE_SECRET_KEY: MOCK_TURNSTILE_SECRET,
  TURNSTILE_VERIFY_URL: `${mockRoot}${TURNSTILE_PATH}`,
  APP_CHECK_JWKS_URL: `${mockRoot}/__mock/jwks/${appCheckKid}`,
};

/** A network of its own per test, so the public limit of one does not spend another's. */
const freshIp = () =>
  `198.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250) + 1}`;

async function newApp(fields: Record<string, unknown> = {}) {
  const { status, body } = await admin("POST", "/admin/apps", {
    id: uniqueId("app")
      .toLowerCase()
      .replace(/[^a-z0-9_-]/g, "-"),
    name: "Test game",
    allowed_origins: [ORIGIN],
    ...fields,
  });
  expect(status, JSON.stringify(body)).toBe(201);
  return body as { id: string; publishable_key: string } & Record<string, unknown>;
}

function attest(body: Record<string, unknown>, headers: Record<string, string> = {}, ip = freshIp()) {
  return callWorker(
    new Request(`${BASE}/auth/attest`, {
      method: "POST",
      headers: { "content-type": "application/json", origin: ORIGIN, "cf-connecting-ip": ip, ...headers },
      body: JSON.stringify(body),
    }),
    bindings,
  );
}

async function guestToken(app: { publishable_key: string }, extra: Record<string, unknown> = {}, ip = freshIp()) {
  const { response } = await attest({ publishable_key: app.publishable_key, ...extra }, {}, ip);
  expect(response.status, await response.clone().text()).toBe(200);
  return (await response.json()) as { access_token: string; device_id: string; expires_in: number; app_id: string };
}

const asGuest = (token: string, ip: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}) =>
  chatAs(token, extra, { origin: ORIGIN, "cf-connecting-ip": ip, ...headers });

describe("apps through the admin API", () => {
  it("registers an app with a publishable key and small guest limits, changes, rotates and deletes it", async () => {
    const app = await newApp({ models: ["mock-echo"] });
    expect(app.publishable_key).toMatch(/^pk_[0-9a-f]{48}$/);
    expect(app).toMatchObject({
      name: "Test game",
      allowed_origins: [ORIGIN],
      models: ["mock-echo"],
      proofs: [],
      device_limits: { rpm_limit: 10, tpm_limit: 20_000, tokens_per_day: 50_000, usd_per_day: 0.05 },
      ip_limits: { rpm_limit: 30 },
      guest_usd_per_day: 5,
      disabled: false,
    });
    expect((await admin("GET", `/admin/apps/${app.id}`)).body).toMatchObject({ publishable_key: app.publishable_key });
    const list = (await admin("GET", "/admin/apps?limit=1000")).body as { data: { id: string }[] };
    expect(list.data.map((a) => a.id)).toContain(app.id);

    const changed = await admin("PATCH", `/admin/apps/${app.id}`, { device_limits: { rpm_limit: 3 } });
    expect(changed.body.device_limits).toMatchObject({ rpm_limit: 3, tokens_per_day: 50_000 });

    const rotated = await admin("POST", `/admin/apps/${app.id}/rotate`);
    expect(rotated.status).toBe(201);
    expect(rotated.body.publishable_key).not.toBe(app.publishable_key);
    const old = await attest({ publishable_key: app.publishable_key });
    expect(old.response.status).toBe(401);
    expect((await errorOf(old.response)).message).toBe("Invalid publishable key.");
    await guestToken({ publishable_key: String(rotated.body.publishable_key) });

    expect((await admin("DELETE", `/admin/apps/${app.id}`)).body).toEqual({ id: app.id, deleted: true });
    expect((await admin("GET", `/admin/apps/${app.id}`)).status).toBe(404);
  });

  it("refuses a proof the app could not check, and an id that exists", async () => {
    const noOrigins = await admin("POST", "/admin/apps", { name: "x", proofs: ["turnstile"] });
    expect(noOrigins.status).toBe(400);
    expect(JSON.stringify(noOrigins.body)).toContain("`turnstile` needs `allowed_origins`");
    const noProject = await admin("POST", "/admin/apps", { name: "x", proofs: ["app_check"] });
    expect(noProject.status).toBe(400);
    const badOrigin = await admin("POST", "/admin/apps", { name: "x", allowed_origins: ["https://a.example/path"] });
    expect(badOrigin.status).toBe(400);
    const app = await newApp();
    expect((await admin("POST", "/admin/apps", { id: app.id, name: "again" })).status).toBe(409);
  });

  it("is the admin key's only", async () => {
    const { key } = (await admin("POST", "/admin/keys", { name: uniqueId("not-admin") })).body;
    const { response } = await callWorker(new Request(`${BASE}/admin/apps`, { headers: { authorization: `Bearer ${key}` } }));
    expect(response.status).toBe(403);
  });
});

describe("the exchange", () => {
  it("turns a publishable key from the app's origin into a guest token whose calls are recorded with the app", async () => {
    const app = await newApp();
    const ip = freshIp();
    const { response } = await attest({ publishable_key: app.publishable_key, device_id: "device-0001" }, {}, ip);
    expect(response.status).toBe(200);
    const body = (await response.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ token_type: "Bearer", expires_in: 600, app_id: app.id, device_id: "device-0001" });

    const call = await callWorker(asGuest(String(body.access_token), ip), bindings);
    expect(call.response.status).toBe(200);
    await call.landed();
    const row = await usageRow(call.response.headers.get("x-request-id") ?? "");
    expect(row).toMatchObject({ principalType: "guest", appId: app.id, deviceId: "device-0001", keyId: null, userId: null });
    expect(row?.ipHash).toMatch(/^[0-9a-f]{24}$/);
    expect(JSON.stringify(row)).not.toContain(ip);

    // The guest sees its own device's quota and usage, nothing more.
    const quota = await callWorker(
      new Request(`${BASE}/api/ai/quota`, {
        headers: { authorization: `Bearer ${body.access_token}`, origin: ORIGIN, "cf-connecting-ip": ip },
      }),
      bindings,
    );
    expect(await quota.response.json()).toMatchObject({
      principal: { type: "guest", id: `${app.id}:device-0001` },
      limits: { device: { rpm_limit: 10 }, network: { rpm_limit: 30 }, app: { usd_per_day: 5 } },
      used: { tokens_today: row ? row.promptTokens + row.completionTokens : -1 },
    });
  });

  it("makes up a device id when the app sends none, and takes the key as a bearer too", async () => {
    const app = await newApp();
    const { response } = await attest({}, { authorization: `Bearer ${app.publishable_key}` });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { device_id: string }).device_id).toMatch(/^dev_[0-9a-f]{32}$/);
  });

  it("refuses other origins, a call without one for a web app, and a native call without a listed bundle id", async () => {
    const app = await newApp({ ios_bundle_ids: ["com.example.game"] });
    const elsewhere = await attest({ publishable_key: app.publishable_key }, { origin: "https://evil.example" });
    expect(elsewhere.response.status).toBe(403);
    expect(await errorOf(elsewhere.response)).toMatchObject({ code: "origin_not_allowed" });

    const native = (body: Record<string, unknown>) =>
      callWorker(
        new Request(`${BASE}/auth/attest`, {
          method: "POST",
          headers: { "content-type": "application/json", "cf-connecting-ip": freshIp() },
          body: JSON.stringify({ publishable_key: app.publishable_key, ...body }),
        }),
        bindings,
      );
    const unnamed = await native({});
    expect(unnamed.response.status).toBe(403);
    expect(await errorOf(unnamed.response)).toMatchObject({ code: "bundle_not_allowed" });
    expect((await native({ bundle_id: "com.example.other" })).response.status).toBe(403);
    expect((await native({ bundle_id: "com.example.game" })).response.status).toBe(200);

    const webOnly = await newApp();
    const { response } = await callWorker(
      new Request(`${BASE}/auth/attest`, {
        method: "POST",
        headers: { "content-type": "application/json", "cf-connecting-ip": freshIp() },
        body: JSON.stringify({ publishable_key: webOnly.publishable_key, bundle_id: "com.example.game" }),
      }),
      bindings,
    );
    expect(response.status).toBe(403);
    expect((await errorOf(response)).message).toContain("This app is for browsers");

    // A guest token carried to another page is refused there too.
    const ip = freshIp();
    const { access_token } = await guestToken(app, {}, ip);
    const moved = await callWorker(asGuest(access_token, ip, {}, { origin: "https://evil.example" }), bindings);
    expect(moved.response.status).toBe(403);
    expect(await errorOf(moved.response)).toMatchObject({ code: "origin_not_allowed" });
  });

  it("refuses an expired guest token, a forged one, and a publishable key used as a credential", async () => {
    const app = await newApp();
    const ip = freshIp();
    const expired = await issueGuestToken(TEST_ADMIN_KEY, { appId: app.id, deviceId: "device-old" }, Date.now() - 60_000);
    const late = await callWorker(asGuest(expired, ip), bindings);
    expect(late.response.status).toBe(401);
    expect((await errorOf(late.response)).message).toBe(
      "Guest token has expired: exchange the app's key again at POST /auth/attest.",
    );
    const forged = await issueGuestToken("another-admin-key-0123456789", { appId: app.id, deviceId: "d" }, Date.now() + 60_000);
    expect((await callWorker(asGuest(forged, ip), bindings)).response.status).toBe(401);
    const direct = await callWorker(asGuest(app.publishable_key, ip), bindings);
    expect(direct.response.status).toBe(401);
    expect((await errorOf(direct.response)).message).toContain("exchange it at POST /auth/attest");
  });

  it("answers a browser's preflight from the app's origin", async () => {
    await newApp({ allowed_origins: ["https://preflight.example"] });
    const { response } = await callWorker(
      new Request(`${BASE}/v1/chat/completions`, {
        method: "OPTIONS",
        headers: { origin: "https://preflight.example", "access-control-request-method": "POST" },
      }),
      bindings,
    );
    expect(response.status).toBe(204);
    expect(response.headers.get("access-control-allow-origin")).toBe("https://preflight.example");
    const other = await callWorker(
      new Request(`${BASE}/auth/attest`, {
        method: "OPTIONS",
        headers: { origin: "https://not-an-app.example", "access-control-request-method": "POST" },
      }),
      bindings,
    );
    expect(other.response.headers.get("access-control-allow-origin")).toBeNull();
  });
});

describe("the public limit", () => {
  const limited = { ...bindings, PUBLIC_RATE_LIMIT: "5" };
  const exchangeFrom = (app: { publishable_key: string }, ip: string, deviceId?: string) =>
    callWorker(
      new Request(`${BASE}/auth/attest`, {
        method: "POST",
        headers: { "content-type": "application/json", origin: ORIGIN, "cf-connecting-ip": ip },
        body: JSON.stringify({ publishable_key: app.publishable_key, ...(deviceId && { device_id: deviceId }) }),
      }),
      limited,
    );

  it("holds exactly across instances: 30 of 40 exchanges from one network pass by default, with Retry-After", async () => {
    const app = await newApp();
    const ip = freshIp();
    const request = () =>
      new Request(`${BASE}/auth/attest`, {
        method: "POST",
        headers: { "content-type": "application/json", origin: ORIGIN, "cf-connecting-ip": ip },
        body: JSON.stringify({ publishable_key: app.publishable_key }),
      });
    const responses = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        i % 2 === 0 ? callWorker(request(), bindings).then((call) => call.response) : env.SECOND_INSTANCE.fetch(request()),
      ),
    );
    expect(responses.filter((r) => r.status === 200)).toHaveLength(30);
    expect(responses.filter((r) => r.status === 429)).toHaveLength(10);
    const refused = responses.find((r) => r.status === 429) as Response;
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    const error = await errorOf(refused);
    expect(error).toMatchObject({ code: "rate_limit_exceeded" });
    expect(error.message).toMatch(/^Too many exchanges from this network/);
  });

  it("admits exactly five of twelve concurrent exchanges from one network, and counts a device across networks", async () => {
    const app = await newApp();
    const ip = freshIp();
    const calls = await Promise.all(Array.from({ length: 12 }, () => exchangeFrom(app, ip)));
    expect(calls.filter((call) => call.response.status === 200)).toHaveLength(5);
    expect(calls.filter((call) => call.response.status === 429)).toHaveLength(7);

    const device = uniqueId("device").replace(/[^\w.-]/g, "-");
    const spread = await Promise.all(Array.from({ length: 8 }, () => exchangeFrom(app, freshIp(), device)));
    expect(spread.filter((call) => call.response.status === 200)).toHaveLength(5);
    const refused = spread.find((call) => call.response.status === 429)?.response as Response;
    expect((await errorOf(refused)).message).toMatch(/^Too many exchanges from this device/);
  });
});

describe("guests", () => {
  it("are limited per device, per network, and stopped for every device by the app's daily guest budget", async () => {
    const app = await newApp({ device_limits: { rpm_limit: 2 }, ip_limits: { rpm_limit: 4 } });
    const ip = freshIp();
    const one = await guestToken(app, {}, ip);
    const two = await guestToken(app, {}, ip);
    const first = await Promise.all([1, 2, 3].map(() => callWorker(asGuest(one.access_token, ip), bindings)));
    expect(first.map((call) => call.response.status).sort()).toEqual([200, 200, 429]);
    const byDevice = first.find((call) => call.response.status === 429)?.response as Response;
    expect((await errorOf(byDevice)).message).toBe("Rate limit reached: 2 requests per minute for this device.");
    expect(Number(byDevice.headers.get("retry-after"))).toBeGreaterThan(0);
    // The network counted all three (a refused request counts, as anywhere): the second device has one of its four left.
    const second = await Promise.all([1, 2].map(() => callWorker(asGuest(two.access_token, ip), bindings)));
    expect(second.map((call) => call.response.status).sort()).toEqual([200, 429]);
    const byNetwork = second.find((call) => call.response.status === 429)?.response as Response;
    expect((await errorOf(byNetwork)).message).toBe("Rate limit reached: 4 requests per minute for this network.");
    await Promise.all([...first, ...second].map((call) => call.settled()));

    const broke = await newApp({ guest_usd_per_day: 0 });
    const guest = await guestToken(broke, {}, ip);
    const refused = await callWorker(asGuest(guest.access_token, ip), bindings);
    expect(refused.response.status).toBe(429);
    const error = await errorOf(refused.response);
    expect(error).toMatchObject({ code: "budget_exceeded" });
    expect(error.message).toMatch(/^The daily budget of \$0 for this app is used up\./);
  });

  it("use only the app's models, and reach no admin, key-minting or token route", async () => {
    const app = await newApp({ models: ["mock-echo"] });
    const ip = freshIp();
    const { access_token } = await guestToken(app, {}, ip);
    const other = await callWorker(asGuest(access_token, ip, { model: "mock-lorem" }), bindings);
    expect(other.response.status).toBe(403);
    expect((await errorOf(other.response)).message).toBe("This app may not use the model `mock-lorem`.");
    // A route its list does not name is refused too, though the model it leads to is on the list.
    const route = uniqueId("guest-route");
    // Made under the guests' own settings, so their isolate's catalog learns of it at once.
    const made = await callWorker(
      new Request(`${BASE}/admin/routes`, {
        method: "POST",
        headers: { authorization: `Bearer ${TEST_ADMIN_KEY}`, "content-type": "application/json" },
        body: JSON.stringify({ name: route, rule: { type: "model", model: "mock-echo" } }),
      }),
      bindings,
    );
    expect(made.response.status).toBe(201);
    const routed = await callWorker(asGuest(access_token, ip, { model: route }), bindings);
    expect(await errorOf(routed.response)).toMatchObject({
      status: 403,
      code: "model_not_allowed",
      message: `This app may not use the route \`${route}\`.`,
    });

    const as = (method: string, path: string, body?: unknown) =>
      callWorker(
        new Request(`${BASE}${path}`, {
          method,
          headers: { authorization: `Bearer ${access_token}`, "content-type": "application/json", origin: ORIGIN },
          body: body === undefined ? undefined : JSON.stringify(body),
        }),
        bindings,
      ).then((call) => call.response.status);
    expect(await as("GET", "/admin/keys")).toBe(403);
    expect(await as("POST", "/admin/apps", { name: "mine" })).toBe(403);
    expect(await as("GET", "/admin/usage")).toBe(403);
    expect(await as("POST", "/api/keys", {})).toBe(403);
    expect(await as("POST", "/auth/token")).toBe(403);
    expect(await as("PUT", "/api/provider-keys", { provider: "openai", api_key: "sk-x" })).toBe(403);
    // Nor the organization's MCP servers, whose tools run on its credentials.
    const initialize = {
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "guest", version: "1" } },
    };
    const mcp = await callWorker(
      new Request(`${BASE}/mcp`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${access_token}`,
          "content-type": "application/json",
          accept: "application/json, text/event-stream",
          origin: ORIGIN,
        },
        body: JSON.stringify(initialize),
      }),
      bindings,
    );
    expect(mcp.response.status).toBe(403);
    expect(await mcp.response.json()).toMatchObject({
      jsonrpc: "2.0",
      error: { message: "A guest token calls models only: MCP servers need a key or a user's token." },
    });
  });

  it("are refused everywhere once the app is disabled, and again served once it is enabled", async () => {
    const app = await newApp();
    const ip = freshIp();
    const { access_token } = await guestToken(app, {}, ip);
    expect((await admin("PATCH", `/admin/apps/${app.id}`, { disabled: true })).body.disabled).toBe(true);
    const refused = await callWorker(asGuest(access_token, ip), bindings);
    expect(refused.response.status).toBe(403);
    expect(await errorOf(refused.response)).toMatchObject({ code: "app_disabled" });
    expect((await attest({ publishable_key: app.publishable_key })).response.status).toBe(403);
    // Another instance holds no copy of the app: the marker and the row refuse there too.
    expect((await env.SECOND_INSTANCE.fetch(asGuest(access_token, ip))).status).toBe(403);
    await admin("PATCH", `/admin/apps/${app.id}`, { disabled: false });
    expect((await callWorker(asGuest(access_token, ip), bindings)).response.status).toBe(200);
  });

  it("show in the admin's usage grouped by app and by device", async () => {
    const app = await newApp();
    const ip = freshIp();
    for (const device of ["device-a-0001", "device-b-0001"]) {
      const { access_token } = await guestToken(app, { device_id: device }, ip);
      await (await callWorker(asGuest(access_token, ip), bindings)).landed();
    }
    const { body } = await admin("GET", `/admin/usage?app_id=${app.id}&group_by=app,device`);
    const groups = (body as { data: { app_id: string; device_id: string; requests: number }[] }).data;
    expect(groups.map((g) => [g.app_id, g.device_id, g.requests])).toEqual([
      [app.id, "device-a-0001", 1],
      [app.id, "device-b-0001", 1],
    ]);
  });
});

describe("the app's daily guest budget under concurrency", () => {
  it("stops many parallel guests on two instances at its figure: no overspend", async () => {
    // A model at $0.10 an output token: a one-token answer reserves $0.10, so a $0.50 day holds five.
    const provider = uniqueId("guest-budget-p");
    expect((await admin("POST", "/admin/providers", { id: provider, kind: "mock", base_url: env.MOCK_BASE_URL })).status).toBe(
      201,
    );
    const model = uniqueId("guest-budget-m");
    const made = await admin("POST", "/admin/models", {
      id: model,
      provider,
      upstream_id: "mock-echo",
      input_usd_per_mtok: 0,
      output_usd_per_mtok: 100_000,
    });
    expect(made.status).toBe(201);
    const open = { rpm_limit: null, tpm_limit: null, tokens_per_day: null, usd_per_day: null };
    const app = await newApp({ models: [model], device_limits: open, ip_limits: open, guest_usd_per_day: 0.5 });
    // Each instance reads the catalog again within CATALOG_REFRESH: wait until both serve the new model on its
    // provider (to a guest of an app without a budget, so this app's day is untouched).
    const probeApp = await newApp({ models: [model], device_limits: open, ip_limits: open });
    const sendTo = [
      async (request: Request) => (await callWorker(request, bindings)).response,
      (request: Request) => env.SECOND_INSTANCE.fetch(request),
    ];
    for (const send of sendTo) {
      for (let i = 0; ; i++) {
        const ip = freshIp();
        const probe = await send(asGuest((await guestToken(probeApp, {}, ip)).access_token, ip, { model, max_tokens: 1 }));
        const text = await probe.text();
        if (probe.status === 200 && probe.headers.get("x-sluice-provider") === provider) break;
        if (i >= 50) throw new Error(`an instance never served the new model: ${probe.status} ${text}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
    // Thirty guests, each its own device on its own network, so only the app's budget binds.
    const guests = await Promise.all(
      Array.from({ length: 30 }, async () => {
        const ip = freshIp();
        return { ip, token: (await guestToken(app, {}, ip)).access_token };
      }),
    );
    const answers = await Promise.all(
      guests.map(({ ip, token }, i) => {
        const request = asGuest(token, ip, { model, max_tokens: 1 });
        return i % 2 === 0
          ? callWorker(request, bindings).then(async (call) => {
              await call.settled();
              return call.response;
            })
          : env.SECOND_INSTANCE.fetch(request);
      }),
    );
    const served = answers.filter((r) => r.status === 200);
    const refused = answers.filter((r) => r.status === 429);
    const others = answers.filter((r) => r.status !== 200 && r.status !== 429);
    expect(await Promise.all(others.map(async (r) => `${r.status} ${await r.text()}`))).toEqual([]);
    expect(served.length + refused.length).toBe(30);
    let spent = 0;
    for (const response of served) {
      spent += ((await response.json()) as { usage: { completion_tokens: number } }).usage.completion_tokens * 0.1;
    }
    // Exactly the budget's worth: five answers of one token, whichever instance served them.
    expect(served).toHaveLength(5);
    expect(spent).toBeCloseTo(0.5, 9);
    for (const response of refused) {
      const error = await errorOf(response);
      expect(error.code).toBe("budget_exceeded");
      expect(error.message).toMatch(/^The daily budget of \$0\.5 for this app is used up\./);
    }
    // A new guest the next moment is refused too: the budget is the app's, not a device's.
    const late = freshIp();
    const after = await callWorker(
      asGuest((await guestToken(app, {}, late)).access_token, late, { model, max_tokens: 1 }),
      bindings,
    );
    expect(after.response.status).toBe(429);
    expect((await errorOf(after.response)).code).toBe("budget_exceeded");
  });
});

describe("a guest who signs in", () => {
  it("takes their device's guest usage as theirs with its guest token, once; another device's stays", async () => {
    const app = await newApp();
    const ip = freshIp();
    const device = uniqueId("device").replace(/[^\w.-]/g, "-");
    const guest = await guestToken(app, { device_id: device }, ip);
    const calls = [
      await callWorker(asGuest(guest.access_token, ip), bindings),
      await callWorker(asGuest(guest.access_token, ip), bindings),
    ];
    await Promise.all(calls.map((call) => call.landed()));
    const other = await guestToken(app, {}, ip);
    await (await callWorker(asGuest(other.access_token, ip), bindings)).landed();

    const user = uniqueId("signed-in");
    const jwt = await appToken({ sub: user });
    const link = (as: string, token: string) =>
      callWorker(
        new Request(`${BASE}/auth/attest/link`, {
          method: "POST",
          headers: { authorization: `Bearer ${as}`, "content-type": "application/json" },
          body: JSON.stringify({ guest_token: token }),
        }),
        bindings,
      ).then((call) => call.response);
    const linked = await link(jwt, guest.access_token);
    expect(linked.status).toBe(200);
    const body = (await linked.json()) as Record<string, number | string>;
    expect(body).toMatchObject({ app_id: app.id, device_id: device, user_id: user, linked_requests: 2 });
    expect(Number(body.linked_tokens)).toBeGreaterThan(0);
    expect(((await (await link(jwt, guest.access_token)).json()) as { linked_requests: number }).linked_requests).toBe(0);

    for (const call of calls) {
      expect(await usageRow(call.response.headers.get("x-request-id") ?? "")).toMatchObject({
        userId: user,
        appId: app.id,
        deviceId: device,
        principalType: "guest",
      });
    }
    // The user reads them as their own; the other device's row is nobody's.
    const mine = await callWorker(new Request(`${BASE}/api/ai/usage`, { headers: { authorization: `Bearer ${jwt}` } }));
    const rows = ((await mine.response.json()) as { data: { device_id: string }[] }).data;
    expect(rows.map((row) => row.device_id)).toEqual([device, device]);

    // Only a signed-in user links, and only with a guest token that is one.
    expect((await link(guest.access_token, guest.access_token)).status).toBe(403);
    const forged = await issueGuestToken(
      "another-admin-key-0123456789",
      { appId: app.id, deviceId: "x-device-1" },
      Date.now() + 60_000,
    );
    expect((await link(jwt, forged)).status).toBe(401);
  });
});

describe("proofs of the app", () => {
  it("Turnstile: required, checked with siteverify, single-use, and solved on one of the app's pages", async () => {
    const app = await newApp({ proofs: ["turnstile"] });
    const withProof = async (token?: string) => {
      const { response } = await attest({
        publishable_key: app.publishable_key,
        ...(token !== undefined && { proof: { type: "turnstile", token } }),
      });
      return { status: response.status, error: response.status === 200 ? undefined : await errorOf(response) };
    };
    expect(await withProof()).toMatchObject({ status: 401, error: { code: "proof_required" } });
    expect((await withProof("fail")).error?.message).toBe("The Turnstile token was refused: it is invalid.");
    expect((await withProof("expired")).error?.message).toBe(
      "The Turnstile token was refused: it has expired or was already used.",
    );
    expect((await withProof("pass:evil.example")).error?.message).toBe(
      "The Turnstile token was refused: it was solved on a page this app does not list among its origins.",
    );
    const token = `pass:game.example:${uniqueId("t")}`;
    expect((await withProof(token)).status).toBe(200);
    expect((await withProof(token)).status).toBe(401);
    const wrongKind = await attest({ publishable_key: app.publishable_key, proof: { type: "app_check", token: "x" } });
    expect(await errorOf(wrongKind.response)).toMatchObject({ code: "proof_required" });
  });

  it("App Check: a Firebase JWT for the app's project and apps; forged, expired and misdirected ones refused", async () => {
    const { publicKey, privateKey } = await generateKeyPair("RS256", { extractable: true });
    const jwk = { ...(await exportJWK(publicKey)), kid: appCheckKid, alg: "RS256", use: "sig" };
    await fetch(bindings.APP_CHECK_JWKS_URL, { method: "PUT", body: JSON.stringify({ keys: [jwk] }) });
    const forger = await generateKeyPair("RS256");
    const sign = (claims: { aud?: string; sub?: string; exp?: number }, key: CryptoKey = privateKey) =>
      new SignJWT({})
        .setProtectedHeader({ alg: "RS256", kid: appCheckKid, typ: "JWT" })
        .setIssuer(`https://firebaseappcheck.googleapis.com/${APP_CHECK_PROJECT}`)
        .setAudience(claims.aud ?? `projects/${APP_CHECK_PROJECT}`)
        .setSubject(claims.sub ?? APP_CHECK_APP)
        .setIssuedAt()
        .setExpirationTime(claims.exp ?? Math.floor(Date.now() / 1000) + 3600)
        .sign(key);
    const app = await newApp({
      ios_bundle_ids: ["com.example.game"],
      proofs: ["app_check"],
      app_check_project: APP_CHECK_PROJECT,
      app_check_app_ids: [APP_CHECK_APP],
    });
    const exchangeWith = async (token: string) => {
      const { response } = await callWorker(
        new Request(`${BASE}/auth/attest`, {
          method: "POST",
          headers: { "content-type": "application/json", "cf-connecting-ip": freshIp() },
          body: JSON.stringify({
            publishable_key: app.publishable_key,
            bundle_id: "com.example.game",
            proof: { type: "app_check", token },
          }),
        }),
        bindings,
      );
      return { status: response.status, message: response.status === 200 ? "" : (await errorOf(response)).message };
    };
    expect(await exchangeWith(await sign({}))).toEqual({ status: 200, message: "" });
    expect(await exchangeWith(await sign({}, forger.privateKey))).toEqual({
      status: 401,
      message: "The App Check token was refused: its signature is invalid.",
    });
    expect(await exchangeWith(await sign({ exp: Math.floor(Date.now() / 1000) - 120 }))).toEqual({
      status: 401,
      message: "The App Check token was refused: it has expired.",
    });
    expect(await exchangeWith(await sign({ aud: "projects/999" }))).toEqual({
      status: 401,
      message: "The App Check token was refused: it is for another Firebase project.",
    });
    expect(await exchangeWith(await sign({ sub: "1:123456789:android:ffff" }))).toEqual({
      status: 401,
      message: "The App Check token was refused: it was issued to a Firebase app this app does not list.",
    });
    expect((await exchangeWith("not-a-jwt")).status).toBe(401);
  });
});
