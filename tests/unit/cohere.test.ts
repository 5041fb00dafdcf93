// Cohere's wire format both ways: what Sluice reads of its answers, streams
// and usage; what it sends it; and how a Cohere client's requests and
// answers are read and written.
import { describe, expect, it } from "vitest";
import type { CanonicalEvent } from "../../src/formats/canonical.ts";
import { cohereToCanonical } from "../../src/formats/cohere/request.ts";
import { rerankUsageFrom } from "../../src/formats/cohere/rerank.ts";
import { CohereStreamEncoder } from "../../src/formats/cohere/response.ts";
import { canonicalToCohereBody, cohereChatCodec, cohereUsageFrom } from "../../src/formats/cohere/upstream.ts";
import { cohereEmbedBody } from "../../src/providers/cohere/embed.ts";
import type { EndpointCall } from "../../src/providers/types.ts";

const frame = (data: unknown) => {
  const text = typeof data === "string" ? data : JSON.stringify(data);
  return { data: text, raw: `data: ${text}` };
};

describe("Cohere's usage", () => {
  it("is what Cohere billed, its cached tokens among the input", () => {
    expect(
      cohereUsageFrom({
        billed_units: { input_tokens: 10, output_tokens: 4 },
        tokens: { input_tokens: 210, output_tokens: 4 },
        cached_tokens: 6,
      }),
    ).toEqual({ promptTokens: 10, completionTokens: 4, cachedTokens: 6 });
  });

  it("is the raw counts where nothing is billed (a compatible server), and nothing without either", () => {
    expect(cohereUsageFrom({ tokens: { input_tokens: 7, output_tokens: 2 } })).toEqual({
      promptTokens: 7,
      completionTokens: 2,
      cachedTokens: 0,
    });
    expect(cohereUsageFrom({})).toBeUndefined();
  });

  it("of a rerank is its search units, as calls of the search fee", () => {
    expect(rerankUsageFrom({ meta: { billed_units: { search_units: 2 } } })).toEqual({
      promptTokens: 0,
      completionTokens: 0,
      cachedTokens: 0,
      toolCalls: { search_units: 2 },
    });
    expect(rerankUsageFrom({ usage: { total_tokens: 31 } })).toMatchObject({ promptTokens: 31 });
  });
});

describe("Cohere's stream, read", () => {
  it("becomes canonical events in order, tool plan as thinking, usage at the end", () => {
    const decoder = cohereChatCodec.streamDecoder();
    const events = [
      { type: "message-start", id: "c-1", delta: { message: { role: "assistant" } } },
      { type: "tool-plan-delta", delta: { message: { tool_plan: "I will look." } } },
      {
        type: "tool-call-start",
        index: 0,
        delta: { message: { tool_calls: { id: "t1", type: "function", function: { name: "lookup", arguments: "" } } } },
      },
      { type: "tool-call-delta", index: 0, delta: { message: { tool_calls: { function: { arguments: '{"q":1}' } } } } },
      { type: "tool-call-end", index: 0 },
      {
        type: "message-end",
        delta: { finish_reason: "TOOL_CALL", usage: { billed_units: { input_tokens: 5, output_tokens: 9 } } },
      },
    ].flatMap((event) => decoder.decode(frame(event)));
    expect(events).toEqual<CanonicalEvent[]>([
      { type: "start", id: "c-1", model: "" },
      { type: "reasoning", text: "I will look." },
      { type: "tool_call_start", index: 0, id: "t1", name: "lookup" },
      { type: "tool_call_delta", index: 0, arguments: '{"q":1}' },
      { type: "usage", usage: { promptTokens: 5, completionTokens: 9, cachedTokens: 0 } },
      { type: "finish", reason: "tool_calls" },
    ]);
    expect(decoder.complete).toBe(true);
  });

  it("fails on a message-end that reports an error, never ending cleanly", () => {
    const decoder = cohereChatCodec.streamDecoder();
    decoder.decode(frame({ type: "message-start", id: "c-2" }));
    expect(() => decoder.decode(frame({ type: "message-end", delta: { finish_reason: "ERROR", error: "overloaded" } }))).toThrow(
      "overloaded",
    );
    expect(decoder.complete).toBe(false);
  });
});

