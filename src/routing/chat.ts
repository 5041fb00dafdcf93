// One chat completion through the gateway: resolve the target, call it,
// relay the answer, and meter the usage after the response.
import { assertModelAllowed } from "../auth/index.ts";
import type { GatewayContext } from "../context.ts";
import { errorStreamEvent } from "../formats/index.ts";
import { GatewayError } from "../http/errors.ts";
import { SSE_HEADERS } from "../http/sse.ts";
import { estimateRequest } from "../limits/estimate.ts";
import { admit } from "../limits/index.ts";
import { relayOpenAIStream, type StreamEnd } from "../providers/openai/stream.ts";
import type { OpenAIChatBody } from "../providers/types.ts";
import { UsageMeter } from "../usage/meter.ts";
import { priceOf } from "../usage/prices.ts";
import { writeUsage } from "../usage/writer.ts";
import { resolveTarget, type Target } from "./resolve.ts";
import { upstreamError } from "./upstream-error.ts";

function gatewayHeaders(target: Target, attempts: number): Record<string, string> {
  return {
    "x-sluice-provider": target.provider,
    "x-sluice-model": target.upstreamModel,
    "x-sluice-attempts": String(attempts),
  };
}

function clientWantsUsage(body: OpenAIChatBody): boolean {
  const options = body.stream_options as { include_usage?: unknown } | undefined;
  return options?.include_usage === true;
}

/** A string `provider` field picks the provider; anything else under that name is forwarded untouched. */
function takeProviderField(body: OpenAIChatBody): { body: OpenAIChatBody; provider?: string } {
  if (typeof body.provider !== "string") return { body };
  const { provider, ...rest } = body;
  return { body: rest as OpenAIChatBody, provider };
}

export async function proxyChatCompletion(c: GatewayContext, requestBody: OpenAIChatBody): Promise<Response> {
  const { config, services, requestId, principal, format, startedAt } = c.var;
  const { body, provider } = takeProviderField(requestBody);
  assertModelAllowed(principal, body.model);
  const target = resolveTarget(config, body.model, c.req.header("x-sluice-provider") ?? provider);
  const streamed = body.stream === true;
  const price = priceOf(target.upstreamModel);
  const estimate = estimateRequest(body, config.limits.defaultMaxOutputTokens);
  const admission = await admit({
    config,
    services,
    principal,
    estimate,
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
    streamed,
    startedAt,
    price,
    estimatedPromptTokens: estimate.inputTokens,
  });
  /** The ledger row and the settled limits, after the response. */
  const finish = (status: number, error?: string) => {
    const usage = meter.finish({ status, error });
    return Promise.all([
      writeUsage(services, usage),
      admission.settle({ tokens: usage.promptTokens + usage.completionTokens, usd: usage.costUsd }),
    ]);
  };
  const record = (status: number, error?: string) => c.executionCtx.waitUntil(finish(status, error));

  const abort = new AbortController();
  const request = target.adapter.chatRequest({
    settings: target.settings,
    upstreamModel: target.upstreamModel,
    body,
    requestId,
    clientHeaders: c.req.raw.headers,
  });
  const headers = { ...admission.headers, ...gatewayHeaders(target, meter.attempts) };
  let upstream: Response;
  try {
    upstream = await fetch(request, { signal: abort.signal });
  } catch (cause) {
    const error = new GatewayError(502, "upstream", `Upstream ${target.provider} could not be reached.`, { cause, headers });
    record(502, error.message);
    throw error;
  }

  if (!upstream.ok) {
    const error = await upstreamError(upstream, target);
    record(error.status, error.message);
    Object.assign(error.headers, headers);
    throw error;
  }

  if (!streamed || !upstream.body) {
    const text = await upstream.text();
    meter.markFirstByte();
    try {
      meter.setTokens(target.adapter.usageFrom((JSON.parse(text) as { usage?: unknown }).usage));
    } catch {
      const error = new GatewayError(502, "upstream", `Upstream ${target.provider} sent a response that is not JSON.`);
      record(502, error.message);
      throw error;
    }
    record(200);
    return new Response(text, { status: 200, headers: { "content-type": "application/json", ...headers } });
  }

  // Registered now, while the request is live; it settles when the stream ends.
  let streamEnded: (end: StreamEnd) => void = () => undefined;
  const ended = new Promise<StreamEnd>((resolve) => {
    streamEnded = resolve;
  });
  c.executionCtx.waitUntil(
    ended.then((end) => finish(end.kind === "complete" ? 200 : end.kind === "client_closed" ? 499 : 502, end.error)),
  );
  const stream = relayOpenAIStream(upstream.body, {
    hideUsageChunk: !clientWantsUsage(body),
    usageFrom: target.adapter.usageFrom,
    onUsage: (tokens) => meter.setTokens(tokens),
    onGenerated: (characters) => meter.addGenerated(characters),
    onFirstByte: () => meter.markFirstByte(),
    errorEvent: (message) => errorStreamEvent(format, new GatewayError(502, "upstream", message)),
    abortUpstream: () => abort.abort(),
    onEnd: streamEnded,
  });
  return new Response(stream, { status: 200, headers: { ...SSE_HEADERS, ...headers } });
}
