import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import {
  BASE,
  callWorker,
  chat,
  jsonRequest,
  mockProviderBindings,
  sseData,
  TEST_ADMIN_KEY,
  upstreamRequest,
  usageRow,
} from "./helpers.ts";

// The mock prices every model at $1 / $2 per million input / output tokens.
const mockCost = (input: number, output: number) => (input * 1 + output * 2) / 1_000_000;

describe("POST /v1/chat/completions, not streamed", () => {
  it("answers with the mock's completion and records exact usage", async () => {
    const { response, settled } = await callWorker(jsonRequest("/v1/chat/completions", chat("Hello from the test suite")));
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("application/json");
    expect(response.headers.get("x-sluice-provider")).toBe("mock");
    expect(response.headers.get("x-sluice-model")).toBe("mock-echo");
    expect(response.headers.get("x-sluice-attempts")).toBe("1");
    const requestId = response.headers.get("x-request-id") ?? "";
    expect(requestId).toMatch(/^req_[0-9a-f]{32}$/);

    const body = (await response.json()) as {
      object: string;
      choices: { message: { role: string; content: string }; finish_reason: string }[];
      usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
    };
    expect(body.object).toBe("chat.completion");
    expect(body.choices[0]?.message).toMatchObject({ role: "assistant", content: "Hello from the test suite" });
    expect(body.choices[0]?.finish_reason).toBe("stop");
    expect(body.usage).toEqual({ prompt_tokens: 5, completion_tokens: 5, total_tokens: 10 });

    await settled();
    const row = await usageRow(requestId);
    expect(row).toMatchObject({
      principalType: "admin",
      provider: "mock",
      model: "mock-echo",
      upstreamModel: "mock-echo",
      clientFormat: "openai",
      promptTokens: 5,
      completionTokens: 5,
      cachedTokens: 0,
      status: 200,
      error: null,
      streamed: false,
      attempts: 1,
    });
    expect(row?.costUsd).toBeCloseTo(mockCost(5, 5), 12);
    expect(row?.latencyMs).toBeGreaterThanOrEqual(0);
    expect(row?.ttfbMs).not.toBeNull();
  });

  it("forwards unknown fields untouched and swaps only what it must", async () => {
    const { response } = await callWorker(
      jsonRequest(
        "/v1/chat/completions",
        chat("keep my fields", { temperature: 0.3, user: "u-1", some_future_field: { a: [1, 2] } }),
      ),
    );
    expect(response.status).toBe(200);
    const upstream = await upstreamRequest(response.headers.get("x-request-id") ?? "");
    expect(upstream.path).toBe("/v1/chat/completions");
    expect(upstream.body).toEqual({
      model: "mock-echo",
      messages: [{ role: "user", content: "keep my fields" }],
      temperature: 0.3,
      user: "u-1",
      some_future_field: { a: [1, 2] },
    });
    expect(upstream.headers.authorization).toBeUndefined();
  });

  it("stops at max_tokens with finish_reason length", async () => {
    const { response } = await callWorker(
      jsonRequest("/v1/chat/completions", chat("one two three four five", { max_tokens: 2 })),
    );
    const body = (await response.json()) as {
      choices: { message: { content: string }; finish_reason: string }[];
      usage: { completion_tokens: number };
    };
    expect(body.choices[0]?.message.content).toBe("one two");
    expect(body.choices[0]?.finish_reason).toBe("length");
    expect(body.usage.completion_tokens).toBe(2);
  });
});