describe("a canonical request, sent to Cohere", () => {
  it("puts an assistant's words beside its tool calls in the tool plan, and results in tool messages", () => {
    const body = canonicalToCohereBody({
      model: "command-a-03-2025",
      stream: true,
      messages: [
        { role: "user", parts: [{ type: "text", text: "look it up" }] },
        {
          role: "assistant",
          parts: [
            { type: "text", text: "Looking." },
            { type: "tool_call", id: "t1", name: "lookup", arguments: '{"q":1}' },
          ],
        },
        { role: "user", parts: [{ type: "tool_result", toolCallId: "t1", content: "42" }] },
      ],
      toolChoice: "none",
      responseFormat: { type: "json_schema", name: "answer", schema: { type: "object" } },
    });
    expect(body).toEqual({
      messages: [
        { role: "user", content: "look it up" },
        {
          role: "assistant",
          tool_plan: "Looking.",
          tool_calls: [{ id: "t1", type: "function", function: { name: "lookup", arguments: '{"q":1}' } }],
        },
        { role: "tool", tool_call_id: "t1", content: "42" },
      ],
      tool_choice: "NONE",
      response_format: { type: "json_object", json_schema: { type: "object" } },
      stream: true,
    });
  });
});

describe("a Cohere client's request", () => {
  it("is read into the canonical form: system, images, tool calls and document results", () => {
    const request = cohereToCanonical({
      model: "gpt-4o-mini",
      messages: [
        { role: "system", content: "be brief" },
        {
          role: "user",
          content: [
            { type: "text", text: "what is this" },
            { type: "image_url", image_url: { url: "data:image/png;base64,AAAA" } },
          ],
        },
        { role: "assistant", tool_plan: "checking", tool_calls: [{ id: "t1", function: { name: "lookup", arguments: "{}" } }] },
        { role: "tool", tool_call_id: "t1", content: [{ type: "document", document: { data: { n: 42 } } }] },
      ],
      tool_choice: "REQUIRED",
      p: 0.5,
      response_format: { type: "json_object" },
    });
    expect(request).toMatchObject({
      system: "be brief",
      toolChoice: "required",
      topP: 0.5,
      responseFormat: { type: "json" },
      messages: [
        {
          role: "user",
          parts: [
            { type: "text", text: "what is this" },
            { type: "image", source: { kind: "base64", mediaType: "image/png", data: "AAAA" } },
          ],
        },
        {
          role: "assistant",
          parts: [
            { type: "text", text: "checking" },
            { type: "tool_call", id: "t1", name: "lookup", arguments: "{}" },
          ],
        },
        { role: "user", parts: [{ type: "tool_result", toolCallId: "t1", content: '{"n":42}' }] },
      ],
    });
  });
});

describe("a Cohere client's stream, written", () => {
  it("opens and closes each block, and ends with message-end carrying the reason and usage", () => {
    const encoder = new CohereStreamEncoder();
    const out = [
      encoder.encode({ type: "start", id: "x", model: "m" }),
      encoder.encode({ type: "text", text: "Hi" }),
      encoder.encode({ type: "tool_call_start", index: 0, id: "t1", name: "lookup" }),
      encoder.encode({ type: "tool_call_delta", index: 0, arguments: "{}" }),
      encoder.encode({ type: "finish", reason: "tool_calls" }),
      encoder.encode({ type: "usage", usage: { promptTokens: 3, completionTokens: 2, cachedTokens: 0 } }),
      encoder.end(),
    ].join("");
    const events = out
      .trim()
      .split("\n\n")
      .map((event) => JSON.parse(event.split("\n")[1]?.slice(6) ?? "") as { type: string; delta?: unknown });
    expect(events.map((event) => event.type)).toEqual([
      "message-start",
      "content-start",
      "content-delta",
      "content-end",
      "tool-call-start",
      "tool-call-delta",
      "tool-call-end",
      "message-end",
    ]);
    expect(events.at(-1)?.delta).toEqual({
      finish_reason: "TOOL_CALL",
      usage: { billed_units: { input_tokens: 3, output_tokens: 2 }, tokens: { input_tokens: 3, output_tokens: 2 } },
    });
  });
});

describe("OpenAI's embeddings, sent to Cohere", () => {
  it("become texts with an input type, the dimensions as Cohere names them", () => {
    const call = { upstreamModel: "embed-v4.0", body: { input: "one", dimensions: 512, user: "u" } } as unknown as EndpointCall;
    expect(cohereEmbedBody(call)).toEqual({
      model: "embed-v4.0",
      texts: ["one"],
      input_type: "search_document",
      embedding_types: ["float"],
      output_dimension: 512,
    });
  });
});
