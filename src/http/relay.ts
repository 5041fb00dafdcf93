// The one loop every streamed answer goes through: read an upstream chunk,
// hand the whole frames it completes to a relay that decides what the client
// gets, and end the stream honestly — closed when the upstream said it was
// whole, with an error event in the client's format when it was not, and
// with the upstream aborted when the client leaves.

import type { StreamFrame } from "../formats/types.ts";
import type { FrameSplitter, StreamEnd } from "./frames.ts";
import { idleWatchdog } from "./idle-watchdog.ts";

export interface FrameRelay {
  /** What the client gets for one upstream chunk and the frames it completed: the chunk as is, text, or nothing yet. */
  chunk(raw: Uint8Array, frames: StreamFrame[]): Uint8Array | string;
  /** What the client gets for frames left over when the upstream ended. */
  tail(frames: StreamFrame[]): string;
  /** Whether the upstream said its answer was whole. */
  complete(): boolean;
  /** The closing events of a whole answer, in the client's format (once a check of the whole answer has passed). */
  closing(): string | Promise<string>;
}

/**
 * Thrown by a relay when the upstream reported a failure in an event of its
 * own: `sent` is what the client gets for it (the frames before it and that
 * event, secrets redacted), in place of an error event of Sluice's.
 */
export class UpstreamReportedFailure extends Error {
  constructor(
    message: string,
    readonly sent: string,
    /** The status the call is recorded with, when the gateway refused the rest (a guardrail) rather than the upstream failing. */
    readonly status?: number,
  ) {
    super(message);
  }
}

export interface RelayHooks {
  onFirstByte: () => void;
  /** The longest wait for the upstream's next chunk; 0 waits for ever. */
  idleTimeoutMs?: number;
  /** An error event in the client's format. */
  errorEvent: (message: string) => string;
  /** Takes every known credential out of text bound for the client or the ledger. */
  redact: (text: string) => string;
  abortUpstream: () => void;
  onEnd: (end: StreamEnd) => void;
  /** The relay's text as the client's bytes, where the client's stream is not UTF-8 text (Bedrock's binary event stream). */
  bytes?: (text: string) => Uint8Array;
}

/** An upstream body, its first chunk perhaps already read (to know the answer began before committing to it). */
export interface UpstreamBody {
  reader: ReadableStreamDefaultReader<Uint8Array>;
  first?: Uint8Array;
  /** The stream the reader reads, where the runtime may pipe it to the client itself. */
  stream?: ReadableStream<Uint8Array>;
}

export const upstreamBody = (stream: ReadableStream<Uint8Array>): UpstreamBody => ({ reader: stream.getReader() });

export function relayFrames(
  upstream: UpstreamBody,
  splitter: FrameSplitter,
  relay: FrameRelay,
  hooks: RelayHooks,
): ReadableStream<Uint8Array> {
  const reader = upstream.reader;
  let first = upstream.first;
  // A broken upstream rejects `closed` too; the error is handled where `read()` throws.
  reader.closed.catch(() => undefined);
  const idleMs = hooks.idleTimeoutMs ?? 0;
  // Set silent when the upstream went quiet for too long and was aborted, which fails the read under way.
  const idle = idleWatchdog(idleMs, () => hooks.abortUpstream());
  const stopWatching = idle.stop;
  const encoder = new TextEncoder();
  const toBytes = hooks.bytes ?? ((text: string) => encoder.encode(text));
  let ended = false;
  /** The reader left: a read under way then fails, and there is nobody to tell. */
  let cancelled = false;
  const end = (result: StreamEnd) => {
    stopWatching();
    if (ended) return;
    ended = true;
    hooks.onEnd(result);
  };
  const bytes = (out: Uint8Array | string) => (typeof out === "string" ? toBytes(out) : out);

  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          // Each pull delivers something or ends the stream: with no queue in between, a pull that
          // enqueued nothing would leave the reader waiting.
          for (;;) {
            // The first chunk was read already; every other is read here, with no wrapper of its own per chunk.
            let result: ReadableStreamReadResult<Uint8Array>;
            if (first) {
              result = { done: false, value: first };
              first = undefined;
            } else {
              result = await reader.read();
              idle.heard();
            }
            const { done, value } = result;
            if (done) {
              let out = relay.tail(splitter.finish());
              if (relay.complete()) {
                const closing = relay.closing();
                // A refusal of the whole answer still sends the tail's text before its own event.
                out +=
                  typeof closing === "string"
                    ? closing
                    : await closing.catch((error: unknown) => {
                        if (!(error instanceof UpstreamReportedFailure)) throw error;
                        throw new UpstreamReportedFailure(error.message, out + error.sent, error.status);
                      });
                end({ kind: "complete" });
              } else {
                const message = "The upstream stream ended before it was complete.";
                out += hooks.errorEvent(message);
                end({ kind: "upstream_error", error: message });
              }
              if (out) controller.enqueue(toBytes(out));
              controller.close();
              return;
            }
            hooks.onFirstByte();
            const out = relay.chunk(value, splitter.push(value));
            if (out.length > 0) {
              controller.enqueue(bytes(out));
              return;
            }
          }
        } catch (error) {
          if (cancelled) return;
          const reason = !idle.silent
            ? error instanceof Error
              ? error.message
              : String(error)
            : `the upstream sent nothing for ${idleMs} ms`;
          const refused = error instanceof UpstreamReportedFailure ? error.status : undefined;
          const message = refused ? reason : hooks.redact(`The upstream stream failed: ${reason}`);
          const out = error instanceof UpstreamReportedFailure ? error.sent : hooks.errorEvent(message);
          if (out) controller.enqueue(toBytes(out));
          end({ kind: "upstream_error", error: message, status: refused });
          hooks.abortUpstream();
          controller.close();
        }
      },
      async cancel() {
        cancelled = true;
        hooks.abortUpstream();
        end({ kind: "client_closed", error: "client closed the stream" });
        await reader.cancel().catch(() => undefined);
      },
    },
    { highWaterMark: 0 },
  );
}

/**
 * Bytes relayed as they come (audio): no frames to read, nothing to
 * rewrite. An upstream that breaks off or goes quiet errors the client's
 * body, since a file has no error event to end it with; a client that
 * leaves aborts the upstream.
 */
export function relayBytes(upstream: UpstreamBody, hooks: RelayHooks): ReadableStream<Uint8Array> {
  const reader = upstream.reader;
  let first = upstream.first;
  reader.closed.catch(() => undefined);
  const idleMs = hooks.idleTimeoutMs ?? 0;
  const idle = idleWatchdog(idleMs, () => hooks.abortUpstream());
  let ended = false;
  const end = (result: StreamEnd) => {
    idle.stop();
    if (ended) return;
    ended = true;
    hooks.onEnd(result);
  };
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const { done, value } = first ? { done: false as const, value: first } : await reader.read();
          first = undefined;
          idle.heard();
          if (done) {
            end({ kind: "complete" });
            controller.close();
            return;
          }
          hooks.onFirstByte();
          controller.enqueue(value);
        } catch (error) {
          const reason = idle.silent
            ? `the upstream sent nothing for ${idleMs} ms`
            : error instanceof Error
              ? error.message
              : String(error);
          const message = hooks.redact(`The upstream stream failed: ${reason}`);
          end({ kind: "upstream_error", error: message });
          hooks.abortUpstream();
          controller.error(new Error(message));
        }
      },
      async cancel() {
        hooks.abortUpstream();
        end({ kind: "client_closed", error: "client closed the stream" });
        await reader.cancel().catch(() => undefined);
      },
    },
    { highWaterMark: 0 },
  );
}
