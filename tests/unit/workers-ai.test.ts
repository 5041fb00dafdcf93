import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/index.ts";
import type { CanonicalRequest } from "../../src/formats/canonical.ts";
import { canonicalToWorkersAi, workersAiCodec } from "../../src/formats/workers-ai/upstream.ts";
import { runOnRest } from "../../src/providers/workers-ai/rest.ts";

const frame = (data: unknown) => {
  const text = typeof data === "string" ? data : JSON.stringify(data);
  return { data: text, raw: `data: ${text}` };
};

describe("Workers AI's text generation, from the provider's side", () => {
  it("takes OpenAI-style messages and tools: text content beside tool calls, no tool choice or stop sequences", () => {
    const request: CanonicalRequest = {
      model: "@cf/meta/llama-3.3-70b-instruct-fp8-fast",
      system: "terse",
      messages: [
        { role: "user", parts: [{ type: "text", text: "weather?" }] },
        { role: "assistant", parts: [{ type: "tool_call", id: "c1", name: "weather", arguments: '{"city":"Oslo"}' }] },
        { role: "user", parts: [{ type: "tool_result", toolCallId: "c1", content: "cold" }] },
      ],
      tools: [{ name: "weather", parameters: { type: "object" } }],
      toolChoice: "auto",
      stop: ["END"],
      maxTokens: 30,
      stream: true,
    };
    expect(canonicalToWorkersAi(request)).toEqual({
      messages: [
        { role: "system", content: "terse" },
        { role: "user", content: "weather?" },
        {
          role: "assistant",
          content: "",
          tool_calls: [{ id: "c1", type: "function", function: { name: "weather", arguments: '{"city":"Oslo"}' } }],
        },
        { role: "tool", tool_call_id: "c1", content: "cold" },
      ],
      tools: [{ type: "function", function: { name: "weather", description: undefined, parameters: { type: "object" } } }],
      max_tokens: 30,
      stream: true,
    });
    expect(canonicalToWorkersAi({ ...request, toolChoice: "none" }).tools).toBeUndefined();
  });

  it("reads answers in its own shape (tool arguments as an object) and in OpenAI's", () => {
    const own = workersAiCodec.decode({
      response: "",
      tool_calls: [{ name: "weather", arguments: { city: "Oslo" } }],
      usage: { prompt_tokens: 12, completion_tokens: 5, total_tokens: 17 },
    });
    expect(own.finishReason).toBe("tool_calls");
    expect(own.parts).toEqual([
      { type: "tool_call", id: expect.stringMatching(/^call_0_/), name: "weather", arguments: '{"city":"Oslo"}' },
    ]);
    expect(own.usage).toEqual({ promptTokens: 12, completionTokens: 5, cachedTokens: 0 });
    const openai = workersAiCodec.decode({
      id: "chatcmpl-1",
      choices: [{ message: { content: "hi" }, finish_reason: "stop" }],
      usage: { prompt_tokens: 3, completion_tokens: 1 },
    });
    expect(openai.parts).toEqual([{ type: "text", text: "hi" }]);
    expect(openai.usage.promptTokens).toBe(3);
  });

  it("reads its stream: pieces, a tool call, the usage on the last event, then [DONE]", () => {
    const decoder = workersAiCodec.streamDecoder();
    const events = [
      frame({ response: "Hel", p: "abc" }),
      frame({ response: "lo" }),
      frame({ response: "", tool_calls: [{ name: "weather", arguments: { city: "Oslo" } }] }),
      frame({ response: "", usage: { prompt_tokens: 4, completion_tokens: 6, total_tokens: 10 } }),
    ].flatMap((f) => decoder.decode(f));
    expect(decoder.complete).toBe(false);
    const done = decoder.decode(frame("[DONE]"));
    expect(decoder.complete).toBe(true);
    expect([...events, ...done].map((e) => e.type)).toEqual([
      "start",
      "text",
      "text",
      "tool_call_start",
      "tool_call_delta",
      "usage",
      "finish",
    ]);
    expect(done).toEqual([{ type: "finish", reason: "tool_calls" }]);
    expect(events.find((e) => e.type === "usage")).toEqual({
      type: "usage",
      usage: { promptTokens: 4, completionTokens: 6, cachedTokens: 0 },
    });
  });

  it("says a stream failed when the binding reports an error in it", () => {
    const decoder = workersAiCodec.streamDecoder();
    expect(() => decoder.decode(frame({ errors: [{ message: "3040: Capacity temporarily exceeded" }] }))).toThrow(/3040/);
  });
});

