// The client span of one upstream attempt: opened as the request goes up
// (its context rides along in `traceparent`), closed here when the attempt
// fails, or with the call's record when it answered (observation.ts).
import type { GatewayContext } from "../context.ts";
import type { GatewayError } from "../http/errors.ts";
import type { Target } from "../routing/resolve.ts";
import { genAiOperation, genAiProviderName } from "./genai.ts";
import { RequestTrace, type Span } from "./spans.ts";

export interface AttemptSpan {
  span: Span;
  traceparent: string;
}

export function startAttemptSpan(c: GatewayContext, target: Target): AttemptSpan | undefined {
  const trace = c.get("observation")?.trace;
  if (!trace) return undefined;
  const operation = genAiOperation(c.req.path);
  const span = trace.startAttempt(`${operation} ${target.upstreamModel}`, {
    "gen_ai.operation.name": operation,
    "gen_ai.provider.name": genAiProviderName(target.descriptor.kind),
    "gen_ai.request.model": target.upstreamModel,
    "sluice.provider": target.provider,
  });
  return { span, traceparent: RequestTrace.traceparentOf(span) };
}

/** An attempt that did not answer: the span ends with why. */
export function failAttemptSpan(attempt: AttemptSpan, failure: { kind: string; error: GatewayError }): void {
  const { span } = attempt;
  span.endMs = Date.now();
  span.error = failure.error.message;
  span.attributes["error.type"] = failure.kind === "status" ? String(failure.error.status) : (failure.error.code ?? failure.kind);
  if (failure.kind === "status") span.attributes["http.response.status_code"] = failure.error.status;
}

/** The host the attempt went to, once its request is built. */
export function describeAttemptRequest(attempt: AttemptSpan, request: Request): void {
  const url = new URL(request.url);
  attempt.span.attributes["server.address"] = url.hostname;
  if (url.port) attempt.span.attributes["server.port"] = Number(url.port);
}
