// Converse streams as the client gets them: AWS event-stream messages. The
// relays pass text between their stages, so a message travels as a binary
// string (one character per byte) and becomes bytes again on its way out
// (`EVENT_STREAM_WIRE`); an upstream's own chunks are relayed as they came.
import { encodeEventStreamMessage } from "../../http/event-stream.ts";
import type { StreamFrame } from "../types.ts";

const utf8 = new TextEncoder();

/** Bytes as a string of one character per byte. */
export function binaryString(bytes: Uint8Array): string {
  let out = "";
  // In slices, so a long message does not overflow the argument list.
  for (let at = 0; at < bytes.length; at += 8192) out += String.fromCharCode(...bytes.subarray(at, at + 8192));
  return out;
}

/** A binary string back to its bytes. */
export function binaryBytes(text: string): Uint8Array {
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i) & 0xff;
  return bytes;
}

/** One event-stream message, its payload JSON, as a binary string. */
export const eventStreamText = (headers: Record<string, string>, payload: unknown): string =>
  binaryString(encodeEventStreamMessage(headers, utf8.encode(JSON.stringify(payload))));

/** An event of the Converse stream (`messageStart`, `contentBlockDelta`…). */
export const converseEvent = (type: string, payload: unknown): string =>
  eventStreamText({ ":event-type": type, ":content-type": "application/json", ":message-type": "event" }, payload);

/** A frame an upstream sent, written again (with its payload as `data` now says), for a relay that rewrites. */
export function eventStreamFrameText(frame: StreamFrame): string {
  const exception = frame.event?.startsWith("exception:") ? frame.event.slice("exception:".length) : undefined;
  const headers: Record<string, string> = exception
    ? { ":exception-type": exception, ":content-type": "application/json", ":message-type": "exception" }
    : { ":event-type": frame.event ?? "", ":content-type": "application/json", ":message-type": "event" };
  return binaryString(encodeEventStreamMessage(headers, utf8.encode(frame.data)));
}

/** How a stream for Bedrock's clients leaves: its content type, and its text as bytes. */
export const EVENT_STREAM_WIRE = { contentType: "application/vnd.amazon.eventstream", bytes: binaryBytes } as const;
