// Data controls: the providers and regions a caller's traffic may reach, set
// in its settings at any level, held in routing (a 403 for the route's own
// target) and in failover (a fallback the caller may not reach is passed over).
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import {
  MOCK_AWS_ACCESS_KEY_ID,
  MOCK_AWS_SECRET_ACCESS_KEY,
  MOCK_VERTEX_ACCOUNT_PATH,
} from "../dev/mock-upstream/credentials.ts";
import { BASE, callWorker, mockProviderBindings, TEST_ADMIN_KEY, upstreamRequest, usageRow } from "./helpers.ts";
import { uniqueId } from "./identity.ts";

async function admin(method: string, path: string, body?: unknown) {
  const { response } = await callWorker(
    new Request(`${BASE}${path}`, {
      method,
      headers: { authorization: `Bearer ${TEST_ADMIN_KEY}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    }),
    mockProviderBindings,
  );
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function keyWith(settings: Record<string, unknown>, extra: Record<string, unknown> = {}): Promise<string> {
  const made = await admin("POST", "/admin/keys", { settings, ...extra });
  expect(made.status).toBe(201);
  return String(made.body.key);
}

const chatAs = (key: string, model: string, headers: Record<string, string> = {}) =>
  callWorker(
    new Request(`${BASE}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json", ...headers },
      body: JSON.stringify({ model, messages: [{ role: "user", content: "where do I go" }] }),
    }),
    mockProviderBindings,
  );

describe("allowed and denied providers", () => {
  it("refuse the route's own target with a 403 in the caller's format, and let an allowed one through", async () => {
    const key = await keyWith({ allowed_providers: ["anthropic"] });
    const refused = await chatAs(key, "openai/mock-echo");
    expect(refused.response.status).toBe(403);
    expect(await refused.response.json()).toEqual({
      error: {
        message: "This caller's data controls do not allow the provider `openai` (which serves `openai/mock-echo`).",
        type: "permission_error",
        code: "provider_not_allowed",
        param: "model",
      },
    });
    await refused.settled();
    await expect(upstreamRequest(refused.response.headers.get("x-request-id") ?? "")).rejects.toThrow();
    const allowed = await chatAs(key, "anthropic/mock-echo");
    expect(allowed.response.status).toBe(200);
    await allowed.response.text();
    await allowed.settled();
  });

  it("never loosen: a key cannot allow what its team denies, nor widen its team's allowlist", async () => {
    const team = uniqueId("dc-team");
    expect(
      (
        await admin("POST", "/admin/teams", {
          id: team,
          settings: { allowed_providers: ["openai", "anthropic"], denied_providers: ["anthropic"] },
        })
      ).status,
    ).toBe(201);
    const key = await keyWith({ allowed_providers: ["anthropic", "gemini"] }, { team_id: team });
    // Allowed: the team's [openai, anthropic] narrowed by the key's [anthropic, gemini] is [anthropic], which the team denies.
    for (const model of ["openai/mock-echo", "anthropic/mock-echo", "gemini/mock-echo"]) {
      const done = await chatAs(key, model);
      expect(done.response.status).toBe(403);
      await done.response.text();
    }
    const open = await keyWith({}, { team_id: team });
    expect((await chatAs(open, "openai/mock-echo")).response.status).toBe(200);
    expect((await chatAs(open, "anthropic/mock-echo")).response.status).toBe(403);
  });

  it("pass over a fallback the caller may not reach, so failover never carries the prompt there", async () => {
    const primaryProvider = uniqueId("dc-p");
    const backupProvider = uniqueId("dc-b");
    const primary = uniqueId("dc-primary");
    const backup = uniqueId("dc-backup");
    for (const [id, kind] of [
      [primaryProvider, "mock"],
      [backupProvider, "anthropic"],
    ]) {
      expect((await admin("POST", "/admin/providers", { id, kind, base_url: env.MOCK_BASE_URL })).status).toBe(201);
    }
    expect(
      (
        await admin("POST", "/admin/models", {
          id: primary,
          provider: primaryProvider,
          upstream_id: "mock-echo",
          fallbacks: [backup],
        })
      ).status,
    ).toBe(201);
    expect(
      (await admin("POST", "/admin/models", { id: backup, provider: backupProvider, upstream_id: "mock-echo" })).status,
    ).toBe(201);

    const free = await keyWith({});
    const failedOver = await chatAs(free, primary, { "x-mock-fail": "503" });
    expect(failedOver.response.status).toBe(200);
    expect(failedOver.response.headers.get("x-sluice-provider")).toBe(backupProvider);
    await failedOver.response.text();

    const pinned = await keyWith({ denied_providers: [backupProvider] });
    const held = await chatAs(pinned, primary, { "x-mock-fail": "503" });
    expect(held.response.status).toBe(503);
    // Every attempt stayed on the primary (retried there as routing says); none reached the backup.
    expect(held.response.headers.get("x-sluice-provider")).toBe(primaryProvider);
    await held.response.text();
    await held.settled();
    const row = await usageRow(held.response.headers.get("x-request-id") ?? "");
    const route = (row?.metadata.route ?? []) as { provider: string }[];
    expect(route.length).toBeGreaterThan(0);
    expect(route.every((step) => step.provider === primaryProvider)).toBe(true);
  });
});

const mockBase = String(env.MOCK_BASE_URL).replace(/\/v1$/, "");
const vertexAccount = (await (await fetch(`${mockBase}${MOCK_VERTEX_ACCOUNT_PATH}`)).json()) as Record<string, string>;
const bedrockCredential = { access_key_id: MOCK_AWS_ACCESS_KEY_ID, secret_access_key: MOCK_AWS_SECRET_ACCESS_KEY };

/** A catalog provider at the mock upstream, in `region` (none: unknown), with a stored credential where its kind needs one. */
async function providerIn(kind: "bedrock" | "vertex" | "mock", region?: string): Promise<string> {
  const id = uniqueId(`dc-${kind}`);
  const base_url = kind === "mock" ? env.MOCK_BASE_URL : mockBase;
  const made = await admin("POST", "/admin/providers", { id, kind, base_url, ...(region && { region }) });
  expect(made.status).toBe(201);
  // The credentials name another region: the provider's own is the one called.
  const credential = {
    bedrock: { ...bedrockCredential, region: "us-west-2" },
    vertex: { ...vertexAccount, location: "us-central1" },
  };
  if (kind !== "mock")
    expect((await admin("POST", "/admin/credentials", { provider: id, credential: credential[kind] })).status).toBe(201);
  return id;
}

const messagesAs = (key: string, model: string) =>
  callWorker(
    new Request(`${BASE}/v1/messages`, {
      method: "POST",
      headers: { "x-api-key": key, "content-type": "application/json", "anthropic-version": "2023-06-01" },
      body: JSON.stringify({ model, max_tokens: 20, messages: [{ role: "user", content: "where do I go" }] }),
    }),
    mockProviderBindings,
  );

describe("allowed regions", () => {
  it("let an EU-pinned caller reach Bedrock and Vertex AI in the EU, called in the provider's region", async () => {
    const key = await keyWith({ allowed_regions: ["eu"] });
    const bedrock = await providerIn("bedrock", "eu-west-1");
    const sent = await chatAs(key, `${bedrock}/mock-echo`);
    expect(sent.response.status).toBe(200);
    expect(sent.response.headers.get("x-sluice-provider")).toBe(bedrock);
    await sent.response.text();
    await sent.settled();
    const upstream = await upstreamRequest(sent.response.headers.get("x-request-id") ?? "");
    expect(upstream.path).toBe("/model/mock-echo/converse");
    expect(upstream.headers.authorization).toMatch(/\/\d{8}\/eu-west-1\/bedrock\/aws4_request/);

    const vertex = await providerIn("vertex", "europe-west4");
    const viaVertex = await chatAs(key, `${vertex}/mock-echo`);
    expect(viaVertex.response.status).toBe(200);
    await viaVertex.response.text();
    await viaVertex.settled();
    const vertexUpstream = await upstreamRequest(viaVertex.response.headers.get("x-request-id") ?? "");
    expect(vertexUpstream.path).toMatch(
      /^\/v1\/projects\/[^/]+\/locations\/europe-west4\/publishers\/google\/models\/mock-echo:generateContent$/,
    );
  });

  it("read a Bedrock inference profile's geography as where it runs, whatever region the provider calls", async () => {
    const key = await keyWith({ allowed_regions: ["eu"] });
    const bedrock = await providerIn("bedrock", "eu-west-1");
    for (const [profile, region] of [
      ["us.mock-echo", "us"],
      ["global.mock-echo", "global"],
    ]) {
      const refused = await chatAs(key, `${bedrock}/${profile}`);
      expect(await refused.response.json()).toMatchObject({
        error: { code: "region_not_allowed", message: expect.stringContaining(`in the region \`${region}\``) },
      });
      await refused.settled();
      await expect(upstreamRequest(refused.response.headers.get("x-request-id") ?? "")).rejects.toThrow();
    }
    // An EU profile stays in the EU, called from an EU region: sent (the mock knows no such model, and says so).
    const served = await chatAs(key, `${bedrock}/eu.mock-echo`);
    expect(served.response.status).toBe(404);
    await served.response.text();
    await served.settled();
    const upstream = await upstreamRequest(served.response.headers.get("x-request-id") ?? "");
    expect(upstream.path).toBe("/model/eu.mock-echo/converse");
  });

  it("refuse a US deployment with a 403 region_not_allowed in the caller's format, before anything is sent", async () => {
    const key = await keyWith({ allowed_regions: ["eu"] });
    const us = await providerIn("bedrock", "us-east-1");
    const refused = await chatAs(key, `${us}/mock-echo`);
    expect(refused.response.status).toBe(403);
    const message = `This caller's data controls do not allow the provider \`${us}\` (which serves \`${us}/mock-echo\`) in the region \`us-east-1\`.`;
    expect(await refused.response.json()).toEqual({
      error: { message, type: "permission_error", code: "region_not_allowed", param: "model" },
    });
    await refused.settled();
    await expect(upstreamRequest(refused.response.headers.get("x-request-id") ?? "")).rejects.toThrow();

    const anthropic = await messagesAs(key, `${us}/mock-echo`);
    expect(anthropic.response.status).toBe(403);
    expect(await anthropic.response.json()).toEqual({ type: "error", error: { type: "permission_error", message } });
    await anthropic.settled();
  });

  it("refuse a provider whose region is unknown: a pin fails closed", async () => {
    const key = await keyWith({ allowed_regions: ["eu", "us", "global"] });
    const unknown = await providerIn("mock");
    const refused = await chatAs(key, `${unknown}/mock-echo`);
    expect(refused.response.status).toBe(403);
    expect(await refused.response.json()).toMatchObject({
      error: {
        code: "region_not_allowed",
        message: `This caller's data controls do not allow the provider \`${unknown}\` (which serves \`${unknown}/mock-echo\`) in a region that is not known (it must be set for the provider).`,
      },
    });
    await refused.settled();
    // The built-in providers at the mock upstream say no region either: embeddings are held the same.
    const embedded = await callWorker(
      new Request(`${BASE}/v1/embeddings`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify({ model: "openai/text-embedding-3-small", input: "hello" }),
      }),
      mockProviderBindings,
    );
    expect(embedded.response.status).toBe(403);
    expect(await embedded.response.json()).toMatchObject({ error: { code: "region_not_allowed" } });
    await embedded.settled();
  });

  it("pass over a US fallback to reach an EU one", async () => {
    const euPrimary = await providerIn("mock", "eu-west-1");
    const usBackup = await providerIn("mock", "us-east-1");
    const euBackup = await providerIn("mock", "europe-west4");
    const [primary, viaUs, viaEu] = [uniqueId("dc-r1"), uniqueId("dc-r2"), uniqueId("dc-r3")];
    for (const [id, provider, upstream, fallbacks] of [
      [primary, euPrimary, "mock-echo", [viaUs, viaEu]],
      [viaUs, usBackup, "mock-lorem", []],
      [viaEu, euBackup, "mock-lorem", []],
    ] as const) {
      const made = await admin("POST", "/admin/models", { id, provider, upstream_id: upstream, fallbacks });
      expect(made.status).toBe(201);
    }
    // Only the primary's model fails upstream; each backup would answer.
    const failing = { "x-mock-fail": "503", "x-mock-fail-model": "mock-echo" };
    const routeOf = async (key: string) => {
      const done = await chatAs(key, primary, failing);
      expect(done.response.status).toBe(200);
      const provider = done.response.headers.get("x-sluice-provider");
      await done.response.text();
      await done.settled();
      const row = await usageRow(done.response.headers.get("x-request-id") ?? "");
      return { provider, tried: ((row?.metadata.route ?? []) as { provider: string }[]).map((step) => step.provider) };
    };
    const pinned = await routeOf(await keyWith({ allowed_regions: ["eu"] }));
    expect(pinned.provider).toBe(euBackup);
    expect(pinned.tried).toContain(euPrimary);
    expect(pinned.tried).not.toContain(usBackup);
    // Without the pin the US backup, first in the chain, answers.
    expect((await routeOf(await keyWith({}))).provider).toBe(usBackup);
  });

  it("narrow across team and key: the key's exact region inside the team's jurisdiction, never beyond it", async () => {
    const team = uniqueId("dc-region-team");
    expect((await admin("POST", "/admin/teams", { id: team, settings: { allowed_regions: ["eu"] } })).status).toBe(201);
    const key = await keyWith({ allowed_regions: ["eu-west-1", "us-east-1"] }, { team_id: team });
    const [ireland, frankfurt, virginia] = [
      await providerIn("mock", "eu-west-1"),
      await providerIn("mock", "eu-central-1"),
      await providerIn("mock", "us-east-1"),
    ];
    const statuses: number[] = [];
    for (const provider of [ireland, frankfurt, virginia]) {
      const done = await chatAs(key, `${provider}/mock-echo`);
      statuses.push(done.response.status);
      await done.response.text();
      await done.settled();
    }
    expect(statuses).toEqual([200, 403, 403]);
    const teamOnly = await keyWith({}, { team_id: team });
    expect((await chatAs(teamOnly, `${frankfurt}/mock-echo`)).response.status).toBe(200);
  });

  it("are checked by the admin API: a region must be one, and agree with the base URL's host", async () => {
    const badSetting = await admin("POST", "/admin/keys", { settings: { allowed_regions: ["EU West"] } });
    expect(badSetting.status).toBe(400);
    expect(JSON.stringify(badSetting.body)).toContain("must be a region (eu-west-1) or a jurisdiction (eu, us, global)");
    const badRegion = await admin("POST", "/admin/providers", { id: uniqueId("dc-bad"), kind: "mock", region: "EU" });
    expect(badRegion.status).toBe(400);
    expect(JSON.stringify(badRegion.body)).toContain("must be a region, like eu-west-1, europe-west4 or westeurope");
    const clash = await admin("POST", "/admin/providers", {
      id: uniqueId("dc-clash"),
      kind: "bedrock",
      base_url: "https://bedrock-runtime.us-east-1.amazonaws.com",
      region: "eu-west-1",
    });
    expect(clash.status).toBe(400);
    expect(clash.body).toMatchObject({
      error: { message: "Invalid `region`: the base URL's host is in `us-east-1`, not `eu-west-1`.", param: "region" },
    });
    const id = uniqueId("dc-eu");
    const made = await admin("POST", "/admin/providers", { id, kind: "openai", base_url: "https://eu.api.openai.com/v1" });
    expect(made.body).toMatchObject({ region: null, jurisdiction: "eu" });
    const moved = await admin("PATCH", `/admin/providers/${id}`, { region: "us-east-1" });
    expect(moved.status).toBe(400);
    expect((await admin("PATCH", `/admin/providers/${id}`, { base_url: mockBase, region: "us-east-1" })).body).toMatchObject({
      region: "us-east-1",
      jurisdiction: "us",
    });
  });
});
