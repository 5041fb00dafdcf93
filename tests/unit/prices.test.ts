import { describe, expect, it } from "vitest";
import { costOf, familyOf, priceOf } from "../../src/usage/prices.ts";

const usd = (model: string, provider: string, prompt: number, completion: number) =>
  costOf(priceOf(model, provider), { promptTokens: prompt, completionTokens: completion, cachedTokens: 0 });

describe("list prices", () => {
  it("price every model the review found free, by its exact id", () => {
    const cases: [string, string, number, number][] = [
      ["o1", "openai", 15, 60],
      ["o1-pro", "openai", 150, 600],
      ["gpt-4-turbo", "openai", 10, 30],
      ["chatgpt-4o-latest", "openai", 5, 15],
      ["gpt-5-pro", "openai", 15, 120],
      ["o3-pro", "openai", 20, 80],
      ["text-embedding-3-large", "openai", 0.13, 0],
      ["gemini-1.5-pro", "gemini", 1.25, 5],
      ["claude-3-7-sonnet-latest", "anthropic", 3, 15],
      ["claude-3-opus-latest", "anthropic", 15, 75],
    ];
    for (const [model, provider, input, output] of cases) {
      expect({ model, price: priceOf(model, provider) }).toMatchObject({ model, price: { input, output } });
    }
    // A million tokens each way is never free.
    expect(usd("o1-pro", "openai", 1_000_000, 1_000_000)).toBe(750);
  });

  it("never price a sibling as its cheaper family member by prefix", () => {
    expect(priceOf("gpt-5-pro", "openai")?.output).toBe(120);
    expect(priceOf("o3-pro", "openai")?.output).toBe(80);
    expect(priceOf("gpt-5-turbo-ultra", "openai")).toBeUndefined();
    expect(priceOf("gpt-4o-realtime-whatever", "openai")).toBeUndefined();
  });

  it("price an unknown dated snapshot as the dearest known member of its family", () => {
    expect(familyOf("anthropic.claude-3-5-sonnet-20240620-v1:0")).toBe("anthropic.claude-3-5-sonnet");
    expect(familyOf("gemini-2.5-flash-preview-09-2025")).toBe("gemini-2.5-flash-preview");
    expect(familyOf("gpt-4")).toBe("gpt-4");
    // gpt-4o's known snapshots cost $2.50 and $5 per million input tokens: an unknown one costs the $5.
    expect(priceOf("gpt-4o-2031-01-01", "openai")).toMatchObject({ input: 5, output: 15 });
    expect(priceOf("gpt-4o", "openai")).toMatchObject({ input: 2.5, output: 10 });
    expect(priceOf("claude-sonnet-4-5@20250929", "vertex")).toMatchObject({ input: 3, output: 15 });
    // Bedrock's regions price apart; one the list does not name for a model is as dear as its dearest.
    expect(priceOf("eu.anthropic.claude-sonnet-4-5-20250929-v1:0", "bedrock")).toMatchObject({ input: 3.3, output: 16.5 });
    expect(priceOf("ca.anthropic.claude-sonnet-4-5-20250929-v1:0", "bedrock")).toMatchObject({ input: 3.6, output: 18 });
  });

  it("follow the deployment that serves: a provider's own list, or the lists it is priced like", () => {
    expect(priceOf("gemini-2.5-flash", "vertex")).toEqual(priceOf("gemini-2.5-flash", "gemini"));
    // An OpenAI-compatible server of the operator's own has no list: its models are unpriced, not OpenAI's.
    expect(priceOf("gpt-4o", "openai-compatible")).toBeUndefined();
    expect(priceOf("mock-anything", "mock")).toMatchObject({ input: 1, output: 2 });
  });

  it("charge a long prompt the long-context rate for the whole request", () => {
    expect(usd("gemini-2.5-pro", "gemini", 200_000, 1_000)).toBeCloseTo((200_000 * 1.25 + 1_000 * 10) / 1e6, 10);
    expect(usd("gemini-2.5-pro", "gemini", 200_001, 1_000)).toBeCloseTo((200_001 * 2.5 + 1_000 * 15) / 1e6, 10);
  });
});
