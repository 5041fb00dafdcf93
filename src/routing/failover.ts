// One gateway call through its targets: the model, then its fallback chain.
// Each target gets a few attempts, each with a credential picked by health
// and headroom. A connection error, a timeout, a 429 or a 5xx (FAILOVER_ON)
// moves on, after a backoff with full jitter or the upstream's Retry-After,
// for as long as nothing has reached the client. Once an answer has begun,
// it is the answer: a stream that breaks later ends with an error event.
import { assertModelAllowed, isModelAllowed } from "../auth/index.ts";
import type { ProviderSettings } from "../config/index.ts";
import type { GatewayContext } from "../context.ts";
import { type Credential, credentialsFor, ownedCredentials } from "../credentials/pool.ts";
import { GatewayError } from "../http/errors.ts";
import type { UpstreamBody } from "../http/sse-relay.ts";
import { type Admission, admit, type Estimate } from "../limits/index.ts";
import { UsageMeter } from "../usage/meter.ts";
import { costOf, type Price } from "../usage/prices.ts";
import { type GatewayCall, openCall } from "./call.ts";
import { catalogFor } from "./catalog.ts";
import { routingHealth } from "./health.ts";
import { planRoute, type Target } from "./resolve.ts";
import { retryAfterMs, upstreamError } from "./upstream-error.ts";

export type UpstreamAnswer = { text: string; stream?: undefined } | { text?: undefined; stream: UpstreamBody };

/** How a call reaches one target: the upstream request, and how a success becomes the client's response. */
export interface Exchange {
  request: Request;
  /**
   * The client's response, from the upstream's answer: its text, read whole,
   * or for a streamed call its body with the first chunk already read.
   * Throwing a GatewayError ends the call with it; any other error counts as
   * a broken connection and the call moves on.
   */
  respond(call: GatewayCall, answer: UpstreamAnswer): Promise<Response>;
}

export interface RouteInput {
  model: string;
  providerOverride?: string;
  streamed: boolean;
  /** The request's size, estimated for the first target's path. */
  estimate(first: Target): Estimate;
  /** Builds the exchange for a target; a GatewayError means this target cannot take the request. */
  exchange(target: Target, settings: ProviderSettings): Exchange;
}

/** Why an attempt did not answer; `final` ends the call whatever FAILOVER_ON says. */
type Failure = { kind: "connection" | "timeout" | "status" | "final"; error: GatewayError; waitMs?: number };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const deploymentOf = (target: Target, credential: Credential) => `${target.provider}|${target.upstreamModel}|${credential.id}`;

/** The price that reserves the most, so a fallback to a dearer model stays within the reservation. */
function dearest(plan: Target[], estimate: Estimate): Price | undefined {
  const cost = (price: Price | undefined) =>
    costOf(price, { promptTokens: estimate.inputTokens, completionTokens: estimate.outputTokens, cachedTokens: 0 });
  return plan.reduce<Price | undefined>((worst, t) => (cost(t.price) > cost(worst) ? t.price : worst), plan[0]?.price);
}

/** A weighted random pick; heavier credentials take proportionally more calls. */
function pickWeighted(credentials: Credential[]): Credential | undefined {
  const total = credentials.reduce((sum, credential) => sum + Math.max(0, credential.weight), 0);
  if (total <= 0) return credentials[0];
  let point = Math.random() * total;
  for (const credential of credentials) {
    point -= Math.max(0, credential.weight);
    if (point < 0) return credential;
  }
  return credentials.at(-1);
}

const notConfigured = (target: Target) =>
  new GatewayError(
    404,
    "not_found",
    `The model \`${target.model}\` needs provider \`${target.provider}\`, which is not configured here.`,
    { code: "model_not_found", param: "model" },
  );

