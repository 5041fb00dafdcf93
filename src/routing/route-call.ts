// One gateway call: the route planned (the model, then its fallbacks, each a
// model the caller may use), the limits check started, the metered call
// opened, and a plain loop over the attempts the list hands out.
import { accountCredential, googleAccountOf } from "../accounts/google.ts";
import { assertDeploymentAllowed, isDeploymentAllowed, reauthenticate } from "../auth/index.ts";
import { type Principal, principalPersonId } from "../auth/principal.ts";
import { can } from "../auth/roles.ts";
import type { GatewayContext } from "../context.ts";
import { type Credential, credentialsFor, ownedCredentials } from "../credentials/pool.ts";
import { GatewayError } from "../http/errors.ts";
import { spendsDollars, unpricedRefusal } from "../limits/binding.ts";
import { admit, type Estimate } from "../limits/index.ts";
import { reason } from "../log.ts";
import type { ProviderSettings } from "../providers/types.ts";
import { UsageMeter } from "../usage/meter.ts";
import { costOf, type Price } from "../usage/prices.ts";
import type { Modality, UsageRecord } from "../usage/record.ts";
import { attemptHeaders, attemptList, deploymentOf, runAttempt } from "./attempts.ts";
import { behalfOf } from "./behalf.ts";
import { type CacheInput, cacheStage, NO_CACHE } from "./cache-stage.ts";
import { deferred, openCall } from "./call.ts";
import { catalogFor } from "./catalog.ts";
import { assertTargetAllowed, targetAllowed } from "./data-controls.ts";
import type { Exchange } from "./exchanges.ts";
import { type GuardRun, guardStage } from "./guard-stage.ts";
import { routingHealth } from "./health.ts";
import { naturalProvider, planRoute, type Target } from "./resolve.ts";
import { decideRoute, noteAttempt, type RoutedRequest, routeFlags, routeHeaders } from "./rules/stage.ts";

export interface RouteInput {
  model: string;
  providerOverride?: string;
  /** Where the caller named the provider: the body's `provider`, or the `x-sluice-provider` header. */
  providerParam?: string;
  streamed: boolean;
  /** The request's size, estimated for the first target's path. */
  estimate(first: Target): Estimate;
  /** Builds the exchange for a target; a GatewayError means this target cannot take the request. */
  exchange(target: Target, settings: ProviderSettings): Exchange;
  /** What the response cache keys on, where the API's answers may be cached. */
  cache?: CacheInput;
  /** The guardrails stage, for a caller whose settings name guardrails. */
  guard?: GuardRun;
  /** Whether the request offers tools, and its size, for routes whose conditions ask. */
  requestFacts?: RoutedRequest["requestFacts"];
  /** What the call's work is, for its record; text when absent (and then not written). */
  modality?: Modality;
}

/** The built-in provider a user's Google account stands in for. */
const GOOGLE_GEMINI = "gemini";

/** The price that reserves the most, so a fallback to a dearer model stays within the reservation. */
function dearest(plan: Target[], estimate: Estimate): Price | undefined {
  const cost = (price: Price | undefined) =>
    costOf(price, { promptTokens: estimate.inputTokens, completionTokens: estimate.outputTokens, cachedTokens: 0 });
  return plan.reduce<Price | undefined>((worst, t) => (cost(t.price) > cost(worst) ? t.price : worst), plan[0]?.price);
}

