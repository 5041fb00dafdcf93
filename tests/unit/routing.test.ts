// Which provider serves a model name, from the descriptors' own rules, and
// the calendar windows quotas reset on.
import { describe, expect, it } from "vitest";
import { assertDeploymentAllowed, isDeploymentAllowed } from "../../src/auth/index.ts";
import type { Principal } from "../../src/auth/principal.ts";
import { parseConfig } from "../../src/config/index.ts";
import { budgetWindow, windowsAt } from "../../src/limits/windows.ts";
import { PROVIDER_KINDS } from "../../src/providers/index.ts";
import { EMPTY_CATALOG } from "../../src/routing/catalog.ts";
import { planRoute, resolveTarget } from "../../src/routing/resolve.ts";

const config = parseConfig({
  DATABASE_URL: "postgres://u:p@127.0.0.1:5432/db",
  UPSTASH_REDIS_REST_URL: "http://127.0.0.1:8079",
  UPSTASH_REDIS_REST_TOKEN: "token",
  ADMIN_KEY: "admin-key-of-sixteen-chars",
  OPENAI_API_KEY: "sk-openai",
  ANTHROPIC_API_KEY: "sk-ant",
  GEMINI_API_KEY: "gemini",
  MISTRAL_API_KEY: "mistral",
  AWS_ACCESS_KEY_ID: "AKIAUNITTEST00000001",
  AWS_SECRET_ACCESS_KEY: "unit/test/secret/key/00000000001",
  AWS_REGION: "eu-west-1",
});

describe("presets", () => {
  const presets = parseConfig({
    DATABASE_URL: "postgres://u:p@127.0.0.1:5432/db",
    UPSTASH_REDIS_REST_URL: "http://127.0.0.1:8079",
    UPSTASH_REDIS_REST_TOKEN: "token",
    ADMIN_KEY: "admin-key-of-sixteen-chars",
    XAI_API_KEY: "xai-key",
    GROQ_API_KEY: "gsk-key",
    FIREWORKS_API_KEY: "fw-key",
    VLLM_BASE_URL: "http://127.0.0.1:8000/v1/",
  });

  it.each([
    ["grok-4", "xai", "grok-4", "https://api.x.ai/v1", { input: 3, output: 15 }],
    ["groq/llama-3.3-70b-versatile", "groq", "llama-3.3-70b-versatile", "https://api.groq.com/openai/v1", { input: 0.59 }],
    ["groq/openai/gpt-oss-120b", "groq", "openai/gpt-oss-120b", "https://api.groq.com/openai/v1", { output: 0.6 }],
    [
      "accounts/fireworks/models/deepseek-v3",
      "fireworks",
      "accounts/fireworks/models/deepseek-v3",
      "https://api.fireworks.ai/inference/v1",
      { input: 0.9 },
    ],
    ["vllm/qwen3-8b", "vllm", "qwen3-8b", "http://127.0.0.1:8000/v1", undefined],
  ])("%s goes to %s as %s at %s, priced %o", (model, provider, upstream, baseUrl, price) => {
    const target = resolveTarget(presets, EMPTY_CATALOG, model);
    expect({ provider: target.provider, upstream: target.upstreamModel, baseUrl: target.settings.baseUrl }).toEqual({
      provider,
      upstream,
      baseUrl,
    });
    if (price) expect(target.price).toMatchObject(price);
    else expect(target.price).toBeUndefined();
  });

  it("sends the preset's key as a bearer token, and no authorization to a keyless local server", async () => {
    const grok = resolveTarget(presets, EMPTY_CATALOG, "grok-3-mini");
    const vllm = resolveTarget(presets, EMPTY_CATALOG, "vllm/qwen3-8b");
    const send = async (target: typeof grok) => {
      const [endpoint] = target.descriptor.endpoints(target.upstreamModel);
      const [credential] = target.credentials;
      return endpoint?.request({
        settings: { ...target.settings, secret: await credential?.secret() },
        upstreamModel: target.upstreamModel,
        body: { messages: [] },
        stream: false,
        requestId: "req-1",
        clientHeaders: new Headers(),
      });
    };
    const toXai = await send(grok);
    expect(toXai?.url).toBe("https://api.x.ai/v1/chat/completions");
    expect(toXai?.headers.get("authorization")).toBe("Bearer xai-key");
    const toVllm = await send(vllm);
    expect(toVllm?.url).toBe("http://127.0.0.1:8000/v1/chat/completions");
    expect(toVllm?.headers.has("authorization")).toBe(false);
  });

  it("leaves a preset that is not configured unreachable, and names no other provider's models", () => {
    expect(resolveTarget(presets, EMPTY_CATALOG, "sonar-pro").credentials).toEqual([]);
    expect(() => resolveTarget(presets, EMPTY_CATALOG, "ollama/llama3.2")).toThrow(expect.objectContaining({ status: 404 }));
    // Together's DeepSeek is not DeepSeek's own API.
    expect(() => resolveTarget(presets, EMPTY_CATALOG, "deepseek-ai/DeepSeek-V3")).toThrow(
      expect.objectContaining({ status: 404 }),
    );
  });
});