export async function routeCall(c: GatewayContext, input: RouteInput): Promise<Response> {
  const config = c.get("config");
  const services = c.get("services");
  const principal = c.get("principal");
  const requestId = c.get("requestId");
  const format = c.get("format");
  const startedAt = c.get("startedAt");
  const routing = config.routing;
  const defer = (work: Promise<unknown>) => c.executionCtx.waitUntil(work);
  assertModelAllowed(principal, input.model);
  const plan = planRoute({
    config,
    catalog: await catalogFor(c),
    model: input.model,
    providerOverride: c.req.header("x-sluice-provider") ?? input.providerOverride,
    allowed: (model) => isModelAllowed(principal, model),
  });
  const first = plan[0] as Target;
  const health = routingHealth(services.redis, {
    failures: routing.cooldown.failures,
    cooldownMs: routing.cooldown.ms,
    refreshMs: routing.catalogRefreshMs,
  });
  health.syncIfDue(defer);

  const estimate = input.estimate(first);
  const admission = admit({ config, services, principal, estimate, price: dearest(plan, estimate), defer });
  const owned = await ownedCredentials(c);
  // Room unknown or thin: the check comes first, and a refusal leaves no trace upstream.
  if (admission.mode === "sequential") await admission.ready;
  const pools = plan.map((target) => credentialsFor(target.provider, owned, target.credentials, config.encryption));
  const meter = new UsageMeter({
    requestId,
    principal,
    provider: first.provider,
    model: input.model,
    upstreamModel: first.upstreamModel,
    clientFormat: format,
    streamed: input.streamed,
    startedAt,
    price: first.price,
    estimatedPromptTokens: estimate.inputTokens,
  });
  // How the limits check admitted the call (lease, overlapped, sequential), for whoever studies its latency.
  if (admission.mode !== "unlimited") meter.flags.admission = admission.mode;
  const reservedTokens = estimate.inputTokens + estimate.outputTokens;
  let serving: Credential | undefined;
  const call = openCall(c, {
    target: first,
    admission,
    meter,
    onRecord: (usage) => {
      if (serving) health.adjustUse(serving, usage.promptTokens + usage.completionTokens - reservedTokens, defer);
    },
  });

  let lastError: GatewayError | undefined;
  /** Requests sent upstream so far; skipped targets and unreadable credentials are not attempts. */
  let sent = 0;

  /** Ends the call with an error; a refusal by the limits check, when there is one, is the answer. */
  const fail = async (failure: GatewayError): Promise<never> => {
    let error = failure;
    try {
      Object.assign(call.headers, await admission.ready);
    } catch (refusal) {
      // Refused before anything went upstream: nothing to record, as when the check runs first.
      if (sent === 0) throw refusal;
      error = refusal instanceof GatewayError ? refusal : failure;
      meter.flags.refused_after_upstream_start = true;
    }
    meter.attempts = Math.max(1, sent);
    Object.assign(error.headers, call.headers, attemptHeaders(call));
    call.record(error.status, error.message);
    throw error;
  };

  if (pools.every((pool) => pool.length === 0)) return await fail(notConfigured(first));
  // A target in cooldown is skipped, unless every target is: then they are all tried as if well.
  const coolingIn = (i: number) => (pools[i] ?? []).filter((cr) => health.isCooling(deploymentOf(plan[i] as Target, cr)));
  const allCooling = plan.every((_, i) => (pools[i]?.length ?? 0) > 0 && coolingIn(i).length === pools[i]?.length);
  const deadline = Date.now() + routing.deadlineMs;
  for (const [i, target] of plan.entries()) {
    const pool = pools[i] ?? [];
    const step = { provider: target.provider, model: target.upstreamModel };
    if (pool.length === 0) {
      meter.route.push({ ...step, outcome: "not_configured" });
      continue;
    }
    const cooling = new Set(allCooling ? [] : coolingIn(i).map((cr) => cr.id));
    if (cooling.size === pool.length) {
      meter.route.push({ ...step, outcome: "cooldown" });
      continue;
    }
    const failedHere = new Set<string>();
    for (let retry = 0; retry <= routing.retries; retry++) {
      const ready = pool.filter((cr) => !cooling.has(cr.id) && health.hasHeadroom(cr, reservedTokens));
      const fresh = ready.filter((cr) => !failedHere.has(cr.id));
      const credential = pickWeighted(fresh.length > 0 ? fresh : ready);
      if (!credential) {
        meter.route.push({ ...step, outcome: "no_headroom" });
        lastError ??= new GatewayError(429, "rate_limit", `Every credential for \`${target.provider}\` is at its own limit.`, {
          code: "provider_capacity",
          headers: { "retry-after": String(60 - (Math.floor(Date.now() / 1000) % 60)) },
        });
        break;
      }
      let secret: string | undefined;
      try {
        secret = await credential.secret();
      } catch (error) {
        // Sealed under a key-encryption key this deployment no longer has: unusable, and said so in the logs.
        console.error(`sluice: credential ${credential.id} could not be opened: ${String(error)}`);
        meter.route.push({ ...step, credential: credential.id, outcome: "unreadable" });
        lastError ??= new GatewayError(503, "unavailable", `No usable credential for \`${target.provider}\`.`, {
          code: "credential_unreadable",
        });
        cooling.add(credential.id);
        retry--;
        continue;
      }
      let exchange: Exchange;
      const settings = { ...target.settings, apiKey: secret };
      try {
        exchange = input.exchange(target, settings);
      } catch (error) {
        // The first target's refusal is the caller's answer; a fallback that cannot take the request is passed over.
        if (i === 0 && error instanceof GatewayError) return await fail(error);
        meter.route.push({ ...step, outcome: "unsupported" });
        break;
      }
      // Only the first attempt may start before the limits check has admitted the request.
      if (sent > 0) await admission.ready.catch(() => fail(lastError ?? notConfigured(target)));
      call.target = target;
      meter.serve(target);
      health.recordUse(credential, reservedTokens, defer);
      meter.attempts = ++sent;
      const began = Date.now();
      const deployment = deploymentOf(target, credential);
      const outcome = await attempt(c, {
        call,
        admission,
        exchange,
        streamed: input.streamed,
        deadline,
        secret: settings.apiKey,
        // The answer has begun: this is the step that serves, whatever happens to the rest of it.
        committed: () => {
          meter.route.push({ ...step, credential: credential.id, outcome: "ok", ms: Date.now() - began });
          health.recordSuccess(deployment);
          serving = credential;
        },
      });
      const ms = Date.now() - began;
      if ("response" in outcome) return outcome.response;
      const { error } = outcome;
      if (outcome.kind === "final") return await fail(error);
      meter.route.push({
        ...step,
        credential: credential.id,
        outcome: outcome.kind === "status" ? String(error.status) : outcome.kind,
        ms,
      });
      lastError = error;
      const moveOn =
        outcome.kind === "status" ? routing.failoverOn.statuses(error.status) : routing.failoverOn[outcome.kind as "timeout"];
      if (!moveOn) return await fail(error);
      failedHere.add(credential.id);
      health.recordFailure(deployment, { retryAfterMs: outcome.waitMs, defer });
      if (retry === routing.retries) break;
      // Another credential is tried at once; the same one after a backoff, or as long as the upstream asked.
      const another = ready.some((cr) => !failedHere.has(cr.id));
      if (another) continue;
      if (outcome.waitMs !== undefined && outcome.waitMs > routing.retryAfterMaxMs) break;
      const wait = outcome.waitMs ?? Math.random() * Math.min(routing.retryAfterMaxMs, routing.backoffMs * 2 ** retry);
      if (Date.now() + wait >= deadline) break;
      await sleep(wait);
    }
    if (Date.now() >= deadline) break;
  }
  return await fail(
    lastError ??
      new GatewayError(503, "unavailable", `No provider could take the request for \`${input.model}\`.`, {
        code: "no_target_available",
      }),
  );
}

