// The response cache as a stage of a gateway call: whether this request is
// cached, a kept answer served (held to the caller as it is now, like a miss),
// and a fresh answer kept once the caller has all of it.
import { assertDeploymentAllowed, reauthenticate } from "../auth/index.ts";
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
import { admit } from "../limits/index.ts";
import { UsageMeter } from "../usage/meter.ts";
import type { UsageRecord } from "../usage/record.ts";
import { behalfOf } from "./behalf.ts";
import { openCall } from "./call.ts";
import type { Catalog } from "./catalog.ts";
import { assertTargetAllowed } from "./data-controls.ts";
import type { Target } from "./resolve.ts";

/** What the cache keys a request on, where the API's answers may be cached. */
export interface CacheInput {
  body: unknown;
  temperature: number | undefined;
  path: string;
  /** What the gateway changes before the request goes up (an output cap it holds the upstream to): answers differ with it. */
  upstreamChanges?: unknown;
}

export interface CacheStage {
  /** A kept answer, served: the call is over. */
  hit?: Response;
  /** The response as the caller gets it, kept (or marked as not cached) on the way. */
  deliver(response: Response, recorded: Promise<UsageRecord>): Response;
}

interface CachedRequest {
  key: string;
  ttlSeconds: number;
  /** The deployment the key names: a fallback's answer is not the model's, and is not kept. */
  deployment: Target;
}

const NOTHING = { inputTokens: 0, outputTokens: 0 };
/** How long a whole answer may take to reach the caller after its usage is recorded, before it is not kept. */
const CAPTURE_WAIT_MS = 30_000;

export const NO_CACHE: CacheStage = { deliver: (response) => response };

/**
 * Decides, looks up, and serves a hit. A hit is admitted like any request,
 * and when the check finds the caller changed by an admin, the fresh copy is
 * held to the allowlist; a changed scope means the hit was looked up under
 * the wrong key, so the decision is taken again, once, for the caller as it
 * is now.
 */
export async function cacheStage(
  c: GatewayContext,
  input: { cache: CacheInput; model: string; streamed: boolean; first: Target; natural: string | undefined; catalog: Catalog },
): Promise<CacheStage> {
  for (let round = 0; ; round++) {
    const principal = c.get("principal");
    const caching = decide({
      header: c.req.header(CACHE_HEADER),
      principal,
      behalf: behalfOf(c.req.raw),
      modelTtlSeconds: input.catalog.models.get(input.model)?.cacheTtlSeconds ?? null,
      temperature: input.cache.temperature,
      config: c.get("config"),
    });
    const cached = caching.kind === "on" ? await cachedRequest(c, input, caching.ttlSeconds) : undefined;
    const stage = { deliver: delivery(c, caching, cached) };
    if (!cached) return stage;
    const config = c.get("config");
    const hit = await lookup(cached.key, { maxAgeSeconds: cached.ttlSeconds, redis: c.get("services").redis, config });
    if (!hit) return stage;
    const scope = cacheScope(principal);
    const served = await serveHit(c, { ...input, hit, scope });
    // Served, or the caller's scope changed on the second look too: the answer, or a miss.
    if (served) return { ...stage, hit: served };
    if (round > 0) return NO_CACHE;
  }
}

async function cachedRequest(
  c: GatewayContext,
  input: { cache: CacheInput; first: Target },
  ttlSeconds: number,
): Promise<CachedRequest> {
  const key = await cacheKey({
    scope: cacheScope(c.get("principal")),
    format: c.get("format"),
    path: input.cache.path,
    provider: input.first.provider,
    upstreamModel: input.first.upstreamModel,
    headers: c.req.raw.headers,
    body: input.cache.body,
    upstreamChanges: input.cache.upstreamChanges,
  });
  return { key, ttlSeconds, deployment: input.first };
}

function delivery(c: GatewayContext, caching: CacheDecision, cached: CachedRequest | undefined): CacheStage["deliver"] {
  if (cached) return (response, recorded) => keepAnswer(c, cached, response, recorded);
  if (caching.kind === "bypass") return (response) => marked(response, "bypass");
  return (response) => response;
}

/**
 * A kept answer served: no upstream call; the request counts against
 * per-minute limits, its tokens only if hits are billed. Undefined when the
 * check found the caller's cache scope changed since this isolate read it.
 */
async function serveHit(
  c: GatewayContext,
  input: { model: string; streamed: boolean; first: Target; natural: string | undefined; hit: CachedAnswer; scope: string },
): Promise<Response | undefined> {
  const { first, hit } = input;
  const config = c.get("config");
  const principal = c.get("principal");
  const billed = config.responseCache.billHits;
  const estimate = billed ? { inputTokens: hit.usage.promptTokens, outputTokens: hit.usage.completionTokens } : NOTHING;
  let scopeChanged = false;
  const admission = admit({
    config,
    services: c.get("services"),
    principal,
    estimate,
    price: billed ? first.price : undefined,
    defer: (work) => c.executionCtx.waitUntil(work),
    // The caller as an admin left them: the same allowlist a miss is held to, and the scope the key was made under.
    refresh: async () => {
      const fresh = await reauthenticate(c);
      assertDeploymentAllowed(fresh, first, input.natural);
      assertTargetAllowed(fresh, first);
      scopeChanged = cacheScope(fresh) !== input.scope;
    },
    // Unbilled, a hit meets the caller's requests per minute and nothing else, not even a quota already spent.
    ...(!billed && { only: "requests" as const }),
  });
  const limitHeaders = await admission.ready;
  if (scopeChanged) {
    // Nothing was served: what the check reserved is given back (the request itself stays counted).
    c.executionCtx.waitUntil(admission.settle({ tokens: 0, usd: 0 }));
    return undefined;
  }
  const meter = new UsageMeter({
    requestId: c.get("requestId"),
    principal: c.get("principal"),
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

/** Keeps the answer once the caller has all of it, when the call succeeded and no content filter stopped it. */
function keepAnswer(c: GatewayContext, cached: CachedRequest, response: Response, recorded: Promise<UsageRecord>): Response {
  // The cache keeps text; a binary stream (Bedrock's event stream) is passed on, not kept.
  if (response.headers.get("content-type") === "application/vnd.amazon.eventstream") return marked(response, "bypass");
  const config = c.get("config");
  const captured = capture(response, config.responseCache.maxBytes);
  const kept = recorded.then(async (usage) => {
    if (usage.status !== 200) return;
    if (usage.provider !== cached.deployment.provider || usage.upstreamModel !== cached.deployment.upstreamModel) return;
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
      cached.key,
      {
        v: 1,
        body,
        contentType: response.headers.get("content-type") ?? "application/json",
        headers,
        storedAt,
        expiresAt: storedAt + cached.ttlSeconds * 1000,
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
