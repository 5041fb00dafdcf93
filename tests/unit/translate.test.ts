// Translations between the client formats, the canonical form and the
// providers' formats, without a Worker: requests encoded, answers and stream
// frames decoded.
import { describe, expect, it } from "vitest";
import { anthropicToCanonical } from "../../src/formats/anthropic/request.ts";
import { anthropicCodec } from "../../src/formats/anthropic/upstream.ts";
import { converseCodec } from "../../src/formats/bedrock/upstream.ts";
import type { CanonicalEvent } from "../../src/formats/canonical.ts";
import { geminiToCanonical } from "../../src/formats/gemini/request.ts";
import { geminiCodec } from "../../src/formats/gemini/upstream.ts";
import { openaiChatSchema, openaiChatToCanonical } from "../../src/formats/openai/chat.ts";
import { openaiChatCodec } from "../../src/formats/openai/upstream.ts";
import type { StreamFrame, UpstreamCodec } from "../../src/formats/types.ts";

const chat = openaiChatSchema.parse({
  model: "any",
  max_tokens: 50,
  temperature: 0.4,
  stop: "END",
  tool_choice: "required",
  tools: [{ type: "function", function: { name: "lookup", description: "Looks up", parameters: { type: "object" } } }],
  messages: [
    { role: "developer", content: "Be exact." },
    { role: "user", content: "find it" },
    {
      role: "assistant",
      content: null,
      tool_calls: [{ id: "call_1", type: "function", function: { name: "lookup", arguments: '{"q":"it"}' } }],
    },
    { role: "tool", tool_call_id: "call_1", content: "found" },
  ],
});

describe("an OpenAI chat request", () => {
  const canonical = openaiChatToCanonical(chat);

  it("decodes to the canonical form", () => {
    expect(canonical).toMatchObject({
      system: "Be exact.",
      maxTokens: 50,
      temperature: 0.4,
      stop: ["END"],
      toolChoice: "required",
      tools: [{ name: "lookup", description: "Looks up", parameters: { type: "object" } }],
      messages: [
        { role: "user", parts: [{ type: "text", text: "find it" }] },
        { role: "assistant", parts: [{ type: "tool_call", id: "call_1", name: "lookup", arguments: '{"q":"it"}' }] },
        { role: "user", parts: [{ type: "tool_result", toolCallId: "call_1", content: "found" }] },
      ],
    });
  });

  it("encodes as a Converse body", () => {
    expect(converseCodec.encode(canonical)).toEqual({
      system: [{ text: "Be exact." }],
      messages: [
        { role: "user", content: [{ text: "find it" }] },
        { role: "assistant", content: [{ toolUse: { toolUseId: "call_1", name: "lookup", input: { q: "it" } } }] },
        { role: "user", content: [{ toolResult: { toolUseId: "call_1", content: [{ text: "found" }] } }] },
      ],
      inferenceConfig: { maxTokens: 50, temperature: 0.4, stopSequences: ["END"] },
      toolConfig: {
        tools: [{ toolSpec: { name: "lookup", description: "Looks up", inputSchema: { json: { type: "object" } } } }],
        toolChoice: { any: {} },
      },
    });
  });

  it("encodes as an Anthropic body, the tool result in the user's turn", () => {
    expect(anthropicCodec.encode(canonical)).toMatchObject({
      max_tokens: 50,
      system: "Be exact.",
      tool_choice: { type: "any" },
      messages: [
        { role: "user", content: [{ type: "text", text: "find it" }] },
        { role: "assistant", content: [{ type: "tool_use", id: "call_1", name: "lookup", input: { q: "it" } }] },
        { role: "user", content: [{ type: "tool_result", tool_use_id: "call_1", content: "found" }] },
      ],
    });
  });

  it("refuses, as a 400 on the field, what a provider cannot take", () => {
    const json = { ...canonical, responseFormat: { type: "json" as const } };
    expect(() => converseCodec.encode(json)).toThrow(expect.objectContaining({ status: 400, param: "response_format" }));
    const image = {
      ...canonical,
      messages: [
        { role: "user" as const, parts: [{ type: "image" as const, source: { kind: "url" as const, url: "https://x/y.png" } }] },
      ],
    };
    expect(() => converseCodec.encode(image)).toThrow(expect.objectContaining({ status: 400 }));
  });
});

