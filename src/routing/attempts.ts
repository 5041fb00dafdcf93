// The attempts one call may make, and one attempt. The list walks the plan —
// the model, then its fallback chain — giving each target a few attempts,
// each with a credential picked by health and headroom. A connection error, a
// timeout, a 429 or a 5xx (FAILOVER_ON) moves on: to another credential at
// once, or to the same one after a backoff with full jitter or the upstream's
// Retry-After, then to the next target. Once an answer has begun, it is the
// answer: a stream that breaks later ends with an error event.
import type { RoutingConfig } from "../config/index.ts";
import type { GatewayContext } from "../context.ts";
import type { Credential } from "../credentials/pool.ts";
import { GatewayError, headerValue } from "../http/errors.ts";
import type { UpstreamBody } from "../http/relay.ts";
import type { Admission } from "../limits/index.ts";
import { reason } from "../log.ts";
import type { ProviderSettings } from "../providers/types.ts";
import { type AttemptSpan, describeAttemptRequest, failAttemptSpan, startAttemptSpan } from "../telemetry/attempt.ts";
import type { RouteStep } from "../usage/meter.ts";
import { type GatewayCall, streamHooks } from "./call.ts";
import type { Exchange, UpstreamAnswer } from "./exchanges.ts";
import type { RoutingHealth } from "./health.ts";
import type { Target } from "./resolve.ts";
import { configuredSecrets, retryAfterMs, upstreamError } from "./upstream-error.ts";

/** Why an attempt did not answer; `final` ends the call whatever FAILOVER_ON says. */
export type Failure = {
  kind: "connection" | "timeout" | "status" | "final";
  error: GatewayError;
  waitMs?: number;
  /** For a timeout: whether the request had left for the provider (which may then bill for its prompt). */
  dispatched?: boolean;
};

/** One attempt to make: a target, the credential picked for it, and the exchange built with it. */
export interface PlannedAttempt {
  target: Target;
  credential: Credential;
  secret: string | undefined;
  exchange: Exchange;
  /** The route step this attempt writes into the call's record. */
  step: { provider: string; model: string };
}

