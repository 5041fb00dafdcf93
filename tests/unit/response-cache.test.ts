import { describe, expect, it } from "vitest";
import type { Principal } from "../../src/auth/principal.ts";
import { cacheKey, cacheScope, decide, filtered } from "../../src/cache/response-cache.ts";
import type { Config } from "../../src/config/index.ts";

const config = (maxTtlSeconds = 86_400) => ({ responseCache: { maxTtlSeconds } }) as Config;
const key = (ttlSeconds: number | null, scope: "key" | "team" = "key", teamId: string | null = "t1") =>
  ({ type: "key", id: "k1", keyId: "k1", teamId, cache: { ttlSeconds, scope } }) as unknown as Principal;
const admin: Principal = { type: "admin", id: "admin" };

describe("whether a request is cached", () => {
  const at = (input: Partial<Parameters<typeof decide>[0]>) =>
    decide({ header: undefined, principal: admin, modelTtlSeconds: null, temperature: undefined, config: config(), ...input });

  it("is off unless a header, the key or the model asks", () => {
    expect(at({})).toEqual({ kind: "off" });
    expect(at({ header: "ttl=60" })).toEqual({ kind: "on", ttlSeconds: 60 });
    expect(at({ principal: key(300), temperature: 0 })).toEqual({ kind: "on", ttlSeconds: 300 });
    expect(at({ modelTtlSeconds: 120, temperature: 0 })).toEqual({ kind: "on", ttlSeconds: 120 });
    // The key's setting comes before the model's.
    expect(at({ principal: key(300), modelTtlSeconds: 120, temperature: 0 })).toEqual({ kind: "on", ttlSeconds: 300 });
  });

  it("keeps nothing of a judge's call made for a caller whose prompts are kept nowhere", () => {
    const clinic = { type: "key", id: "k2", policy: { zero_retention: true } } as unknown as Principal;
    const elsewhere = { type: "key", id: "k3", policy: {} } as unknown as Principal;
    // The judge calls as the gateway (the admin): the model's setting would cache a deterministic verdict.
    expect(at({ modelTtlSeconds: 3600, temperature: 0 })).toEqual({ kind: "on", ttlSeconds: 3600 });
    expect(at({ behalf: clinic, modelTtlSeconds: 3600, temperature: 0 })).toEqual({ kind: "bypass" });
    expect(at({ behalf: clinic, header: "ttl=60" })).toEqual({ kind: "bypass" });
    expect(at({ behalf: elsewhere, modelTtlSeconds: 3600, temperature: 0 })).toEqual({ kind: "on", ttlSeconds: 3600 });
  });

  it("caches sampled requests only when the request itself asks", () => {
    expect(at({ principal: key(300), temperature: 0.7 })).toEqual({ kind: "bypass" });
    expect(at({ principal: key(300), temperature: 0 })).toEqual({ kind: "on", ttlSeconds: 300 });
    // No temperature: the provider's default, which samples.
    expect(at({ principal: key(300) })).toEqual({ kind: "bypass" });
    expect(at({ modelTtlSeconds: 120 })).toEqual({ kind: "bypass" });
    expect(at({ header: "ttl=30", temperature: 1.2 })).toEqual({ kind: "on", ttlSeconds: 30 });
  });

  it("skips on no-store or ttl=0, bounds every TTL, and is off when the bound is 0", () => {
    expect(at({ principal: key(300), header: "no-store" })).toEqual({ kind: "bypass" });
    expect(at({ header: "NO-STORE" })).toEqual({ kind: "bypass" });
    expect(at({ header: "ttl=0" })).toEqual({ kind: "bypass" });
    expect(at({ header: "ttl=999999", config: config(3600) })).toEqual({ kind: "on", ttlSeconds: 3600 });
    expect(at({ header: "ttl=60", config: config(0) })).toEqual({ kind: "off" });
  });

  it("refuses a header it cannot read", () => {
    for (const header of ["ttl", "ttl=-1", "ttl=1.5", "max-age=60", "ttl=60, no-store"]) {
      expect(() => at({ header }), header).toThrow("`x-sluice-cache` must be `ttl=<seconds>` or `no-store`.");
    }
  });
});

