// Provider credentials: users' own keys (BYOK) sealed at rest and used for
// their owner only; several weighted credentials per provider with limits of
// their own; and rotation to a new key-encryption key.
import { env } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../src/config/index.ts";
import { open, type Sealed, seal } from "../src/credentials/envelope.ts";
import { providerAccounts, providerCredentials } from "../src/db/schema.ts";
import { BASE, callWorker, db, TEST_ADMIN_KEY, upstreamRequest, usageRow } from "./helpers.ts";
import { admin, appToken, chatAs, uniqueId } from "./identity.ts";
import { TEST_ENCRYPTION_KEY, TEST_ENCRYPTION_KEY_NEXT } from "./setup/constants.ts";

/** A provider of its own at the mock upstream, with a model served by it. */
async function providerWithModel(name: string) {
  const provider = uniqueId(name);
  const model = uniqueId(`${name}-model`);
  expect((await admin("POST", "/admin/providers", { id: provider, kind: "mock", base_url: env.MOCK_BASE_URL })).status).toBe(201);
  expect((await admin("POST", "/admin/models", { id: model, provider, upstream_id: "mock-echo" })).status).toBe(201);
  return { provider, model };
}

function providerKeys(method: string, token: string, body?: unknown, path = "") {
  return new Request(`${BASE}/api/provider-keys${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

/** Which key the upstream was called with. */
async function keyUsed(response: Response): Promise<string | undefined> {
  await response.arrayBuffer();
  const requestId = response.headers.get("x-request-id") ?? "";
  return (await upstreamRequest(requestId)).headers.authorization?.replace(/^Bearer /, "");
}

describe("a user's own provider key", () => {
  const ownKey = `sk-own-${crypto.randomUUID()}`;
  const globalKey = `sk-global-${crypto.randomUUID()}`;
  let route: { provider: string; model: string };
  let owner: string;
  let other: string;

  beforeAll(async () => {
    route = await providerWithModel("byok");
    owner = await appToken({ sub: uniqueId("byok-owner") });
    other = await appToken({ sub: uniqueId("byok-other") });
    expect((await admin("POST", "/admin/credentials", { provider: route.provider, api_key: globalKey })).status).toBe(201);
  });

  it("is stored sealed, with no plain text anywhere in its row, and never shown again", async () => {
    const { response } = await callWorker(providerKeys("PUT", owner, { provider: route.provider, api_key: ownKey }));
    expect(response.status).toBe(201);
    const text = await response.text();
    expect(text).not.toContain(ownKey);
    const view = JSON.parse(text) as Record<string, unknown>;
    expect(view).toMatchObject({ provider: route.provider, owner_type: "user", key_display: `…${ownKey.slice(-4)}` });
    expect(view).not.toHaveProperty("api_key");
    expect(view).not.toHaveProperty("ciphertext");

    const [row] = await db()
      .select()
      .from(providerCredentials)
      .where(eq(providerCredentials.id, String(view.id)));
    expect(row).toBeDefined();
    expect(JSON.stringify(row)).not.toContain(ownKey);
    expect(JSON.stringify(row)).not.toContain(btoa(ownKey).slice(0, 16));
    expect(row).toMatchObject({ ownerType: "user", kekVersion: 1 });

    const listed = await callWorker(providerKeys("GET", owner));
    expect(await listed.response.text()).not.toContain(ownKey);
    const adminList = await admin("GET", `/admin/credentials?provider=${route.provider}`);
    expect(JSON.stringify(adminList.body)).not.toContain(ownKey);
    expect(JSON.stringify(adminList.body)).not.toContain(globalKey);
  });

  it("is used for its owner's requests, and only theirs", async () => {
    const mine = await callWorker(chatAs(owner, { model: route.model }));
    expect(mine.response.status).toBe(200);
    expect(await keyUsed(mine.response)).toBe(ownKey);
    await mine.settled();
    const row = await usageRow(mine.response.headers.get("x-request-id") ?? "");
    expect(row?.metadata.route).toMatchObject([{ provider: route.provider, outcome: "ok" }]);
    expect(JSON.stringify(row)).not.toContain(ownKey);

    const theirs = await callWorker(chatAs(other, { model: route.model }));
    expect(await keyUsed(theirs.response)).toBe(globalKey);
    const admins = await callWorker(chatAs(TEST_ADMIN_KEY, { model: route.model }));
    expect(await keyUsed(admins.response)).toBe(globalKey);
  });

  it("serves a key its user minted themself, never one an admin bound to them", async () => {
    const userId = uniqueId("byok-minter");
    const token = await appToken({ sub: userId });
    const theirKey = `sk-minter-${crypto.randomUUID()}`;
    expect((await callWorker(providerKeys("PUT", token, { provider: route.provider, api_key: theirKey }))).response.status).toBe(
      201,
    );
    const minted = await callWorker(
      new Request(`${BASE}/api/keys`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: "{}",
      }),
    );
    expect(minted.response.status).toBe(201);
    const { key: own, id: ownId } = (await minted.response.json()) as { key: string; id: string };
    expect(await keyUsed((await callWorker(chatAs(own, { model: route.model }))).response)).toBe(theirKey);
    // A key an administrator gave them is theirs for spend and limits, not for their account at the provider.
    const given = await admin("POST", "/admin/keys", { user_id: userId });
    expect(given.status).toBe(201);
    const bound = await callWorker(chatAs(String(given.body.key), { model: route.model }));
    expect(bound.response.status).toBe(200);
    expect(await keyUsed(bound.response)).toBe(globalKey);
    // Nor does their own key once an administrator rotated it: the new secret is the administrator's.
    const rotated = await admin("POST", `/admin/keys/${ownId}/rotate`);
    expect(rotated.status).toBe(201);
    expect(await keyUsed((await callWorker(chatAs(String(rotated.body.key), { model: route.model }))).response)).toBe(globalKey);
  });

  it("keeps the key out of errors the upstream quotes it in", async () => {
    const rejected = `sk-reject-${crypto.randomUUID()}`;
    await callWorker(providerKeys("PUT", owner, { provider: route.provider, api_key: rejected }));
    const { response } = await callWorker(chatAs(owner, { model: route.model }));
    expect(response.status).toBe(401);
    expect(await response.text()).not.toContain(rejected);
    // Put back for the tests that follow.
    expect((await callWorker(providerKeys("PUT", owner, { provider: route.provider, api_key: ownKey }))).response.status).toBe(
      200,
    );
  });

  it("is only for signed-in users, and goes when they delete it", async () => {
    const { response } = await callWorker(providerKeys("PUT", TEST_ADMIN_KEY, { provider: route.provider, api_key: "sk-x" }));
    expect(response.status).toBe(403);
    const bad = await callWorker(providerKeys("PUT", owner, { provider: route.provider }));
    expect(bad.response.status).toBe(400);

    const gone = await callWorker(providerKeys("DELETE", owner, undefined, `/${route.provider}`));
    expect(await gone.response.json()).toEqual({ provider: route.provider, deleted: 1 });
    const after = await callWorker(chatAs(owner, { model: route.model }));
    expect(await keyUsed(after.response)).toBe(globalKey);
  });
});

describe("several credentials for one provider", () => {
  it("spreads calls by weight, keeps each within its own limits, and skips a disabled one", async () => {
    const route = await providerWithModel("multi");
    const limited = `sk-limited-${crypto.randomUUID()}`;
    const open = `sk-open-${crypto.randomUUID()}`;
    const disabled = `sk-disabled-${crypto.randomUUID()}`;
    for (const body of [
      { api_key: limited, weight: 1000, rpm_limit: 2 },
      { api_key: open, weight: 1 },
      { api_key: disabled, weight: 1000, disabled: true },
    ]) {
      expect((await admin("POST", "/admin/credentials", { provider: route.provider, ...body })).status).toBe(201);
    }
    const bindings = { ...env };
    const used: (string | undefined)[] = [];
    for (let i = 0; i < 5; i++) {
      const { response, settled } = await callWorker(chatAs(TEST_ADMIN_KEY, { model: route.model }), bindings);
      expect(response.status).toBe(200);
      used.push(await keyUsed(response));
      await settled();
    }
    expect(used).not.toContain(disabled);
    // The heavy credential takes the calls its requests-per-minute limit allows; the other takes the rest.
    expect(used.filter((key) => key === limited).length).toBeLessThanOrEqual(2);
    expect(used.filter((key) => key === open).length).toBeGreaterThanOrEqual(3);
  });

  it("moves to another credential at once when one is rate-limited upstream", async () => {
    const route = await providerWithModel("standby");
    const busy = `sk-busy-${crypto.randomUUID()}`;
    const standby = `sk-standby-${crypto.randomUUID()}`;
    await admin("POST", "/admin/credentials", { provider: route.provider, api_key: busy, weight: 1 });
    // Weight 0: a standby, used only when the others fail.
    await admin("POST", "/admin/credentials", { provider: route.provider, api_key: standby, weight: 0 });
    const began = Date.now();
    const { response, settled } = await callWorker(
      chatAs(TEST_ADMIN_KEY, { model: route.model }, { "x-mock-fail": "429", "x-mock-fail-credential": busy }),
      { ...env, UPSTREAM_RETRIES: "1", RETRY_BACKOFF: "5s" },
    );
    expect(response.status).toBe(200);
    expect(Date.now() - began).toBeLessThan(2000);
    expect(response.headers.get("x-sluice-attempts")).toBe("2");
    expect(await keyUsed(response)).toBe(standby);
    await settled();
    const row = await usageRow(response.headers.get("x-request-id") ?? "");
    const route_ = row?.metadata.route as { credential: string; outcome: string }[];
    expect(route_.map((step) => step.outcome)).toEqual(["429", "ok"]);
    expect(route_[0]?.credential).not.toBe(route_[1]?.credential);
  });
});

describe("rotating the key-encryption key", () => {
  it("rewraps every stored key under the new one, and the keys still open", async () => {
    const route = await providerWithModel("rotate");
    const secret = `sk-rotate-${crypto.randomUUID()}`;
    const created = await admin("POST", "/admin/credentials", { provider: route.provider, api_key: secret });
    const id = String(created.body.id);
    const rowOf = async () => (await db().select().from(providerCredentials).where(eq(providerCredentials.id, id)))[0];
    const before = await rowOf();
    expect(before?.kekVersion).toBe(1);
    // A user's connected Google account, sealed the same way under the same key.
    const owner = uniqueId("kek-owner");
    expect((await admin("POST", "/admin/users", { id: owner })).status).toBe(201);
    const accountId = uniqueId("acct");
    const context = `sluice:account:${accountId}:google:${owner}`;
    const sealed = await seal("1//refresh-kek", context, parseConfig(env).encryption);
    await db()
      .insert(providerAccounts)
      .values({ id: accountId, userId: owner, provider: "google", ...sealed });
    const accountOf = async () => (await db().select().from(providerAccounts).where(eq(providerAccounts.id, accountId)))[0];

    // The new key is current; the old one stays readable until everything is rewrapped.
    const rotating = { ...env, ENCRYPTION_KEY: TEST_ENCRYPTION_KEY_NEXT, ENCRYPTION_KEY_PREVIOUS: `v1:${TEST_ENCRYPTION_KEY}` };
    const call = async (request: Request, bindings: object) => (await callWorker(request, bindings)).response;
    const adminRequest = (method: string, path: string) =>
      new Request(`${BASE}${path}`, { method, headers: { authorization: `Bearer ${TEST_ADMIN_KEY}` } });
    expect(await keyUsed(await call(chatAs(TEST_ADMIN_KEY, { model: route.model }), rotating))).toBe(secret);

    const rotated = await call(adminRequest("POST", "/admin/credentials/rotate"), rotating);
    expect(rotated.status).toBe(200);
    const result = (await rotated.json()) as { kek_version: number; rewrapped: number };
    expect(result.kek_version).toBe(2);
    expect(result.rewrapped).toBeGreaterThanOrEqual(1);

    const after = await rowOf();
    expect(after).toMatchObject({ kekVersion: 2, ciphertext: before?.ciphertext, iv: before?.iv });
    expect(after?.wrappedKey).not.toBe(before?.wrappedKey);
    // The account too: once the old key is gone it still opens.
    const account = await accountOf();
    expect(account).toMatchObject({ kekVersion: 2, ciphertext: sealed.ciphertext });
    expect(
      await open(account as Sealed, context, parseConfig({ ...env, ENCRYPTION_KEY: TEST_ENCRYPTION_KEY_NEXT }).encryption),
    ).toBe("1//refresh-kek");
    // Only the new key now: the stored key still opens, and new keys are sealed under it.
    const onlyNext = { ...env, ENCRYPTION_KEY: TEST_ENCRYPTION_KEY_NEXT };
    expect(await keyUsed(await call(chatAs(TEST_ADMIN_KEY, { model: route.model }), onlyNext))).toBe(secret);
    // A deployment without the key a credential is sealed under cannot use it, and says so without a 500.
    const unreadable = await call(chatAs(TEST_ADMIN_KEY, { model: route.model }), { ...env });
    expect(unreadable.status).toBe(503);
    expect(await unreadable.text()).not.toContain(secret);
    // Back to the suite's key for whatever runs next.
    const back = { ...env, ENCRYPTION_KEY: TEST_ENCRYPTION_KEY, ENCRYPTION_KEY_PREVIOUS: TEST_ENCRYPTION_KEY_NEXT };
    expect((await call(adminRequest("POST", "/admin/credentials/rotate"), back)).status).toBe(200);
    expect((await rowOf())?.kekVersion).toBe(1);
  });

  it("refuses a malformed key-encryption key by name", async () => {
    const response = await call500({ ...env, ENCRYPTION_KEY: "not-base64-32-bytes" });
    expect(response).toContain("ENCRYPTION_KEY");
    expect(response).not.toContain("not-base64-32-bytes");
  });
});

async function call500(bindings: object): Promise<string> {
  const { response } = await callWorker(new Request(`${BASE}/health`), bindings);
  expect(response.status).toBe(500);
  return await response.text();
}
