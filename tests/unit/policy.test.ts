import { describe, expect, it } from "vitest";
import { applySettings, NO_POLICY, resolvePolicy, settingsSchema, storedSettings } from "../../src/policy/index.ts";
import { anyOn, intersection, union } from "../../src/policy/sections.ts";
import * as z from "../../src/zod.ts";

const names = z.array(z.string());

describe("the merge rules", () => {
  it("lets any level turn a switch on, and none turn it off again", () => {
    expect(anyOn.merge(false, true)).toBe(true);
    expect(anyOn.merge(true, false)).toBe(true);
    expect(anyOn.merge(false, false)).toBe(false);
  });

  it("grows a list level by level, and shrinks an allowlist level by level", () => {
    expect(union(names).merge(["pii"], ["secrets", "pii"])).toEqual(["pii", "secrets"]);
    expect(intersection(names).merge(["openai", "anthropic"], ["anthropic", "gemini"])).toEqual(["anthropic"]);
  });
});

describe("a caller's policy", () => {
  it("is the shared empty policy when no level says anything", () => {
    expect(resolvePolicy([{}, {}, {}])).toBe(NO_POLICY);
  });

  it("takes what a wider level says when a narrower is silent, and a narrower never undoes a wider", () => {
    expect(resolvePolicy([{ zero_retention: true }, {}, { zero_retention: false }])).toEqual({ zero_retention: true });
    expect(resolvePolicy([{}, {}, { zero_retention: true }])).toEqual({ zero_retention: true });
  });
});

describe("settings as an admin writes them", () => {
  it("refuses a section this gateway does not know, naming it", () => {
    const parsed = settingsSchema.safeParse({ zero_retention: true, nope: 1 });
    expect(parsed.success).toBe(false);
    expect(JSON.stringify(parsed.error?.issues)).toContain("nope");
  });

  it("sets the sections named, clears those set to null, and leaves the rest", () => {
    expect(applySettings({ zero_retention: true }, { zero_retention: null })).toEqual({});
    expect(applySettings({}, { zero_retention: true })).toEqual({ zero_retention: true });
  });

  it("reads back only what still parses: a section an older or newer version wrote is ignored, not fatal", () => {
    expect(storedSettings({ zero_retention: "yes", gone: [1] })).toEqual({});
    expect(storedSettings(null)).toEqual({});
  });
});
