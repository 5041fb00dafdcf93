// How one call reaches one target, in either of the two ways there are.
// Passthrough: the client speaks a dialect the provider takes, so its body
// goes up as sent (model and credentials swapped, unknown fields kept) and the
// answer comes back byte for byte, read on the way for usage. Translated: the
// request goes through the canonical form into the provider's dialect, and
// the answer, whole or frame by frame, back into the client's.
import { eventStreamFrameText } from "../formats/bedrock/stream.ts";
import type { CanonicalEvent, CanonicalPart, CanonicalRequest } from "../formats/canonical.ts";
import type { ClientEncoder, StreamDecoder, StreamFrame } from "../formats/types.ts";
import type { AnswerGuard } from "../guardrails/output.ts";
import { mapAnswerTexts } from "../guardrails/text-fields.ts";
import type { BodySource } from "../http/body-text.ts";
import { GatewayError, headerValue } from "../http/errors.ts";
import { type Framing, frameSplitter } from "../http/frames.ts";
import { relayNatively } from "../http/native-relay.ts";
import { relayFrames, type UpstreamBody, UpstreamReportedFailure } from "../http/relay.ts";
import type { Endpoint, EndpointCall } from "../providers/types.ts";
import type { TokenCounts } from "../usage/prices.ts";
import { guardedEvents, jsonAnswerTexts, partTexts, reviewWhole } from "./answer-review.ts";
import { type GatewayCall, malformedAnswer, passJsonThrough, type StreamHooks, streamResponse } from "./call.ts";

/** What a guarded answer goes through on its way back: the output guardrails and the placeholders to put back. */
export interface AnswerFilter {
  guard: AnswerGuard;
  /** A refusal as an event of the client's stream. */
  errorEvent(error: GatewayError): string;
}

export type UpstreamAnswer = { text: string; stream?: undefined } | { text?: undefined; stream: UpstreamBody };

/** One target's side of a call: the request to send, and how its success becomes the client's response. */
export interface Exchange {
  readonly framing: Framing;
  request(): Promise<Request>;
  /** Where the request goes when not over the network (a binding); `fetch` when absent. */
  readonly send?: Endpoint["send"];
  /**
   * The client's response, from the upstream's answer: its text, read whole,
   * or for a streamed call its body with the first chunk already read.
   * Throwing a GatewayError ends the call with it; so does any other error
   * (a 502), since the upstream has answered and another attempt would pay
   * for the same work twice.
   */
  respond(call: GatewayCall, answer: UpstreamAnswer, hooks: () => StreamHooks): Promise<Response>;
  /** The usage a whole answer reports, for one refused before it was relayed. */
  usage?(text: string): TokenCounts | undefined;
}

export interface StreamWatch {
  onUsage: (tokens: TokenCounts) => void;
  onGenerated: (characters: number) => void;
  /** Set only for a traced call. */
  onFinish?: (reason: string) => void;
}

/** Decodes one frame, reporting usage and generated text; a frame that is not JSON is not the decoder's business. */
function decodeFrame(decoder: StreamDecoder, frame: StreamFrame, watch: StreamWatch): CanonicalEvent[] {
  let events: CanonicalEvent[];
  try {
    events = decoder.decode(frame);
  } catch (error) {
    if (error instanceof SyntaxError) return [];
    throw error;
  }
  for (const event of events) {
    if (event.type === "usage") watch.onUsage(event.usage);
    if (event.type === "text") watch.onGenerated(event.text.length);
    if (event.type === "tool_call_delta") watch.onGenerated(event.arguments.length);
    if (event.type === "reasoning") watch.onGenerated(event.text.length);
    if (event.type === "finish") watch.onFinish?.(event.reason);
  }
  return events;
}

type Hidden = ((frame: StreamFrame, events: CanonicalEvent[]) => boolean) | undefined;
type Unwrap = ((answer: unknown) => unknown) | undefined;

/** A whole answer's text out of its API's wrapping (Code Assist's); as it came when it is not JSON. */
function unwrapText(text: string, unwrap: Unwrap): string {
  if (!unwrap) return text;
  try {
    return JSON.stringify(unwrap(JSON.parse(text)));
  } catch {
    return text;
  }
}

/** Stream frames out of their API's wrapping, each written again as a plain SSE event. */
function unwrapFrames(frames: StreamFrame[], unwrap: Unwrap): StreamFrame[] {
  if (!unwrap) return frames;
  return frames.map((frame) => {
    try {
      const data = JSON.stringify(unwrap(JSON.parse(frame.data)));
      return { ...frame, data, raw: `data: ${data}` };
    } catch {
      return frame;
    }
  });
}

/**
 * Forwards each upstream chunk as it came (or, where some frames are not for
 * the client, every other frame). An error event of the upstream's own goes
 * out in its words, as the client's SDK expects, with any credential taken
 * out of them.
 */
