// Data controls: the providers a caller's traffic may reach, set in its
// settings at any level, held in routing (a 403 for the route's own target)
// and in failover (a fallback the caller may not reach is passed over).
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
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
