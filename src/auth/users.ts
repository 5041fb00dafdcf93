// End users appear on first sight: a JWT subject never seen before becomes a
// user with the default quota. Warm users cost no Postgres round trip.
import { eq, sql } from "drizzle-orm";
import type { Database } from "../db/client.ts";
import { teams, users } from "../db/schema.ts";
import { IsolateCache } from "../isolate-cache.ts";
import { resolvePolicy, type Settings } from "../policy/index.ts";
import { policiesQuery, resolvePolicies } from "./policies.ts";
import type { UserIdentity } from "./principal.ts";

export interface Claims {
  userId: string;
  email: string | null;
  name: string | null;
  teamId: string | null;
  tier: string | null;
}

export interface CachedUser extends UserIdentity {
  blocked: boolean;
  teamBlocked: boolean;
}

const USER_CACHE_TTL_MS = 60_000;
const TOUCH_EVERY_MS = 5 * 60_000;
const usersCache = new IsolateCache<CachedUser>(10_000, USER_CACHE_TTL_MS);
const lastTouched = new IsolateCache<number>(10_000, TOUCH_EVERY_MS);

const cacheKey = (claims: Claims) => JSON.stringify([claims.userId, claims.teamId, claims.email, claims.name, claims.tier]);

async function teamState(db: Database, teamId: string) {
  const [rows, blocked] = await db.batch([
    policiesQuery(db, { teamId }),
    db.select({ blockedAt: teams.blockedAt, cacheScope: teams.cacheScope }).from(teams).where(eq(teams.id, teamId)),
  ]);
  const resolved = resolvePolicies(rows, { teamId });
  return {
    policy: resolved.team,
    settings: resolved.settings.team,
    blocked: Boolean(blocked[0]?.blockedAt),
    sharesCache: blocked[0]?.cacheScope === "team",
  };
}

/** Creates or refreshes the user (and their team) in one round trip, returning who they are now. */
async function upsertUser(db: Database, claims: Claims): Promise<CachedUser> {
  const now = new Date();
  const upsert = db
    .insert(users)
    .values({
      id: claims.userId,
      email: claims.email,
      name: claims.name,
      teamId: claims.teamId,
      tier: claims.tier,
      lastActiveAt: now,
    })
    .onConflictDoUpdate({
      target: users.id,
      set: {
        lastActiveAt: now,
        email: sql`coalesce(excluded.email, ${users.email})`,
        name: sql`coalesce(excluded.name, ${users.name})`,
        teamId: sql`coalesce(excluded.team_id, ${users.teamId})`,
        tier: sql`coalesce(excluded.tier, ${users.tier})`,
      },
    })
    .returning();
  const policies = policiesQuery(db, { userId: claims.userId, teamId: claims.teamId });
  const [[user], policyRows] = claims.teamId
    ? ((
        await db.batch([
          db.insert(teams).values({ id: claims.teamId, name: claims.teamId }).onConflictDoNothing(),
          upsert,
          policies,
        ])
      ).slice(1) as [Awaited<typeof upsert>, Awaited<typeof policies>])
    : await db.batch([upsert, policies]);
  if (!user) throw new Error("user upsert returned no row");
  const resolved = resolvePolicies(policyRows, { userId: user.id, teamId: user.teamId });
  // The team may come from the database rather than the token; its state is read then (cold path only).
  const team = user.teamId
    ? await teamState(db, user.teamId)
    : { policy: null, settings: {} satisfies Settings, blocked: false, sharesCache: false };
  return {
    userId: user.id,
    teamId: user.teamId,
    tier: user.tier,
    email: user.email,
    name: user.name,
    limits: resolved.user,
    teamLimits: team.policy,
    blocked: Boolean(user.blockedAt),
    teamBlocked: team.blocked,
    cacheScope: team.sharesCache ? "team" : "user",
    policy: resolvePolicy([resolved.settings.global, team.settings, resolved.settings.user]),
    loadedAt: Date.now(),
  };
}

/** Who the JWT's subject is; `defer` runs the last-active update after the response. */
export async function userFromClaims(db: Database, claims: Claims, defer: (work: Promise<unknown>) => void): Promise<CachedUser> {
  const key = cacheKey(claims);
  const cached = usersCache.get(key);
  if (cached) {
    if (lastTouched.get(claims.userId) === undefined) {
      lastTouched.set(claims.userId, Date.now());
      defer(
        db
          .update(users)
          .set({ lastActiveAt: new Date() })
          .where(eq(users.id, claims.userId))
          .catch(() => undefined),
      );
    }
    return cached;
  }
  const user = await upsertUser(db, claims);
  usersCache.set(key, user);
  lastTouched.set(claims.userId, Date.now());
  return user;
}

/** Drops this isolate's copies after an admin change. */
export function forgetUsers(): void {
  usersCache.clear();
}

/** Drops this isolate's copies of one user (cached under each set of claims it came with). */
export function forgetUser(userId: string): void {
  const prefix = `[${JSON.stringify(userId)},`;
  for (const key of usersCache.keys()) if (key.startsWith(prefix)) usersCache.delete(key);
}
