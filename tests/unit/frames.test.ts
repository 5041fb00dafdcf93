// Cutting provider streams into frames: SSE across any chunk boundary, and
// AWS event-stream messages with their checksums.
import { describe, expect, it } from "vitest";
import { crc32, decodeEventStreamMessage, encodeEventStreamMessage } from "../../src/http/event-stream.ts";
import { eventStreamFrames, type FrameSplitter, sseFrames } from "../../src/http/frames.ts";

const bytes = (text: string) => new TextEncoder().encode(text);

/** Feeds `input` in pieces of `size` bytes and collects every frame, the tail included. */
function split(splitter: FrameSplitter, input: Uint8Array, size: number) {
  const frames = [];
  for (let at = 0; at < input.length; at += size) frames.push(...splitter.push(input.subarray(at, at + size)));
  frames.push(...splitter.finish());
  return frames;
}

describe("server-sent events", () => {
  const stream =
    ': keep-alive comment\n\nevent: message_start\ndata: {"a":1}\n\r\ndata: line one\r\ndata: line two\r\n\r\ndata: [DONE]\n\ndata: {"tail":true}';

  it.each([1, 2, 3, 7, 1000])("gives the same frames whatever the chunk size (%i bytes)", (size) => {
    const frames = split(sseFrames(), bytes(stream), size);
    expect(frames.map(({ event, data }) => ({ event, data }))).toEqual([
      { event: "message_start", data: '{"a":1}' },
      { event: undefined, data: "line one\nline two" },
      { event: undefined, data: "[DONE]" },
      { event: undefined, data: '{"tail":true}' },
    ]);
  });

  it("keeps each frame's raw text, to relay it unchanged", () => {
    const [frame] = sseFrames().push(bytes('event: ping\ndata: {"type":"ping"}\n\n'));
    expect(frame?.raw).toBe('event: ping\ndata: {"type":"ping"}');
  });

  it("does not split a multi-byte character cut between chunks", () => {
    const input = bytes("data: héllo ✓\n\n");
    expect(split(sseFrames(), input, 1).map((f) => f.data)).toEqual(["héllo ✓"]);
  });
});

describe("AWS event stream", () => {
  it("checksums as zlib's CRC-32 does", () => {
    expect(crc32(bytes("123456789"))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array())).toBe(0);
  });

  const message = (type: string, payload: unknown) =>
    encodeEventStreamMessage(
      { ":event-type": type, ":content-type": "application/json", ":message-type": "event" },
      bytes(JSON.stringify(payload)),
    );

  it("round-trips a message, headers and payload", () => {
    const decoded = decodeEventStreamMessage(message("contentBlockDelta", { delta: { text: "hi" } }));
    expect(decoded.headers).toEqual({
      ":event-type": "contentBlockDelta",
      ":content-type": "application/json",
      ":message-type": "event",
    });
    expect(new TextDecoder().decode(decoded.payload)).toBe('{"delta":{"text":"hi"}}');
  });

  it.each([1, 5, 64, 4096])("frames messages whatever the chunk size (%i bytes)", (size) => {
    const parts = [
      message("messageStart", { role: "assistant" }),
      message("contentBlockDelta", { delta: { text: "é ✓" } }),
      message("metadata", { usage: { inputTokens: 1 } }),
    ];
    const joined = new Uint8Array(parts.reduce((sum, p) => sum + p.length, 0));
    let at = 0;
    for (const part of parts) {
      joined.set(part, at);
      at += part.length;
    }
    expect(split(eventStreamFrames(), joined, size).map(({ event, data }) => ({ event, data }))).toEqual([
      { event: "messageStart", data: '{"role":"assistant"}' },
      { event: "contentBlockDelta", data: '{"delta":{"text":"é ✓"}}' },
      { event: "metadata", data: '{"usage":{"inputTokens":1}}' },
    ]);
  });

  it("turns an exception message into a frame of its own, named by the exception", () => {
    const exception = encodeEventStreamMessage(
      { ":exception-type": "throttlingException", ":content-type": "application/json", ":message-type": "exception" },
      bytes('{"message":"slow down"}'),
    );
    expect(eventStreamFrames().push(exception)).toEqual([
      { event: "exception:throttlingException", data: '{"message":"slow down"}', raw: "" },
    ]);
  });

  it("refuses a message whose checksum does not match, and a stream that ends inside a message", () => {
    const corrupt = message("messageStop", { stopReason: "end_turn" });
    corrupt.set([(corrupt.at(-6) ?? 0) ^ 0xff], corrupt.length - 6);
    expect(() => eventStreamFrames().push(corrupt)).toThrow(/checksum/);
    const splitter = eventStreamFrames();
    splitter.push(message("messageStop", {}).subarray(0, 20));
    expect(() => splitter.finish()).toThrow(/inside a message/);
  });
});
