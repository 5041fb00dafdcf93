import OpenAI from "openai";
import { describe, expect, it } from "vitest";
import { BASE, mockProviderBindings, TEST_ADMIN_KEY, usageRow, workerFetch } from "./helpers.ts";

// The official SDK, unmodified, with Sluice as its base URL; its fetch goes
// into the Worker instead of over a socket.
function sdk(pending: Promise<void>[]) {
  return new OpenAI({
    apiKey: TEST_ADMIN_KEY,
    baseURL: `${BASE}/v1`,
    maxRetries: 0,
    fetch: workerFetch(pending),
  });
}

describe("the official openai SDK", () => {
  it("creates a completion", async () => {
    const pending: Promise<void>[] = [];
    const completion = await sdk(pending).chat.completions.create({
      model: "mock-echo",
      messages: [{ role: "user", content: "hello SDK" }],
    });
    expect(completion.choices[0]?.message.content).toBe("hello SDK");
    expect(completion.usage).toMatchObject({ prompt_tokens: 2, completion_tokens: 2 });
  });

  it("streams a completion, usage included when asked", async () => {
    const pending: Promise<void>[] = [];
    const stream = await sdk(pending).chat.completions.create({
      model: "mock-echo",
      messages: [{ role: "user", content: "stream through the SDK" }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const parts: string[] = [];
    let usage: OpenAI.CompletionUsage | undefined | null;
    for await (const chunk of stream) {
      parts.push(chunk.choices[0]?.delta.content ?? "");
      if (chunk.usage) usage = chunk.usage;
    }
    expect(parts.join("")).toBe("stream through the SDK");
    expect(usage).toMatchObject({ prompt_tokens: 4, completion_tokens: 4, total_tokens: 8 });
    await Promise.all(pending);
  });

  it("raises the SDK's own error types for gateway errors", async () => {
    const pending: Promise<void>[] = [];
    const failure = sdk(pending).chat.completions.create({ model: "no-such-model", messages: [{ role: "user", content: "x" }] });
    await expect(failure).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    await expect(failure).rejects.toMatchObject({ status: 404, code: "model_not_found" });
  });

  it("raises an error for a stream that breaks mid-way", async () => {
    const pending: Promise<void>[] = [];
    const client = sdk(pending);
    const stream = await client.chat.completions.create(
      { model: "mock-echo", messages: [{ role: "user", content: "a b c d e f" }], stream: true },
      // Paced, so the first chunks are through before the connection drops.
      { headers: { "x-mock-fail": "cut:2", "x-mock-interval-ms": "20" } },
    );
    const read = async () => {
      for await (const _ of stream) {
        // drain
      }
    };
    await expect(read()).rejects.toThrow(/upstream stream/i);
    await Promise.all(pending);
  });

  it("records the usage of SDK calls", async () => {
    const pending: Promise<void>[] = [];
    const raw = await sdk(pending)
      .chat.completions.create({ model: "mock-echo", messages: [{ role: "user", content: "metered" }] })
      .withResponse();
    await Promise.all(pending);
    const requestId = raw.response.headers.get("x-request-id") ?? "";
    expect(await usageRow(requestId)).toMatchObject({ promptTokens: 1, completionTokens: 1, status: 200 });
  });
});

describe("the official openai SDK on another provider's model", () => {
  const bindings = mockProviderBindings;
  const settling: Promise<unknown>[] = [];
  const client = new OpenAI({
    apiKey: TEST_ADMIN_KEY,
    baseURL: `${BASE}/v1`,
    maxRetries: 0,
    fetch: workerFetch(settling, bindings),
  });
  const tools: OpenAI.ChatCompletionTool[] = [
    { type: "function", function: { name: "lookup", parameters: { type: "object", properties: { text: { type: "string" } } } } },
  ];

  it("calls a tool on an Anthropic model, not streamed", async () => {
    const completion = await client.chat.completions.create({
      model: "anthropic/mock-echo",
      tools,
      messages: [{ role: "user", content: "look up otters" }],
    });
    expect(completion.choices[0]?.finish_reason).toBe("tool_calls");
    const call = completion.choices[0]?.message.tool_calls?.[0] as OpenAI.ChatCompletionMessageFunctionToolCall;
    expect(call.function).toEqual({ name: "lookup", arguments: '{"text":"look up otters"}' });
  });

  it("streams from an Anthropic model, tool call and usage included", async () => {
    const stream = await client.chat.completions.create({
      model: "anthropic/mock-echo",
      tools,
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: "user", content: "look up seals" }],
    });
    let args = "";
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      args += chunk.choices[0]?.delta.tool_calls?.[0]?.function?.arguments ?? "";
      if (chunk.usage) usage = chunk.usage;
    }
    expect(JSON.parse(args)).toEqual({ text: "look up seals" });
    expect(usage).toMatchObject({ prompt_tokens: 3 });
    await Promise.all(settling);
  });
});
