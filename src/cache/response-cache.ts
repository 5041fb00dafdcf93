// The response cache: a caller's identical request answered from the edge,
// without an upstream call. Opt-in per request (`x-sluice-cache: ttl=N`,
// `no-store`), per key (`cache_ttl`) or per catalog model; answers are kept
// exactly as the caller received them (a JSON body, or a whole stream's
// bytes) in the Workers Cache API of the location, and in Redis too when
// RESPONSE_CACHE_REDIS is on, so every location shares them.
import type { Redis } from "@upstash/redis/cloudflare";
import { type Principal, principalPolicy } from "../auth/principal.ts";
import type { Config } from "../config/index.ts";
import { GatewayError } from "../http/errors.ts";
import { reason } from "../log.ts";
import type { TokenCounts } from "../usage/prices.ts";

export const CACHE_HEADER = "x-sluice-cache";

export type CacheDecision =
  /** Nothing asked for caching. */
  | { kind: "off" }
  /** Caching was asked for by a setting, but this request is not cached (`no-store`, or a temperature above 0). */
  | { kind: "bypass" }
  | { kind: "on"; ttlSeconds: number };

/** An answer as it is kept: what the caller received, and what the original call used. */
export interface CachedAnswer {
  v: 1;
  body: string;
  contentType: string;
  /** The provider and model that answered, as the original response named them. */
  headers: Record<string, string>;
  storedAt: number;
  expiresAt: number;
  usage: TokenCounts;
}

/** `ttl=<seconds>` or `no-store`; anything else is the caller's mistake. */
function parseHeader(value: string): { ttlSeconds: number } | "no-store" {
  const text = value.trim().toLowerCase();
  if (text === "no-store") return "no-store";
  const match = /^ttl=(\d{1,9})$/.exec(text);
  if (!match) {
    throw new GatewayError(400, "invalid_request", `\`${CACHE_HEADER}\` must be \`ttl=<seconds>\` or \`no-store\`.`, {
      code: "invalid_cache_header",
    });
  }
  return { ttlSeconds: Number(match[1]) };
}

/**
 * Whether this request is cached, and for how long. The request's header
 * decides first (an explicit `ttl` caches whatever the temperature); then the
 * key's setting, then the model's, which cache only deterministic requests:
 * temperature 0. A request that sets no temperature samples at its
 * provider's default (1 for OpenAI, Anthropic and Gemini), so a setting does
 * not cache it.
 */
export function decide(input: {
  header: string | undefined;
  principal: Principal;
  /** The caller a judge's call is made for, as the gateway: its prompt is that caller's. */
  behalf?: Principal;
  modelTtlSeconds: number | null;
  temperature: number | undefined;
  config: Config;
}): CacheDecision {
  const maxTtl = input.config.responseCache.maxTtlSeconds;
  const asked = input.header === undefined ? undefined : parseHeader(input.header);
  // RESPONSE_CACHE_MAX_TTL=0 switches the cache off.
  if (maxTtl <= 0) return { kind: "off" };
  if (asked === "no-store" || asked?.ttlSeconds === 0) return { kind: "bypass" };
  const keyTtl = keyTtlOf(input.principal);
  // A caller whose answers may be kept nowhere is never cached, whatever asked for it; nor is a judge's call for one.
  if (principalPolicy(input.principal)?.zero_retention || (input.behalf && principalPolicy(input.behalf)?.zero_retention)) {
    return asked || keyTtl || input.modelTtlSeconds ? { kind: "bypass" } : { kind: "off" };
  }
  if (asked) return { kind: "on", ttlSeconds: Math.min(asked.ttlSeconds, maxTtl) };
  const setting = keyTtl || input.modelTtlSeconds;
  if (!setting) return { kind: "off" };
  if (input.temperature !== 0) return { kind: "bypass" };
  return { kind: "on", ttlSeconds: Math.min(setting, maxTtl) };
}

const keyTtlOf = (principal: Principal) => (principal.type === "key" ? principal.cache.ttlSeconds : null);

/** Whose answers a caller may be served: its own, or its team's when the key (or, for a key that says nothing, its team) says so. */
export function cacheScope(principal: Principal): string {
  if (principal.type === "admin" || principal.type === "operator") return "admin";
  // Guests share nothing: each device its own answers.
  if (principal.type === "guest") return `guest:${principal.id}`;
  const shared = principal.type === "user" ? principal.cacheScope === "team" : principal.cache.scope === "team";
  if (shared && principal.teamId) return `team:${principal.teamId}`;
  return principal.type === "user" ? `user:${principal.id}` : `key:${principal.keyId}`;
}

/** JSON with every object's keys sorted: the same request however its fields were ordered or spaced. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

/** Client headers that go upstream with the request and change what it answers. */
export const ANSWER_HEADERS = ["anthropic-version", "anthropic-beta"] as const;

/**
 * The cache key: the caller's scope, the API and path, the deployment that
 * serves, the headers that change the answer, the request itself, and what
 * the gateway changes in it on the way up (an output cap it adds).
 */