function attemptHeaders(call: GatewayCall): Record<string, string> {
  return {
    "x-sluice-provider": call.target.provider,
    "x-sluice-model": call.target.upstreamModel,
    "x-sluice-attempts": String(call.meter.attempts),
  };
}

/**
 * One attempt: the request sent under the first-byte and attempt timeouts
 * (both within the deadline). A stream's first chunk is read before the
 * answer is committed to, so a stream that dies at once can still fail over.
 */
async function attempt(
  c: GatewayContext,
  input: {
    call: GatewayCall;
    admission: Admission;
    exchange: Exchange;
    streamed: boolean;
    deadline: number;
    secret: string | undefined;
    committed: () => void;
  },
): Promise<{ response: Response } | Failure> {
  const { call, exchange } = input;
  const routing = c.get("config").routing;
  const controller = new AbortController();
  call.abort = controller;
  const attemptMs = Math.max(1, Math.min(routing.attemptTimeoutMs, input.deadline - Date.now()));
  const firstByteMs = Math.min(routing.firstByteTimeoutMs, attemptMs);
  const began = Date.now();
  let firstByte = false;
  let timedOut: string | undefined;
  // One timer: at the first-byte deadline it either expires the attempt or re-arms for the attempt's own.
  const onTimer = () => {
    if (!firstByte) timedOut = `its first byte within ${firstByteMs} ms`;
    else if (Date.now() - began < attemptMs) {
      timer = setTimeout(onTimer, attemptMs - (Date.now() - began));
      return;
    } else timedOut = `a whole answer within ${attemptMs} ms`;
    controller.abort();
  };
  let timer = setTimeout(onTimer, firstByteMs);
  const provider = call.target.provider;
  // A check running alongside this attempt that refuses the request stops it at once.
  let refusal: unknown;
  input.admission.ready.catch((error: unknown) => {
    refusal = error;
    controller.abort();
  });
  let body: UpstreamBody | undefined;
  try {
    const upstream = await fetch(exchange.request, { signal: controller.signal });
    if (!upstream.ok) {
      const error = await upstreamError(upstream, provider, input.secret);
      clearTimeout(timer);
      return { kind: "status", error, waitMs: retryAfterMs(upstream.headers) };
    }
    let answer: UpstreamAnswer;
    if (input.streamed && upstream.body) {
      const reader = upstream.body.getReader();
      const head = await reader.read();
      if (head.done) throw new Error("the stream ended before its first byte");
      body = { reader, first: head.value };
      answer = { stream: body };
    } else {
      // Read whole here, so a body that breaks off is this attempt's failure, not the client's.
      firstByte = true;
      answer = { text: await upstream.text() };
    }
    clearTimeout(timer);
    // Nothing reaches the client before the limits check has admitted the request.
    Object.assign(call.headers, await input.admission.ready, attemptHeaders(call));
    input.committed();
    return { response: await exchange.respond(call, answer) };
  } catch (error) {
    clearTimeout(timer);
    if (refusal !== undefined) {
      await body?.reader.cancel().catch(() => undefined);
      call.meter.route.push({ provider, model: call.target.upstreamModel, outcome: "refused" });
      return {
        kind: "final",
        error: refusal instanceof GatewayError ? refusal : new GatewayError(500, "internal", "Internal error."),
      };
    }
    if (error instanceof GatewayError) return { kind: "final", error };
    if (timedOut) {
      return {
        kind: "timeout",
        error: new GatewayError(504, "timeout", `Upstream ${provider} did not send ${timedOut}.`, {
          code: "upstream_timeout",
        }),
      };
    }
    return {
      kind: "connection",
      error: new GatewayError(502, "upstream", `Upstream ${provider} could not be reached.`, {
        code: "upstream_unreachable",
        cause: error,
      }),
    };
  }
}
