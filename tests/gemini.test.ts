import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { GoogleGenAI, Type } from "@google/genai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import worker from "../src/index.ts";
import { BASE, callWorker, sseData, TEST_ADMIN_KEY, upstreamRequest, usageRow } from "./helpers.ts";

const generate = (
  model: string,
  body: unknown,
  options: { stream?: boolean; headers?: Record<string, string>; query?: string } = {},
) =>
  new Request(
    `${BASE}/v1beta/models/${model}:${options.stream ? "streamGenerateContent" : "generateContent"}${options.query ?? (options.stream ? "?alt=sse" : "")}`,
    {
      method: "POST",
      headers: { "x-goog-api-key": TEST_ADMIN_KEY, "content-type": "application/json", ...options.headers },
      body: JSON.stringify(body),
    },
  );

const lookup = {
  functionDeclarations: [
    {
      name: "lookup",
      description: "Looks a phrase up",
      parameters: { type: "object", properties: { text: { type: "string" } } },
    },
  ],
};

interface GeminiAnswer {
  candidates: {
    content: { role: string; parts: { text?: string; functionCall?: { id?: string; name: string; args: unknown } }[] };
    finishReason?: string;
  }[];
  usageMetadata?: { promptTokenCount: number; candidatesTokenCount: number; totalTokenCount: number };
}

describe("Gemini generateContent in, OpenAI dialect out", () => {
  it("answers in Gemini's shape and records usage", async () => {
    const { response, settled } = await callWorker(
      generate("mock-echo", {
        contents: [{ role: "user", parts: [{ text: "hello gemini" }] }],
        systemInstruction: { parts: [{ text: "Be brief." }] },
        generationConfig: { maxOutputTokens: 50, temperature: 0.1 },
      }),
    );
    expect(response.status).toBe(200);
    const body = (await response.json()) as GeminiAnswer;
    expect(body.candidates[0]).toMatchObject({
      content: { role: "model", parts: [{ text: "hello gemini" }] },
      finishReason: "STOP",
    });
    expect(body.usageMetadata).toEqual({ promptTokenCount: 5, candidatesTokenCount: 2, totalTokenCount: 7 });
    const requestId = response.headers.get("x-request-id") ?? "";
    expect((await upstreamRequest(requestId)).body).toEqual({
      model: "mock-echo",
      messages: [
        { role: "system", content: "Be brief." },
        { role: "user", content: "hello gemini" },
      ],
      max_tokens: 50,
      temperature: 0.1,
    });
    await settled();
    expect(await usageRow(requestId)).toMatchObject({
      clientFormat: "gemini",
      promptTokens: 5,
      completionTokens: 2,
      status: 200,
    });
  });

  it("streams with alt=sse, the last chunk carrying finish reason and usage", async () => {
    const { response } = await callWorker(
      generate("mock-echo", { contents: [{ role: "user", parts: [{ text: "stream from gemini" }] }] }, { stream: true }),
    );
    expect(response.headers.get("content-type")).toContain("text/event-stream");
    const chunks = (await sseData(response)).map((data) => JSON.parse(data) as GeminiAnswer);
    expect(chunks.map((chunk) => chunk.candidates[0]?.content.parts.map((p) => p.text ?? "").join("")).join("")).toBe(
      "stream from gemini",
    );
    expect(chunks.slice(0, -1).every((chunk) => chunk.candidates[0]?.finishReason === undefined)).toBe(true);
    expect(chunks.at(-1)).toMatchObject({
      candidates: [{ finishReason: "STOP" }],
      usageMetadata: { promptTokenCount: 3, candidatesTokenCount: 3 },
    });
  });

  it("round-trips a function call", async () => {
    const first = await callWorker(
      generate("mock-echo", { contents: [{ role: "user", parts: [{ text: "find owls" }] }], tools: [lookup] }),
    );
    const call = ((await first.response.json()) as GeminiAnswer).candidates[0]?.content.parts[0]?.functionCall;
    expect(call).toMatchObject({ name: "lookup", args: { text: "find owls" } });
    const second = await callWorker(
      generate("mock-echo", {
        tools: [lookup],
        contents: [
          { role: "user", parts: [{ text: "find owls" }] },
          { role: "model", parts: [{ functionCall: call }] },
          { role: "user", parts: [{ functionResponse: { id: call?.id, name: "lookup", response: { result: "owls hoot" } } }] },
        ],
      }),
    );
    const answer = (await second.response.json()) as GeminiAnswer;
    expect(answer.candidates[0]?.content.parts[0]?.text).toBe('Tool said: {"result":"owls hoot"}');
  });

  it("answers errors in Gemini's shape", async () => {
    const noKey = await callWorker(
      generate("mock-echo", { contents: [{ parts: [{ text: "x" }] }] }, { headers: { "x-goog-api-key": "" } }),
    );
    expect(noKey.response.status).toBe(401);
    expect(await noKey.response.json()).toMatchObject({ error: { code: 401, status: "UNAUTHENTICATED" } });
    const unknown = await callWorker(generate("no-such-model", { contents: [{ parts: [{ text: "x" }] }] }));
    expect(await unknown.response.json()).toMatchObject({ error: { code: 404, status: "NOT_FOUND" } });
    const empty = await callWorker(generate("mock-echo", { contents: [] }));
    expect(await empty.response.json()).toMatchObject({ error: { code: 400, status: "INVALID_ARGUMENT" } });
    const notSse = await callWorker(
      generate("mock-echo", { contents: [{ parts: [{ text: "x" }] }] }, { stream: true, query: "" }),
    );
    expect(notSse.response.status).toBe(400);
  });

  it("lists models in Gemini's shape", async () => {
    const { response } = await callWorker(
      new Request(`${BASE}/v1beta/models`, { headers: { "x-goog-api-key": TEST_ADMIN_KEY } }),
    );
    const body = (await response.json()) as { models: { name: string }[] };
    expect(body.models.map((m) => m.name)).toEqual(expect.arrayContaining(["models/mock-echo", "models/mock-lorem"]));
    expect(body.models.map((m) => m.name)).not.toContain("models/gemini-2.5-pro");
  });

  it("serves the app API's generate, with the model in the body", async () => {
    const { response } = await callWorker(
      new Request(`${BASE}/api/ai/generate`, {
        method: "POST",
        headers: { authorization: `Bearer ${TEST_ADMIN_KEY}` },
        body: JSON.stringify({
          model: "mock-echo",
          provider: "mock",
          contents: [{ role: "user", parts: [{ text: "from the browser" }] }],
        }),
      }),
    );
    expect(((await response.json()) as GeminiAnswer).candidates[0]?.content.parts[0]?.text).toBe("from the browser");
  });
});

