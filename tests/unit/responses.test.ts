// The Responses API without a Worker: input items read into the canonical
// form, answers written as output items and events, and a Responses stream
// read back for what it generated and its usage.
import { describe, expect, it } from "vitest";
import type { CanonicalEvent } from "../../src/formats/canonical.ts";
import { openaiResponsesSchema, responsesToCanonical } from "../../src/formats/openai/responses.ts";
import { ResponsesStreamEncoder } from "../../src/formats/openai/responses-answer.ts";
import { openaiResponsesCodec } from "../../src/formats/openai/responses-upstream.ts";

const body = (extra: Record<string, unknown>) => openaiResponsesSchema.parse({ model: "any", ...extra });

describe("a Responses request read into the canonical form", () => {
  it("joins an assistant's text and its calls into one turn, and tool outputs into the user's", () => {
    const request = responsesToCanonical(
      body({
        instructions: "Be exact.",
        input: [
          { role: "user", content: [{ type: "input_text", text: "find it" }] },
          { type: "reasoning", id: "rs_1", summary: [], encrypted_content: "opaque" },
          { role: "assistant", content: [{ type: "output_text", text: "Looking." }] },
          { type: "function_call", call_id: "call_1", name: "lookup", arguments: '{"q":"it"}' },
          { type: "custom_tool_call", call_id: "call_2", name: "apply_patch", input: "*** Begin Patch" },
          { type: "function_call_output", call_id: "call_1", output: "found" },
          { type: "custom_tool_call_output", call_id: "call_2", output: [{ type: "input_text", text: "applied" }] },
        ],
        text: { format: { type: "json_schema", name: "answer", schema: { type: "object" } } },
        tool_choice: { type: "function", name: "lookup" },
        reasoning: { effort: "high" },
      }),
      "anthropic",
    );
    expect(request).toMatchObject({
      system: "Be exact.",
      toolChoice: { name: "lookup" },
      responseFormat: { type: "json_schema", name: "answer", schema: { type: "object" } },
      reasoningEffort: "high",
      messages: [
        { role: "user", parts: [{ type: "text", text: "find it" }] },
        {
          role: "assistant",
          parts: [
            { type: "text", text: "Looking." },
            { type: "tool_call", id: "call_1", name: "lookup", arguments: '{"q":"it"}' },
            { type: "tool_call", id: "call_2", name: "apply_patch", arguments: '{"input":"*** Begin Patch"}' },
          ],
        },
        {
          role: "user",
          parts: [
            { type: "tool_result", toolCallId: "call_1", content: "found" },
            { type: "tool_result", toolCallId: "call_2", content: "applied" },
          ],
        },
      ],
    });
  });

  it("takes images by URL and as data URLs", () => {
    const request = responsesToCanonical(
      body({
        input: [
          {
            role: "user",
            content: [
              { type: "input_image", image_url: "https://example.com/a.png" },
              { type: "input_image", image_url: "data:image/jpeg;base64,AAAA" },
            ],
          },
        ],
      }),
      "gemini",
    );
    expect(request.messages[0]?.parts).toEqual([
      { type: "image", source: { kind: "url", url: "https://example.com/a.png" } },
      { type: "image", source: { kind: "base64", mediaType: "image/jpeg", data: "AAAA" } },
    ]);
  });
});

describe("a translated answer streamed as Responses events", () => {
  const run = (events: CanonicalEvent[]) => {
    const encoder = new ResponsesStreamEncoder("m", body({ input: "x", tools: [{ type: "custom", name: "apply_patch" }] }));
    const text = events.map((e) => encoder.encode(e)).join("") + encoder.end();
    return text
      .trim()
      .split("\n\n")
      .map((block) => JSON.parse(block.split("\n")[1]?.slice(6) ?? "{}") as Record<string, unknown> & { type: string });
  };

  it("closes the message before a call opens, and a custom tool's input goes out whole", () => {
    const events = run([
      { type: "start", id: "x", model: "m" },
      { type: "text", text: "Patching." },
      { type: "tool_call_start", index: 0, id: "call_9", name: "apply_patch" },
      { type: "tool_call_delta", index: 0, arguments: '{"input":' },
      { type: "tool_call_delta", index: 0, arguments: '"diff"}' },
      { type: "finish", reason: "tool_calls" },
      { type: "usage", usage: { promptTokens: 3, completionTokens: 4, cachedTokens: 1 } },
    ]);
    expect(events.map((e) => e.type)).toEqual([
      "response.created",
      "response.in_progress",
      "response.output_item.added",
      "response.content_part.added",
      "response.output_text.delta",
      "response.output_text.done",
      "response.content_part.done",
      "response.output_item.done",
      "response.output_item.added",
      "response.custom_tool_call_input.delta",
      "response.custom_tool_call_input.done",
      "response.output_item.done",
      "response.completed",
    ]);
    expect(events[10]).toMatchObject({ input: "diff", output_index: 1 });
    expect(events.at(-1)?.response).toMatchObject({
      status: "completed",
      output: [
        { type: "message", content: [{ text: "Patching." }] },
        { type: "custom_tool_call", call_id: "call_9", name: "apply_patch", input: "diff", status: "completed" },
      ],
      usage: { input_tokens: 3, output_tokens: 4, total_tokens: 7, input_tokens_details: { cached_tokens: 1 } },
    });
  });
});