describe("Workers AI's configuration", () => {
  const required = {
    DATABASE_URL: "postgres://localhost/sluice",
    UPSTASH_REDIS_REST_URL: "http://127.0.0.1:1",
    UPSTASH_REDIS_REST_TOKEN: "token",
    ADMIN_KEY: "sk-admin-0123456789abcdef",
  };

  it("is off with neither the binding nor an account", () => {
    expect(parseConfig(required).providers["workers-ai"]).toBeUndefined();
  });

  it("reaches the account's REST API with its token when an account is set", () => {
    const config = parseConfig({ ...required, WORKERS_AI_ACCOUNT_ID: "acc123", WORKERS_AI_API_TOKEN: "cf-token" });
    expect(config.providers["workers-ai"]).toEqual({
      baseUrl: "https://api.cloudflare.com/client/v4/accounts/acc123/ai",
      secret: "cf-token",
    });
  });

  it("takes another REST endpoint of that shape, and the binding's placeholder when only bound", () => {
    expect(parseConfig({ ...required, WORKERS_AI_BASE_URL: "http://127.0.0.1:8090/ai/" }).providers["workers-ai"]).toMatchObject({
      baseUrl: "http://127.0.0.1:8090/ai",
    });
    expect(parseConfig({ ...required, AI: { run: () => undefined } }).providers["workers-ai"]).toEqual({
      baseUrl: "https://workers-ai.binding",
    });
  });
});

describe("Workers AI's REST API as an upstream", () => {
  it("passes a stream through, and a caller's abort reaches the REST server", async () => {
    let closed!: () => void;
    const serverSawClose = new Promise<void>((resolve) => {
      closed = resolve;
    });
    const server = createServer((req, res) => {
      expect(req.headers.authorization).toBe("Bearer cf-token");
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write(`data: ${JSON.stringify({ response: "first" })}\n\n`);
      // Never ends on its own: only the caller's abort closes it.
      res.on("close", () => closed());
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const abort = new AbortController();
      const response = await runOnRest(
        new Request(`http://127.0.0.1:${port}/ai/run/@cf/meta/llama-3.1-8b-instruct`, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: "Bearer cf-token" },
          body: JSON.stringify({ stream: true, messages: [] }),
        }),
        { signal: abort.signal },
      );
      expect(response.headers.get("content-type")).toBe("text/event-stream");
      const reader = (response.body as ReadableStream<Uint8Array>).getReader();
      const first = await reader.read();
      expect(new TextDecoder().decode(first.value)).toBe('data: {"response":"first"}\n\n');
      abort.abort();
      await serverSawClose;
      await expect(reader.read()).rejects.toThrow();
    } finally {
      server.close();
    }
  });

  it("unwraps a whole answer's `result`, and reads `errors` as the binding's codes", async () => {
    const server = createServer((req, res) => {
      const found = req.url?.endsWith("/mock-echo");
      res.writeHead(found ? 200 : 400, { "content-type": "application/json" });
      res.end(
        JSON.stringify(
          found
            ? { result: { response: "hi" }, success: true, errors: [], messages: [] }
            : { result: null, success: false, errors: [{ code: 5007, message: "No such model" }], messages: [] },
        ),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    const run = (model: string) =>
      runOnRest(new Request(`http://127.0.0.1:${port}/ai/run/${model}`, { method: "POST", body: "{}" }), {
        signal: new AbortController().signal,
      });
    try {
      const answer = await run("mock-echo");
      expect(answer.status).toBe(200);
      expect(await answer.json()).toEqual({ response: "hi" });
      const missing = await run("nope");
      expect(missing.status).toBe(404);
      expect(await missing.json()).toEqual({ errors: [{ message: "5007: No such model" }], message: "5007: No such model" });
    } finally {
      server.close();
    }
  });
});
