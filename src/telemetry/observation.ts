// One request as an operator's tools see it: its trace (when sampled) and
// its share of the metrics (when on). Started by the app's first middleware
// only when one of them is configured; finished in the request's deferred
// work, once its record is made, so neither adds to what the caller waits for.
import { routePath } from "hono/route";
import { principalPolicy, principalTeamId } from "../auth/principal.ts";
import type { GatewayContext } from "../context.ts";
import { GatewayError } from "../http/errors.ts";
import { histogram, seriesName } from "../metrics/families.ts";
import { addToMetrics, type Increments } from "../metrics/store.ts";
import { type RequestLog, tee } from "../request-logs/index.ts";
import { redactForStorage, storedSecrets } from "../request-logs/redact.ts";
import { behalfOf } from "../routing/behalf.ts";
import type { RouteStep } from "../usage/meter.ts";
import type { UsageRecord } from "../usage/record.ts";
import { VERSION } from "../version.ts";
import { type ExportRecord, logExporterFor } from "./log-export.ts";
import { exporterFor } from "./otlp.ts";
import { RequestTrace } from "./spans.ts";
import { isSampled, parseTraceparent, randomHex } from "./trace-context.ts";

/** The codes a refusal by a limit carries (limits/gate.ts), as opposed to a provider's own 429. */
const LIMIT_CODES = new Set(["rate_limit_exceeded", "insufficient_quota", "budget_exceeded", "provider_capacity"]);

export class Observation {
  private readonly work: Promise<unknown>[] = [];
  usage: UsageRecord | undefined;
  recordedAtMs: number | undefined;
  finishReasons: string[] = [];
  /** The answer as the caller received it, when content goes on spans. */
  answerText: Promise<{ text: string; more: boolean }> | undefined;
  /** The call's request log, once stored, when the caller's calls are logged. */
  requestLog: Promise<RequestLog | undefined> | undefined;

  constructor(
    readonly trace: RequestTrace | undefined,
    readonly metrics: boolean,
  ) {}

  /** The call's deferred record, which the observation waits for before it is finished. */
  waitFor(work: Promise<unknown>): void {
    this.work.push(work);
  }

  recorded(usage: UsageRecord, finishReasons: string[]): void {
    this.usage = usage;
    this.finishReasons = finishReasons;
    this.recordedAtMs = Date.now();
  }

  settled(): Promise<unknown> {
    return Promise.allSettled(this.work);
  }
}

/** An observation for the request, or undefined (and nothing more is done for it) when neither is wanted. */
export function startObservation(c: GatewayContext): Observation | undefined {
  const { tracing, metrics, logExport, consoleLog } = c.get("config").observability;
  let trace: RequestTrace | undefined;
  if (tracing) {
    const parent = parseTraceparent(c.req.header("traceparent"));
    const traceId = parent?.traceId ?? randomHex(16);
    if (isSampled(tracing.sampler, traceId, parent)) trace = new RequestTrace(traceId, parent, Date.now());
  }
  return trace || metrics || logExport || consoleLog ? new Observation(trace, metrics !== undefined) : undefined;
}

const failedSteps = (route: RouteStep[]) => route.filter((step) => step.outcome !== "ok");

function describeServerSpan(c: GatewayContext, trace: RequestTrace, observation: Observation, endMs: number): void {
  const server = trace.server;
  const route = routePath(c, -1);
  const status = c.res.status;
  const failure = c.error instanceof GatewayError ? c.error : undefined;
  const principal = c.var.principal;
  const usage = observation.usage;
  server.name = `${c.req.method} ${route}`;
  server.endMs = Math.max(endMs, observation.recordedAtMs ?? 0);
  Object.assign(server.attributes, {
    "http.request.method": c.req.method,
    "http.route": route,
    "url.path": c.req.path,
    "url.scheme": new URL(c.req.url).protocol.replace(":", ""),
    "http.response.status_code": status,
    "user_agent.original": c.req.header("user-agent"),
    "sluice.request_id": c.get("requestId"),
    "sluice.principal.type": principal?.type,
    "sluice.team.id": principal ? (principalTeamId(principal) ?? undefined) : undefined,
    "gen_ai.request.model": usage?.model,
    "sluice.provider": usage?.provider,
    "sluice.attempts": usage?.attempts,
    "error.type": failure ? (failure.code ?? failure.kind) : status >= 500 ? String(status) : undefined,
  });
  if (status >= 500) server.error = failure?.message ?? `status ${status}`;
  if (failure?.status === 429 && failure.code && LIMIT_CODES.has(failure.code)) {
    trace.event("sluice.limit.refused", { "sluice.limit.code": failure.code });
  }
  if (!usage) return;
  if (usage.metadata.cache_hit === true) trace.event("sluice.cache.hit", { "gen_ai.request.model": usage.model });
  for (const step of (usage.metadata.route as RouteStep[] | undefined) ?? []) {
    if (step.outcome !== "cooldown") continue;
    trace.event("sluice.cooldown", { "sluice.provider": step.provider, "gen_ai.request.model": step.model }, server.startMs);
  }
  const answering = trace.answering;
  if (!answering) return;
  answering.endMs = observation.recordedAtMs ?? endMs;
  Object.assign(answering.attributes, {
    "gen_ai.response.model": usage.upstreamModel,
    "gen_ai.usage.input_tokens": usage.promptTokens,
    "gen_ai.usage.output_tokens": usage.completionTokens,
    "gen_ai.response.finish_reasons": observation.finishReasons.length > 0 ? observation.finishReasons : undefined,
    "sluice.usage.cached_tokens": usage.cachedTokens || undefined,
    "sluice.cost_usd": usage.costUsd,
    "sluice.time_to_first_token_ms": usage.ttfbMs === null ? undefined : Math.round(usage.ttfbMs),
    "http.response.status_code": usage.status === 499 ? undefined : usage.status,
  });
  if (usage.ttfbMs !== null)
    answering.events.push({ name: "sluice.first_token", timeMs: usage.createdAt + usage.ttfbMs, attributes: {} });
  if (usage.status !== 200) {
    answering.attributes["error.type"] = usage.status === 499 ? "client_closed" : String(usage.status);
    if (usage.status !== 499) answering.error = usage.error ?? `status ${usage.status}`;
  }
}

