// Cutting a provider's byte stream into frames: server-sent events for most,
// AWS's binary event-stream for Bedrock. A provider's endpoint names its
// framing; the relays above never look at bytes.
import type { StreamFrame } from "../formats/types.ts";
import { decodeEventStreamMessage, EVENT_STREAM_PRELUDE } from "./event-stream.ts";

export type Framing = "sse" | "aws-event-stream";

export interface FrameSplitter {
  /** The frames one chunk completes. */
  push(bytes: Uint8Array): StreamFrame[];
  /** Whether the bytes pushed so far end on a frame's boundary (nothing of a frame is waiting for the next chunk). */
  readonly atBoundary: boolean;
  /** The frames left when the stream ends (an SSE event without its blank line, say). */
  finish(): StreamFrame[];
}

const EVENT_END = /\r?\n\r?\n/;

/** The `event:` and `data:` of one SSE event (multi-line data joined by newlines); data undefined when it has none. */
export function parseSseEvent(raw: string): { event?: string; data?: string } {
  // Most events are one `data: …` line: read without splitting.
  if (raw.startsWith("data: ") && !raw.includes("\n")) return { data: raw.slice(6) };
  let event: string | undefined;
  let data: string | undefined;
  for (const line of raw.split(/\r?\n/)) {
    if (line.startsWith("data:")) {
      const value = line.charCodeAt(5) === 32 ? line.slice(6) : line.slice(5);
      data = data === undefined ? value : `${data}\n${value}`;
    } else if (line.startsWith("event:")) {
      event = line.slice(6).trim();
    }
  }
  return { event, data };
}

/** Server-sent events: text, events ended by a blank line; events without data (comments, pings) are passed over. */
export function sseFrames(): FrameSplitter {
  const decoder = new TextDecoder();
  let buffer = "";
  const take = (): StreamFrame[] => {
    const frames: StreamFrame[] = [];
    for (let match = EVENT_END.exec(buffer); match; match = EVENT_END.exec(buffer)) {
      const raw = buffer.slice(0, match.index);
      buffer = buffer.slice(match.index + match[0].length);
      const { event, data } = parseSseEvent(raw);
      if (data !== undefined) frames.push({ event, data, raw });
    }
    return frames;
  };
  return {
    get atBoundary() {
      return buffer.length === 0;
    },
    push(bytes) {
      buffer += decoder.decode(bytes, { stream: true });
      return take();
    },
    finish() {
      buffer += decoder.decode();
      if (buffer.trim()) buffer += "\n\n";
      return take();
    },
  };
}

/** AWS event-stream: length-prefixed binary messages, each a JSON payload with its event type in a header. */
export function eventStreamFrames(): FrameSplitter {
  let buffer = new Uint8Array(0);
  const decoder = new TextDecoder();
  return {
    get atBoundary() {
      return buffer.length === 0;
    },
    push(bytes) {
      const joined = new Uint8Array(buffer.length + bytes.length);
      joined.set(buffer);
      joined.set(bytes, buffer.length);
      const frames: StreamFrame[] = [];
      let offset = 0;
      while (joined.length - offset >= EVENT_STREAM_PRELUDE) {
        const total = new DataView(joined.buffer, joined.byteOffset + offset, 4).getUint32(0);
        if (joined.length - offset < total) break;
        const message = decodeEventStreamMessage(joined.subarray(offset, offset + total));
        offset += total;
        const type = message.headers[":message-type"];
        const payload = decoder.decode(message.payload);
        if (type === "exception" || type === "error") {
          // Reported as a frame of its own; the provider's decoder turns it into the stream's error.
          const name = message.headers[":exception-type"] ?? message.headers[":error-code"] ?? "error";
          frames.push({ event: `exception:${name}`, data: payload || "{}", raw: "" });
        } else {
          frames.push({ event: message.headers[":event-type"], data: payload, raw: "" });
        }
      }
      buffer = joined.slice(offset);
      return frames;
    },
    finish() {
      if (buffer.length > 0) throw new Error("the event stream ended inside a message");
      return [];
    },
  };
}

export function frameSplitter(framing: Framing): FrameSplitter {
  return framing === "sse" ? sseFrames() : eventStreamFrames();
}

export const SSE_HEADERS = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-cache",
  "x-accel-buffering": "no",
} as const;

/** How a relayed stream ended: whole, cut by the upstream, or abandoned by the client. */
export interface StreamEnd {
  kind: "complete" | "upstream_error" | "client_closed";
  error?: string;
  /** The status to record, where it is not what the kind says (a stream a guardrail stopped). */
  status?: number;
}