describe("the official @google/genai SDK", () => {
  // The SDK takes no fetch of its own: requests for Sluice's base URL go into the Worker.
  const realFetch = globalThis.fetch;
  const pending: Promise<unknown>[] = [];
  beforeAll(() => {
    globalThis.fetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
      const request = new Request(input, init);
      if (!request.url.startsWith(BASE)) return realFetch(request);
      const ctx = createExecutionContext();
      const response = await worker.fetch(request, env, ctx);
      pending.push(waitOnExecutionContext(ctx));
      return response;
    }) as typeof fetch;
  });
  afterAll(() => {
    globalThis.fetch = realFetch;
  });
  const ai = () => new GoogleGenAI({ apiKey: TEST_ADMIN_KEY, httpOptions: { baseUrl: BASE } });

  it("generates content on another provider's model", async () => {
    const response = await ai().models.generateContent({ model: "mock-echo", contents: "hello from genai" });
    expect(response.text).toBe("hello from genai");
    expect(response.usageMetadata?.candidatesTokenCount).toBe(3);
  });

  it("calls functions, not streamed", async () => {
    const response = await ai().models.generateContent({
      model: "mock-echo",
      contents: "look up egrets",
      config: {
        tools: [
          {
            functionDeclarations: [
              { name: "lookup", parameters: { type: Type.OBJECT, properties: { text: { type: Type.STRING } } } },
            ],
          },
        ],
      },
    });
    expect(response.functionCalls?.[0]).toMatchObject({ name: "lookup", args: { text: "look up egrets" } });
  });

  it("streams content", async () => {
    const stream = await ai().models.generateContentStream({ model: "mock-echo", contents: "stream through genai" });
    const parts: string[] = [];
    for await (const chunk of stream) parts.push(chunk.text ?? "");
    expect(parts.join("")).toBe("stream through genai");
    await Promise.all(pending);
  });

  it("calls functions, streamed", async () => {
    const stream = await ai().models.generateContentStream({
      model: "mock-echo",
      contents: "look up herons",
      config: {
        tools: [
          {
            functionDeclarations: [
              { name: "lookup", parameters: { type: Type.OBJECT, properties: { text: { type: Type.STRING } } } },
            ],
          },
        ],
      },
    });
    const calls = [];
    for await (const chunk of stream) calls.push(...(chunk.functionCalls ?? []));
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ name: "lookup", args: { text: "look up herons" } });
    await Promise.all(pending);
  });
});
