// What an isolate knows of upstream health: which deployments (provider,
// model and credential) are in cooldown, and how much of each credential's
// own limits is used. Failures and usage go to Redis after the response;
// every isolate re-reads both in the background every CATALOG_REFRESH, so all
// of them learn of a failing target without a round trip on the hot path.
import type { Redis } from "@upstash/redis/cloudflare";
import type { Credential } from "../credentials/pool.ts";
import { IsolateCache } from "../isolate-cache.ts";
import { reason } from "../log.ts";

const COOLDOWNS_KEY = "sluice:route:cooldowns";
const failureKey = (deployment: string) => `sluice:route:fail:${deployment}`;

/**
 * KEYS: the deployment's failure counter, the cooldowns hash. ARGV: window
 * ms, failures that start a cooldown, deployment, cooldown ms, now ms, and a
 * cooldown end the upstream asked for (0 for none). Returns the cooldown's
 * end, or 0. Entering a cooldown also drops the ones that are over.
 */
const FAILURE_SCRIPT = `
local untilMs = tonumber(ARGV[6])
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
if untilMs == 0 and count >= tonumber(ARGV[2]) then untilMs = tonumber(ARGV[5]) + tonumber(ARGV[4]) end
if untilMs == 0 then return 0 end
redis.call('DEL', KEYS[1])
local entries = redis.call('HGETALL', KEYS[2])
for i = 1, #entries, 2 do
  if tonumber(entries[i + 1]) <= tonumber(ARGV[5]) then redis.call('HDEL', KEYS[2], entries[i]) end
end
local current = tonumber(redis.call('HGET', KEYS[2], ARGV[3]) or '0')
if untilMs > current then redis.call('HSET', KEYS[2], ARGV[3], untilMs) end
return untilMs
`;

interface Usage {
  minute: number;
  requests: number;
  tokens: number;
  day: string;
  dayTokens: number;
}

const minuteOf = (now: number) => Math.floor(now / 60_000);
const dayOf = (now: number) => new Date(now).toISOString().slice(0, 10);

function usageKeys(credentialId: string, now: number) {
  const base = `sluice:cred:${credentialId}`;
  return {
    requests: `${base}:r:${minuteOf(now)}`,
    tokens: `${base}:t:${minuteOf(now)}`,
    dayTokens: `${base}:d:${dayOf(now)}`,
  };
}

export interface HealthSettings {
  failures: number;
  cooldownMs: number;
  refreshMs: number;
}

export class RoutingHealth {
  /** Deployment → when its cooldown ends. */
  private readonly cooling = new IsolateCache<number>(1000, Number.POSITIVE_INFINITY);
  /** Failures this isolate saw, per deployment, within the cooldown window. */
  private readonly failures = new IsolateCache<number>(1000, 60_000);
  /** Credentials with limits of their own, and what they used this minute and day. */
  private readonly usage = new IsolateCache<Usage>(1000, 10 * 60_000);
  private syncedAt = 0;
  private syncing = false;

  constructor(
    private readonly redis: Redis,
    private readonly settings: HealthSettings,
  ) {}

  isCooling(deployment: string, now = Date.now()): boolean {
    // An entry lives until its cooldown ends; the cache forgets it then.
    return this.cooling.get(deployment, now) !== undefined;
  }

  /** Whether the credential can take a request of this many tokens within its own limits. */
  hasHeadroom(credential: Credential, tokens: number, now = Date.now()): boolean {
    const { requestsPerMinute, tokensPerMinute, tokensPerDay } = credential.limits;
    if (requestsPerMinute === null && tokensPerMinute === null && tokensPerDay === null) return true;
    const used = this.usageOf(credential.id, now);
    if (requestsPerMinute !== null && used.requests >= requestsPerMinute) return false;
    if (tokensPerMinute !== null && used.tokens > 0 && used.tokens + tokens > tokensPerMinute) return false;
    if (tokensPerDay !== null && used.dayTokens >= tokensPerDay) return false;
    return true;
  }

  private usageOf(credentialId: string, now: number): Usage {
    const minute = minuteOf(now);
    const day = dayOf(now);
    let used = this.usage.get(credentialId, now);
    if (!used) used = { minute, requests: 0, tokens: 0, day, dayTokens: 0 };
    if (used.minute !== minute) used = { ...used, minute, requests: 0, tokens: 0 };
    if (used.day !== day) used = { ...used, day, dayTokens: 0 };
    this.usage.set(credentialId, used, undefined, now);
    return used;
  }

