import { describe, expect, it } from "vitest";
import type { CanonicalRequest } from "../../src/formats/canonical.ts";
import { canonicalToWorkersAi, workersAiCodec } from "../../src/formats/workers-ai/upstream.ts";

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