describe("POST /v1/chat/completions, streamed", () => {
  it("relays every chunk in order, ends with [DONE], hides the usage chunk it asked for", async () => {
    const { response, settled } = await callWorker(
      jsonRequest("/v1/chat/completions", chat("stream these words now", { stream: true })),
    );
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    const requestId = response.headers.get("x-request-id") ?? "";

    const events = await sseData(response);
    expect(events.at(-1)).toBe("[DONE]");
    const chunks = events.slice(0, -1).map(
      (data) =>
        JSON.parse(data) as {
          object: string;
          choices: { delta: { role?: string; content?: string }; finish_reason: string | null }[];
        },
    );
    expect(chunks.every((chunk) => chunk.object === "chat.completion.chunk")).toBe(true);
    expect(chunks[0]?.choices[0]?.delta).toEqual({ role: "assistant", content: "" });
    expect(chunks.map((chunk) => chunk.choices[0]?.delta.content ?? "").join("")).toBe("stream these words now");
    expect(chunks.slice(1, -1).map((chunk) => chunk.choices[0]?.delta.content)).toEqual(["stream", " these", " words", " now"]);
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe("stop");
    // The client did not ask for usage, so the usage-only chunk is not shown.
    expect(chunks.some((chunk) => chunk.choices.length === 0)).toBe(false);

    const upstream = await upstreamRequest(requestId);
    expect(upstream.body.stream_options).toEqual({ include_usage: true });

    await settled();
    const row = await usageRow(requestId);
    expect(row).toMatchObject({ streamed: true, status: 200, promptTokens: 4, completionTokens: 4, error: null });
    expect(row?.costUsd).toBeCloseTo(mockCost(4, 4), 12);
    expect(row?.ttfbMs).not.toBeNull();
  });

  it("shows the usage chunk when the client asked for it", async () => {
    const { response } = await callWorker(
      jsonRequest("/v1/chat/completions", chat("count me", { stream: true, stream_options: { include_usage: true } })),
    );
    const events = await sseData(response);
    expect(events.at(-1)).toBe("[DONE]");
    const usageChunk = JSON.parse(events.at(-2) ?? "{}") as { choices: unknown[]; usage: unknown };
    expect(usageChunk.choices).toEqual([]);
    expect(usageChunk.usage).toEqual({ prompt_tokens: 2, completion_tokens: 2, total_tokens: 4 });
  });

  it("passes chunks through as the upstream paces them", async () => {
    const { response } = await callWorker(
      jsonRequest(
        "/v1/chat/completions",
        { ...chat("", { stream: true }), model: "mock-lorem" },
        { "x-mock-chunks": "8", "x-mock-tokens": "16", "x-mock-interval-ms": "5" },
      ),
    );
    const events = await sseData(response);
    // role chunk + 8 content chunks + finish chunk + [DONE]
    expect(events).toHaveLength(11);
  });

  it("ends a stream cut by the upstream with an error event, not [DONE], and records the failure", async () => {
    const { response, settled } = await callWorker(
      jsonRequest("/v1/chat/completions", chat("this stream will break", { stream: true }), {
        "x-mock-fail": "cut:2",
        "x-mock-interval-ms": "20",
      }),
    );
    expect(response.status).toBe(200);
    const requestId = response.headers.get("x-request-id") ?? "";
    const events = await sseData(response);
    expect(events).not.toContain("[DONE]");
    const last = JSON.parse(events.at(-1) ?? "{}") as { error?: { type: string; message: string } };
    expect(last.error?.type).toBe("upstream_error");
    expect(last.error?.message).toMatch(/upstream stream/i);
    await settled();
    const row = await usageRow(requestId);
    expect(row).toMatchObject({ status: 502, streamed: true, metadata: { usage_estimated: true } });
    // Two chunks of "this stream will break" arrived before the cut: "this stream" is 11 characters, 3 tokens at 4 per token.
    expect(row?.completionTokens).toBe(3);
  });

  it("bills what was streamed when the client goes away, and aborts the upstream", async () => {
    const { response, settled } = await callWorker(
      jsonRequest(
        "/v1/chat/completions",
        { ...chat("", { stream: true }), model: "mock-lorem" },
        { "x-mock-interval-ms": "50", "x-mock-tokens": "40" },
      ),
    );
    const requestId = response.headers.get("x-request-id") ?? "";
    const reader = response.body?.getReader();
    // The role chunk, then two words.
    for (let i = 0; i < 3; i++) await reader?.read();
    await reader?.cancel();
    await settled();
    const row = await usageRow(requestId);
    expect(row).toMatchObject({
      status: 499,
      streamed: true,
      error: "client closed the stream",
      metadata: { usage_estimated: true },
    });
    // What was generated before the client left is billed: the provider never reported it, so it is estimated.
    expect(row?.completionTokens).toBeGreaterThan(0);
    expect(row?.promptTokens).toBeGreaterThan(0);
    expect(row?.costUsd).toBeGreaterThan(0);
  });
});

