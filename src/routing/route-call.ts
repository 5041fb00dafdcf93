// One gateway call: the route planned (the model, then its fallbacks, each a
// model the caller may use), the limits check started, the metered call
// opened, and a plain loop over the attempts the list hands out.
import { accountCredential, googleAccountOf } from "../accounts/google.ts";
import { assertDeploymentAllowed, isDeploymentAllowed, reauthenticate } from "../auth/index.ts";
import { principalUserId } from "../auth/principal.ts";
import {
  CACHE_HEADER,
  type CacheDecision,
  type CachedAnswer,
  cacheKey,
  cacheScope,
  capture,
  decide,
  filtered,
  lookup,
  replay,
  store,
} from "../cache/response-cache.ts";
import type { GatewayContext } from "../context.ts";
import { type Credential, credentialsFor, ownedCredentials } from "../credentials/pool.ts";
import { GatewayError } from "../http/errors.ts";
import { spendsDollars, unpricedRefusal } from "../limits/binding.ts";
import { admit, type Estimate } from "../limits/index.ts";
import type { ProviderSettings } from "../providers/types.ts";
import { UsageMeter } from "../usage/meter.ts";
import { costOf, type Price } from "../usage/prices.ts";
import type { UsageRecord } from "../usage/record.ts";
import { attemptHeaders, attemptList, deploymentOf, runAttempt } from "./attempts.ts";
import { deferred, openCall } from "./call.ts";
import { catalogFor } from "./catalog.ts";
import type { Exchange } from "./exchanges.ts";
import { routingHealth } from "./health.ts";
import { naturalProvider, planRoute, type Target } from "./resolve.ts";

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
  cache?: { body: unknown; temperature: number | undefined; path: string };
}

/** A kept answer served: no upstream call; the request counts against per-minute limits, its tokens only if hits are billed. */
async function serveHit(c: GatewayContext, input: RouteInput, first: Target, hit: CachedAnswer): Promise<Response> {
  const config = c.get("config");
  const principal = c.get("principal");
  const billed = config.responseCache.billHits;
  const estimate = billed ? { inputTokens: hit.usage.promptTokens, outputTokens: hit.usage.completionTokens } : NOTHING;
  const admission = admit({
    config,
    services: c.get("services"),
    principal,
    estimate,
    price: billed ? first.price : undefined,
    defer: (work) => c.executionCtx.waitUntil(work),
    refresh: () => reauthenticate(c),
    // Unbilled, a hit meets the caller's requests per minute and nothing else, not even a quota already spent.
    ...(!billed && { only: "requests" as const }),
  });
  const limitHeaders = await admission.ready;
  const meter = new UsageMeter({
    requestId: c.get("requestId"),
    principal,
    provider: hit.headers["x-sluice-provider"] ?? first.provider,
    model: input.model,
    upstreamModel: hit.headers["x-sluice-model"] ?? first.upstreamModel,
    clientFormat: c.get("format"),
    streamed: input.streamed,
    startedAt: c.get("startedAt"),
    price: billed ? first.price : undefined,
    estimatedPromptTokens: 0,
  });
  meter.flags.cache_hit = true;
  meter.attempts = 0;
  meter.markFirstByte();
  meter.setTokens(billed ? hit.usage : { promptTokens: 0, completionTokens: 0, cachedTokens: 0 });
  openCall(c, { target: first, admission, meter }).record(200);
  return replay(hit, limitHeaders);
}

const NOTHING = { inputTokens: 0, outputTokens: 0 };
/** The built-in provider a user's Google account stands in for. */
const GOOGLE_GEMINI = "gemini";
/** How long a whole answer may take to reach the caller after its usage is recorded, before it is not kept. */
const CAPTURE_WAIT_MS = 30_000;

/** Keeps the answer once the caller has all of it, when the call succeeded and no content filter stopped it. */
function keepAnswer(
  c: GatewayContext,
  key: { key: string; ttlSeconds: number; deployment: Target },
  response: Response,
  recorded: Promise<UsageRecord>,
): Response {
  const config = c.get("config");
  const captured = capture(response, config.responseCache.maxBytes);
  const kept = recorded.then(async (usage) => {
    if (usage.status !== 200) return;
    // Kept under the deployment the key names: a fallback's answer is not the model's.
    if (usage.provider !== key.deployment.provider || usage.upstreamModel !== key.deployment.upstreamModel) return;
    const timeout = new Promise<undefined>((resolve) => setTimeout(resolve, CAPTURE_WAIT_MS, undefined));
    const body = await Promise.race([captured.body, timeout]);
    if (body === undefined || filtered(body)) return;
    const storedAt = Date.now();
    const headers: Record<string, string> = {};
    for (const name of ["x-sluice-provider", "x-sluice-model", "x-sluice-dropped"]) {
      const value = response.headers.get(name);
      if (value) headers[name] = value;
    }
    await store(
      key.key,
      {
        v: 1,
        body,
        contentType: response.headers.get("content-type") ?? "application/json",
        headers,
        storedAt,
        expiresAt: storedAt + key.ttlSeconds * 1000,
        usage: { promptTokens: usage.promptTokens, completionTokens: usage.completionTokens, cachedTokens: usage.cachedTokens },
      },
      c.get("services").redis,
      config,
    );
  });
  c.executionCtx.waitUntil(kept);
  return captured.response;
}

