// What a remote guardrail on output (a webhook or a judge) reads of an
// answer, and when: a whole answer's texts before it is relayed; a stream's
// text once the upstream has finished it, its closing events held until the
// verdict, so a refusal ends the stream with an error event instead of them.
import type { CanonicalEvent, CanonicalPart } from "../formats/canonical.ts";
import type { TextFilter } from "../guardrails/output.ts";
import { mapAnswerTexts } from "../guardrails/text-fields.ts";
import type { TokenCounts } from "../usage/prices.ts";
import type { GatewayCall } from "./call.ts";

export type Review = (texts: string[]) => Promise<void>;

/** A stream's text sent for review at most: a longer answer's checker reads its start. */
export const STREAM_REVIEW_LIMIT = 100_000;

/** A whole answer's texts (any format's JSON); none when it is not JSON. */
export function jsonAnswerTexts(text: string): string[] {
  const texts: string[] = [];
  try {
    mapAnswerTexts(JSON.parse(text), (t) => {
      texts.push(t);
      return t;
    });
  } catch {
    return [];
  }
  return texts;
}

/** A decoded answer's texts and tool-call arguments. */
export const partTexts = (parts: CanonicalPart[]) =>
  parts.flatMap((part) => (part.type === "text" ? [part.text] : part.type === "tool_call" ? [part.arguments] : []));

/**
 * Waits for the review of a whole answer; on a refusal the answer's usage is
 * read first, so the call is recorded with the tokens the model spent.
 */
export async function reviewWhole(
  call: GatewayCall,
  review: Review,
  texts: string[],
  usage: () => TokenCounts | undefined,
): Promise<void> {
  if (texts.every((text) => text.length === 0)) return;
  try {
    await review(texts);
  } catch (error) {
    call.meter.markFirstByte();
    call.meter.setTokens(usage());
    throw error;
  }
}

/**
 * A stream's events with their text through the guard: what it holds back
 * goes out before the next event of another kind. With a review, the text
 * is gathered as the model wrote it and the events from the finish on are
 * held; `close` waits for the verdict (throwing the refusal) and hands them back.
 */
export function guardedEvents(filter: TextFilter, review?: Review) {
  let read = "";
  let held: CanonicalEvent[] | undefined;
  const rest = (): CanonicalEvent[] => {
    const text = filter.flush();
    return text ? [{ type: "text", text }] : [];
  };
  return {
    reviewing: review !== undefined,
    pass(event: CanonicalEvent): CanonicalEvent[] {
      if (held) {
        held.push(event);
        return [];
      }
      if (event.type === "text") {
        if (review && read.length < STREAM_REVIEW_LIMIT) read += event.text;
        const text = filter.push(event.text);
        return text ? [{ type: "text", text }] : [];
      }
      if (event.type === "start" || event.type === "usage") return [event];
      const out = [...rest(), event];
      if (review && event.type === "finish") {
        held = out;
        return [];
      }
      return out;
    },
    flush: rest,
    async close(): Promise<CanonicalEvent[]> {
      const tail = [...(held ?? []), ...rest()];
      if (review && read.length > 0) await review([read.slice(0, STREAM_REVIEW_LIMIT)]);
      return tail;
    },
  };
}
