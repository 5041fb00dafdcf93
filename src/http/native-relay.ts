// A stream whose bytes nothing in Sluice changes: the runtime pipes them to
// the client, and a tee'd copy is read in batches for what metering needs.
// Reading every chunk in JavaScript is most of what a relayed stream costs
// (docs/performance.md), so here JavaScript runs per batch, not per chunk.
// The stream still ends honestly: an error event in the client's format when
// the upstream breaks off, goes quiet or ends unfinished, and the upstream
// aborted when the client leaves.

import type { StreamFrame } from "../formats/types.ts";
import type { FrameSplitter, StreamEnd } from "./frames.ts";
import { idleWatchdog } from "./idle-watchdog.ts";
import { type RelayHooks, type UpstreamBody, UpstreamReportedFailure } from "./relay.ts";

/** What the metering copy's frames are read for; `read` throws an UpstreamReportedFailure for the upstream's own error event. */
export interface FrameWatch {
  read(frames: StreamFrame[]): void;
  /** Whether the upstream said its answer was whole. */
  complete(): boolean;
}

/** The most the metering copy reads at once, and how long it lets chunks gather between reads when it is not behind. */
const BATCH_BYTES = 64 * 1024;
const BATCH_MS = 50;

type Metered = { kind: "ended" } | { kind: "failed"; error: unknown };

/** Reads the copy to its end in batches (a BYOB read takes every chunk queued since the last), feeding its frames to the watch. */
async function meter(
  copy: ReadableStream<Uint8Array>,
  first: Uint8Array | undefined,
  splitter: FrameSplitter,
  watch: FrameWatch,
  onData: () => void,
  pause: () => Promise<void>,
): Promise<Metered> {
  let byob: ReadableStreamBYOBReader | undefined;
  try {
    byob = copy.getReader({ mode: "byob" });
  } catch {
    // A stream that is not a byte stream (a binding's, built in JavaScript) is read chunk by chunk.
  }
  const reader = byob ?? copy.getReader();
  reader.closed.catch(() => undefined);
  let buffer = new ArrayBuffer(BATCH_BYTES);
  try {
    if (first) watch.read(splitter.push(first));
    for (;;) {
      const { done, value } = byob
        ? await byob.read(new Uint8Array(buffer))
        : await (reader as ReadableStreamDefaultReader<Uint8Array>).read();
      if (done) {
        watch.read(splitter.finish());
        return { kind: "ended" };
      }
      onData();
      watch.read(splitter.push(value));
      if (byob) buffer = value.buffer as ArrayBuffer;
      // A full batch means more is waiting: read on at once, so the copy never holds more than a pause's worth.
      if (value.byteLength < BATCH_BYTES) await pause();
    }
  } catch (error) {
    await reader.cancel().catch(() => undefined);
    return { kind: "failed", error };
  }
}

export function relayNatively(
  upstream: UpstreamBody & { stream: ReadableStream<Uint8Array> },
  splitter: FrameSplitter,
  watch: FrameWatch,
  hooks: RelayHooks,
): ReadableStream<Uint8Array> {
  const first = upstream.first;
  upstream.reader.releaseLock();
  const [toClient, copy] = upstream.stream.tee();
  const { readable, writable } = new IdentityTransformStream();
  const toBytes = (text: string) => hooks.bytes?.(text) ?? new TextEncoder().encode(text);

  const idleMs = hooks.idleTimeoutMs ?? 0;
  const idle = idleWatchdog(idleMs, () => hooks.abortUpstream());

  // Once the client has every byte, the copy is read to its end without pausing, so the stream closes at once.
  let piped = false;
  let wake: (() => void) | undefined;
  const pause = () =>
    piped
      ? Promise.resolve()
      : new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, BATCH_MS);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
  hooks.onFirstByte();
  const metered = meter(copy, first, splitter, watch, idle.heard, pause);

  const relay = async () => {
    let pipeError: unknown;
    try {
      if (first) {
        const writer = writable.getWriter();
        try {
          await writer.write(first);
        } finally {
          writer.releaseLock();
        }
      }
      await toClient.pipeTo(writable, { preventClose: true, preventAbort: true });
    } catch (error) {
      pipeError = error;
      // A branch never piped (the client left before the first chunk) would hold the whole answer.
      await toClient.cancel().catch(() => undefined);
    }
    piped = true;
    wake?.();
    // A failed pipe means the upstream broke off or the client left: either way nothing more is wanted from the upstream.
    if (pipeError !== undefined) hooks.abortUpstream();
    const result = await metered;
    idle.stop();
    let end: StreamEnd;
    let tail = "";
    if (result.kind === "failed" && result.error instanceof UpstreamReportedFailure) {
      // The upstream's own error event went out as it came; the stream ends after it.
      hooks.abortUpstream();
      end = { kind: "upstream_error", error: result.error.message };
    } else if (pipeError !== undefined || result.kind === "failed") {
      const error = pipeError ?? (result.kind === "failed" ? result.error : undefined);
      const reason = !idle.silent
        ? error instanceof Error
          ? error.message
          : String(error)
        : `the upstream sent nothing for ${idleMs} ms`;
      const message = hooks.redact(`The upstream stream failed: ${reason}`);
      tail = hooks.errorEvent(message);
      end = { kind: "upstream_error", error: message };
    } else if (watch.complete()) {
      end = { kind: "complete" };
    } else {
      const message = "The upstream stream ended before it was complete.";
      tail = hooks.errorEvent(message);
      end = { kind: "upstream_error", error: message };
    }
    const writer = writable.getWriter();
    writer.closed.catch(() => undefined);
    try {
      if (tail) await writer.write(toBytes(tail));
      await writer.close();
    } catch {
      // The client's side cannot be written: when that is what failed the pipe, the client left first.
      if (pipeError !== undefined) end = { kind: "client_closed", error: "client closed the stream" };
    }
    hooks.onEnd(end);
  };
  // Whatever happens, the call is recorded.
  relay().catch((error: unknown) =>
    hooks.onEnd({ kind: "upstream_error", error: hooks.redact(`The stream could not be relayed: ${String(error)}`) }),
  );
  return readable;
}
