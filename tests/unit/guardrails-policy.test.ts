// The settings guardrails and data controls add to a caller's policy: how the levels combine.
import { describe, expect, it } from "vitest";
import type { Principal } from "../../src/auth/principal.ts";
import { toolNames } from "../../src/guardrails/offered-tools.ts";
import { checkRequestLimits } from "../../src/guardrails/request-limits.ts";
import { resolvePolicy, settingsSchema } from "../../src/policy/index.ts";
import { providerAllowed } from "../../src/routing/data-controls.ts";

const withPolicy = (policy: ReturnType<typeof resolvePolicy>) => ({ type: "key", policy }) as unknown as Principal;

describe("the guardrails section", () => {
  it("adds each level's policies to the wider levels', and an empty list takes none away", () => {
    expect(resolvePolicy([{ guardrails: ["pii"] }, { guardrails: ["secrets", "pii"] }, { guardrails: [] }])).toEqual({
      guardrails: ["pii", "secrets"],
    });
  });

  it("takes a list of ids, and nothing else", () => {
    expect(settingsSchema.safeParse({ guardrails: ["pii"] }).success).toBe(true);
    expect(settingsSchema.safeParse({ guardrails: "pii" }).success).toBe(false);
    expect(settingsSchema.safeParse({ guardrails: [""] }).success).toBe(false);
  });
});

describe("data controls", () => {
  it("narrow the allowed providers level by level and grow the denied ones", () => {
    const policy = resolvePolicy([
      { allowed_providers: ["openai", "anthropic", "bedrock"], denied_providers: ["bedrock"] },
      { allowed_providers: ["anthropic", "bedrock", "gemini"] },
      { denied_providers: ["anthropic"] },
    ]);
    expect(policy).toEqual({ allowed_providers: ["anthropic", "bedrock"], denied_providers: ["bedrock", "anthropic"] });
    for (const provider of ["openai", "anthropic", "bedrock", "gemini"]) {
      expect(providerAllowed(withPolicy(policy), provider)).toBe(false);
    }
  });

  it("allow everything to a caller without them, and to the admin", () => {
    expect(providerAllowed(withPolicy(resolvePolicy([{}])), "openai")).toBe(true);
    expect(providerAllowed({ type: "admin" } as unknown as Principal, "openai")).toBe(true);
    expect(providerAllowed(withPolicy(resolvePolicy([{ denied_providers: ["openai"] }])), "anthropic")).toBe(true);
  });
});

describe("the request_limits section", () => {
  it("keeps the lowest of each limit across levels, and adds denied tools", () => {
    expect(
      resolvePolicy([
        { request_limits: { max_messages: 10, max_tools: 4, denied_tools: ["a"] } },
        { request_limits: { max_messages: 20, max_output_tokens: 100, denied_tools: ["b"] } },
        { request_limits: { max_tools: 8 } },
      ]).request_limits,
    ).toEqual({ max_messages: 10, max_tools: 4, max_output_tokens: 100, denied_tools: ["a", "b"] });
  });

  it("names the tools of every format, and counts the input it is given", () => {
    expect(
      toolNames({
        tools: [
          { type: "function", function: { name: "openai_fn" } },
          { type: "function", name: "responses_fn" },
          { name: "anthropic_tool", input_schema: {} },
          { functionDeclarations: [{ name: "gemini_a" }, { name: "gemini_b" }] },
          { type: "web_search" },
        ],
      }),
    ).toEqual(["openai_fn", "responses_fn", "anthropic_tool", "gemini_a", "gemini_b", "web_search"]);
    const facts = { inputTokens: () => 500, outputCap: undefined };
    const body = { messages: [{ role: "user", content: "hello" }] };
    expect(checkRequestLimits(body, { max_input_tokens: 499 }, facts)?.verdict.categories).toEqual(["max_input_tokens"]);
    expect(checkRequestLimits(body, { max_input_tokens: 500, max_input_chars: 5, max_messages: 1 }, facts)).toBeUndefined();
    // The token estimate is not read unless a token limit asks for it.
    expect(checkRequestLimits(body, { max_messages: 1 }, { inputTokens: () => Number.NaN, outputCap: 10 })).toBeUndefined();
  });
});
