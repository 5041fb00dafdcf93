// Relays an OpenAI-dialect SSE stream to an OpenAI-format client, chunk by
// chunk, reading usage on the way. The usage chunk Sluice asked for is
// dropped when the client did not ask for it.
import { SseSplitter, type StreamEnd, sseData } from "../../http/sse.ts";
import type { TokenCounts } from "../../usage/prices.ts";

const USAGE_FIELD = /"usage"\s*:\s*\{/;

export interface OpenAIRelayOptions {
  hideUsageChunk: boolean;
  usageFrom: (usage: unknown) => TokenCounts | undefined;
  onUsage: (tokens: TokenCounts) => void;
  /** Characters of generated text (content and tool-call arguments) as they pass, for billing a stream cut short. */
  onGenerated: (characters: number) => void;
  onFirstByte: () => void;
  /** The client-format error event to end a broken stream with. */
  errorEvent: (message: string) => string;
  onEnd: (end: StreamEnd) => void;
  abortUpstream: () => void;
}

export function relayOpenAIStream(upstream: ReadableStream<Uint8Array>, options: OpenAIRelayOptions): ReadableStream<Uint8Array> {
  const reader = upstream.getReader();
  // A broken upstream rejects `closed` too; the error is handled where `read()` throws.
  reader.closed.catch(() => undefined);
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
  const splitter = new SseSplitter();
  let sawDone = false;
  let ended = false;

  const end = (result: StreamEnd) => {
    if (ended) return;
    ended = true;
    options.onEnd(result);
  };

  const countGenerated = (data: string) => {
    try {
      const chunk = JSON.parse(data) as {
        choices?: { text?: unknown; delta?: { content?: unknown; tool_calls?: { function?: { arguments?: unknown } }[] } }[];
      };
      let characters = 0;
      for (const choice of chunk.choices ?? []) {
        // Legacy completions stream `text`; chat completions a `delta`.
        if (typeof choice.text === "string") characters += choice.text.length;
        if (typeof choice.delta?.content === "string") characters += choice.delta.content.length;
        for (const call of choice.delta?.tool_calls ?? []) {
          if (typeof call.function?.arguments === "string") characters += call.function.arguments.length;
        }
      }
      if (characters > 0) options.onGenerated(characters);
    } catch {
      // Not JSON: nothing to count.
    }
  };

  /** Reads usage from one event; returns whether the event is the usage-only chunk. */
  const inspect = (event: string): boolean => {
    const data = sseData(event);
    if (data === undefined) return false;
    if (data === "[DONE]") {
      sawDone = true;
      return false;
    }
    if (!USAGE_FIELD.test(data)) {
      countGenerated(data);
      return false;
    }
    try {
      const chunk = JSON.parse(data) as { usage?: unknown; choices?: unknown[] };
      const tokens = options.usageFrom(chunk.usage);
      if (tokens) options.onUsage(tokens);
      return Array.isArray(chunk.choices) && chunk.choices.length === 0;
    } catch {
      return false;
    }
  };

  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          // Each pull delivers something (or ends the stream): with no queue in between, a pull
          // that enqueued nothing would leave the reader waiting.
          for (;;) {
            const { done, value } = await reader.read();
            if (done) {
              const tail = splitter.push(`${decoder.decode()}${splitter.pending ? "\n\n" : ""}`);
              const keptTail = tail.filter((event) => !inspect(event));
              if (options.hideUsageChunk && keptTail.length > 0) {
                controller.enqueue(encoder.encode(keptTail.map((event) => `${event}\n\n`).join("")));
              }
              if (sawDone) {
                end({ kind: "complete" });
              } else {
                const message = "The upstream stream ended before it was complete.";
                controller.enqueue(encoder.encode(options.errorEvent(message)));
                end({ kind: "upstream_error", error: message });
              }
              controller.close();
              return;
            }
            options.onFirstByte();
            const events = splitter.push(decoder.decode(value, { stream: true }));
            if (!options.hideUsageChunk) {
              // Nothing to hide: the bytes go out exactly as they came in.
              controller.enqueue(value);
              for (const event of events) inspect(event);
              return;
            }
            const kept = events.filter((event) => !inspect(event));
            if (kept.length > 0) {
              controller.enqueue(encoder.encode(kept.map((event) => `${event}\n\n`).join("")));
              return;
            }
          }
        } catch (error) {
          const message = `The upstream stream failed: ${error instanceof Error ? error.message : String(error)}`;
          controller.enqueue(encoder.encode(options.errorEvent(message)));
          end({ kind: "upstream_error", error: message });
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