describe("routing by model name", () => {
  it.each([
    ["gpt-4o-mini", "openai", "gpt-4o-mini"],
    ["o3-mini", "openai", "o3-mini"],
    ["claude-sonnet-4-5", "anthropic", "claude-sonnet-4-5"],
    ["gemini-2.5-flash", "gemini", "gemini-2.5-flash"],
    ["mistral-large-latest", "mistral", "mistral-large-latest"],
    ["amazon.nova-pro-v1:0", "bedrock", "amazon.nova-pro-v1:0"],
    ["us.anthropic.claude-sonnet-4-20250514-v1:0", "bedrock", "us.anthropic.claude-sonnet-4-20250514-v1:0"],
    ["anthropic/claude-haiku-4-5", "anthropic", "claude-haiku-4-5"],
    ["bedrock/meta.llama3-3-70b-instruct-v1:0", "bedrock", "meta.llama3-3-70b-instruct-v1:0"],
  ])("%s goes to %s as %s", (model, provider, upstream) => {
    const target = resolveTarget(config, EMPTY_CATALOG, model);
    expect({ provider: target.provider, upstream: target.upstreamModel }).toEqual({ provider, upstream });
  });

  it("prices a model from its provider's table, longest prefix first", () => {
    expect(resolveTarget(config, EMPTY_CATALOG, "gemini-2.5-flash-lite").price).toMatchObject({ input: 0.1 });
    expect(resolveTarget(config, EMPTY_CATALOG, "gemini-2.5-flash").price).toMatchObject({ input: 0.3 });
    expect(resolveTarget(config, EMPTY_CATALOG, "amazon.nova-pro-v1:0").price).toMatchObject({ input: 0.8, output: 3.2 });
  });

  it("refuses a name nothing serves; a provider not configured has no credential to call it with", () => {
    expect(() => resolveTarget(config, EMPTY_CATALOG, "no-such-model")).toThrow(expect.objectContaining({ status: 404 }));
    expect(resolveTarget(config, EMPTY_CATALOG, "vertex/gemini-2.5-flash").credentials).toEqual([]);
    expect(resolveTarget(config, EMPTY_CATALOG, "bedrock/amazon.nova-lite-v1:0").credentials).toHaveLength(1);
  });

  it("pins an explicit provider to one target", () => {
    const plan = planRoute({
      config,
      catalog: EMPTY_CATALOG,
      model: "mock-echo",
      providerOverride: "anthropic",
    });
    expect(plan.map((t) => `${t.provider}:${t.upstreamModel}`)).toEqual(["anthropic:mock-echo"]);
  });

  it("lists every provider kind once, from the descriptors", () => {
    expect(PROVIDER_KINDS).toEqual([
      "openai",
      "anthropic",
      "gemini",
      "mistral",
      "bedrock",
      "vertex",
      "azure",
      "cohere",
      "workers-ai",
      "openai-compatible",
      "openrouter",
      "groq",
      "xai",
      "deepseek",
      "together",
      "fireworks",
      "cerebras",
      "perplexity",
      "ollama",
      "vllm",
      "mock",
    ]);
  });
});

