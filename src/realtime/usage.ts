// What a realtime session uses, read from the provider's events as they
// pass: each `response.done`'s tokens (text and audio priced apart at the
// session model's rates, images at its text rate, as chat's are), and each
// input transcription's (`conversation.item.input_audio_transcription.completed`),
// priced as it is done at the transcription model's own rates, since OpenAI
// bills it apart from any response.
import type { UsageMeter } from "../usage/meter.ts";
import { costOf, type MediaUsage, mediaCostOf, type Price } from "../usage/prices.ts";
import type { UsageRecord } from "../usage/record.ts";

/** What a session's input transcriptions used: tokens, or seconds where the model reports a duration. */
interface Transcribed {
  inputTokens: number;
  outputTokens: number;
  seconds: number;
  /** Their cost, each priced when it was done (the session may change its transcription model). */
  usd: number;
  /** Some had no price: recorded at $0 for them. */
  unpriced: boolean;
}

export interface SessionUsage {
  textIn: number;
  textOut: number;
  cached: number;
  audioIn: number;
  audioOut: number;
  transcribed: Transcribed;
}

export const emptyUsage = (): SessionUsage => ({
  textIn: 0,
  textOut: 0,
  cached: 0,
  audioIn: 0,
  audioOut: 0,
  transcribed: { inputTokens: 0, outputTokens: 0, seconds: 0, usd: 0, unpriced: false },
});

/** The provider's events this module reads (for usage, or for the transcription model); the rest are only relayed. */
const READ_EVENT =
  /"type"\s*:\s*"(?:response\.done|conversation\.item\.input_audio_transcription\.completed|session\.created|session\.updated)"/;

/** Whether a provider's event (its JSON, as it came) is one to read: a test of the text, before any parse. */
export const readsEvent = (data: string) => READ_EVENT.test(data);

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null;
const count = (value: unknown) => (typeof value === "number" && Number.isFinite(value) && value > 0 ? value : 0);

/** Adds a `response.done` event's usage to the session's; its image tokens are text input, as chat's prompt counts them. */
export function addResponseUsage(total: SessionUsage, event: unknown): void {
  const usage = (event as { response?: { usage?: unknown } }).response?.usage;
  if (!isRecord(usage)) return;
  const input = isRecord(usage.input_token_details) ? usage.input_token_details : {};
  const output = isRecord(usage.output_token_details) ? usage.output_token_details : {};
  total.textIn += count(input.text_tokens) + count(input.image_tokens);
  total.audioIn += count(input.audio_tokens);
  total.cached += count(input.cached_tokens);
  total.textOut += count(output.text_tokens);
  total.audioOut += count(output.audio_tokens);
}

/** What one transcription used, as its event reports it. */
export type TranscriptionUsage = { inputTokens: number; outputTokens: number } | { seconds: number };

/** A transcription event's `usage`: `{type: "tokens", input_tokens, output_tokens}` or `{type: "duration", seconds}`. */
export function transcriptionUsage(event: unknown): TranscriptionUsage | undefined {
  const usage = (event as { usage?: unknown }).usage;
  if (!isRecord(usage)) return undefined;
  if (usage.type === "duration") return { seconds: count(usage.seconds) };
  return { inputTokens: count(usage.input_tokens), outputTokens: count(usage.output_tokens) };
}

/** OpenAI's audio models count about ten tokens a second of what they hear (limits/media.ts). */
const AUDIO_TOKENS_PER_SECOND = 10;

/**
 * Adds a transcription to the session's, priced at its model's rates: a
 * duration by the second where the model has a per-second price, else as
 * the audio tokens it was (ten a second) at the model's input rate; tokens
 * at its token rates, as `/v1/audio/transcriptions` prices them.
 */
export function addTranscription(total: SessionUsage, used: TranscriptionUsage, price: Price | undefined): void {
  const sum = total.transcribed;
  if (!price) sum.unpriced = true;
  if ("seconds" in used) {
    sum.seconds += used.seconds;
    if (price?.media?.audioSecond !== undefined) {
      sum.usd += mediaCostOf(price, { audioSeconds: used.seconds });
      return;
    }
  }
  const inputTokens = "seconds" in used ? Math.ceil(used.seconds * AUDIO_TOKENS_PER_SECOND) : used.inputTokens;
  const outputTokens = "seconds" in used ? 0 : used.outputTokens;
  sum.inputTokens += inputTokens;
  sum.outputTokens += outputTokens;
  sum.usd += costOf(price, { promptTokens: inputTokens, completionTokens: outputTokens, cachedTokens: 0 });
}

/**
 * The input transcription model a session event (the provider's
 * `session.created` or `session.updated`) names, in the GA shape
 * (`session.audio.input.transcription`) or the beta one
 * (`session.input_audio_transcription`): null when it is off, undefined
 * when the event says nothing of it.
 */
export function transcriberOf(event: unknown): string | null | undefined {
  const session = (event as { session?: unknown }).session;
  if (!isRecord(session)) return undefined;
  const input = isRecord(session.audio) ? session.audio.input : undefined;
  const setting =
    isRecord(input) && "transcription" in input
      ? input.transcription
      : "input_audio_transcription" in session
        ? session.input_audio_transcription
        : undefined;
  if (setting === null) return null;
  return isRecord(setting) && typeof setting.model === "string" ? setting.model : undefined;
}

/** What a session has used: its tokens, audio and transcriptions included, as the limits count them, and their price. */
export function spent(usage: SessionUsage, price: Price | undefined): { tokens: number; usd: number } {
  const cachedTokens = Math.min(usage.cached, usage.textIn);
  const { transcribed } = usage;
  return {
    tokens: usage.textIn + usage.textOut + usage.audioIn + usage.audioOut + transcribed.inputTokens + transcribed.outputTokens,
    usd:
      costOf(price, { promptTokens: usage.textIn, completionTokens: usage.textOut, cachedTokens }) +
      mediaCostOf(price, { audioTokens: { input: usage.audioIn, output: usage.audioOut } }) +
      transcribed.usd,
  };
}

/**
 * The session's row: its responses' text tokens are the record's own and
 * their audio tokens its media, priced by the meter at the session model's
 * rates; its transcriptions' tokens are added to the record's, their
 * seconds to its media, and their cost (priced at their own model's) to its
 * cost, so the row counts what `spent` does.
 */
export function sessionRecord(meter: UsageMeter, usage: SessionUsage): UsageRecord {
  const cachedTokens = Math.min(usage.cached, usage.textIn);
  meter.setTokens({ promptTokens: usage.textIn, completionTokens: usage.textOut, cachedTokens });
  meter.setMedia({ audioTokens: { input: usage.audioIn, output: usage.audioOut } });
  const { transcribed } = usage;
  if (transcribed.unpriced) meter.flags.unpriced = true;
  const record = meter.finish({ status: 200 });
  const media = record.metadata.media as MediaUsage;
  return {
    ...record,
    promptTokens: record.promptTokens + transcribed.inputTokens,
    completionTokens: record.completionTokens + transcribed.outputTokens,
    costUsd: record.costUsd + transcribed.usd,
    metadata: {
      ...record.metadata,
      ...(transcribed.seconds > 0 && { media: { ...media, audioSeconds: transcribed.seconds } }),
    },
  };
}
