// Relays an OpenAI-dialect SSE stream to an OpenAI-format client, chunk by
// chunk, reading usage on the way. The usage chunk Sluice asked for is
// dropped when the client did not ask for it.

import { sseData } from "../../http/sse.ts";
import { type RelayHooks, relaySse, type UpstreamBody } from "../../http/sse-relay.ts";
import type { TokenCounts } from "../../usage/prices.ts";

const USAGE_FIELD = /"usage"\s*:\s*\{/;

export interface OpenAIRelayOptions extends RelayHooks {
  hideUsageChunk: boolean;
  usageFrom: (usage: unknown) => TokenCounts | undefined;
  onUsage: (tokens: TokenCounts) => void;
  /** Characters of generated text (content and tool-call arguments) as they pass, for billing a stream cut short. */
  onGenerated: (characters: number) => void;
}

type Chunk = {
  usage?: unknown;
  choices?: { text?: unknown; delta?: { content?: unknown; tool_calls?: { function?: { arguments?: unknown } }[] } }[];
};

function generatedCharacters(chunk: Chunk): number {
  let characters = 0;
  for (const choice of chunk.choices ?? []) {
    // Legacy completions stream `text`; chat completions a `delta`.
    if (typeof choice.text === "string") characters += choice.text.length;
    if (typeof choice.delta?.content === "string") characters += choice.delta.content.length;
    for (const call of choice.delta?.tool_calls ?? []) {
      if (typeof call.function?.arguments === "string") characters += call.function.arguments.length;
    }
  }
  return characters;
}

export function relayOpenAIStream(upstream: UpstreamBody, options: OpenAIRelayOptions): ReadableStream<Uint8Array> {
  let sawDone = false;

  /** Reads usage and generated text from one event; returns whether it is the usage-only chunk. */
  const inspect = (event: string): boolean => {
    const data = sseData(event);
    if (data === undefined) return false;
    if (data === "[DONE]") {
      sawDone = true;
      return false;
    }
    let chunk: Chunk;
    try {
      chunk = JSON.parse(data);
    } catch {
      return false;
    }
    const characters = generatedCharacters(chunk);
    if (characters > 0) options.onGenerated(characters);
    if (!USAGE_FIELD.test(data)) return false;
    const tokens = options.usageFrom(chunk.usage);
    if (tokens) options.onUsage(tokens);
    return Array.isArray(chunk.choices) && chunk.choices.length === 0;
  };
  const kept = (events: string[]) =>
    events
      .filter((event) => !inspect(event))
      .map((event) => `${event}\n\n`)
      .join("");

  return relaySse(
    upstream,
    {
      chunk(raw, events) {
        if (options.hideUsageChunk) return kept(events);
        // Nothing to hide: the bytes go out exactly as they came in.
        for (const event of events) inspect(event);
        return raw;
      },
      tail(events) {
        if (options.hideUsageChunk) return kept(events);
        // Without hiding, the tail's bytes already went out with their chunk.
        for (const event of events) inspect(event);
        return "";
      },
      complete: () => sawDone,
      closing: () => "",
    },
    options,
  );
}