/** The most of a prompt or an answer a span carries; the rest is cut and marked. */
export const SPAN_CONTENT_MAX_CHARS = 16 * 1024;

/**
 * Content on spans, opted in (OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT):
 * for a model call, the answer is read as it goes by the caller (nothing held
 * back), to go on the answering span with the prompt once it is whole.
 */
export function captureContent(c: GatewayContext, observation: Observation): void {
  if (c.get("requestBody") === undefined) return;
  // A caller whose prompts and answers are kept nowhere (or a judge's call made for one) keeps them off spans too.
  const principal = c.get("principal");
  const behalf = behalfOf(c.req.raw);
  if ((principal && principalPolicy(principal)?.zero_retention) || (behalf && principalPolicy(behalf)?.zero_retention)) return;
  const teed = tee(c.res);
  c.res = teed.response;
  observation.answerText = teed.text;
}

function spanContent(text: string, secrets: (string | undefined)[]): string {
  const redacted = redactForStorage(text, secrets);
  return redacted.length > SPAN_CONTENT_MAX_CHARS ? `${redacted.slice(0, SPAN_CONTENT_MAX_CHARS)}…[truncated]` : redacted;
}

/** The prompt and the answer on the answering span, redacted as request logs are, and cut. */
async function describeContent(c: GatewayContext, observation: Observation): Promise<void> {
  const span = observation.trace?.answering ?? observation.trace?.attempts.at(-1);
  if (!span || !observation.answerText) return;
  const secrets = storedSecrets(c);
  const answer = await observation.answerText;
  span.attributes["gen_ai.input.messages"] = spanContent(JSON.stringify(c.get("requestBody") ?? null), secrets);
  span.attributes["gen_ai.output.messages"] = spanContent(answer.text, secrets);
}

/** The call's record as exported: the ledger's fields, the trace it belongs to, and (where logged) its bodies. */
export function exportRecord(c: GatewayContext, observation: Observation, usage: UsageRecord, log?: RequestLog): ExportRecord {
  const trace = observation.trace;
  const { cache_hit: cacheHit, usage_estimated: estimated, ...metadata } = usage.metadata;
  return {
    type: "request",
    timestamp: new Date(usage.createdAt).toISOString(),
    request_id: usage.requestId,
    ...(trace && { trace_id: trace.server.traceId, span_id: trace.server.spanId }),
    method: c.req.method,
    route: routePath(c, -1),
    client_format: usage.clientFormat,
    principal_type: usage.principalType,
    principal_id: usage.principalId,
    user_id: usage.userId,
    key_id: usage.keyId,
    team_id: usage.teamId,
    app_id: usage.appId ?? null,
    model: usage.model,
    provider: usage.provider,
    upstream_model: usage.upstreamModel,
    status: usage.status,
    error: usage.error,
    streamed: usage.streamed,
    attempts: usage.attempts,
    prompt_tokens: usage.promptTokens,
    completion_tokens: usage.completionTokens,
    cached_tokens: usage.cachedTokens,
    cache_write_tokens: usage.cacheWriteTokens,
    cost_usd: usage.costUsd,
    latency_ms: Math.round(usage.latencyMs),
    ttfb_ms: usage.ttfbMs === null ? null : Math.round(usage.ttfbMs),
    finish_reasons: observation.finishReasons.length > 0 ? observation.finishReasons : undefined,
    cache_hit: cacheHit === true,
    usage_estimated: estimated === true,
    metadata,
    ...(log && { request: log.request, response: log.response }),
  };
}