describe("a Responses stream read from a provider", () => {
  const frame = (data: Record<string, unknown>) => ({ event: String(data.type), data: JSON.stringify(data), raw: "" });

  it("reports text, calls and the usage of response.completed, and says when it is whole", () => {
    const decoder = openaiResponsesCodec.streamDecoder();
    const events = [
      frame({ type: "response.created", response: { id: "resp_1", model: "gpt" } }),
      frame({ type: "response.output_text.delta", delta: "hi" }),
      frame({ type: "response.output_item.added", output_index: 1, item: { type: "function_call", call_id: "c", name: "f" } }),
      frame({ type: "response.function_call_arguments.delta", output_index: 1, delta: "{}" }),
    ].flatMap((f) => decoder.decode(f));
    expect(decoder.complete).toBe(false);
    const last = decoder.decode(
      frame({
        type: "response.completed",
        response: {
          status: "completed",
          output: [{ type: "function_call" }],
          usage: { input_tokens: 9, output_tokens: 2, input_tokens_details: { cached_tokens: 4 } },
        },
      }),
    );
    expect(decoder.complete).toBe(true);
    expect([...events, ...last]).toEqual([
      { type: "start", id: "resp_1", model: "gpt" },
      { type: "text", text: "hi" },
      { type: "tool_call_start", index: 1, id: "c", name: "f" },
      { type: "tool_call_delta", index: 1, arguments: "{}" },
      { type: "finish", reason: "tool_calls" },
      { type: "usage", usage: { promptTokens: 9, completionTokens: 2, cachedTokens: 4 } },
    ]);
  });

  it("counts paid built-in tool calls as each ends and in the whole answer: the preview's apart, containers once", () => {
    const decoder = openaiResponsesCodec.streamDecoder();
    const tools = [{ type: "web_search_preview_2025_03_11" }, { type: "code_interpreter" }];
    decoder.decode(frame({ type: "response.created", response: { id: "resp_2", model: "gpt", tools } }));
    const search = { type: "web_search_call", id: "ws_1", status: "completed" };
    const code = (id: string) => ({ type: "code_interpreter_call", id, container_id: "cntr_1" });
    expect(decoder.decode(frame({ type: "response.output_item.done", output_index: 0, item: search }))).toEqual([
      { type: "usage", usage: { promptTokens: 0, completionTokens: 0, cachedTokens: 0, toolCalls: { web_search_preview: 1 } } },
    ]);
    decoder.decode(frame({ type: "response.output_item.done", output_index: 1, item: code("ci_1") }));
    decoder.decode(frame({ type: "response.output_item.done", output_index: 2, item: code("ci_2") }));
    // A function call is the caller's tool: not counted, nothing reported.
    expect(
      decoder.decode(frame({ type: "response.output_item.done", output_index: 3, item: { type: "function_call" } })),
    ).toEqual([]);
    const last = decoder.decode(
      frame({
        type: "response.completed",
        response: {
          status: "completed",
          tools,
          output: [search, code("ci_1"), code("ci_2")],
          usage: { input_tokens: 5, output_tokens: 1 },
        },
      }),
    );
    expect(last.at(-1)).toEqual({
      type: "usage",
      usage: { promptTokens: 5, completionTokens: 1, cachedTokens: 0, toolCalls: { web_search_preview: 1, code_interpreter: 1 } },
    });
    // A whole answer the same way; the current web search tool is `web_search`.
    expect(
      openaiResponsesCodec.usage({
        tools: [{ type: "web_search" }],
        output: [search, search, { type: "file_search_call" }, { type: "image_generation_call" }],
        usage: { input_tokens: 1, output_tokens: 1 },
      }),
    ).toEqual({
      promptTokens: 1,
      completionTokens: 1,
      cachedTokens: 0,
      toolCalls: { web_search: 2, file_search: 1, image_generation: 1 },
    });
  });

  it("fails on an error event or a failed response", () => {
    const decoder = openaiResponsesCodec.streamDecoder();
    expect(() => decoder.decode(frame({ type: "error", message: "overloaded" }))).toThrow("overloaded");
    expect(() => decoder.decode(frame({ type: "response.failed", response: { error: { message: "bad" } } }))).toThrow("bad");
  });
});