describe("quota windows", () => {
  it("reset at midnight in the configured time zone, and on the 1st", () => {
    // 2026-03-31 23:30 in New York is 2026-04-01 03:30 UTC.
    const now = Date.UTC(2026, 3, 1, 3, 30);
    const york = windowsAt(now, "America/New_York");
    expect(york).toMatchObject({ dayKey: "20260331", monthKey: "202603" });
    expect(new Date(york.dayResetMs).toISOString()).toBe("2026-04-01T04:00:00.000Z");
    expect(new Date(york.monthResetMs).toISOString()).toBe("2026-04-01T04:00:00.000Z");
    const utc = windowsAt(now, "UTC");
    expect(utc).toMatchObject({ dayKey: "20260401", monthKey: "202604" });
    expect(new Date(utc.monthStartMs).toISOString()).toBe("2026-04-01T00:00:00.000Z");
  });

  it("start and end each day and month at that midnight in the zone, across clock changes", () => {
    const iso = (ms: number) => new Date(ms).toISOString();
    // 2026-03-08 in New York is 23 hours long (clocks go forward at 02:00), and March began on standard time.
    const spring = windowsAt(Date.UTC(2026, 2, 8, 12), "America/New_York");
    expect(spring.dayKey).toBe("20260308");
    expect(iso(spring.dayStartMs)).toBe("2026-03-08T05:00:00.000Z");
    expect(iso(spring.dayResetMs)).toBe("2026-03-09T04:00:00.000Z");
    expect(iso(spring.monthStartMs)).toBe("2026-03-01T05:00:00.000Z");
    expect(iso(spring.monthResetMs)).toBe("2026-04-01T04:00:00.000Z");
    // 2026-11-01 is 25 hours long (clocks go back at 02:00).
    const autumn = windowsAt(Date.UTC(2026, 10, 1, 12), "America/New_York");
    expect(iso(autumn.dayStartMs)).toBe("2026-11-01T04:00:00.000Z");
    expect(iso(autumn.dayResetMs)).toBe("2026-11-02T05:00:00.000Z");
    expect(iso(autumn.monthStartMs)).toBe("2026-11-01T04:00:00.000Z");
    // Santiago moves its clocks at midnight: on 2026-09-06 00:00 never comes, and the day starts at 01:00.
    const skipped = windowsAt(Date.UTC(2026, 8, 6, 12), "America/Santiago");
    expect(skipped.dayKey).toBe("20260906");
    expect(iso(skipped.dayStartMs)).toBe("2026-09-06T04:00:00.000Z");
    expect(iso(skipped.dayResetMs)).toBe("2026-09-07T03:00:00.000Z");
  });

  it("read UTC's windows without a formatter, the same as through one", () => {
    const start = Date.UTC(2023, 11, 30, 22, 17);
    for (let at = start; at < start + 800 * 86_400_000; at += 86_400_000 * 0.37 + 61_000) {
      expect(windowsAt(at, "UTC")).toEqual(windowsAt(at, "Etc/UTC"));
    }
    expect(windowsAt(Date.UTC(2028, 1, 29, 23, 59), "UTC")).toMatchObject({
      dayKey: "20280229",
      monthStartMs: Date.UTC(2028, 1, 1),
      monthResetMs: Date.UTC(2028, 2, 1),
    });
  });

  it("give budgets calendar periods for 1d and 1mo, fixed slices otherwise", () => {
    const now = Date.UTC(2026, 10, 25, 12);
    const windows = windowsAt(now, "UTC");
    expect(budgetWindow("1d", now, windows)).toMatchObject({ key: "d20261125" });
    expect(budgetWindow("1mo", now, windows)).toMatchObject({ key: "m202611" });
    const hour = budgetWindow("1h", now, windows);
    expect(hour.resetMs ?? 0).toBe(hour.startMs + 3_600_000);
    expect(budgetWindow(null, now, windows)).toEqual({ key: "life", startMs: 0, resetMs: null });
  });
});

describe("an allowlist binds the deployment", () => {
  const key = (models: string[]) => ({ type: "key", models }) as unknown as Principal;
  const at = (provider: string, model = "mock-echo", upstreamModel = model) => ({ model, provider, upstreamModel });

  it("lets a plain entry serve its model where it routes by itself, not on a provider the caller picked", () => {
    expect(isDeploymentAllowed(key(["mock-*"]), at("mock"), "mock")).toBe(true);
    expect(isDeploymentAllowed(key(["mock-*"]), at("openai"), "mock")).toBe(false);
    expect(isDeploymentAllowed(key(["mock-echo"]), at("openai", "openai/mock-echo", "mock-echo"), "openai")).toBe(false);
  });

  it("lets `provider/model` and `provider/*` name the deployment", () => {
    expect(isDeploymentAllowed(key(["openai/mock-echo"]), at("openai"), "mock")).toBe(true);
    expect(isDeploymentAllowed(key(["openai/*"]), at("openai", "gpt-4o"), "openai")).toBe(true);
    expect(isDeploymentAllowed(key(["openai/gpt-*"]), at("openai"), "mock")).toBe(false);
    expect(isDeploymentAllowed(key(["anthropic/*"]), at("openai"), "openai")).toBe(false);
  });

  it("says whether the model or the provider is refused", () => {
    expect(() => assertDeploymentAllowed(key(["mock-*"]), at("openai"), "mock")).toThrow(
      expect.objectContaining({
        status: 403,
        param: "provider",
        message: expect.stringContaining("not on the provider `openai`"),
      }),
    );
    expect(() => assertDeploymentAllowed(key(["gpt-*"]), at("mock"), "mock")).toThrow(
      expect.objectContaining({ status: 403, param: "model", message: "This key may not use the model `mock-echo`." }),
    );
  });
});