function passthroughStream(
  upstream: UpstreamBody,
  options: { endpoint: Endpoint; hidden: Hidden; unwrap: Unwrap; hooks: StreamHooks },
): ReadableStream<Uint8Array> {
  const decoder = options.endpoint.codec.streamDecoder();
  const { hidden, unwrap, hooks } = options;
  const sse = options.endpoint.framing === "sse";
  /** A frame as the client gets it when frames are written again: an SSE event, or an event-stream message. */
  const written = (frame: StreamFrame) => (sse ? `${frame.raw}\n\n` : eventStreamFrameText(frame));
  const shown = (frame: StreamFrame, events: CanonicalEvent[]) => (hidden?.(frame, events) ? "" : written(frame));
  const watch = (frames: StreamFrame[]) => {
    const watched: { frame: StreamFrame; events: CanonicalEvent[] }[] = [];
    for (const frame of frames) {
      try {
        watched.push({ frame, events: decodeFrame(decoder, frame, hooks) });
      } catch (error) {
        // This chunk has not gone out: the frames before the error event go now, then the event itself, redacted.
        const before = watched.map((w) => shown(w.frame, w.events)).join("");
        const reason = error instanceof Error ? error.message : String(error);
        const event = sse ? `${hooks.redact(frame.raw)}\n\n` : eventStreamFrameText({ ...frame, data: hooks.redact(frame.data) });
        throw new UpstreamReportedFailure(reason, `${before}${event}`);
      }
    }
    return watched;
  };
  const kept = (frames: StreamFrame[]) =>
    watch(unwrapFrames(frames, unwrap))
      .map(({ frame, events }) => shown(frame, events))
      .join("");
  // Frames that must be unwrapped go out written again; otherwise as they came.
  const rewritten = unwrap !== undefined;
  const splitter = frameSplitter(options.endpoint.framing);
  /** Whether every chunk so far went out as it came: the client has no partial frame this relay holds. */
  let sentRaw = true;
  return relayFrames(
    upstream,
    splitter,
    {
      chunk(raw, frames) {
        if (rewritten) return kept(frames);
        if (hidden) {
          // A chunk goes out as it came when none of its frames is hidden and it ends on a frame's boundary
          // (so no frame is ever half sent before it is known to be hidden); otherwise its whole frames are written again.
          const watched = watch(frames);
          const anyHidden = watched.some(({ frame, events }) => hidden(frame, events));
          if (!anyHidden && sentRaw && splitter.atBoundary) return raw;
          sentRaw = splitter.atBoundary;
          return watched.map(({ frame, events }) => shown(frame, events)).join("");
        }
        // Nothing to hide: the bytes go out exactly as they came in.
        watch(frames);
        return raw;
      },
      tail(frames) {
        if (rewritten || (hidden && !sentRaw)) return kept(frames);
        // Without hiding, the tail's bytes already went out with their chunk.
        watch(frames);
        return "";
      },
      complete: () => decoder.complete,
      closing: () => "",
    },
    hooks,
  );
}

/**
 * A stream whose bytes nothing changes, piped by the runtime: the frames of
 * a copy are read in batches for usage and the upstream's own error event.
 */
function pipedStream(upstream: UpstreamBody & { stream: ReadableStream<Uint8Array> }, endpoint: Endpoint, hooks: StreamHooks) {
  const decoder = endpoint.codec.streamDecoder();
  const watch = {
    read(frames: StreamFrame[]) {
      for (const frame of frames) {
        try {
          decodeFrame(decoder, frame, hooks);
        } catch (error) {
          throw new UpstreamReportedFailure(error instanceof Error ? error.message : String(error), "");
        }
      }
    },
    complete: () => decoder.complete,
  };
  return relayNatively(upstream, frameSplitter(endpoint.framing), watch, hooks);
}

interface ExchangeInput {
  endpoint: Endpoint;
  call: Omit<EndpointCall, "body">;
}

/** A whole JSON answer with its texts through the guard; the very text when nothing in it changed. */
function guardedJson(text: string, guard: AnswerGuard): string {
  let answer: unknown;
  try {
    answer = JSON.parse(text);
  } catch {
    return text;
  }
  const checked = mapAnswerTexts(answer, (t) => guard.text(t));
  return checked === answer ? text : JSON.stringify(checked);
}

