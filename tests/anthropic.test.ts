import Anthropic from "@anthropic-ai/sdk";
import { describe, expect, it } from "vitest";
import { BASE, callWorker, TEST_ADMIN_KEY, upstreamRequest, usageRow, workerFetch } from "./helpers.ts";

const messages = (body: Record<string, unknown>, headers: Record<string, string> = {}) =>
  new Request(`${BASE}/v1/messages`, {
    method: "POST",
    headers: { "x-api-key": TEST_ADMIN_KEY, "anthropic-version": "2023-06-01", "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });

/** Anthropic's stream as [event name, data] pairs. */
async function anthropicEvents(response: Response): Promise<[string, Record<string, unknown>][]> {
  const text = await response.text();
  return text
    .split("\n\n")
    .filter((block) => block.trim())
    .map((block) => {
      const name = /^event: (.+)$/m.exec(block)?.[1] ?? "";
      const data = /^data: (.+)$/m.exec(block)?.[1] ?? "{}";
      return [name, JSON.parse(data) as Record<string, unknown>];
    });
}

const lookupTool = {
  name: "lookup",
  description: "Looks a phrase up",
  input_schema: { type: "object", properties: { text: { type: "string" } } },
};

describe("Anthropic Messages API in, OpenAI dialect out", () => {
  it("answers a message in Anthropic's shape and records its usage", async () => {
    const { response, settled } = await callWorker(
      messages({
        model: "mock-echo",
        max_tokens: 100,
        system: "Be brief.",
        messages: [{ role: "user", content: "hello there" }],
        temperature: 0.2,
      }),
    );
    expect(response.status).toBe(200);
    const body = (await response.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      type: "message",
      role: "assistant",
      model: "mock-echo",
      content: [{ type: "text", text: "hello there" }],
      stop_reason: "end_turn",
      stop_sequence: null,
      usage: { input_tokens: 5, output_tokens: 2 },
    });
    expect(String(body.id)).toMatch(/^msg_/);

    const requestId = response.headers.get("x-request-id") ?? "";
    const upstream = await upstreamRequest(requestId);
    expect(upstream.body).toEqual({
      model: "mock-echo",
      messages: [
        { role: "system", content: "Be brief." },
        { role: "user", content: "hello there" },
      ],
      max_tokens: 100,
      temperature: 0.2,
    });
    await settled();
    expect(await usageRow(requestId)).toMatchObject({
      clientFormat: "anthropic",
      provider: "mock",
      promptTokens: 5,
      completionTokens: 2,
      status: 200,
    });
  });

  it("streams Anthropic's event sequence", async () => {
    const { response, settled } = await callWorker(
      messages({ model: "mock-echo", max_tokens: 100, stream: true, messages: [{ role: "user", content: "stream me please" }] }),
    );
    expect(response.headers.get("content-type")).toContain("text/event-stream");
    const events = await anthropicEvents(response);
    const names = events.map(([name]) => name);
    expect(names[0]).toBe("message_start");
    expect(names[1]).toBe("content_block_start");
    expect(names.slice(2, -3).every((name) => name === "content_block_delta")).toBe(true);
    expect(names.slice(-3)).toEqual(["content_block_stop", "message_delta", "message_stop"]);
    const text = events
      .filter(([name]) => name === "content_block_delta")
      .map(([, data]) => (data.delta as { text: string }).text)
      .join("");
    expect(text).toBe("stream me please");
    expect(events.at(-2)?.[1]).toMatchObject({
      delta: { stop_reason: "end_turn" },
      usage: { input_tokens: 3, output_tokens: 3 },
    });
    await settled();
    expect(await usageRow(response.headers.get("x-request-id") ?? "")).toMatchObject({
      streamed: true,
      promptTokens: 3,
      completionTokens: 3,
    });
  });

  it("round-trips a tool call: tool_use out, tool_result back", async () => {
    const first = await callWorker(
      messages({ model: "mock-echo", max_tokens: 100, tools: [lookupTool], messages: [{ role: "user", content: "find cats" }] }),
    );
    const answer = (await first.response.json()) as {
      content: { type: string; id: string; name: string; input: unknown }[];
      stop_reason: string;
    };
    expect(answer.stop_reason).toBe("tool_use");
    const call = answer.content[0];
    expect(call).toMatchObject({ type: "tool_use", name: "lookup", input: { text: "find cats" } });
    const upstreamFirst = await upstreamRequest(first.response.headers.get("x-request-id") ?? "");
    expect(upstreamFirst.body.tools).toEqual([
      { type: "function", function: { name: "lookup", description: "Looks a phrase up", parameters: lookupTool.input_schema } },
    ]);

    const second = await callWorker(
      messages({
        model: "mock-echo",
        max_tokens: 100,
        tools: [lookupTool],
        messages: [
          { role: "user", content: "find cats" },
          { role: "assistant", content: answer.content },
          { role: "user", content: [{ type: "tool_result", tool_use_id: call?.id, content: "cats are mammals" }] },
        ],
      }),
    );
    const final = (await second.response.json()) as { content: { text: string }[]; stop_reason: string };
    expect(final).toMatchObject({ content: [{ type: "text", text: "Tool said: cats are mammals" }], stop_reason: "end_turn" });
    const upstream = await upstreamRequest(second.response.headers.get("x-request-id") ?? "");
    expect((upstream.body.messages as unknown[]).slice(1)).toEqual([
      {
        role: "assistant",
        content: null,
        tool_calls: [{ id: call?.id, type: "function", function: { name: "lookup", arguments: '{"text":"find cats"}' } }],
      },
      { role: "tool", tool_call_id: call?.id, content: "cats are mammals" },
    ]);
  });

  it("streams a tool call as a tool_use block with input_json_delta pieces", async () => {
    const { response } = await callWorker(
      messages({
        model: "mock-echo",
        max_tokens: 100,
        stream: true,
        tools: [lookupTool],
        messages: [{ role: "user", content: "find dogs" }],
      }),
    );
    const events = await anthropicEvents(response);
    const start = events.find(([name]) => name === "content_block_start")?.[1];
    expect(start).toMatchObject({ index: 0, content_block: { type: "tool_use", name: "lookup", input: {} } });
    const json = events
      .filter(([name, data]) => name === "content_block_delta" && (data.delta as { type: string }).type === "input_json_delta")
      .map(([, data]) => (data.delta as { partial_json: string }).partial_json)
      .join("");
    expect(JSON.parse(json)).toEqual({ text: "find dogs" });
    expect(events.find(([name]) => name === "message_delta")?.[1]).toMatchObject({ delta: { stop_reason: "tool_use" } });
  });

  it("answers errors in Anthropic's shape", async () => {
    const missing = await callWorker(messages({ model: "mock-echo", messages: [{ role: "user", content: "x" }] }));
    expect(missing.response.status).toBe(400);
    expect(await missing.response.json()).toMatchObject({
      type: "error",
      error: { type: "invalid_request_error", message: expect.stringContaining("max_tokens") },
    });
    const unknown = await callWorker(
      messages({ model: "no-such-model", max_tokens: 10, messages: [{ role: "user", content: "x" }] }),
    );
    expect(unknown.response.status).toBe(404);
    expect(await unknown.response.json()).toMatchObject({ type: "error", error: { type: "not_found_error" } });
    const denied = await callWorker(messages({ model: "mock-echo", max_tokens: 10, messages: [] }, { "x-api-key": "sk-wrong" }));
    expect(denied.response.status).toBe(401);
    expect(await denied.response.json()).toMatchObject({ type: "error", error: { type: "authentication_error" } });
    const broken = await callWorker(
      messages(
        { model: "mock-echo", max_tokens: 10, stream: true, messages: [{ role: "user", content: "a b c d" }] },
        { "x-mock-fail": "cut:1", "x-mock-interval-ms": "10" },
      ),
    );
    const events = await anthropicEvents(broken.response);
    expect(events.at(-1)).toEqual([
      "error",
      { type: "error", error: { type: "api_error", message: expect.stringContaining("upstream stream") } },
    ]);
    expect(events.map(([name]) => name)).not.toContain("message_stop");
  });

  it("answers count_tokens with an estimate", async () => {
    const { response } = await callWorker(
      new Request(`${BASE}/v1/messages/count_tokens`, {
        method: "POST",
        headers: {
          "x-api-key": TEST_ADMIN_KEY,
          "anthropic-version": "2023-06-01",
          "anthropic-beta": "token-counting-2024-11-01",
        },
        body: JSON.stringify({ model: "mock-echo", messages: [{ role: "user", content: "How many tokens is this sentence?" }] }),
      }),
    );
    expect(response.status).toBe(200);
    const body = (await response.json()) as { input_tokens: number };
    expect(body.input_tokens).toBeGreaterThanOrEqual(7);
    expect(body.input_tokens).toBeLessThanOrEqual(12);
  });
});

describe("the official @anthropic-ai/sdk", () => {
  const pending: Promise<unknown>[] = [];
  const client = new Anthropic({
    apiKey: TEST_ADMIN_KEY,
    baseURL: BASE,
    maxRetries: 0,
    fetch: workerFetch(pending),
  });

  it("creates a message on another provider's model", async () => {
    const message = await client.messages.create({
      model: "mock-echo",
      max_tokens: 50,
      messages: [{ role: "user", content: "hello SDK" }],
    });
    expect(message.content[0]).toMatchObject({ type: "text", text: "hello SDK" });
    expect(message.usage).toMatchObject({ input_tokens: 2, output_tokens: 2 });
  });

  it("calls a tool, not streamed", async () => {
    const message = await client.messages.create({
      model: "mock-echo",
      max_tokens: 50,
      tools: [lookupTool as Anthropic.Tool],
      messages: [{ role: "user", content: "look this up too" }],
    });
    expect(message.stop_reason).toBe("tool_use");
    expect(message.content[0]).toMatchObject({ type: "tool_use", name: "lookup", input: { text: "look this up too" } });
  });

  it("streams, with tools", async () => {
    const stream = client.messages.stream({
      model: "mock-echo",
      max_tokens: 50,
      tools: [lookupTool as Anthropic.Tool],
      messages: [{ role: "user", content: "look this up" }],
    });
    const final = await stream.finalMessage();
    expect(final.stop_reason).toBe("tool_use");
    expect(final.content[0]).toMatchObject({ type: "tool_use", name: "lookup", input: { text: "look this up" } });
    await Promise.all(pending);
  });

  it("streams text", async () => {
    const stream = client.messages.stream({
      model: "mock-echo",
      max_tokens: 50,
      messages: [{ role: "user", content: "a streamed answer" }],
    });
    const parts: string[] = [];
    stream.on("text", (text) => parts.push(text));
    const final = await stream.finalMessage();
    expect(parts.join("")).toBe("a streamed answer");
    expect(final.usage.output_tokens).toBe(3);
    await Promise.all(pending);
  });
});
