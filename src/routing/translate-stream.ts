// Reads a provider's stream, turns each event into canonical events and
// writes them out in the client's format, as each upstream chunk arrives.
import type { CanonicalEvent, CanonicalResponse } from "../formats/canonical.ts";
import { sseData } from "../http/sse.ts";
import { type RelayHooks, relaySse, type UpstreamBody } from "../http/sse-relay.ts";
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

export interface StreamWatch {
  onUsage: (tokens: TokenCounts) => void;
  onGenerated: (characters: number) => void;
}

/** Decodes one chunk's events, reporting usage and generated text; returns the canonical events. */
export function decodeEvents(decoder: StreamDecoder, events: string[], watch: StreamWatch): CanonicalEvent[] {
  const out: CanonicalEvent[] = [];
  for (const event of events) {
    const data = sseData(event);
    if (data === undefined) continue;
    for (const canonical of decoder.decode(data)) {
      if (canonical.type === "usage") watch.onUsage(canonical.usage);
      if (canonical.type === "text") watch.onGenerated(canonical.text.length);
      if (canonical.type === "tool_call_delta") watch.onGenerated(canonical.arguments.length);
      out.push(canonical);
    }
  }
  return out;
}

interface TranslateOptions extends RelayHooks, StreamWatch {
  decoder: StreamDecoder;
  encoder: StreamEncoder;
}

export function translateStream(upstream: UpstreamBody, options: TranslateOptions): ReadableStream<Uint8Array> {
  const translate = (events: string[]) =>
    decodeEvents(options.decoder, events, options)
      .map((event) => options.encoder.encode(event))
      .join("");
  return relaySse(
    upstream,
    {
      chunk: (_raw, events) => translate(events),
      tail: translate,
      complete: () => options.decoder.complete,
      closing: () => options.encoder.end(),
    },
    options,
  );
}