export function passthroughExchange(
  input: ExchangeInput & { body: Record<string, unknown>; source?: BodySource; hidden: Hidden; answer?: AnswerFilter },
): Exchange {
  const { endpoint } = input;
  const unwrap = endpoint.unwrap?.(input.call.settings, { upstreamModel: input.call.upstreamModel, body: input.body });
  const guard = input.answer?.guard;
  /** The usage of an answer already out of its wrapping. */
  const usageOf = (json: string) => {
    try {
      return endpoint.codec.usage(JSON.parse(json));
    } catch {
      return undefined;
    }
  };
  return {
    framing: endpoint.framing,
    send: endpoint.send,
    request: () => endpoint.request({ ...input.call, body: input.body, source: input.source }),
    usage: (text) => usageOf(unwrapText(text, unwrap)),
    async respond(call, answer, hooks) {
      if (!answer.stream) {
        const text = unwrapText(answer.text, unwrap);
        if (guard?.review) await reviewWhole(call, guard.review, jsonAnswerTexts(text), () => usageOf(text));
        return passJsonThrough(call, text, endpoint.codec.usage, guard && ((json) => guardedJson(json, guard)));
      }
      const streamHooks = hooks();
      const { stream: piped } = answer.stream;
      // Does anything need this stream's text? Frames to hide or unwrap, an output guardrail, a binary framing.
      const textNeeded = input.hidden !== undefined || unwrap !== undefined || guard !== undefined || endpoint.framing !== "sse";
      const stream =
        !textNeeded && piped
          ? pipedStream({ ...answer.stream, stream: piped }, endpoint, streamHooks)
          : passthroughStream(answer.stream, { endpoint, hidden: input.hidden, unwrap, hooks: streamHooks });
      return streamResponse(call, stream, streamHooks);
    },
  };
}

/** An answer's texts and tool arguments through the guard. */
function guardedParts(parts: CanonicalPart[], guard: AnswerGuard): CanonicalPart[] {
  return parts.map((part) =>
    part.type === "text"
      ? { ...part, text: guard.text(part.text) }
      : part.type === "tool_call"
        ? { ...part, arguments: guard.text(part.arguments) }
        : part,
  );
}

export function translatedExchange(
  input: ExchangeInput & { request: CanonicalRequest; encoder: ClientEncoder; dropped: readonly string[]; answer?: AnswerFilter },
): Exchange {
  const { endpoint, request, encoder } = input;
  const unwrap = endpoint.unwrap?.(input.call.settings, { upstreamModel: input.call.upstreamModel });
  const review = input.answer?.guard.review;
  return {
    framing: endpoint.framing,
    send: endpoint.send,
    request: () => endpoint.request({ ...input.call, body: endpoint.codec.encode(request) }),
    usage(text) {
      try {
        return endpoint.codec.usage(JSON.parse(unwrapText(text, unwrap)));
      } catch {
        return undefined;
      }
    },
    async respond(call, answer, hooks) {
      if (input.dropped.length > 0) call.headers["x-sluice-dropped"] = headerValue(input.dropped.join(", "));
      if (!answer.stream) {
        let decoded: ReturnType<typeof endpoint.codec.decode>;
        /** What the upstream reported; the decoded answer says zero where it reported nothing, which is not a count. */
        let reported: TokenCounts | undefined;
        try {
          const body: unknown = JSON.parse(unwrapText(answer.text, unwrap));
          decoded = endpoint.codec.decode(body);
          reported = endpoint.codec.usage(body);
        } catch {
          throw malformedAnswer(call);
        }
        call.meter.markFirstByte();
        // None reported: the call is billed from its estimate, flagged so, as a passed-through answer is.
        call.meter.setTokens(reported);
        // Refused here, the call is recorded with the tokens just read.
        if (review) await reviewWhole(call, review, partTexts(decoded.parts), () => reported);
        if (input.answer) decoded.parts = guardedParts(decoded.parts, input.answer.guard);
        if (call.traced) call.meter.finishReasons.push(decoded.finishReason);
        call.record(200);
        return Response.json(encoder.response(decoded, request.model), { headers: call.headers });
      }
      const streamHooks = hooks();
      const decoder = endpoint.codec.streamDecoder();
      const out = encoder.stream(request.model);
      const guarded = input.answer && guardedEvents(input.answer.guard.stream(), review);
      const translate = (frames: StreamFrame[]) => {
        let sent = "";
        try {
          for (const event of unwrapFrames(frames, unwrap).flatMap((frame) => decodeFrame(decoder, frame, streamHooks))) {
            for (const passed of guarded ? guarded.pass(event) : [event]) sent += out.encode(passed);
          }
          return sent;
        } catch (error) {
          // An output guardrail blocked: what passed before it goes out, then the refusal in the client's format.
          if (input.answer && error instanceof GatewayError) {
            throw new UpstreamReportedFailure(error.message, sent + input.answer.errorEvent(error), error.status);
          }
          throw error;
        }
      };
      const stream = relayFrames(
        answer.stream,
        frameSplitter(endpoint.framing),
        {
          chunk: (_raw, frames) => translate(frames),
          tail: translate,
          complete: () => decoder.complete,
          closing: () => {
            const encoded = (events: CanonicalEvent[]) => events.map((event) => out.encode(event)).join("") + out.end();
            if (!guarded?.reviewing) return encoded(guarded?.flush() ?? []);
            // The answer is whole: its closing events wait for the verdict, and a refusal takes their place.
            return guarded.close().then(encoded, (error: unknown) => {
              if (!(input.answer && error instanceof GatewayError)) throw error;
              throw new UpstreamReportedFailure(error.message, input.answer.errorEvent(error), error.status);
            });
          },
        },
        streamHooks,
      );
      return streamResponse(call, stream, streamHooks);
    },
  };
}
