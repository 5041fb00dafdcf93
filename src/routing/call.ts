// What every gateway call shares, whatever the formats: resolve the target,
// admit the request against its limits, meter it, send it upstream, and
// record its usage and settle its limits after the response.
import { assertModelAllowed } from "../auth/index.ts";
import type { GatewayContext } from "../context.ts";
import { errorStreamEvent } from "../formats/index.ts";
import { GatewayError } from "../http/errors.ts";
import { SSE_HEADERS, type StreamEnd } from "../http/sse.ts";
import type { RelayHooks } from "../http/sse-relay.ts";
import { type Admission, admit, type Estimate } from "../limits/index.ts";
import { UsageMeter } from "../usage/meter.ts";
import type { TokenCounts } from "../usage/prices.ts";
import { priceOf } from "../usage/prices.ts";
import { writeUsage } from "../usage/writer.ts";
import { resolveTarget, type Target } from "./resolve.ts";
import { upstreamError } from "./upstream-error.ts";

export interface GatewayCall {
  target: Target;
  admission: Admission;
  meter: UsageMeter;
  /** Limit headers and which provider and model served the call. */
  headers: Record<string, string>;
  abort: AbortController;
  /** Records usage and settles limits after the response. */
  record(status: number, error?: string): void;
  /** Records usage once a stream has ended. */
  recordWhenEnded(ended: Promise<StreamEnd>): void;
}

/** The provider a model goes to, once the caller is known to be allowed that model. */
export function targetFor(c: GatewayContext, model: string, providerOverride?: string): Target {
  assertModelAllowed(c.var.principal, model);
  return resolveTarget(c.var.config, model, c.req.header("x-sluice-provider") ?? providerOverride);
}

export async function beginCall(
  c: GatewayContext,
  options: { target: Target; estimate: Estimate; streamed: boolean },
): Promise<GatewayCall> {
  const { config, services, requestId, principal, format, startedAt } = c.var;
  const { target } = options;
  const price = priceOf(target.upstreamModel);
  const admission = await admit({
    config,
    services,
    principal,
    estimate: options.estimate,
    price,
    defer: (work) => c.executionCtx.waitUntil(work),
  });
  const meter = new UsageMeter({
    requestId,
    principal,
    provider: target.provider,
    model: target.model,
    upstreamModel: target.upstreamModel,
    clientFormat: format,
    streamed: options.streamed,
    startedAt,
    price,
    estimatedPromptTokens: options.estimate.inputTokens,
  });
  const finish = (status: number, error?: string) => {
    const usage = meter.finish({ status, error });
    return Promise.all([
      writeUsage(services, usage),
      admission.settle({ tokens: usage.promptTokens + usage.completionTokens, usd: usage.costUsd }),
    ]);
  };
  return {
    target,
    admission,
    meter,
    headers: {
      ...admission.headers,
      "x-sluice-provider": target.provider,
      "x-sluice-model": target.upstreamModel,
      "x-sluice-attempts": String(meter.attempts),
    },
    abort: new AbortController(),
    record: (status, error) => c.executionCtx.waitUntil(finish(status, error)),
    // Registered while the request is live; it settles when the stream ends.
    recordWhenEnded: (ended) =>
      c.executionCtx.waitUntil(
        ended.then((end) => finish(end.kind === "complete" ? 200 : end.kind === "client_closed" ? 499 : 502, end.error)),
      ),
  };
}

/** Sends the upstream request; a failure to connect or an error status becomes a recorded GatewayError. */
export async function sendUpstream(call: GatewayCall, request: Request): Promise<Response> {
  let upstream: Response;
  try {
    upstream = await fetch(request, { signal: call.abort.signal });
  } catch (cause) {
    const error = new GatewayError(502, "upstream", `Upstream ${call.target.provider} could not be reached.`, {
      cause,
      headers: call.headers,
    });
    call.record(502, error.message);
    throw error;
  }
  if (!upstream.ok) {
    const error = await upstreamError(upstream, call.target);
    call.record(error.status, error.message);
    Object.assign(error.headers, call.headers);
    throw error;
  }
  return upstream;
}

/** A promise and the function that settles it. */
export function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve: (value: T) => void = () => undefined;
  const promise = new Promise<T>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}

/** A JSON answer passed on as it came, its usage read for the meter and the call recorded. */
export async function passJsonThrough(
  call: GatewayCall,
  upstream: Response,
  usageOf: (body: unknown) => TokenCounts | undefined,
): Promise<Response> {
  const text = await upstream.text();
  call.meter.markFirstByte();
  try {
    call.meter.setTokens(usageOf(JSON.parse(text)));
  } catch {
    const error = new GatewayError(502, "upstream", `Upstream ${call.target.provider} sent a response that is not JSON.`, {
      headers: call.headers,
    });
    call.record(502, error.message);
    throw error;
  }
  call.record(200);
  return new Response(text, { status: 200, headers: { "content-type": "application/json", ...call.headers } });
}

/** What a relayed stream reports to: the meter, the client's error format, the abort, and the record at its end. */
export function streamHooks(
  c: GatewayContext,
  call: GatewayCall,
): RelayHooks & { onUsage: (tokens: TokenCounts) => void; onGenerated: (characters: number) => void } {
  const ended = deferred<StreamEnd>();
  call.recordWhenEnded(ended.promise);
  return {
    onUsage: (tokens) => call.meter.setTokens(tokens),
    onGenerated: (characters) => call.meter.addGenerated(characters),
    onFirstByte: () => call.meter.markFirstByte(),
    errorEvent: (message) => errorStreamEvent(c.var.format, new GatewayError(502, "upstream", message)),
    abortUpstream: () => call.abort.abort(),
    onEnd: ended.resolve,
  };
}

export const streamResponse = (call: GatewayCall, stream: ReadableStream<Uint8Array>) =>
  new Response(stream, { status: 200, headers: { ...SSE_HEADERS, ...call.headers } });