function marked(response: Response, value: string): Response {
  const headers = new Headers(response.headers);
  headers.set(CACHE_HEADER, value);
  return new Response(response.body, { status: response.status, headers });
}

/** The price that reserves the most, so a fallback to a dearer model stays within the reservation. */
function dearest(plan: Target[], estimate: Estimate): Price | undefined {
  const cost = (price: Price | undefined) =>
    costOf(price, { promptTokens: estimate.inputTokens, completionTokens: estimate.outputTokens, cachedTokens: 0 });
  return plan.reduce<Price | undefined>((worst, t) => (cost(t.price) > cost(worst) ? t.price : worst), plan[0]?.price);
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
  const routing = config.routing;
  const defer = (work: Promise<unknown>) => c.executionCtx.waitUntil(work);
  const catalog = await catalogFor(c);
  // The model's own target (planRoute throws when nothing serves it), then its fallbacks.
  const [first, ...fallbacks] = planRoute({
    config,
    catalog,
    model: input.model,
    providerOverride: input.providerOverride,
    providerParam: input.providerParam,
  }) as [Target, ...Target[]];
  // An allowlist binds the deployment: a provider the caller picked must be one the key may use for the model.
  const natural = naturalProvider(config, catalog, input.model, input.providerOverride, first);
  assertDeploymentAllowed(principal, first, natural);
  /** An admin changed the caller since this isolate loaded it: read again, and held to the allowlist it has now. */
  const refresh = async () => assertDeploymentAllowed(await reauthenticate(c), first, natural);
  // A limit counted in dollars binds only what has a price: an unpriced model is refused, an unpriced fallback passed over.
  const dollars = spendsDollars(principal);
  if (dollars && !first.price) throw unpricedRefusal(first);
  const plan = [
    first,
    ...fallbacks.filter((target) => isDeploymentAllowed(principal, target, target.provider) && (!dollars || target.price)),
  ];
  const caching: CacheDecision = input.cache
    ? decide({
        header: c.req.header(CACHE_HEADER),
        principal,
        modelTtlSeconds: catalog.models.get(input.model)?.cacheTtlSeconds ?? null,
        temperature: input.cache.temperature,
        config,
      })
    : { kind: "off" };
  /** Where this request's answer is kept, and for how long, when it is cached. */
  const cached =
    caching.kind === "on" && input.cache
      ? {
          key: await cacheKey({
            scope: cacheScope(principal),
            format: c.get("format"),
            path: input.cache.path,
            provider: first.provider,
            upstreamModel: first.upstreamModel,
            headers: c.req.raw.headers,
            body: input.cache.body,
          }),
          ttlSeconds: caching.ttlSeconds,
          deployment: first,
        }
      : undefined;
  if (cached) {
    const hit = await lookup(cached.key, { maxAgeSeconds: cached.ttlSeconds, redis: services.redis, config });
    if (hit) return await serveHit(c, input, first, hit);
  }
  const health = routingHealth(services.redis, {
    failures: routing.cooldown.failures,
    cooldownMs: routing.cooldown.ms,
    refreshMs: routing.catalogRefreshMs,
  });
  health.syncIfDue(defer);

  const estimate = input.estimate(first);
  const admission = admit({ config, services, principal, estimate, price: dearest(plan, estimate), defer, refresh });
  const owned = await ownedCredentials(c);
  // Room unknown or thin: the check comes first, and a refusal leaves no trace upstream.
  if (admission.mode === "sequential") await admission.ready;

  const meter = new UsageMeter({
    requestId: c.get("requestId"),
    principal,
    provider: first.provider,
    model: input.model,
    upstreamModel: first.upstreamModel,
    clientFormat: c.get("format"),
    streamed: input.streamed,
    startedAt: c.get("startedAt"),
    price: first.price,
    estimatedPromptTokens: estimate.inputTokens,
  });
  // How the limits check admitted the call (lease, overlapped, sequential), for whoever studies its latency.
  if (admission.mode !== "unlimited") meter.flags.admission = admission.mode;
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

  // A user's own Google account serves their calls to Google's Gemini API (never a catalog provider of
  // the same kind elsewhere, which must not see their token); the gateway's key only if they allow it.
  const userId = principalUserId(principal);
  const viaGoogle = (target: Target) => target.provider === GOOGLE_GEMINI;
  const account = userId && plan.some(viaGoogle) ? await googleAccountOf(services, config, userId, defer) : null;
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
      committed: () => {
        meter.route.push({ ...step, credential: credential.id, outcome: "ok", ms: Date.now() - began });
        health.recordSuccess(deploymentOf(target, credential));
        serving = credential;
      },
    });
    if ("response" in outcome) {
      if (cached) return keepAnswer(c, cached, outcome.response, recorded.promise);
      return caching.kind === "bypass" ? marked(outcome.response, "bypass") : outcome.response;
    }
    if (outcome.kind !== "final") {
      const status = outcome.kind === "status" ? String(outcome.error.status) : outcome.kind;
      meter.route.push({ ...step, credential: credential.id, outcome: status, ms: Date.now() - began });
    }
    // The provider had the prompt and may have worked on it: its input is billed, not forgotten.
    if (outcome.kind === "timeout") meter.billTimedOut(estimate.inputTokens);
    next = await attempts.next(outcome);
  }
  return await fail(
    next.value ??
      new GatewayError(503, "unavailable", `No provider could take the request for \`${input.model}\`.`, {
        code: "no_target_available",
      }),
  );
}
