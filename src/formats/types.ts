// What a wire format is to Sluice. Each format (`formats/<name>/`) may be
// spoken by clients (a ClientFormat: parsed, decoded to the canonical form,
// answered in it), by providers (an UpstreamCodec: encoded from the canonical
// form, its answers and stream frames decoded back), or both. A call whose
// client and provider speak the same dialect is forwarded as sent.
import type { GatewayError } from "../http/errors.ts";
import type { TokenCounts, ToolFees } from "../usage/prices.ts";
import type * as z from "../zod.ts";
import type { CanonicalEvent, CanonicalRequest, CanonicalResponse } from "./canonical.ts";

/**
 * Whether a stream ends with a usage chunk its client did not ask for
 * (STREAM_USAGE): `asked`, only on request, as OpenAI does; `always`, as
 * OpenRouter does, unless the client said `include_usage: false`.
 */
export type StreamUsage = "asked" | "always";

/**
 * Whether an OpenAI stream's client gets its usage chunk, from what it said
 * in `stream_options.include_usage` (`asked`) and the deployment's setting.
 */
export const usageShown = (asked: boolean | null | undefined, usage: StreamUsage) =>
  asked === true || (usage === "always" && asked !== false);

/** An OpenAI stream's usage-only frames, when its client does not get them: what `ClientFormat.hidden` answers. */
export const unaskedUsage = (asked: boolean | null | undefined, usage: StreamUsage) =>
  usageShown(asked, usage)
    ? undefined
    : (_frame: StreamFrame, events: CanonicalEvent[]) => events.length > 0 && events.every((e) => e.type === "usage");

/** The wire formats Sluice reads and writes; a provider lists the ones it takes natively. */
export type Dialect =
  | "openai-chat"
  | "openai-responses"
  | "openai-completions"
  | "openai-embeddings"
  | "anthropic-messages"
  | "gemini-generate"
  | "bedrock-converse"
  | "cohere-chat"
  | "cohere-rerank"
  | "workers-ai";

/** The error shapes clients understand; errors and failed streams go back in the caller's. */
export type ErrorShape = "openai" | "openai-responses" | "anthropic" | "gemini" | "cohere" | "mcp" | "bedrock" | "oauth";

export interface ErrorRenderer {
  body(error: GatewayError): unknown;
  /** Headers the shape puts beside the body (Bedrock's `x-amzn-errortype`). */
  headers?(error: GatewayError): Record<string, string>;
  /** The error as one event of a stream that already started. */
  streamEvent(error: GatewayError): string;
  /** How the shape's streams leave, where they are not server-sent events: their content type, their text as bytes. */
  readonly wire?: StreamWire;
}

/** A stream's way onto the wire: its content type, and how the text the relays pass becomes bytes. */
export interface StreamWire {
  readonly contentType: string;
  bytes(text: string): Uint8Array;
}

/** One unit of a provider's stream: an SSE event, or an AWS event-stream message. */
export interface StreamFrame {
  /** The event's name (SSE `event:`, or the message's `:event-type`), when it has one. */
  event?: string;
  /** Its payload: the SSE `data`, or the message's JSON. */
  data: string;
  /** The frame as it came, for relaying it unchanged (SSE only). */
  raw: string;
}

/** Reads a provider's stream, one frame at a time. */
export interface StreamDecoder {
  /** Canonical events for one frame; throws when the provider reports an error mid-stream. */
  decode(frame: StreamFrame): CanonicalEvent[];
  /** Whether the provider has said the stream is whole. */
  readonly complete: boolean;
}

/** A wire format seen from the provider's side. */
export interface UpstreamCodec {
  /** A canonical request as a body in this format; the endpoint adds the model where it goes. */
  encode(request: CanonicalRequest): Record<string, unknown>;
  decode(body: unknown): CanonicalResponse;
  /** Token counts from a whole answer, for a call forwarded as sent. */
  usage(body: unknown): TokenCounts | undefined;
  streamDecoder(): StreamDecoder;
}

/** A client format's way of writing answers. */
export interface ClientEncoder {
  response(answer: CanonicalResponse, model: string): unknown;
  stream(model: string): StreamEncoder;
}

export interface StreamEncoder {
  encode(event: CanonicalEvent): string;
  /** The closing events of a whole stream. */
  end(): string;
}

/** What a route knows before the body: the model and method some formats put in the path. */
export interface RouteFacts {
  model?: string;
  stream?: boolean;
}

/** What routing needs from a request. */
export interface RequestFacts {
  model: string;
  stream: boolean;
  /** A provider the body names (`provider`), taken out of the body. */
  provider?: string;
}

/** Where an API takes its output cap, so the upstream can be held to what was reserved. */
export interface OutputCap<Body> {
  /** The client's own cap, in tokens per answer; undefined when it set none. */
  of(body: Body): number | undefined;
  /** How many answers the request asks for (`n`, `candidateCount`); 1 when absent. */
  choices?(body: Body): number;
  /** The API's own cap when the client sets none (legacy completions stop at 16 tokens). */
  readonly default?: number;
  /** The body as forwarded, with this cap where the provider (its kind) reads it. */
  set(forwarded: Record<string, unknown>, cap: number, provider: string): Record<string, unknown>;
}

/** What a same-dialect target is, for deciding whether a body may be forwarded to it as sent. */
export interface ForwardTarget {
  provider: string;
  /** What the provider charges per built-in tool call for the model. */
  toolFees: ToolFees | undefined;
  /** Whether the caller's spending is limited in dollars. */
  spendsDollars: boolean;
}

/** A wire format as clients speak it: one descriptor per route family. */
export interface ClientFormat<Body extends Record<string, unknown> = Record<string, unknown>> {
  readonly name: string;
  readonly dialect: Dialect;
  readonly errors: ErrorShape;
  readonly schema: z.ZodMiniType<Body>;
  facts(body: Body, route: RouteFacts): RequestFacts;
  /** The body as forwarded to a provider of the same dialect: what is Sluice's own taken out. */
  forwarded(body: Body): Record<string, unknown>;
  /** Throws a GatewayError for a body that may not go to that target as sent: what the gateway could not meter there. */
  forwardable?(body: Body, target: ForwardTarget): void;
  /** The parts of the body its input estimate reads: messages, system prompt, tools. */
  prompt(body: Body): readonly unknown[];
  /** How the API caps its output; absent for APIs that generate none (embeddings). */
  readonly output?: OutputCap<Body>;
  /**
   * The canonical request, for a provider of another dialect; absent where
   * only same-dialect providers serve. Throws a GatewayError for what cannot
   * reach that provider at all.
   */
  toCanonical?(body: Body, facts: RequestFacts, target: { provider: string }): CanonicalRequest;
  /** The top-level fields the canonical form carries; others are dropped on the way to another dialect, and named. */
  readonly translated?: ReadonlySet<string>;
  /** How answers go back in this format; `usage` is the deployment's STREAM_USAGE, where a stream's usage chunk is the client's to ask for. */
  encoder?(body: Body, usage: StreamUsage): ClientEncoder;
  /** Frames of a same-dialect stream the client does not get (a usage chunk it did not ask for, where STREAM_USAGE is `asked`). */
  hidden?(body: Body, usage: StreamUsage): ((frame: StreamFrame, events: CanonicalEvent[]) => boolean) | undefined;
}