export interface AttemptListInput {
  plan: Target[];
  /** The credentials each target of the plan may use. */
  pools: Credential[][];
  health: RoutingHealth;
  routing: RoutingConfig;
  reservedTokens: number;
  deadline: number;
  /** Where skipped targets and failed attempts are written down. */
  route: RouteStep[];
  /** Builds the exchange for a target; a GatewayError means this target cannot take the request. */
  exchange(target: Target, settings: ProviderSettings): Exchange;
  defer: (work: Promise<unknown>) => void;
  /**
   * Asked of each fallback before it is tried: whether the caller may still
   * use it (an admin may have changed the caller since the plan was made).
   */
  stillAllowed?: (target: Target) => Promise<boolean>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export const deploymentOf = (target: Target, credential: Credential) =>
  `${target.provider}|${target.upstreamModel}|${credential.id}`;

/** A weighted random pick among the preferred credentials if any, else among all; heavier ones take more calls. */
function pickWeighted(candidates: Credential[]): Credential | undefined {
  const preferred = candidates.filter((credential) => credential.preferred);
  const credentials = preferred.length > 0 ? preferred : candidates;
  const total = credentials.reduce((sum, credential) => sum + Math.max(0, credential.weight), 0);
  if (total <= 0) return credentials[0];
  let point = Math.random() * total;
  for (const credential of credentials) {
    point -= Math.max(0, credential.weight);
    if (point < 0) return credential;
  }
  return credentials.at(-1);
}

const capacityError = (target: Target) =>
  new GatewayError(429, "rate_limit", `Every credential for \`${target.provider}\` is at its own limit.`, {
    code: "provider_capacity",
    headers: { "retry-after": String(60 - (Math.floor(Date.now() / 1000) % 60)) },
  });

const unreadableError = (target: Target) =>
  new GatewayError(503, "unavailable", `No usable credential for \`${target.provider}\`.`, { code: "credential_unreadable" });

/**
 * The attempts to make, one at a time: each is yielded, and the list is told
 * how it failed (an attempt that answered ends the call, so the list hears no
 * more). It returns the error to end the call with, when it has none left or
 * a failure must not move on; undefined when no target could be tried at all.
 */
export async function* attemptList(input: AttemptListInput): AsyncGenerator<PlannedAttempt, GatewayError | undefined, Failure> {
  const { plan, pools, health, routing } = input;
  // A target in cooldown is skipped, unless every target is: then they are all tried as if well.
  const coolingIn = (i: number) => (pools[i] ?? []).filter((cr) => health.isCooling(deploymentOf(plan[i] as Target, cr)));
  const allCooling = plan.every((_, i) => (pools[i]?.length ?? 0) > 0 && coolingIn(i).length === pools[i]?.length);
  let lastError: GatewayError | undefined;
  /** Credentials whose refused token was dropped and tried again. */
  const renewed = new Set<string>();

  for (const [i, target] of plan.entries()) {
    const pool = pools[i] ?? [];
    const step = { provider: target.provider, model: target.upstreamModel };
    if (i > 0 && input.stillAllowed && !(await input.stillAllowed(target))) {
      input.route.push({ ...step, outcome: "not_allowed" });
      continue;
    }
    if (pool.length === 0) {
      input.route.push({ ...step, outcome: "not_configured" });
      continue;
    }
    const unusable = new Set(allCooling ? [] : coolingIn(i).map((cr) => cr.id));
    if (unusable.size === pool.length) {
      input.route.push({ ...step, outcome: "cooldown" });
      continue;
    }
    const failedHere = new Set<string>();
    let retries = 0;
    while (retries <= routing.retries) {
      const ready = pool.filter((cr) => !unusable.has(cr.id) && health.hasHeadroom(cr, input.reservedTokens));
      const fresh = ready.filter((cr) => !failedHere.has(cr.id));
      const credential = pickWeighted(fresh.length > 0 ? fresh : ready);
      if (!credential) {
        input.route.push({ ...step, outcome: "no_headroom" });
        lastError ??= capacityError(target);
        break;
      }
      let secret: string | undefined;
      try {
        secret = await credential.secret();
      } catch (error) {
        // A user's account that must be connected again: its answer, unless another credential may serve.
        if (error instanceof GatewayError) {
          input.route.push({ ...step, credential: credential.id, outcome: "reconnect" });
          lastError = error;
          unusable.add(credential.id);
          continue;
        }
        // Sealed under a key-encryption key this deployment no longer has: unusable, and said so in the logs.
        console.error(`sluice: credential ${credential.id} could not be opened: ${reason(error)}`);
        input.route.push({ ...step, credential: credential.id, outcome: "unreadable" });
        lastError ??= unreadableError(target);
        unusable.add(credential.id);
        continue;
      }
      let exchange: Exchange;
      try {
        const settings = { ...target.settings, ...credential.settings, secret, ...(credential.bearer && { bearer: true }) };
        exchange = input.exchange(target, settings);
      } catch (error) {
        // The first target's refusal is the caller's answer; a fallback that cannot take the request is passed over.
        if (i === 0 && error instanceof GatewayError) return error;
        input.route.push({ ...step, outcome: "unsupported" });
        break;
      }
      const failure = yield { target, credential, secret, exchange, step };
      if (failure.kind === "final") return failure.error;
      lastError = failure.error;
      // An access token refused: once, the credential fetches a fresh one and goes again (a revoked grant then says so).
      if (failure.kind === "status" && failure.error.status === 401 && credential.invalidate && !renewed.has(credential.id)) {
        credential.invalidate();
        renewed.add(credential.id);
        continue;
      }
      const moveOn =
        failure.kind === "status" ? routing.failoverOn.statuses(failure.error.status) : routing.failoverOn[failure.kind];
      if (!moveOn) return failure.error;
      failedHere.add(credential.id);
      health.recordFailure(deploymentOf(target, credential), { retryAfterMs: failure.waitMs, defer: input.defer });
      if (retries === routing.retries) break;
      // Another credential is tried at once; the same one after a backoff, or as long as the upstream asked.
      if (!ready.some((cr) => !failedHere.has(cr.id))) {
        if (failure.waitMs !== undefined && failure.waitMs > routing.retryAfterMaxMs) break;
        const wait = failure.waitMs ?? Math.random() * Math.min(routing.retryAfterMaxMs, routing.backoffMs * 2 ** retries);
        if (Date.now() + wait >= input.deadline) break;
        await sleep(wait);
      }
      retries++;
    }
    if (Date.now() >= input.deadline) break;
  }
  return lastError;
}

/** The headers that say what served the call. */
export function attemptHeaders(call: GatewayCall): Record<string, string> {
  return {
    "x-sluice-provider": headerValue(call.target.provider),
    "x-sluice-model": headerValue(call.target.upstreamModel),
    "x-sluice-attempts": String(call.meter.attempts),
  };
}

/**
 * One attempt: the request sent under the first-byte and attempt timeouts
 * (both within the deadline). A stream's first chunk is read before the
 * answer is committed to, so a stream that dies at once can still fail over.
 * Nothing reaches the client before the limits check has admitted the call;
 * a check running alongside that refuses it stops the attempt at once.
 */
export async function runAttempt(c: GatewayContext, input: AttemptInput): Promise<{ response: Response } | Failure> {
  const traced = startAttemptSpan(c, input.call.target);
  if (!traced) return await attemptOnce(c, input);
  const outcome = await attemptOnce(c, input, traced);
  if (!("response" in outcome)) failAttemptSpan(traced, outcome);
  return outcome;
}

interface AttemptInput {
  call: GatewayCall;
  admission: Admission;
  exchange: Exchange;
  streamed: boolean;
  deadline: number;
  secret: string | undefined;
  /** Guardrails asked beside the upstream call: nothing is committed to before it resolves; a refusal stops the attempt. */
  verdict?: Promise<void>;
  /** The answer has begun: this attempt serves, whatever happens to the rest of it. */
  committed: () => void;
}

async function attemptOnce(
  c: GatewayContext,
  input: AttemptInput,
  traced?: AttemptSpan,
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
  let refusal: unknown;
  /** The upstream's answer arrived whole (or its stream began) and was committed to. */
  let answered = false;
  input.admission.ready.catch((error: unknown) => {
    refusal = error;
    controller.abort();
  });
  /** A guardrail beside the call refused the prompt. */
  let blocked = false;
  /** The request left for the upstream before any refusal stopped it: the provider may have the prompt. */
  let dispatched = false;
  input.verdict?.catch((error: unknown) => {
    refusal ??= error;
    blocked = true;
    controller.abort();
  });
  let body: UpstreamBody | undefined;
  let answer: UpstreamAnswer | undefined;
  try {
    call.secrets = [input.secret, ...configuredSecrets(c.get("config"))];
    if (input.secret) c.set("callSecret", input.secret);
    const request = await exchange.request();
    if (traced) {
      // The upstream call carries the trace on, its parent this attempt's span.
      request.headers.set("traceparent", traced.traceparent);
      describeAttemptRequest(traced, request);
    }
    dispatched = !controller.signal.aborted;
    const upstream = exchange.send
      ? await exchange.send(request, { bindings: c.env, signal: controller.signal })
      : await fetch(request, { signal: controller.signal });
    if (!upstream.ok) {
      const error = await upstreamError(upstream, provider, call.secrets);
      clearTimeout(timer);
      return { kind: "status", error, waitMs: retryAfterMs(upstream.headers) };
    }
    if (input.streamed && upstream.body) {
      const reader = upstream.body.getReader();
      const head = await reader.read();
      if (head.done) throw new Error("the stream ended before its first byte");
      body = { reader, first: head.value, stream: upstream.body };
      answer = { stream: body };
    } else {
      // Read whole here, so a body that breaks off is this attempt's failure, not the client's.
      firstByte = true;
      answer = { text: await upstream.text() };
    }
    clearTimeout(timer);
    // Held, whole or at its first chunk, until the guardrails beside the call have passed it.
    if (input.verdict) await input.verdict;
    Object.assign(call.headers, await input.admission.ready, attemptHeaders(call));
    answered = true;
    input.committed();
    return { response: await exchange.respond(call, answer, () => streamHooks(c, call)) };
  } catch (error) {
    clearTimeout(timer);
    // The upstream answered (and will bill): whatever failed after, another attempt would only pay twice.
    if (answered && !(error instanceof GatewayError)) {
      console.error(`sluice: ${c.get("requestId")} the answer of ${provider} could not be relayed: ${reason(error)}`);
      return {
        kind: "final",
        error: new GatewayError(502, "upstream", `The answer of upstream ${provider} could not be relayed.`, {
          code: "upstream_unrelayable",
          cause: error,
        }),
      };
    }
    if (refusal !== undefined) {
      await body?.reader.cancel().catch(() => undefined);
      call.meter.route.push({ provider, model: call.target.upstreamModel, outcome: blocked ? "guardrail_refused" : "refused" });
      // The provider had the prompt: what it reported is recorded, else its estimated input.
      if (blocked && dispatched) call.meter.billRefused(answer?.text === undefined ? undefined : exchange.usage?.(answer.text));
      const refused = refusal instanceof GatewayError ? refusal : new GatewayError(500, "internal", "Internal error.");
      return { kind: "final", error: refused };
    }
    if (error instanceof GatewayError) return { kind: "final", error };
    if (timedOut) {
      return {
        kind: "timeout",
        error: new GatewayError(504, "timeout", `Upstream ${provider} did not send ${timedOut}.`, { code: "upstream_timeout" }),
        dispatched,
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