describe("STREAM_USAGE=always: every OpenAI stream ends with its usage chunk, asked for or not", () => {
  const always = { ...env, STREAM_USAGE: "always" };
  type Chunk = { object: string; choices: { delta: { content?: string }; finish_reason: string | null }[]; usage?: unknown };
  const chunksOf = (events: string[]) => events.slice(0, -1).map((data) => JSON.parse(data) as Chunk);

  it("sends the upstream's usage chunk to a client that did not ask, and records the same usage", async () => {
    const { response, settled } = await callWorker(
      jsonRequest("/v1/chat/completions", chat("usage comes unasked", { stream: true }), { "x-mock-interval-ms": "10" }),
      always,
    );
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    const requestId = response.headers.get("x-request-id") ?? "";
    const events = await sseData(response);
    expect(events.at(-1)).toBe("[DONE]");
    const chunks = chunksOf(events);
    expect(chunks.map((chunk) => chunk.choices[0]?.delta.content ?? "").join("")).toBe("usage comes unasked");
    // The finish reason, then the usage-only chunk, then [DONE]: the order OpenAI sends them in when asked.
    expect(chunks.at(-2)?.choices[0]?.finish_reason).toBe("stop");
    expect(chunks.at(-1)).toMatchObject({
      object: "chat.completion.chunk",
      choices: [],
      usage: { prompt_tokens: 3, completion_tokens: 3, total_tokens: 6 },
    });
    expect((await upstreamRequest(requestId)).body.stream_options).toEqual({ include_usage: true });
    await settled();
    const row = await usageRow(requestId);
    expect(row).toMatchObject({ streamed: true, status: 200, promptTokens: 3, completionTokens: 3, error: null });
    expect(row?.costUsd).toBeCloseTo(mockCost(3, 3), 12);
  });

  it("still leaves it out for a client that said include_usage: false", async () => {
    const { response, settled } = await callWorker(
      jsonRequest("/v1/chat/completions", chat("no usage please", { stream: true, stream_options: { include_usage: false } })),
      always,
    );
    const requestId = response.headers.get("x-request-id") ?? "";
    const events = await sseData(response);
    expect(events.at(-1)).toBe("[DONE]");
    const chunks = chunksOf(events);
    expect(chunks.some((chunk) => chunk.choices.length === 0)).toBe(false);
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe("stop");
    // The upstream is asked all the same: the ledger's usage is the provider's.
    expect((await upstreamRequest(requestId)).body.stream_options).toEqual({ include_usage: true });
    await settled();
    expect(await usageRow(requestId)).toMatchObject({ promptTokens: 3, completionTokens: 3, status: 200 });
  });

  it("writes the usage chunk into a stream translated from another provider's dialect", async () => {
    const { response, settled } = await callWorker(
      jsonRequest("/v1/chat/completions", { ...chat("from anthropic", { stream: true }), model: "claude-mock-echo" }),
      { ...mockProviderBindings, STREAM_USAGE: "always" },
    );
    expect(response.headers.get("x-sluice-provider")).toBe("anthropic");
    const requestId = response.headers.get("x-request-id") ?? "";
    const events = await sseData(response);
    expect(events.at(-1)).toBe("[DONE]");
    const chunks = chunksOf(events);
    expect(chunks.map((chunk) => chunk.choices[0]?.delta.content ?? "").join("")).toBe("from anthropic");
    const last = chunks.at(-1) as { choices: unknown[]; usage: { prompt_tokens: number; completion_tokens: number } };
    expect(last.choices).toEqual([]);
    await settled();
    const row = await usageRow(requestId);
    expect(row).toMatchObject({ provider: "anthropic", status: 200, streamed: true });
    expect(last.usage).toMatchObject({ prompt_tokens: row?.promptTokens, completion_tokens: row?.completionTokens });
  });

  it("applies to legacy text completions too", async () => {
    const { response } = await callWorker(
      jsonRequest("/v1/completions", { model: "mock-echo", prompt: "complete me", max_tokens: 10, stream: true }),
      always,
    );
    const events = await sseData(response);
    expect(events.at(-1)).toBe("[DONE]");
    expect(JSON.parse(events.at(-2) ?? "{}")).toMatchObject({
      object: "text_completion",
      choices: [],
      usage: { total_tokens: 4 },
    });
  });

  it("is refused at startup when it is neither asked nor always", async () => {
    const { response } = await callWorker(jsonRequest("/v1/chat/completions", chat("x")), { ...env, STREAM_USAGE: "sometimes" });
    expect(response.status).toBe(500);
    expect(await response.text()).toContain("STREAM_USAGE");
  });
});