describe("Anthropic and Gemini requests", () => {
  it("take system turns inside `messages` as system text", () => {
    const request = anthropicToCanonical({
      model: "m",
      max_tokens: 5,
      messages: [
        { role: "system", content: "From the harness." },
        { role: "user", content: "hi" },
      ],
    } as Parameters<typeof anthropicToCanonical>[0]);
    expect(request.system).toBe("From the harness.");
    expect(request.messages).toEqual([{ role: "user", parts: [{ type: "text", text: "hi" }] }]);
  });

  it("name the blocks another provider cannot be sent: documents, thinking, images by file id", () => {
    const request = anthropicToCanonical({
      model: "m",
      max_tokens: 5,
      messages: [
        {
          role: "user",
          content: [
            { type: "document", source: { type: "base64", media_type: "application/pdf", data: "JVBERi0=" } },
            { type: "image", source: { type: "file", file_id: "file_1" } },
            { type: "image", source: { type: "base64", media_type: "image/png", data: "iVBO" } },
            { type: "text", text: "Summarize." },
          ],
        },
        {
          role: "assistant",
          content: [
            { type: "thinking", thinking: "hmm", signature: "s" },
            { type: "text", text: "ok" },
          ],
        },
      ],
    } as Parameters<typeof anthropicToCanonical>[0]);
    expect(request.messages.map((m) => m.parts.map((p) => p.type))).toEqual([["image", "text"], ["text"]]);
    expect(request.dropped).toEqual([
      "messages[].content[].document",
      "messages[].content[].image (file source)",
      "messages[].content[].thinking",
    ]);
    const plain = anthropicToCanonical({ model: "m", max_tokens: 5, messages: [{ role: "user", content: "hi" }] } as Parameters<
      typeof anthropicToCanonical
    >[0]);
    expect(plain.dropped).toBeUndefined();
  });

  it("read Gemini's function calls and responses", () => {
    const request = geminiToCanonical(
      {
        contents: [
          { role: "user", parts: [{ text: "q" }] },
          { role: "model", parts: [{ functionCall: { name: "f", args: { a: 1 } } }] },
          { role: "user", parts: [{ functionResponse: { name: "f", response: { r: 2 } } }] },
        ],
      },
      "gemini-x",
      false,
    );
    expect(request.messages[1]?.parts[0]).toMatchObject({ type: "tool_call", name: "f", arguments: '{"a":1}' });
    expect(request.messages[2]?.parts[0]).toMatchObject({ type: "tool_result", content: '{"r":2}' });
  });
});

/** Every canonical event a codec's stream decoder makes of these frames. */
function decodeAll(codec: UpstreamCodec, frames: StreamFrame[]) {
  const decoder = codec.streamDecoder();
  const events: CanonicalEvent[] = frames.flatMap((frame) => decoder.decode(frame));
  return { events, complete: decoder.complete };
}

const sse = (data: unknown, event?: string): StreamFrame => ({ event, data: JSON.stringify(data), raw: "" });

describe("provider streams", () => {
  it("Bedrock: text, a tool call, the stop reason, and usage with cache reads counted in the prompt", () => {
    const { events, complete } = decodeAll(converseCodec, [
      sse({ role: "assistant" }, "messageStart"),
      sse({ contentBlockIndex: 0, delta: { text: "Hel" } }, "contentBlockDelta"),
      sse({ contentBlockIndex: 0, delta: { text: "lo" } }, "contentBlockDelta"),
      sse({ contentBlockIndex: 1, start: { toolUse: { toolUseId: "t1", name: "f" } } }, "contentBlockStart"),
      sse({ contentBlockIndex: 1, delta: { toolUse: { input: '{"a"' } } }, "contentBlockDelta"),
      sse({ contentBlockIndex: 1, delta: { toolUse: { input: ":1}" } } }, "contentBlockDelta"),
      sse({ stopReason: "tool_use" }, "messageStop"),
      sse({ usage: { inputTokens: 10, outputTokens: 7, cacheReadInputTokens: 90 } }, "metadata"),
    ]);
    expect(events.map((e) => e.type)).toEqual([
      "start",
      "text",
      "text",
      "tool_call_start",
      "tool_call_delta",
      "tool_call_delta",
      "finish",
      "usage",
    ]);
    expect(events.slice(3)).toEqual([
      { type: "tool_call_start", index: 0, id: "t1", name: "f" },
      { type: "tool_call_delta", index: 0, arguments: '{"a"' },
      { type: "tool_call_delta", index: 0, arguments: ":1}" },
      { type: "finish", reason: "tool_calls" },
      { type: "usage", usage: { promptTokens: 100, completionTokens: 7, cachedTokens: 90 } },
    ]);
    expect(complete).toBe(true);
  });

  it("Bedrock: an exception frame is the stream's error", () => {
    const decoder = converseCodec.streamDecoder();
    expect(() =>
      decoder.decode({ event: "exception:throttlingException", data: '{"message":"Too many tokens"}', raw: "" }),
    ).toThrow("throttlingException: Too many tokens");
  });

  it("OpenAI: usage from the last chunk, cached tokens included", () => {
    const { events, complete } = decodeAll(openaiChatCodec, [
      sse({ id: "c", model: "m", choices: [{ index: 0, delta: { content: "Hi" } }] }),
      sse({ id: "c", model: "m", choices: [{ index: 0, delta: {}, finish_reason: "stop" }] }),
      sse({
        id: "c",
        model: "m",
        choices: [],
        usage: { prompt_tokens: 9, completion_tokens: 1, prompt_tokens_details: { cached_tokens: 4 } },
      }),
      { data: "[DONE]", raw: "data: [DONE]" },
    ]);
    expect(events.filter((e) => e.type === "usage")).toEqual([
      { type: "usage", usage: { promptTokens: 9, completionTokens: 1, cachedTokens: 4 } },
    ]);
    expect(events.some((e) => e.type === "text" && e.text === "Hi")).toBe(true);
    expect(complete).toBe(true);
  });

  it("Gemini: usage from usageMetadata, whole answers decoded", () => {
    const answer = geminiCodec.decode({
      candidates: [{ content: { parts: [{ text: "ok" }] }, finishReason: "MAX_TOKENS" }],
      usageMetadata: { promptTokenCount: 3, candidatesTokenCount: 1, cachedContentTokenCount: 2 },
    });
    expect(answer).toMatchObject({
      parts: [{ type: "text", text: "ok" }],
      finishReason: "length",
      usage: { promptTokens: 3, completionTokens: 1, cachedTokens: 2 },
    });
  });
});
