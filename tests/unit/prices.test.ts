import { describe, expect, it } from "vitest";
import { anthropicUsageFrom } from "../../src/formats/anthropic/upstream.ts";
import { converseUsageFrom } from "../../src/formats/bedrock/upstream.ts";
import { costOf, familyOf, priceOf, toolCost, toolFeesOf } from "../../src/usage/prices.ts";

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
    // Bedrock's regions price apart where the list names them.
    expect(priceOf("eu.anthropic.claude-sonnet-4-5-20250929-v1:0", "bedrock")).toMatchObject({ input: 3.3, output: 16.5 });
  });

  it("price a Bedrock profile the list does not name as the model itself, never as the dearest region", () => {
    // The dearest region for this model is us-gov's $3.60; the model's own price is $3.
    expect(priceOf("ca.anthropic.claude-sonnet-4-5-20250929-v1:0", "bedrock")).toMatchObject({ input: 3, output: 15 });
    // apac. is a region the list names, but not for this model: the model's own $5, not au./eu./us.'s $5.50.
    expect(priceOf("apac.anthropic.claude-opus-4-7", "bedrock")).toMatchObject({ input: 5, output: 25 });
    // A profile no list knows at all.
    expect(priceOf("xx.anthropic.claude-opus-4-7", "bedrock")).toMatchObject({ input: 5, output: 25 });
    expect(priceOf("xx.anthropic.claude-haiku-4-5-20251001-v1:0", "bedrock")).toMatchObject({ input: 1, output: 5 });
    // An unknown snapshot under an unknown profile: the base model's family.
    expect(priceOf("xx.anthropic.claude-opus-4-5-20251101-v9:0", "bedrock")).toMatchObject({ input: 5, output: 25 });
    // A named region keeps its own price; a model no list has stays unpriced under any profile.
    expect(priceOf("apac.anthropic.claude-haiku-4-5-20251001-v1:0", "bedrock")).toMatchObject({ input: 1.1 });
    expect(priceOf("xx.anthropic.claude-nothing-9", "bedrock")).toBeUndefined();
    // A model listed only by region, under a profile the list does not name for it: its dearest region.
    expect(priceOf("apac.mistral.pixtral-large-2502-v1:0", "bedrock")).toEqual(
      priceOf("eu.mistral.pixtral-large-2502-v1:0", "bedrock"),
    );
    expect(priceOf("xx.claude-opus-4-7", "bedrock")).toBeUndefined();
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

describe("prompt-cache writes", () => {
  const price = { input: 3, output: 15, cachedInput: 0.3 };

  it("cost 1.25 times the input rate for five minutes and twice it for an hour, unless the list says otherwise", () => {
    // 1,000 prompt tokens: 100 read, 600 written (200 of them for an hour), 300 plain; 50 out.
    const tokens = {
      promptTokens: 1000,
      completionTokens: 50,
      cachedTokens: 100,
      cacheWriteTokens: 600,
      cacheWrite1hTokens: 200,
    };
    const expected = (300 * 3 + 100 * 0.3 + 400 * 3.75 + 200 * 6 + 50 * 15) / 1e6;
    expect(costOf(price, tokens)).toBeCloseTo(expected, 15);
    expect(costOf({ ...price, cacheWrite: 4, cacheWrite1h: 5 }, tokens)).toBeCloseTo(
      (300 * 3 + 100 * 0.3 + 400 * 4 + 200 * 5 + 50 * 15) / 1e6,
      15,
    );
    // Before, every write was billed as input: 900 tokens at $3.
    expect(costOf(price, tokens)).toBeGreaterThan((900 * 3 + 100 * 0.3 + 50 * 15) / 1e6);
  });

  it("are read apart from Anthropic's and Bedrock's usage", () => {
    expect(
      anthropicUsageFrom({
        input_tokens: 10,
        cache_read_input_tokens: 20,
        cache_creation_input_tokens: 30,
        cache_creation: { ephemeral_5m_input_tokens: 5, ephemeral_1h_input_tokens: 25 },
        output_tokens: 4,
      }),
    ).toStrictEqual({ promptTokens: 60, completionTokens: 4, cachedTokens: 20, cacheWriteTokens: 30, cacheWrite1hTokens: 25 });
    // Only the split given: the writes are its sum.
    expect(anthropicUsageFrom({ input_tokens: 1, cache_creation: { ephemeral_1h_input_tokens: 7 } })).toMatchObject({
      promptTokens: 8,
      cacheWriteTokens: 7,
      cacheWrite1hTokens: 7,
    });
    expect(anthropicUsageFrom({ input_tokens: 3, output_tokens: 1 })).toStrictEqual({
      promptTokens: 3,
      completionTokens: 1,
      cachedTokens: 0,
    });
    expect(
      converseUsageFrom({ inputTokens: 10, cacheReadInputTokens: 2, cacheWriteInputTokens: 40, outputTokens: 3 }),
    ).toStrictEqual({ promptTokens: 52, completionTokens: 3, cachedTokens: 2, cacheWriteTokens: 40 });
  });

  it("cost what the model's list says on Bedrock: Claude's premium, none for Nova", () => {
    const tokens = { promptTokens: 1000, completionTokens: 0, cachedTokens: 0, cacheWriteTokens: 1000 };
    expect(costOf(priceOf("anthropic.claude-sonnet-4-6", "bedrock"), tokens)).toBeCloseTo((1000 * 3.75) / 1e6, 15);
    expect(costOf(priceOf("amazon.nova-2-lite-v1:0", "bedrock"), tokens)).toBeCloseTo((1000 * 0.3) / 1e6, 15);
  });
});

describe("built-in tool fees", () => {
  it("are OpenAI's per call: web search by model, file search, code interpreter per container", () => {
    expect(toolFeesOf("gpt-4.1", "openai")).toEqual({
      web_search: 0.01,
      web_search_preview: 0.025,
      file_search: 0.0025,
      code_interpreter: 0.03,
    });
    expect(toolFeesOf("gpt-5-mini", "openai")?.web_search_preview).toBe(0.01);
    expect(toolFeesOf("o4-mini", "openai")?.web_search_preview).toBe(0.01);
    expect(toolFeesOf("claude-sonnet-4-5", "anthropic")).toBeUndefined();
  });

  it("add up, and name the tools with no fee", () => {
    const fees = toolFeesOf("gpt-4o", "openai");
    expect(toolCost(fees, { web_search_preview: 3, file_search: 2, code_interpreter: 1 }).usd).toBeCloseTo(
      3 * 0.025 + 2 * 0.0025 + 0.03,
      15,
    );
    expect(toolCost(fees, { web_search: 1, image_generation: 2 })).toEqual({ usd: 0.01, unpriced: ["image_generation"] });
    expect(toolCost(undefined, { web_search: 1 })).toEqual({ usd: 0, unpriced: ["web_search"] });
  });
});
