// The settings guardrails and data controls add to a caller's policy: how the levels combine.
import { describe, expect, it } from "vitest";
import type { Principal } from "../../src/auth/principal.ts";
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