describe("streams piped as they came (the client asked for usage, so nothing is taken out)", () => {
  const withUsage = { stream: true, stream_options: { include_usage: true } };

  it("gives the client the upstream's bytes and records the usage it reported", async () => {
    const { response, settled } = await callWorker(
      jsonRequest("/v1/chat/completions", chat("pipe these words", withUsage), { "x-mock-interval-ms": "20" }),
    );
    const requestId = response.headers.get("x-request-id") ?? "";
    const events = await sseData(response);
    expect(events.at(-1)).toBe("[DONE]");
    const chunks = events.slice(0, -1).map((data) => JSON.parse(data) as { choices: { delta: { content?: string } }[] });
    expect(chunks.map((chunk) => chunk.choices[0]?.delta.content ?? "").join("")).toBe("pipe these words");
    expect(JSON.parse(events.at(-2) ?? "{}")).toMatchObject({
      choices: [],
      usage: { prompt_tokens: 3, completion_tokens: 3, total_tokens: 6 },
    });
    await settled();
    const row = await usageRow(requestId);
    expect(row).toMatchObject({ streamed: true, status: 200, promptTokens: 3, completionTokens: 3, error: null });
    expect(row?.costUsd).toBeCloseTo(mockCost(3, 3), 12);
  });

  it("ends a stream cut by the upstream with an error event in the client's format", async () => {
    const { response, settled } = await callWorker(
      jsonRequest("/v1/chat/completions", chat("this stream will break", withUsage), {
        "x-mock-fail": "cut:2",
        "x-mock-interval-ms": "20",
      }),
    );
    const requestId = response.headers.get("x-request-id") ?? "";
    const events = await sseData(response);
    expect(events).not.toContain("[DONE]");
    const last = JSON.parse(events.at(-1) ?? "{}") as { error?: { type: string; message: string } };
    expect(last.error?.type).toBe("upstream_error");
    expect(last.error?.message).toMatch(/upstream stream/i);
    await settled();
    const row = await usageRow(requestId);
    expect(row).toMatchObject({ status: 502, streamed: true, metadata: { usage_estimated: true } });
    expect(row?.completionTokens).toBe(3);
  });

  it("bills what was streamed when the client goes away", async () => {
    const { response, settled } = await callWorker(
      jsonRequest(
        "/v1/chat/completions",
        { ...chat("", withUsage), model: "mock-lorem" },
        { "x-mock-interval-ms": "50", "x-mock-tokens": "40" },
      ),
    );
    const requestId = response.headers.get("x-request-id") ?? "";
    const reader = response.body?.getReader();
    for (let i = 0; i < 3; i++) await reader?.read();
    await reader?.cancel();
    await settled();
    const row = await usageRow(requestId);
    expect(row).toMatchObject({ status: 499, streamed: true, error: "client closed the stream" });
    expect(row?.completionTokens).toBeGreaterThan(0);
    expect(row?.completionTokens).toBeLessThan(40);
  });
});

