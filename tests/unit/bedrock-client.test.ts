import { describe, expect, it } from "vitest";
import { bedrockErrors } from "../../src/formats/bedrock/errors.ts";
import { converseSchema, converseToCanonical } from "../../src/formats/bedrock/request.ts";
import { ConverseStreamEncoder } from "../../src/formats/bedrock/response.ts";
import { binaryBytes } from "../../src/formats/bedrock/stream.ts";
import { GatewayError } from "../../src/http/errors.ts";
import { eventStreamFrames } from "../../src/http/frames.ts";

describe("Converse requests from clients", () => {
  it("decode system, images, tool calls and results, tools and inference settings", () => {
    const body = converseSchema.parse({
      system: [{ text: "be brief" }, { cachePoint: { type: "default" } }],
      messages: [
        { role: "user", content: [{ text: "what is this?" }, { image: { format: "jpeg", source: { bytes: "AAAA" } } }] },
        { role: "assistant", content: [{ toolUse: { toolUseId: "t1", name: "lookup", input: { q: "x" } } }] },
        {
          role: "user",
          content: [{ toolResult: { toolUseId: "t1", content: [{ json: { answer: 42 } }, { text: "!" }], status: "error" } }],
        },
      ],
      inferenceConfig: { maxTokens: 100, temperature: 0.3, topP: 0.9, stopSequences: ["END"] },
      toolConfig: {
        tools: [{ toolSpec: { name: "lookup", inputSchema: { json: { type: "object" } } } }],
        toolChoice: { tool: { name: "lookup" } },
      },
    });
    expect(converseToCanonical(body, "m", true)).toEqual({
      model: "m",
      system: "be brief",
      messages: [
        {
          role: "user",
          parts: [
            { type: "text", text: "what is this?" },
            { type: "image", source: { kind: "base64", mediaType: "image/jpeg", data: "AAAA" } },
          ],
        },
        { role: "assistant", parts: [{ type: "tool_call", id: "t1", name: "lookup", arguments: '{"q":"x"}' }] },
        { role: "user", parts: [{ type: "tool_result", toolCallId: "t1", content: '{"answer":42}!', isError: true }] },
      ],
      tools: [{ name: "lookup", description: undefined, parameters: { type: "object" } }],
      toolChoice: { name: "lookup" },
      maxTokens: 100,
      temperature: 0.3,
      topP: 0.9,
      stop: ["END"],
      stream: true,
    });
  });
});

describe("ConverseStream as the client gets it", () => {
  it("is event-stream messages in Bedrock's order, readable at any chunk boundary", () => {
    const encoder = new ConverseStreamEncoder();
    const text =
      encoder.encode({ type: "start", id: "x", model: "m" }) +
      encoder.encode({ type: "text", text: "héllo " }) +
      encoder.encode({ type: "text", text: "wörld" }) +
      encoder.encode({ type: "tool_call_start", index: 0, id: "t1", name: "lookup" }) +
      encoder.encode({ type: "tool_call_delta", index: 0, arguments: '{"q":1}' }) +
      encoder.encode({ type: "finish", reason: "tool_calls" }) +
      encoder.encode({ type: "usage", usage: { promptTokens: 7, completionTokens: 5, cachedTokens: 2 } }) +
      encoder.end();
    const bytes = binaryBytes(text);
    for (const size of [1, 7, bytes.length]) {
      const splitter = eventStreamFrames();
      const frames = [];
      for (let at = 0; at < bytes.length; at += size) frames.push(...splitter.push(bytes.subarray(at, at + size)));
      expect(frames.map((f) => f.event)).toEqual([
        "messageStart",
        "contentBlockDelta",
        "contentBlockDelta",
        "contentBlockStop",
        "contentBlockStart",
        "contentBlockDelta",
        "contentBlockStop",
        "messageStop",
        "metadata",
      ]);
      expect(JSON.parse(frames[2]?.data ?? "")).toEqual({ contentBlockIndex: 0, delta: { text: "wörld" } });
      expect(JSON.parse(frames[4]?.data ?? "")).toEqual({
        contentBlockIndex: 1,
        start: { toolUse: { toolUseId: "t1", name: "lookup" } },
      });
      expect(JSON.parse(frames[7]?.data ?? "")).toEqual({ stopReason: "tool_use" });
      expect(JSON.parse(frames[8]?.data ?? "")).toMatchObject({
        usage: { inputTokens: 5, outputTokens: 5, totalTokens: 12, cacheReadInputTokens: 2 },
      });
    }
  });

  it("ends a failed stream with an exception message the SDK reads by its union member", () => {
    const event = bedrockErrors.streamEvent(new GatewayError(429, "rate_limit", "slow down"));
    const [frame] = eventStreamFrames().push(binaryBytes(event));
    expect(frame).toMatchObject({ event: "exception:throttlingException", data: '{"message":"slow down"}' });
  });
});
