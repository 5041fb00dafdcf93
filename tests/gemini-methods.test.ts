// Gemini's embedContent, batchEmbedContents and countTokens through Sluice:
// forwarded to Gemini and Vertex AI as sent (the model swapped where a body
// names it), translated to OpenAI-style embeddings and to Anthropic's token
// count, refused in Gemini's shape elsewhere; each call on the ledger with
// its modality and what it cost. Then the official @google/genai SDK.
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { GoogleGenAI } from "@google/genai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MOCK_VERTEX_ACCOUNT_PATH } from "../dev/mock-upstream/credentials.ts";
import worker from "../src/index.ts";
import { BASE, callWorker, jsonRequest, mockProviderBindings, TEST_ADMIN_KEY, upstreamRequest, usageRow } from "./helpers.ts";
import { admin, chatAs, uniqueId } from "./identity.ts";

const mockBase = String(env.MOCK_BASE_URL).replace(/\/v1$/, "");
const vertexAccount = (await (await fetch(`${mockBase}${MOCK_VERTEX_ACCOUNT_PATH}`)).json()) as Record<string, string>;
const bindings = {
  ...mockProviderBindings,
  VERTEX_SERVICE_ACCOUNT: JSON.stringify(vertexAccount),
  VERTEX_BASE_URL: mockBase,
};