describe("upstream failures", () => {
  it("keeps the upstream status and message", async () => {
    const { response, settled } = await callWorker(
      jsonRequest("/v1/chat/completions", chat("fail please"), { "x-mock-fail": "503" }),
    );
    expect(response.status).toBe(503);
    expect(response.headers.get("x-sluice-provider")).toBe("mock");
    const body = (await response.json()) as { error: { message: string; type: string } };
    expect(body.error.message).toBe("mock upstream failure (503)");
    await settled();
    expect(await usageRow(response.headers.get("x-request-id") ?? "")).toMatchObject({
      status: 503,
      error: "mock upstream failure (503)",
    });
  });

  it("passes Retry-After from an upstream 429 on", async () => {
    // No retries: with one, the 7 s would be waited out first (it is under RETRY_AFTER_MAX).
    const { response } = await callWorker(
      jsonRequest("/v1/chat/completions", chat("slow down"), { "x-mock-fail": "429", "x-mock-retry-after": "7" }),
      { ...env, UPSTREAM_RETRIES: "0" },
    );
    expect(response.status).toBe(429);
    expect(response.headers.get("retry-after")).toBe("7");
  });

  it("answers 502 when the upstream drops the connection", async () => {
    const { response } = await callWorker(jsonRequest("/v1/chat/completions", chat("drop"), { "x-mock-fail": "drop" }));
    expect(response.status).toBe(502);
    const body = (await response.json()) as { error: { message: string } };
    expect(body.error.message).toBe("Upstream mock could not be reached.");
  });

  it("never lets the provider key reach the client", async () => {
    const providerKey = "sk-reject-provider-secret-4f9a8b7c6d";
    const bindings = { ...env, OPENAI_BASE_URL: env.MOCK_BASE_URL, OPENAI_API_KEY: providerKey };
    const { response } = await callWorker(
      jsonRequest("/v1/chat/completions", chat("use the openai adapter", { model: "openai/mock-echo" })),
      bindings,
    );
    expect(response.status).toBe(401);
    const text = await response.text();
    expect(text).not.toContain(providerKey);
    expect(text).not.toContain("provider-secret");
    expect(JSON.parse(text)).toEqual({
      error: {
        message: "Incorrect API key provided: [redacted].",
        type: "authentication_error",
        param: null,
        code: "upstream_401",
      },
    });
  });

  it("sends the provider key upstream as a bearer token", async () => {
    const providerKey = "sk-test-provider-key-0000";
    const bindings = { ...env, OPENAI_BASE_URL: env.MOCK_BASE_URL, OPENAI_API_KEY: providerKey };
    const { response } = await callWorker(
      jsonRequest("/v1/chat/completions", chat("hi", { model: "openai/mock-echo" })),
      bindings,
    );
    expect(response.status).toBe(200);
    expect(response.headers.get("x-sluice-provider")).toBe("openai");
    const upstream = await upstreamRequest(response.headers.get("x-request-id") ?? "");
    expect(upstream.headers.authorization).toBe(`Bearer ${providerKey}`);
    expect(upstream.body.model).toBe("mock-echo");
  });
});

