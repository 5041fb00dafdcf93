// Reads a provider's stream, turns each event into canonical events and
// writes them out in the client's format, as each upstream chunk arrives.
import type { CanonicalEvent, CanonicalResponse } from "../formats/canonical.ts";
import { SseSplitter, type StreamEnd, sseData } from "../http/sse.ts";
import type { StreamDecoder } from "../providers/types.ts";
import type { TokenCounts } from "../usage/prices.ts";

export interface StreamEncoder {
  encode(event: CanonicalEvent): string;
  /** The closing events of a whole stream. */
  end(): string;
}

/** A client format's way of writing answers. */
export interface ClientEncoder {
  response(answer: CanonicalResponse, model: string): unknown;
  stream(model: string): StreamEncoder;
}

interface TranslateOptions {
  decoder: StreamDecoder;
  encoder: StreamEncoder;
  onUsage: (tokens: TokenCounts) => void;
  onGenerated: (characters: number) => void;
  onFirstByte: () => void;
  errorEvent: (message: string) => string;
  abortUpstream: () => void;
  onEnd: (end: StreamEnd) => void;
}

export function translateStream(upstream: ReadableStream<Uint8Array>, options: TranslateOptions): ReadableStream<Uint8Array> {
  const reader = upstream.getReader();
  reader.closed.catch(() => undefined);
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
  const splitter = new SseSplitter();
  let ended = false;
  const end = (result: StreamEnd) => {
    if (ended) return;
    ended = true;
    options.onEnd(result);
  };

  const translate = (events: string[]): string => {
    let out = "";
    for (const event of events) {
      const data = sseData(event);
      if (data === undefined) continue;
      for (const canonical of options.decoder.decode(data)) {
        if (canonical.type === "usage") options.onUsage(canonical.usage);
        if (canonical.type === "text") options.onGenerated(canonical.text.length);
        if (canonical.type === "tool_call_delta") options.onGenerated(canonical.arguments.length);
        out += options.encoder.encode(canonical);
      }
    }
    return out;
  };

  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          // Each pull delivers something (or ends the stream): a pull that enqueued nothing would stall the reader.
          for (;;) {
            const { done, value } = await reader.read();
            if (done) {
              let out = translate(splitter.push(`${decoder.decode()}${splitter.pending ? "\n\n" : ""}`));
              if (options.decoder.complete) {
                out += options.encoder.end();
                end({ kind: "complete" });
              } else {
                const message = "The upstream stream ended before it was complete.";
                out += options.errorEvent(message);
                end({ kind: "upstream_error", error: message });
              }
              controller.enqueue(encoder.encode(out));
              controller.close();
              return;
            }
            options.onFirstByte();
            const out = translate(splitter.push(decoder.decode(value, { stream: true })));
            if (out) {
              controller.enqueue(encoder.encode(out));
              return;
            }
          }
        } catch (error) {
          const message = `The upstream stream failed: ${error instanceof Error ? error.message : String(error)}`;
          controller.enqueue(encoder.encode(options.errorEvent(message)));
          end({ kind: "upstream_error", error: message });
          options.abortUpstream();
          controller.close();
        }
      },
      async cancel() {
        options.abortUpstream();
        end({ kind: "client_closed", error: "client closed the stream" });
        await reader.cancel().catch(() => undefined);
      },
    },
    { highWaterMark: 0 },
  );
}