const method = (model: string, name: string, body: unknown, headers: Record<string, string> = {}) =>
  new Request(`${BASE}/v1beta/models/${encodeURIComponent(model)}:${name}`, {
    method: "POST",
    headers: { "x-goog-api-key": TEST_ADMIN_KEY, "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });

const idOf = (response: Response) => response.headers.get("x-request-id") ?? "";
const text = (value: string) => ({ parts: [{ text: value }] });

/** The mock's eight numbers for a text, as its embeddings make them. */
const vector = (value: string) =>
  Array.from({ length: 8 }, (_, i) => Number((((value.charCodeAt(i % Math.max(value.length, 1)) || 0) % 97) / 97).toFixed(6)));

describe("POST /v1beta/models/{model}:embedContent", () => {
  it("forwards to Gemini as sent, billed at an estimate since Gemini reports no tokens", async () => {
    const body = { content: text("a paper boat on a pond"), taskType: "RETRIEVAL_DOCUMENT", title: "boats" };
    const call = await callWorker(method("gemini-embedding-001", "embedContent", body), bindings);
    expect(call.response.status).toBe(200);
    expect(call.response.headers.get("x-sluice-provider")).toBe("gemini");
    expect(await call.response.json()).toEqual({ embedding: { values: vector("a paper boat on a pond") } });
    const upstream = await upstreamRequest(idOf(call.response));
    expect(upstream.path).toBe("/v1beta/models/gemini-embedding-001:embedContent");
    expect(upstream.headers["x-goog-api-key"]).toBe("gemini-test-key");
    expect(upstream.body).toEqual(body);
    await call.landed();
    const row = await usageRow(idOf(call.response));
    // 22 characters: about 6 tokens, at $0.15 a million.
    expect(row).toMatchObject({ provider: "gemini", model: "gemini-embedding-001", status: 200, promptTokens: 6 });
    expect(row?.completionTokens).toBe(0);
    expect(row?.costUsd).toBeCloseTo((6 * 0.15) / 1e6, 12);
    expect(row?.metadata).toMatchObject({ modality: "embedding", usage_estimated: true });
  });

  it("forwards to Vertex AI's Gemini models, billed by the tokens Vertex reports", async () => {
    const call = await callWorker(
      method("vertex/gemini-embedding-001", "embedContent", { model: "models/anything", content: text("hello vertex") }),
      bindings,
    );
    expect(call.response.status).toBe(200);
    expect(call.response.headers.get("x-sluice-provider")).toBe("vertex");
    expect(await call.response.json()).toEqual({
      embedding: { values: vector("hello vertex") },
      usageMetadata: { promptTokenCount: 2, totalTokenCount: 2 },
    });
    const upstream = await upstreamRequest(idOf(call.response));
    expect(upstream.path).toBe(
      "/v1/projects/sluice-mock/locations/us-central1/publishers/google/models/gemini-embedding-001:embedContent",
    );
    expect(upstream.headers.authorization).toMatch(/^Bearer ya29\.mock-/);
    // The model a body names is the path's, as Google requires.
    expect(upstream.body).toEqual({ model: "models/gemini-embedding-001", content: text("hello vertex") });
    await call.landed();
    const row = await usageRow(idOf(call.response));
    expect(row).toMatchObject({ provider: "vertex", promptTokens: 2, completionTokens: 0 });
    expect(row?.costUsd).toBeCloseTo((2 * 0.15) / 1e6, 12);
    expect(row?.metadata).toMatchObject({ modality: "embedding" });
    expect(row?.metadata).not.toHaveProperty("usage_estimated");
  });

  it("translates to OpenAI's embeddings, naming the fields they do not take", async () => {
    const body = { content: text("translate me"), taskType: "SEMANTIC_SIMILARITY", outputDimensionality: 8 };
    const call = await callWorker(method("text-embedding-3-small", "embedContent", body), bindings);
    expect(call.response.status).toBe(200);
    expect(call.response.headers.get("x-sluice-provider")).toBe("openai");
    expect(call.response.headers.get("x-sluice-dropped")).toBe("taskType");
    expect(await call.response.json()).toEqual({ embedding: { values: vector("translate me") } });
    const upstream = await upstreamRequest(idOf(call.response));
    expect(upstream.path).toBe("/v1/embeddings");
    expect(upstream.body).toEqual({ model: "text-embedding-3-small", input: ["translate me"], dimensions: 8 });
    await call.landed();
    const row = await usageRow(idOf(call.response));
    expect(row).toMatchObject({ provider: "openai", promptTokens: 2, completionTokens: 0 });
    expect(row?.costUsd).toBeCloseTo((2 * 0.02) / 1e6, 12);
    expect(row?.metadata).toMatchObject({ modality: "embedding" });
  });

  it("refuses, in Gemini's shape, a provider with no embeddings and a part OpenAI cannot embed", async () => {
    const none = await callWorker(method("claude-sonnet-4-5", "embedContent", { content: text("x") }), bindings);
    expect(none.response.status).toBe(400);
    expect(await none.response.json()).toEqual({
      error: {
        code: 400,
        status: "INVALID_ARGUMENT",
        message:
          "embedContent is served by Gemini, Vertex AI's Gemini models and providers with OpenAI-style embeddings; `anthropic` has no embeddings API Sluice can reach.",
      },
    });
    const image = { content: { parts: [{ text: "look" }, { inlineData: { mimeType: "image/png", data: "AAAA" } }] } };
    const picture = await callWorker(method("text-embedding-3-small", "embedContent", image), bindings);
    expect(picture.response.status).toBe(400);
    expect(((await picture.response.json()) as { error: { message: string } }).error.message).toBe(
      "Invalid `content.parts[1]`: only text is embedded by `openai`",
    );
    const missing = await callWorker(method("gemini-embedding-001", "embedContent", { taskType: "X" }), bindings);
    expect(missing.response.status).toBe(400);
    expect(((await missing.response.json()) as { error: { message: string } }).error.message).toContain("content");
  });
});

describe("POST /v1beta/models/{model}:batchEmbedContents", () => {
  const requests = (model: string) => [
    { model, content: text("first text") },
    { model, content: text("second, longer text") },
  ];

  it("forwards to Gemini with each request's model the target's", async () => {
    const call = await callWorker(
      method("gemini/gemini-embedding-001", "batchEmbedContents", { requests: requests("models/my-alias") }),
      bindings,
    );
    expect(call.response.status).toBe(200);
    expect(await call.response.json()).toEqual({
      embeddings: [{ values: vector("first text") }, { values: vector("second, longer text") }],
    });
    const upstream = await upstreamRequest(idOf(call.response));
    expect(upstream.path).toBe("/v1beta/models/gemini-embedding-001:batchEmbedContents");
    expect(upstream.body).toEqual({ requests: requests("models/gemini-embedding-001") });
    await call.landed();
    const row = await usageRow(idOf(call.response));
    // 10 and 19 characters: 3 and 5 tokens.
    expect(row).toMatchObject({ promptTokens: 8, completionTokens: 0 });
    expect(row?.metadata).toMatchObject({ modality: "embedding", usage_estimated: true });
  });

  it("translates to one OpenAI embeddings call, answered in order", async () => {
    const call = await callWorker(
      method("text-embedding-3-small", "batchEmbedContents", { requests: requests("models/text-embedding-3-small") }),
      bindings,
    );
    expect(call.response.status).toBe(200);
    expect(call.response.headers.get("x-sluice-dropped")).toBeNull();
    expect(await call.response.json()).toEqual({
      embeddings: [{ values: vector("first text") }, { values: vector("second, longer text") }],
    });
    const upstream = await upstreamRequest(idOf(call.response));
    expect(upstream.body).toEqual({ model: "text-embedding-3-small", input: ["first text", "second, longer text"] });
    await call.landed();
    expect(await usageRow(idOf(call.response))).toMatchObject({ provider: "openai", promptTokens: 6 });
  });
});

describe("POST /v1beta/models/{model}:countTokens", () => {
  const contents = [{ role: "user", parts: [{ text: "how many tokens is this" }] }];

  it("forwards to Gemini; a count is free, on the ledger as one", async () => {
    const call = await callWorker(method("gemini-2.5-flash", "countTokens", { contents }), bindings);
    expect(call.response.status).toBe(200);
    expect(await call.response.json()).toEqual({
      totalTokens: 5,
      promptTokensDetails: [{ modality: "TEXT", tokenCount: 5 }],
    });
    const upstream = await upstreamRequest(idOf(call.response));
    expect(upstream.path).toBe("/v1beta/models/gemini-2.5-flash:countTokens");
    expect(upstream.body).toEqual({ contents });
    await call.landed();
    const row = await usageRow(idOf(call.response));
    expect(row).toMatchObject({ provider: "gemini", status: 200, promptTokens: 0, completionTokens: 0, costUsd: 0 });
    expect(row?.metadata).toMatchObject({ modality: "token_count" });
    expect(row?.metadata).not.toHaveProperty("usage_estimated");
  });

  it("forwards a generateContentRequest to Vertex AI with the target's model in it", async () => {
    const body = {
      generateContentRequest: { model: "models/x", contents, systemInstruction: { parts: [{ text: "be brief" }] } },
    };
    const call = await callWorker(method("vertex/gemini-2.5-flash", "countTokens", body), bindings);
    expect(call.response.status).toBe(200);
    expect(await call.response.json()).toMatchObject({ totalTokens: 7, totalBillableCharacters: 31 });
    const upstream = await upstreamRequest(idOf(call.response));
    expect(upstream.path).toMatch(/\/publishers\/google\/models\/gemini-2\.5-flash:countTokens$/);
    expect(upstream.body).toEqual({
      generateContentRequest: { ...body.generateContentRequest, model: "models/gemini-2.5-flash" },
    });
  });

  it("translates to Anthropic's count_tokens, its answer as Gemini's", async () => {
    const body = { generateContentRequest: { contents, systemInstruction: { parts: [{ text: "be brief" }] } } };
    const call = await callWorker(method("claude-sonnet-4-5", "countTokens", body), bindings);
    expect(call.response.status).toBe(200);
    expect(call.response.headers.get("x-sluice-provider")).toBe("anthropic");
    expect(await call.response.json()).toEqual({ totalTokens: 7 });
    const upstream = await upstreamRequest(idOf(call.response));
    expect(upstream.path).toBe("/v1/messages/count_tokens");
    expect(upstream.headers["x-api-key"]).toBe("sk-ant-test-key");
    expect(upstream.body).toEqual({
      model: "claude-sonnet-4-5-20250929",
      system: "be brief",
      messages: [{ role: "user", content: [{ type: "text", text: "how many tokens is this" }] }],
    });
    await call.landed();
    const row = await usageRow(idOf(call.response));
    expect(row).toMatchObject({ provider: "anthropic", promptTokens: 0, costUsd: 0 });
    expect(row?.metadata).toMatchObject({ modality: "token_count" });
  });

  it("refuses a provider with no count endpoint, and a body with neither or both forms", async () => {
    const call = await callWorker(method("gpt-4o-mini", "countTokens", { contents }), bindings);
    expect(call.response.status).toBe(400);
    expect(await call.response.json()).toEqual({
      error: {
        code: 400,
        status: "INVALID_ARGUMENT",
        message:
          "countTokens is served by Gemini, Vertex AI's Gemini models and Anthropic; `openai` has no token count API Sluice can reach.",
      },
    });
    for (const body of [{}, { contents, generateContentRequest: { contents } }]) {
      const bad = await callWorker(method("gemini-2.5-flash", "countTokens", body), bindings);
      expect(bad.response.status).toBe(400);
      expect(((await bad.response.json()) as { error: { message: string } }).error.message).toContain(
        "exactly one of `contents` and `generateContentRequest` is required",
      );
    }
  });

  it("answers an unknown method with 404 in Gemini's shape", async () => {
    const call = await callWorker(method("gemini-2.5-flash", "embedEverything", { contents }), bindings);
    expect(call.response.status).toBe(404);
    expect(((await call.response.json()) as { error: { status: string } }).error.status).toBe("NOT_FOUND");
  });
});

describe("the official @google/genai SDK", () => {
  const realFetch = globalThis.fetch;
  const pending: Promise<unknown>[] = [];
  beforeAll(() => {
    globalThis.fetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
      const request = new Request(input, init);
      if (!request.url.startsWith(BASE)) return realFetch(request);
      const ctx = createExecutionContext();
      const response = await worker.fetch(request, bindings as typeof env, ctx);
      pending.push(waitOnExecutionContext(ctx));
      return response;
    }) as typeof fetch;
  });
  afterAll(async () => {
    globalThis.fetch = realFetch;
    await Promise.all(pending);
  });
  const ai = () => new GoogleGenAI({ apiKey: TEST_ADMIN_KEY, httpOptions: { baseUrl: BASE } });

  it("embeds texts and counts tokens, on Gemini and through translation", async () => {
    const gemini = await ai().models.embedContent({ model: "gemini-embedding-001", contents: ["one", "two"] });
    expect(gemini.embeddings).toEqual([{ values: vector("one") }, { values: vector("two") }]);
    const openai = await ai().models.embedContent({ model: "text-embedding-3-small", contents: "three" });
    expect(openai.embeddings).toEqual([{ values: vector("three") }]);
    const counted = await ai().models.countTokens({ model: "claude-sonnet-4-5", contents: "count these four words" });
    expect(counted.totalTokens).toBe(4);
  });
});

describe("usage by modality", () => {
  it("groups a caller's calls by what they were, with the media units each used", async () => {
    const key = String((await admin("POST", "/admin/keys", { name: uniqueId("modality") })).body.key);
    const as = (request: Request) => {
      request.headers.set("authorization", `Bearer ${key}`);
      request.headers.delete("x-goog-api-key");
      return request;
    };
    const calls = [
      as(method("gemini-embedding-001", "embedContent", { content: text("eight characters") })),
      as(method("gemini-2.5-flash", "countTokens", { contents: [{ parts: [{ text: "count" }] }] })),
      chatAs(key),
      as(jsonRequest("/v1/audio/speech", { model: "tts-1", input: "twelve chars", voice: "alloy" })),
      as(jsonRequest("/v1/images/generations", { model: "dall-e-2", prompt: "a boat", n: 2 })),
    ];
    for (const request of calls) {
      const call = await callWorker(request, bindings);
      expect(call.response.status).toBe(200);
      await call.response.arrayBuffer();
      await call.landed();
    }
    const { response } = await callWorker(
      new Request(`${BASE}/api/ai/usage?group_by=modality`, { headers: { authorization: `Bearer ${key}` } }),
      bindings,
    );
    expect(response.status).toBe(200);
    const { data } = (await response.json()) as { data: Record<string, unknown>[] };
    const pick = ({ modality, requests, audio_seconds, characters, images }: Record<string, unknown>) => ({
      modality,
      requests,
      audio_seconds,
      characters,
      images,
    });
    expect(data.map(pick)).toEqual([
      { modality: "audio_out", requests: 1, audio_seconds: 0, characters: 12, images: 0 },
      { modality: "embedding", requests: 1, audio_seconds: 0, characters: 0, images: 0 },
      { modality: "image", requests: 1, audio_seconds: 0, characters: 0, images: 2 },
      { modality: "text", requests: 1, audio_seconds: 0, characters: 0, images: 0 },
      { modality: "token_count", requests: 1, audio_seconds: 0, characters: 0, images: 0 },
    ]);
    const image = data.find((group) => group.modality === "image");
    // dall-e-2 at 1024x1024: $0.02 an image.
    expect(image?.cost_usd).toBeCloseTo(0.04, 10);
  });
});

describe("guardrails on Gemini's methods", () => {
  it("read the texts to embed and count before they go upstream", async () => {
    const id = uniqueId("gr");
    expect(
      (await admin("POST", "/admin/guardrails", { id, name: "Redacts emails", phase: "input", mode: "redact", kinds: ["email"] }))
        .status,
    ).toBe(201);
    const { key } = (await admin("POST", "/admin/keys", { settings: { guardrails: [id] } })).body;
    const asKey = { "x-goog-api-key": String(key) };
    const embedded = await callWorker(
      method("gemini-embedding-001", "embedContent", { content: text("write to ada@example.com") }, asKey),
      bindings,
    );
    expect(embedded.response.status).toBe(200);
    expect((await upstreamRequest(idOf(embedded.response))).body).toEqual({ content: text("write to [EMAIL_1]") });
    // A document's title is words sent upstream too, alone or in a batch.
    const titled = await callWorker(
      method("gemini-embedding-001", "embedContent", { content: text("notes"), title: "from ada@example.com" }, asKey),
      bindings,
    );
    expect(titled.response.status).toBe(200);
    expect((await upstreamRequest(idOf(titled.response))).body).toEqual({ content: text("notes"), title: "from [EMAIL_1]" });
    await embedded.landed();
    expect((await usageRow(idOf(embedded.response)))?.metadata.guardrails).toEqual([
      { guardrail: id, phase: "input", verdict: "redacted", categories: ["email"] },
    ]);
    const batch = await callWorker(
      method(
        "gemini-embedding-001",
        "batchEmbedContents",
        { requests: [{ model: "models/gemini-embedding-001", content: text("ada@example.com"), title: "by ada@example.com" }] },
        asKey,
      ),
      bindings,
    );
    expect(batch.response.status).toBe(200);
    expect((await upstreamRequest(idOf(batch.response))).body).toEqual({
      requests: [{ model: "models/gemini-embedding-001", content: text("[EMAIL_1]"), title: "by [EMAIL_1]" }],
    });
    const counted = await callWorker(
      method("gemini-2.5-flash", "countTokens", { contents: [{ role: "user", ...text("mail ada@example.com") }] }, asKey),
      bindings,
    );
    expect(counted.response.status).toBe(200);
    expect((await upstreamRequest(idOf(counted.response))).body).toMatchObject({
      contents: [{ role: "user", ...text("mail [EMAIL_1]") }],
    });
  });
});
