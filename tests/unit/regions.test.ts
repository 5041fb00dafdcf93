// Where a provider deployment runs (regions.ts), and how a caller's
// `allowed_regions` holds a target to it (data-controls.ts).
import { describe, expect, it } from "vitest";
import type { Principal } from "../../src/auth/principal.ts";
import { NO_POLICY, resolvePolicy, type Settings, settingsSchema } from "../../src/policy/index.ts";
import { jurisdictionOf, regionFromUrl } from "../../src/providers/regions.ts";
import { assertTargetAllowed, targetAllowed, targetRegion } from "../../src/routing/data-controls.ts";
import type { Target } from "../../src/routing/resolve.ts";

const caller = (...levels: Settings[]) => ({ type: "key", policy: resolvePolicy(levels) }) as unknown as Principal;
const target = (baseUrl: string, region?: string) =>
  ({ provider: "p", model: "m", settings: { baseUrl, ...(region && { region }) } }) as unknown as Target;
const mock = "http://127.0.0.1:8787/v1";

describe("region facts", () => {
  it("place regions in their jurisdictions, London and Zurich outside the EU", () => {
    expect(jurisdictionOf("eu-west-1")).toBe("eu");
    expect(jurisdictionOf("europe-west4")).toBe("eu");
    expect(jurisdictionOf("westeurope")).toBe("eu");
    expect(jurisdictionOf("swedencentral")).toBe("eu");
    expect(jurisdictionOf("eu-west-2")).toBe("uk");
    expect(jurisdictionOf("europe-west6")).toBe("ch");
    expect(jurisdictionOf("us-east-1")).toBe("us");
    expect(jurisdictionOf("us-central1")).toBe("us");
    expect(jurisdictionOf("eastus2")).toBe("us");
    expect(jurisdictionOf("ap-northeast-1")).toBe("apac");
    expect(jurisdictionOf("global")).toBe("global");
    expect(jurisdictionOf("somewhere-1")).toBeUndefined();
  });

  it("read the region an endpoint's host names, and nothing from one that does not", () => {
    expect(regionFromUrl("https://bedrock-runtime.eu-central-1.amazonaws.com")).toBe("eu-central-1");
    expect(regionFromUrl("https://vpce-0a1.bedrock-runtime.eu-west-3.vpce.amazonaws.com")).toBe("eu-west-3");
    expect(regionFromUrl("https://europe-west4-aiplatform.googleapis.com")).toBe("europe-west4");
    expect(regionFromUrl("https://aiplatform.googleapis.com")).toBe("global");
    expect(regionFromUrl("https://eu.api.openai.com/v1")).toBe("eu");
    expect(regionFromUrl("https://api.openai.com/v1")).toBe("global");
    expect(regionFromUrl("https://api.anthropic.com/v1")).toBe("global");
    expect(regionFromUrl("https://contoso.openai.azure.com")).toBeUndefined();
    expect(regionFromUrl(mock)).toBeUndefined();
    expect(regionFromUrl("")).toBeUndefined();
  });

  it("take the host's region before the one set, and the set one where the host says nothing", () => {
    expect(targetRegion(target("https://eu.api.openai.com/v1", "us-east-1"))).toBe("eu");
    expect(targetRegion(target(mock, "eu-west-1"))).toBe("eu-west-1");
    expect(targetRegion(target(""))).toBeUndefined();
  });
});

describe("allowed_regions", () => {
  it("lets a target through by its jurisdiction or its exact region, and refuses the rest", () => {
    const eu = caller({ allowed_regions: ["eu"] });
    expect(targetAllowed(eu, target(mock, "eu-west-1"))).toBe(true);
    expect(targetAllowed(eu, target("https://europe-west4-aiplatform.googleapis.com"))).toBe(true);
    expect(targetAllowed(eu, target(mock, "us-east-1"))).toBe(false);
    expect(targetAllowed(eu, target(mock, "eu-west-2"))).toBe(false);
    expect(targetAllowed(eu, target("https://api.anthropic.com/v1"))).toBe(false);
    expect(targetAllowed(caller({ allowed_regions: ["us-east-1"] }), target(mock, "us-east-1"))).toBe(true);
    expect(targetAllowed(caller({ allowed_regions: ["global"] }), target("https://api.openai.com/v1"))).toBe(true);
  });

  it("refuses a target whose region is unknown (fail closed), naming why", () => {
    const eu = caller({ allowed_regions: ["eu", "global"] });
    expect(targetAllowed(eu, target(mock))).toBe(false);
    expect(() => assertTargetAllowed(eu, target(mock))).toThrow(
      "This caller's data controls do not allow the provider `p` (which serves `m`) in a region that is not known (it must be set for the provider).",
    );
    expect(() => assertTargetAllowed(eu, target(mock, "us-east-1"))).toThrow(
      expect.objectContaining({ status: 403, code: "region_not_allowed" }),
    );
  });

  it("narrows level by level: a target passes every level's list, so a key cannot widen its team's", () => {
    const narrowed = caller({ allowed_regions: ["eu"] }, { allowed_regions: ["eu-west-1", "us-east-1"] });
    expect(targetAllowed(narrowed, target(mock, "eu-west-1"))).toBe(true);
    expect(targetAllowed(narrowed, target(mock, "eu-central-1"))).toBe(false);
    expect(targetAllowed(narrowed, target(mock, "us-east-1"))).toBe(false);
    const disjoint = caller({ allowed_regions: ["eu"] }, {}, { allowed_regions: ["us"] });
    expect(targetAllowed(disjoint, target(mock, "eu-west-1"))).toBe(false);
    expect(targetAllowed(disjoint, target(mock, "us-east-1"))).toBe(false);
    expect(targetAllowed(caller({ allowed_regions: [] }), target(mock, "eu-west-1"))).toBe(false);
  });

  it("holds the provider lists first, then the region", () => {
    const both = caller({ allowed_regions: ["eu"], denied_providers: ["p"] });
    expect(() => assertTargetAllowed(both, target(mock, "eu-west-1"))).toThrow(
      expect.objectContaining({ code: "provider_not_allowed" }),
    );
  });

  it("costs a caller without data controls no region lookup", () => {
    // A target whose settings cannot be read: any look at its region would throw.
    const unreadable = {
      provider: "p",
      get settings(): never {
        throw new Error("read");
      },
    } as unknown as Target;
    const none = { type: "key", policy: NO_POLICY } as unknown as Principal;
    expect(targetAllowed(none, unreadable)).toBe(true);
    expect(() => assertTargetAllowed(none, unreadable)).not.toThrow();
    expect(targetAllowed(caller({ denied_providers: ["q"] }), unreadable)).toBe(true);
  });

  it("takes regions and jurisdictions, and refuses what is neither", () => {
    expect(settingsSchema.safeParse({ allowed_regions: ["eu", "eu-west-1", "westeurope"] }).success).toBe(true);
    const wrong = settingsSchema.safeParse({ allowed_regions: ["EU West"] });
    expect(wrong.success).toBe(false);
    expect(wrong.error?.issues[0]?.message).toBe("must be a region (eu-west-1) or a jurisdiction (eu, us, global)");
    expect(settingsSchema.safeParse({ allowed_regions: ["&"] }).success).toBe(false);
    expect(settingsSchema.safeParse({ allowed_regions: "eu" }).success).toBe(false);
  });
});