describe("bad input", () => {
  const expectOpenAIError = async (response: Response, status: number, expected: Record<string, unknown>) => {
    expect(response.status).toBe(status);
    expect(response.headers.get("content-type")).toContain("application/json");
    const body = (await response.json()) as { error: Record<string, unknown> };
    expect(body.error).toMatchObject(expected);
    expect(typeof body.error.message).toBe("string");
  };

  it("malformed JSON is a 400", async () => {
    const { response } = await callWorker(jsonRequest("/v1/chat/completions", "{not json"));
    await expectOpenAIError(response, 400, { type: "invalid_request_error", code: "invalid_json" });
  });

  it("a missing model is a 400 naming the field", async () => {
    const { response } = await callWorker(jsonRequest("/v1/chat/completions", { messages: [{ role: "user", content: "x" }] }));
    await expectOpenAIError(response, 400, { type: "invalid_request_error", param: "model" });
  });

  it("missing messages is a 400 naming the field", async () => {
    const { response } = await callWorker(jsonRequest("/v1/chat/completions", { model: "mock-echo" }));
    await expectOpenAIError(response, 400, { param: "messages" });
  });

  it("an unknown model is a 404", async () => {
    const { response } = await callWorker(jsonRequest("/v1/chat/completions", chat("x", { model: "no-such-model" })));
    await expectOpenAIError(response, 404, { code: "model_not_found", param: "model" });
  });

  it("a model whose provider is not configured is a 404 that says so", async () => {
    const { response } = await callWorker(jsonRequest("/v1/chat/completions", chat("x", { model: "gpt-4o-mini" })));
    expect(response.status).toBe(404);
    const body = (await response.json()) as { error: { message: string } };
    expect(body.error.message).toContain("`openai`, which is not configured");
  });

  it("an oversized body is a 413, declared or not", async () => {
    const bindings = { ...env, MAX_BODY_BYTES: "1024" };
    const big = chat("x".repeat(2000));
    const declared = await callWorker(jsonRequest("/v1/chat/completions", big), bindings);
    await expectOpenAIError(declared.response, 413, { code: "request_too_large" });

    const body = new TextEncoder().encode(JSON.stringify(big));
    const chunked = new Request(`${BASE}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${TEST_ADMIN_KEY}` },
      body: new ReadableStream({
        start(controller) {
          controller.enqueue(body);
          controller.close();
        },
      }),
    });
    const streamed = await callWorker(chunked, bindings);
    await expectOpenAIError(streamed.response, 413, { code: "request_too_large" });
  });

  it("a wrong admin key is a 401", async () => {
    const { response } = await callWorker(
      jsonRequest("/v1/chat/completions", chat("x"), { authorization: "Bearer sk-admin-wrong-wrong-wrong" }),
    );
    await expectOpenAIError(response, 401, { type: "authentication_error", code: "invalid_api_key" });
  });

  it("no credential is a 401 that says where to put one", async () => {
    const request = new Request(`${BASE}/v1/chat/completions`, { method: "POST", body: JSON.stringify(chat("x")) });
    const { response } = await callWorker(request);
    expect(response.status).toBe(401);
    const body = (await response.json()) as { error: { message: string } };
    expect(body.error.message).toContain("Authorization: Bearer");
  });

  it("a malformed Authorization header is a 401", async () => {
    const { response } = await callWorker(jsonRequest("/v1/chat/completions", chat("x"), { authorization: "Basic abc" }));
    await expectOpenAIError(response, 401, { type: "authentication_error" });
  });

  it("the admin key is also accepted where the Anthropic and Google SDKs send it", async () => {
    for (const header of ["x-api-key", "x-goog-api-key"]) {
      const headers = { [header]: TEST_ADMIN_KEY };
      const request = new Request(`${BASE}/v1/chat/completions`, { method: "POST", headers, body: JSON.stringify(chat("x")) });
      const { response } = await callWorker(request);
      expect(response.status).toBe(200);
    }
  });

  it("an unknown route is a 404 in OpenAI's shape", async () => {
    const { response } = await callWorker(
      new Request(`${BASE}/v1/nothing-here`, { headers: { authorization: `Bearer ${TEST_ADMIN_KEY}` } }),
    );
    await expectOpenAIError(response, 404, { type: "invalid_request_error" });
  });
});