const credentialsUnavailable = () =>
  new GatewayError(503, "unavailable", "The caller's provider credentials cannot be read just now; try again shortly.", {
    code: "credentials_unavailable",
    headers: { "retry-after": "1" },
  });

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
  const routing = config.routing;
  const defer = (work: Promise<unknown>) => c.executionCtx.waitUntil(work);
  const catalog = await catalogFor(c);
  // A route's name: its rules pick the model, whose fallbacks, then the route's, follow.
  const decision = decideRoute(c, catalog, input);
  const model = decision?.model ?? input.model;
  // The model's own target (planRoute throws when nothing serves it), then its fallbacks.
  const [first, ...fallbacks] = planRoute({
    config,
    catalog,
    model,
    fallbacks: decision?.fallbacks,
    providerOverride: input.providerOverride,
    providerParam: input.providerParam,
  }) as [Target, ...Target[]];
  // An allowlist binds the deployment: a provider the caller picked must be one the key may use for the model.
  const natural = naturalProvider(config, catalog, model, input.providerOverride, first);
  assertDeploymentAllowed(c.get("principal"), first, natural);
  assertTargetAllowed(c.get("principal"), first);
  // A judge's call is made as the gateway, but carries its caller's prompt: that caller's data controls hold too.
  const behalf = behalfOf(c.req.raw);
  if (behalf) assertTargetAllowed(behalf, first);
  // A limit counted in dollars binds only what has a price: an unpriced model is refused, an unpriced fallback passed over.
  if (spendsDollars(c.get("principal")) && !first.price) throw unpricedRefusal(first);
  const guarded = input.guard
    ? await guardStage(c, { run: input.guard, catalog, first, model, streamed: input.streamed })
    : undefined;
  // A guarded answer is rewritten for its caller: not one to keep for others, nor to serve from what others got.
  const cache =
    input.cache && !guarded
      ? await cacheStage(c, { cache: input.cache, model, streamed: input.streamed, first, natural, catalog })
      : NO_CACHE;
  if (cache.hit) return cache.hit;
  // The caller as the cache stage left it: read again there when an admin had changed it.
  const principal = c.get("principal");
  /** A fallback the caller may use: its allowlist, its data controls (and its judge's caller's), a price where dollars bind. */
  const fallbackAllowed = (caller: Principal, target: Target) =>
    isDeploymentAllowed(caller, target, target.provider) &&
    targetAllowed(caller, target) &&
    (!behalf || targetAllowed(behalf, target)) &&
    (!spendsDollars(caller) || target.price !== undefined);
  /**
   * An admin changed the caller since this isolate loaded it: read again, and
   * held to what it may use now (the fallbacks too, as each comes up).
   */
  const refresh = async () => {
    const fresh = await reauthenticate(c);
    assertDeploymentAllowed(fresh, first, natural);
    assertTargetAllowed(fresh, first);
  };
  const plan = [first, ...fallbacks.filter((target) => fallbackAllowed(principal, target))];
  const health = routingHealth(services.redis, {
    failures: routing.cooldown.failures,
    cooldownMs: routing.cooldown.ms,
    refreshMs: routing.catalogRefreshMs,
  });
  health.syncIfDue(defer);

  const estimate = input.estimate(first);
  const admission = admit({ config, services, principal, estimate, price: dearest(plan, estimate), defer, refresh });
  // Read beside the limits check; awaited once the call can be recorded, so a read that fails still settles the reservation.
  const ownedRead = ownedCredentials(c);
  ownedRead.catch(() => undefined);
  // Room unknown or thin: the check comes first, and a refusal leaves no trace upstream.
  if (admission.mode === "sequential") await admission.ready;

  const meter = new UsageMeter({
    requestId: c.get("requestId"),
    principal,
    provider: first.provider,
    model,
    upstreamModel: first.upstreamModel,
    clientFormat: c.get("format"),
    streamed: input.streamed,
    startedAt: c.get("startedAt"),
    price: first.price,
    toolFees: first.toolFees,
    estimatedPromptTokens: estimate.inputTokens,
  });
  // How the limits check admitted the call (lease, overlapped, sequential), for whoever studies its latency.
  if (admission.mode !== "unlimited") meter.flags.admission = admission.mode;
  if (guarded) meter.flags.guardrails = guarded.verdicts;
  if (input.modality && input.modality !== "text") meter.flags.modality = input.modality;
  const reservedTokens = estimate.inputTokens + estimate.outputTokens;
  let serving: Credential | undefined;
  const recorded = deferred<UsageRecord>();
  const call = openCall(c, {
    target: first,
    admission,
    meter,
    onRecord: (usage) => {
      if (serving) health.adjustUse(serving, usage.promptTokens + usage.completionTokens - reservedTokens, defer);
      recorded.resolve(usage);
    },
  });
  if (decision) {
    Object.assign(call.headers, routeHeaders(decision, can(c.get("principal"), "catalog:read")));
    Object.assign(meter.flags, routeFlags(decision));
  }

  /** Requests sent upstream so far; skipped targets and unreadable credentials are not attempts. */
  let sent = 0;
  /** Ends the call with an error; a refusal by the limits check, when there is one, is the answer. */
  const fail = async (failure: GatewayError): Promise<never> => {
    let error = failure;
    // A guardrail asked beside the upstream that refuses the prompt is the answer, as it would have been before it.
    await guarded?.pending?.catch((refusal: GatewayError) => {
      error = refusal;
    });
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

  // A user's own Google account serves their calls to Google's Gemini API (never a catalog provider of
  // the same kind elsewhere, which must not see their token); the gateway's key only if they allow it.
  const userId = principalPersonId(principal);
  const viaGoogle = (target: Target) => target.provider === GOOGLE_GEMINI;
  let owned: Awaited<typeof ownedRead>;
  let account: Awaited<ReturnType<typeof googleAccountOf>> | null;
  try {
    owned = await ownedRead;
    account = userId && plan.some(viaGoogle) ? await googleAccountOf(services, config, userId, defer) : null;
  } catch (error) {
    // Admitted, nothing sent: the call is recorded and its reservation given back.
    if (error instanceof GatewayError) return await fail(error);
    console.warn(`sluice: the caller's credentials could not be read (${reason(error)})`);
    return await fail(credentialsUnavailable());
  }
  const pools = plan.map((target) => {
    const pool = credentialsFor(target.provider, owned, target.credentials, config.encryption);
    if (!account || !viaGoogle(target)) return pool;
    return [accountCredential(account, config), ...(account.allowFallback ? pool : [])];
  });
  if (pools.every((pool) => pool.length === 0)) return await fail(notConfigured(first));
  const deadline = Date.now() + routing.deadlineMs;
  const attempts = attemptList({
    plan,
    pools,
    health,
    routing,
    reservedTokens,
    deadline,
    route: meter.route,
    exchange: input.exchange,
    defer,
    // After the limits check, which reads the caller again when an admin changed it.
    stillAllowed: async (target) => {
      await admission.ready.catch(() => undefined);
      return fallbackAllowed(c.get("principal"), target);
    },
  });
  let next = await attempts.next();
  while (!next.done) {
    const { target, credential, secret, exchange, step } = next.value;
    // Only the first attempt may start before the limits check has admitted the request.
    if (sent > 0) await admission.ready.catch(() => fail(notConfigured(target)));
    call.target = target;
    meter.serve(target);
    health.recordUse(credential, reservedTokens, defer);
    meter.attempts = ++sent;
    const began = Date.now();
    const outcome = await runAttempt(c, {
      call,
      admission,
      exchange,
      streamed: input.streamed,
      deadline,
      secret,
      verdict: guarded?.pending,
      committed: () => {
        meter.route.push({ ...step, credential: credential.id, outcome: "ok", ms: Date.now() - began });
        health.recordSuccess(deploymentOf(target, credential));
        if (decision) noteAttempt(target.model, { ok: true, ms: Date.now() - began });
        serving = credential;
      },
    });
    if ("response" in outcome) return cache.deliver(outcome.response, recorded.promise);
    if (outcome.kind !== "final") {
      const status = outcome.kind === "status" ? String(outcome.error.status) : outcome.kind;
      meter.route.push({ ...step, credential: credential.id, outcome: status, ms: Date.now() - began });
      if (decision) noteAttempt(target.model, { ok: false });
    }
    // The provider had the prompt and may have worked on it: its input is billed, not forgotten. A request
    // that timed out before it left (its credential's token exchange was slow, the deadline all but spent) is not.
    if (outcome.kind === "timeout" && outcome.dispatched) meter.billTimedOut(estimate.inputTokens);
    next = await attempts.next(outcome);
  }
  return await fail(
    next.value ??
      new GatewayError(503, "unavailable", `No provider could take the request for \`${input.model}\`.`, {
        code: "no_target_available",
      }),
  );
}