describe("the cache key", () => {
  const parts = {
    scope: "key:k1",
    format: "openai",
    path: "/v1/chat/completions",
    provider: "openai",
    upstreamModel: "gpt-4o",
    headers: new Headers({ "anthropic-version": "2023-06-01" }),
  };

  it("is the same however the body's fields are ordered, and differs with anything that changes the answer", async () => {
    const a = await cacheKey({ ...parts, body: { model: "m", messages: [{ role: "user", content: "hi" }], temperature: 0 } });
    const b = await cacheKey({ ...parts, body: { temperature: 0, messages: [{ content: "hi", role: "user" }], model: "m" } });
    expect(a).toBe(b);
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    const body = { model: "m", messages: [{ role: "user", content: "hi" }], temperature: 0 };
    const others = await Promise.all([
      cacheKey({ ...parts, body: { ...body, temperature: 0.1 } }),
      cacheKey({ ...parts, body: { ...body, messages: [{ role: "user", content: "hi!" }] } }),
      cacheKey({ ...parts, scope: "key:k2", body }),
      cacheKey({ ...parts, provider: "azure", body }),
      cacheKey({ ...parts, path: "/v1/completions", body }),
      cacheKey({ ...parts, body: { ...body, stream: true } }),
      // Headers that go upstream and change the answer.
      cacheKey({ ...parts, headers: new Headers({ "anthropic-version": "2023-06-01", "anthropic-beta": "x" }), body }),
      cacheKey({ ...parts, headers: new Headers(), body }),
    ]);
    expect(new Set([a, ...others]).size).toBe(9);
    // Headers that do not.
    expect(
      await cacheKey({ ...parts, headers: new Headers({ "anthropic-version": "2023-06-01", "user-agent": "x" }), body }),
    ).toBe(a);
  });

  it("is scoped to the key, the user, or the team when the key shares it", () => {
    expect(cacheScope(key(60))).toBe("key:k1");
    expect(cacheScope(key(60, "team"))).toBe("team:t1");
    // A key with no team has nobody to share with.
    expect(cacheScope(key(60, "team", null))).toBe("key:k1");
    expect(cacheScope({ type: "user", id: "u1", teamId: "t1", cacheScope: "user" } as Principal)).toBe("user:u1");
    // A team that shares its cache: its users share it too.
    expect(cacheScope({ type: "user", id: "u1", teamId: "t1", cacheScope: "team" } as Principal)).toBe("team:t1");
    expect(cacheScope(admin)).toBe("admin");
  });
});

describe("filtered answers", () => {
  it("are recognised in every format", () => {
    expect(filtered('{"choices":[{"finish_reason":"content_filter"}]}')).toBe(true);
    expect(filtered('data: {"delta":{"stop_reason":"refusal"}}')).toBe(true);
    expect(filtered('{"candidates":[{"finishReason":"SAFETY"}]}')).toBe(true);
    expect(filtered('{"incomplete_details":{"reason":"content_filter"}}')).toBe(true);
    // A refusal, a prompt Gemini blocked, Gemini's other safety finishes.
    expect(filtered('{"choices":[{"finish_reason":"stop","message":{"content":null,"refusal":"I can\'t help"}}]}')).toBe(true);
    expect(filtered('{"promptFeedback":{"blockReason":"SAFETY"},"usageMetadata":{}}')).toBe(true);
    expect(filtered('{"candidates":[{"finishReason":"IMAGE_SAFETY"}]}')).toBe(true);
    expect(filtered('{"output":[{"content":[{"type":"refusal","refusal":"no"}]}]}')).toBe(true);
    expect(filtered('{"choices":[{"finish_reason":"stop","message":{"content":"content_filter","refusal":null}}]}')).toBe(false);
  });
});