  /** Counts a request against a limited credential: here at once, in Redis after the response. */
  recordUse(credential: Credential, tokens: number, defer: (work: Promise<unknown>) => void, now = Date.now()): void {
    const { requestsPerMinute, tokensPerMinute, tokensPerDay } = credential.limits;
    if (requestsPerMinute === null && tokensPerMinute === null && tokensPerDay === null) return;
    const used = this.usageOf(credential.id, now);
    used.requests += 1;
    used.tokens += tokens;
    used.dayTokens += tokens;
    const keys = usageKeys(credential.id, now);
    const pipeline = this.redis.pipeline();
    pipeline.incr(keys.requests);
    pipeline.expire(keys.requests, 120);
    pipeline.incrby(keys.tokens, tokens);
    pipeline.expire(keys.tokens, 120);
    pipeline.incrby(keys.dayTokens, tokens);
    pipeline.expire(keys.dayTokens, 2 * 86_400);
    defer(pipeline.exec().catch((error: unknown) => console.warn(`sluice: credential usage not recorded: ${reason(error)}`)));
  }

  /** Adds tokens learned after the call (the reservation was an estimate). */
  adjustUse(credential: Credential, tokens: number, defer: (work: Promise<unknown>) => void, now = Date.now()): void {
    if (tokens === 0 || (credential.limits.tokensPerMinute === null && credential.limits.tokensPerDay === null)) return;
    const used = this.usageOf(credential.id, now);
    used.tokens += tokens;
    used.dayTokens += tokens;
    const keys = usageKeys(credential.id, now);
    const pipeline = this.redis.pipeline();
    pipeline.incrby(keys.tokens, tokens);
    pipeline.incrby(keys.dayTokens, tokens);
    defer(pipeline.exec().catch(() => undefined));
  }

  /**
   * A failed attempt. Enough of them within the cooldown window, or an
   * upstream that asked to be left alone for a while, puts the deployment in
   * cooldown here at once and, through Redis, everywhere else.
   */
  recordFailure(deployment: string, options: { retryAfterMs?: number; defer: (work: Promise<unknown>) => void }): void {
    const now = Date.now();
    const count = (this.failures.get(deployment, now) ?? 0) + 1;
    this.failures.set(deployment, count, this.settings.cooldownMs, now);
    const askedUntil = options.retryAfterMs ? now + options.retryAfterMs : 0;
    if (askedUntil || count >= this.settings.failures) {
      const until = Math.max(askedUntil, now + this.settings.cooldownMs);
      this.cooling.set(deployment, until, until - now, now);
      this.failures.delete(deployment);
    }
    options.defer(
      this.redis
        .eval(
          FAILURE_SCRIPT,
          [failureKey(deployment), COOLDOWNS_KEY],
          [this.settings.cooldownMs, this.settings.failures, deployment, this.settings.cooldownMs, now, askedUntil],
        )
        .catch((error: unknown) => console.warn(`sluice: routing failure not shared: ${reason(error)}`)),
    );
  }

  recordSuccess(deployment: string): void {
    this.failures.delete(deployment);
  }

  /** Re-reads cooldowns and credential usage from Redis in the background, when due. */
  syncIfDue(defer: (work: Promise<unknown>) => void, now = Date.now()): void {
    if (this.syncing || now - this.syncedAt < this.settings.refreshMs) return;
    this.syncing = true;
    this.syncedAt = now;
    defer(
      this.sync(now)
        .catch((error: unknown) => console.warn(`sluice: routing health not read: ${reason(error)}`))
        .finally(() => {
          this.syncing = false;
        }),
    );
  }

  private async sync(now: number): Promise<void> {
    const limited = [...this.usage.keys()];
    const pipeline = this.redis.pipeline();
    pipeline.hgetall(COOLDOWNS_KEY);
    const keys = limited.flatMap((id) => Object.values(usageKeys(id, now)));
    if (keys.length > 0) pipeline.mget(...keys);
    const [cooldowns, counts] = (await pipeline.exec()) as [Record<string, unknown> | null, unknown[] | undefined];
    for (const [deployment, until] of Object.entries(cooldowns ?? {})) {
      const end = Number(until);
      if (end > now && end > (this.cooling.get(deployment, now) ?? 0)) this.cooling.set(deployment, end, end - now, now);
    }
    limited.forEach((id, i) => {
      const [requests, tokens, dayTokens] = [0, 1, 2].map((j) => Number(counts?.[i * 3 + j] ?? 0) || 0);
      const used = this.usageOf(id, now);
      // Redis has every isolate's count; this one's own since the last read are in it too, or about to be.
      used.requests = Math.max(used.requests, requests ?? 0);
      used.tokens = Math.max(used.tokens, tokens ?? 0);
      used.dayTokens = Math.max(used.dayTokens, dayTokens ?? 0);
    });
  }
}

const healthByRedis = new WeakMap<Redis, RoutingHealth>();

export function routingHealth(redis: Redis, settings: HealthSettings): RoutingHealth {
  let health = healthByRedis.get(redis);
  if (!health) {
    health = new RoutingHealth(redis, settings);
    healthByRedis.set(redis, health);
  }
  return health;
}