export async function cacheKey(parts: {
  scope: string;
  format: string;
  path: string;
  provider: string;
  upstreamModel: string;
  headers: Headers;
  body: unknown;
  upstreamChanges?: unknown;
}): Promise<string> {
  const headers = ANSWER_HEADERS.map((name) => parts.headers.get(name));
  const text = canonicalJson([
    3,
    parts.scope,
    parts.format,
    parts.path,
    parts.provider,
    parts.upstreamModel,
    headers,
    parts.body,
    parts.upstreamChanges ?? null,
  ]);
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

const edgeUrl = (key: string) => `https://response-cache.sluice.invalid/v1/${key}`;
const redisKey = (key: string) => `sluice:rc:${key}`;
/** The Workers Cache API where the runtime has one (every Worker; not plain Node). */
const edge = (): Cache | undefined =>
  typeof caches === "undefined" ? undefined : (caches as unknown as { default: Cache }).default;

function readEntry(value: unknown, now: number): CachedAnswer | undefined {
  const entry = (typeof value === "string" ? JSON.parse(value) : value) as CachedAnswer | null;
  return entry?.v === 1 && entry.expiresAt > now ? entry : undefined;
}

/**
 * The answer kept under `key`, from this location first and then Redis
 * (copied to this location on the way); none older than this request's own
 * TTL allows, whatever TTL it was stored with.
 */
export async function lookup(
  key: string,
  input: { maxAgeSeconds: number; redis: Redis; config: Config },
): Promise<CachedAnswer | undefined> {
  const { redis, config } = input;
  const now = Date.now();
  const young = (entry: CachedAnswer | undefined) =>
    entry && now - entry.storedAt <= input.maxAgeSeconds * 1000 ? entry : undefined;
  try {
    const local = await edge()?.match(edgeUrl(key));
    const found = young(local ? readEntry(await local.text(), now) : undefined);
    if (found || !config.responseCache.redis) return found;
    const shared = young(readEntry(await redis.get(redisKey(key)), now));
    if (shared) await putEdge(key, shared);
    return shared;
  } catch (error) {
    // A cache that cannot be read is a miss, never a failed request.
    console.warn(`sluice: response cache read failed: ${reason(error)}`);
    return undefined;
  }
}

async function putEdge(key: string, entry: CachedAnswer): Promise<void> {
  const seconds = Math.max(1, Math.ceil((entry.expiresAt - Date.now()) / 1000));
  await edge()?.put(
    edgeUrl(key),
    new Response(JSON.stringify(entry), {
      headers: { "content-type": "application/json", "cache-control": `max-age=${seconds}` },
    }),
  );
}

export async function store(key: string, entry: CachedAnswer, redis: Redis, config: Config): Promise<void> {
  try {
    await Promise.all([
      putEdge(key, entry),
      config.responseCache.redis
        ? redis.set(redisKey(key), JSON.stringify(entry), { ex: Math.ceil((entry.expiresAt - entry.storedAt) / 1000) })
        : undefined,
    ]);
  } catch (error) {
    console.warn(`sluice: response cache write failed: ${reason(error)}`);
  }
}

/** A kept answer as a response: the same bytes (a stream replays as one), marked as a hit with its age. */
export function replay(entry: CachedAnswer, headers: Record<string, string>): Response {
  return new Response(entry.body, {
    status: 200,
    headers: {
      "content-type": entry.contentType,
      ...(entry.contentType.startsWith("text/event-stream") && { "cache-control": "no-cache" }),
      ...entry.headers,
      ...headers,
      [CACHE_HEADER]: "hit",
      age: String(Math.max(0, Math.floor((Date.now() - entry.storedAt) / 1000))),
    },
  });
}

/**
 * An answer a content filter stopped, or the model refused, in any of the
 * formats: never kept. OpenAI's `content_filter` and `refusal`, Anthropic's
 * `refusal`, Gemini's blocked prompt and safety finishes, the Responses API's
 * `content_filter` and refusal parts.
 */
const FILTERED =
  /"finish_reason"\s*:\s*"content_filter"|"refusal"\s*:\s*"|"stop_reason"\s*:\s*"refusal"|"finishReason"\s*:\s*"(SAFETY|PROHIBITED_CONTENT|BLOCKLIST|SPII|RECITATION|IMAGE_SAFETY)"|"blockReason"\s*:|"reason"\s*:\s*"content_filter"|"type"\s*:\s*"refusal"/;

export const filtered = (body: string) => FILTERED.test(body);

/**
 * The response as the caller gets it, its bytes also gathered (up to
 * `maxBytes`); `body` resolves with them once the caller has received all of
 * it, or with undefined when it was too large.
 */
export function capture(response: Response, maxBytes: number): { response: Response; body: Promise<string | undefined> } {
  const chunks: Uint8Array[] = [];
  let size = 0;
  let done: (text: string | undefined) => void = () => undefined;
  const body = new Promise<string | undefined>((resolve) => {
    done = resolve;
  });
  const gather = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      size += chunk.byteLength;
      if (size <= maxBytes) chunks.push(chunk);
      controller.enqueue(chunk);
    },
    flush() {
      if (size > maxBytes) return done(undefined);
      const all = new Uint8Array(size);
      let at = 0;
      for (const chunk of chunks) {
        all.set(chunk, at);
        at += chunk.byteLength;
      }
      done(new TextDecoder().decode(all));
    },
  });
  const headers = new Headers(response.headers);
  headers.set(CACHE_HEADER, "miss");
  const piped = response.body ? response.body.pipeThrough(gather) : null;
  if (!response.body) done("");
  return { response: new Response(piped, { status: response.status, headers }), body };
}