/** The request's line on the console: who, what, how it went and how long it took; never a secret or a body. */
function consoleLine(c: GatewayContext, observation: Observation, durationMs: number): string {
  const failure = c.error instanceof GatewayError ? c.error : undefined;
  const principal = c.var.principal;
  const usage = observation.usage;
  return JSON.stringify({
    level: c.res.status >= 500 ? "error" : c.res.status >= 400 ? "warn" : "info",
    message: "request",
    request_id: c.get("requestId"),
    trace_id: observation.trace?.server.traceId,
    method: c.req.method,
    route: routePath(c, -1),
    status: c.res.status,
    duration_ms: Math.round(durationMs),
    principal_type: principal?.type,
    team_id: principal ? (principalTeamId(principal) ?? undefined) : undefined,
    key_id: usage?.keyId ?? undefined,
    user_id: usage?.userId ?? undefined,
    error_code: failure ? (failure.code ?? failure.kind) : undefined,
    ...(usage && {
      model: usage.model,
      provider: usage.provider,
      upstream_model: usage.upstreamModel,
      call_status: usage.status,
      attempts: usage.attempts,
      latency_ms: Math.round(usage.latencyMs),
      ttfb_ms: usage.ttfbMs === null ? undefined : Math.round(usage.ttfbMs),
      prompt_tokens: usage.promptTokens,
      completion_tokens: usage.completionTokens,
      cost_usd: usage.costUsd,
      streamed: usage.streamed,
    }),
  });
}

function metricIncrements(c: GatewayContext, observation: Observation, droppedSpans: number, droppedLogs = 0): Increments {
  const failure = c.error instanceof GatewayError ? c.error : undefined;
  const increments: Increments = [
    [seriesName("sluice_http_requests_total", { method: c.req.method, route: routePath(c, -1), status: c.res.status }), 1],
  ];
  if (failure?.status === 429 && failure.code && LIMIT_CODES.has(failure.code)) {
    increments.push([seriesName("sluice_limit_refusals_total", { code: failure.code }), 1]);
  }
  if (droppedSpans > 0) increments.push([seriesName("sluice_otlp_spans_dropped_total"), droppedSpans]);
  if (droppedLogs > 0) increments.push([seriesName("sluice_log_export_dropped_total"), droppedLogs]);
  const usage = observation.usage;
  if (!usage) return increments;
  const call = { provider: usage.provider, model: usage.model };
  const team = { ...call, team: usage.teamId ?? undefined };
  increments.push([seriesName("sluice_requests_total", { ...team, status: usage.status }), 1]);
  if (usage.status >= 400) increments.push([seriesName("sluice_request_errors_total", { ...call, status: usage.status }), 1]);
  for (const [type, tokens] of [
    ["input", usage.promptTokens],
    ["output", usage.completionTokens],
    ["cached", usage.cachedTokens],
  ] as const) {
    if (tokens > 0) increments.push([seriesName("sluice_tokens_total", { ...team, type }), tokens]);
  }
  if (usage.costUsd > 0) increments.push([seriesName("sluice_cost_usd_total", team), usage.costUsd]);
  increments.push(...histogram("sluice_request_duration_seconds", call, usage.latencyMs / 1000));
  if (usage.ttfbMs !== null) increments.push(...histogram("sluice_time_to_first_byte_seconds", call, usage.ttfbMs / 1000));
  if (usage.metadata.cache_hit === true) increments.push([seriesName("sluice_cache_hits_total", { model: usage.model }), 1]);
  for (const step of failedSteps((usage.metadata.route as RouteStep[] | undefined) ?? [])) {
    increments.push([seriesName("sluice_failovers_total", { provider: step.provider, outcome: step.outcome }), 1]);
  }
  return increments;
}

/** The request's spans exported and its metrics added, in its deferred work; never throws. */
export async function finishObservation(c: GatewayContext, observation: Observation): Promise<void> {
  const endMs = Date.now();
  const durationMs = performance.now() - c.get("startedAt");
  await observation.settled();
  const { tracing, logExport, consoleLog } = c.get("config").observability;
  const exporter = tracing && exporterFor(tracing, VERSION);
  const logExporter = logExport && logExporterFor(logExport, VERSION);
  try {
    if (consoleLog) console.log(consoleLine(c, observation, durationMs));
    let spans: Promise<void> | undefined;
    if (exporter && observation.trace) {
      describeServerSpan(c, observation.trace, observation, endMs);
      await describeContent(c, observation);
      spans = exporter.export(observation.trace.spans());
    }
    const usage = observation.usage;
    const logs =
      logExporter && usage
        ? (observation.requestLog ?? Promise.resolve(undefined)).then((log) =>
            logExporter.export(exportRecord(c, observation, usage, log)),
          )
        : undefined;
    await Promise.all([spans, logs]);
    if (observation.metrics) {
      await addToMetrics(
        c.get("services").redis,
        metricIncrements(c, observation, exporter?.takeDropped() ?? 0, logExporter?.takeDropped() ?? 0),
      );
    }
  } catch (error) {
    console.warn(`sluice: ${c.get("requestId")} telemetry not recorded: ${error instanceof Error ? error.message : error}`);
  }
}
