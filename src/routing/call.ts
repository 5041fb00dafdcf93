// What every gateway call shares, whatever the formats: its admission
// against the limits, its meter, and the record of its usage (with the
// limits settled) once the answer is whole; plus the ways an upstream's
// success becomes the client's response.
import type { GatewayContext } from "../context.ts";
import { errorStreamEvent, streamWire } from "../formats/index.ts";
import { GatewayError } from "../http/errors.ts";
import { SSE_HEADERS, type StreamEnd } from "../http/frames.ts";
import type { RelayHooks } from "../http/relay.ts";
import type { Admission } from "../limits/index.ts";
import { markForLog } from "../request-logs/index.ts";
import { finishReasonsOf } from "../telemetry/genai.ts";
import type { UsageMeter } from "../usage/meter.ts";
import type { TokenCounts } from "../usage/prices.ts";
import type { UsageRecord } from "../usage/record.ts";
import { writeUsage } from "../usage/writer.ts";
import type { Target } from "./resolve.ts";
import { redactSecrets } from "./upstream-error.ts";

export interface GatewayCall {
  /** The target of the attempt now under way (or that answered). */
  target: Target;
  admission: Admission;
  meter: UsageMeter;
  /** Limit headers (once admitted) and which provider and model served the call, after how many attempts. */
  headers: Record<string, string>;
  /** Aborts the attempt now under way. */
  abort: AbortController;
  /** The credential of the attempt under way and every configured one: never in what reaches the client. */
  secrets: (string | undefined)[];
  /** The request is traced or its record exported: the answer's finish reasons are worth reading. */
  traced: boolean;
  /** Records usage and settles limits after the response; only the first call counts. */
  record(status: number, error?: string): void;
  /** Records usage once a stream has ended. */
  recordWhenEnded(ended: Promise<StreamEnd>): void;
}

export function openCall(
  c: GatewayContext,
  input: { target: Target; admission: Admission; meter: UsageMeter; onRecord?: (usage: UsageRecord) => void },
): GatewayCall {
  const services = c.get("services");
  const { admission, meter } = input;
  let recorded = false;
  const observation = c.get("observation");
  markForLog(c, meter);
  const finish = (status: number, error?: string) => {
    const usage = meter.finish({ status, error });
    observation?.recorded(usage, meter.finishReasons);
    input.onRecord?.(usage);
    const actual = { tokens: usage.promptTokens + usage.completionTokens, usd: usage.costUsd };
    return Promise.all([
      writeUsage(services, usage),
      // A request the limits check refused reserved nothing, so there is nothing to settle.
      admission.ready.then(
        () => admission.settle(actual),
        () => undefined,
      ),
    ]);
  };
  const once = (work: () => Promise<unknown>) => {
    if (recorded) return;
    recorded = true;
    const done = work();
    c.executionCtx.waitUntil(done);
    observation?.waitFor(done);
  };
  return {
    target: input.target,
    admission,
    meter,
    headers: {},
    traced: observation?.trace !== undefined || c.get("config").observability.logExport !== undefined,
    abort: new AbortController(),
    secrets: [],
    record: (status, error) => once(() => finish(status, error)),
    // Registered while the request is live; it settles when the stream ends.
    recordWhenEnded: (ended) =>
      once(() =>
        ended.then((end) =>
          finish(end.status ?? (end.kind === "complete" ? 200 : end.kind === "client_closed" ? 499 : 502), end.error),
        ),
      ),
  };
}

/** A promise and the function that settles it. */
export function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve: (value: T) => void = () => undefined;
  const promise = new Promise<T>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}

/** An answer that is not what its provider's API returns: a failure of the upstream, not worth another attempt. */
export const malformedAnswer = (call: GatewayCall) =>
  new GatewayError(502, "upstream", `Upstream ${call.target.provider} sent a response that is not JSON.`, {
    code: "upstream_malformed",
  });

/**
 * A JSON answer passed on as it came (or as `rewrite` makes it: a guardrail's
 * doing, which may refuse it once its usage is read), the call recorded.
 */
export function passJsonThrough(
  call: GatewayCall,
  text: string,
  usageOf: (body: unknown) => TokenCounts | undefined,
  rewrite?: (text: string) => string,
): Response {
  call.meter.markFirstByte();
  try {
    const body: unknown = JSON.parse(text);
    call.meter.setTokens(usageOf(body));
    if (call.traced) call.meter.finishReasons.push(...(finishReasonsOf(body) ?? []));
  } catch {
    throw malformedAnswer(call);
  }
  const body = rewrite ? rewrite(text) : text;
  call.record(200);
  return new Response(body, { status: 200, headers: { "content-type": "application/json", ...call.headers } });
}

/** What a relayed stream reports to: the meter, the client's error format, the abort, and the record at its end. */
export function streamHooks(c: GatewayContext, call: GatewayCall): StreamHooks {
  const ended = deferred<StreamEnd>();
  call.recordWhenEnded(ended.promise);
  const abort = call.abort;
  const redact = (text: string) => redactSecrets(text, call.secrets);
  const wire = streamWire(c.get("format"));
  return {
    onUsage: (tokens) => call.meter.setTokens(tokens),
    onGenerated: (characters) => call.meter.addGenerated(characters),
    onFinish: call.traced ? (reason) => call.meter.finishReasons.push(reason) : undefined,
    onFirstByte: () => call.meter.markFirstByte(),
    idleTimeoutMs: c.get("config").routing.streamIdleTimeoutMs,
    errorEvent: (message) => errorStreamEvent(c.get("format"), new GatewayError(502, "upstream", redact(message))),
    redact,
    abortUpstream: () => abort.abort(),
    onEnd: ended.resolve,
    bytes: wire?.bytes,
    contentType: wire?.contentType,
  };
}

export type StreamHooks = RelayHooks & {
  onUsage: (tokens: TokenCounts) => void;
  onGenerated: (characters: number) => void;
  onFinish?: (reason: string) => void;
  /** The client's stream content type, where it is not server-sent events. */
  contentType?: string;
};

export const streamResponse = (call: GatewayCall, stream: ReadableStream<Uint8Array>, hooks: StreamHooks) =>
  new Response(stream, {
    status: 200,
    headers: { ...SSE_HEADERS, ...(hooks.contentType && { "content-type": hooks.contentType }), ...call.headers },
  });
