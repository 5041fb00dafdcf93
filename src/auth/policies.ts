// Reading quota policies: the default row, overridden per user, team or key.
import { eq, or, type SQL, sql } from "drizzle-orm";
import type { Database } from "../db/client.ts";
import { quotaPolicies } from "../db/schema.ts";
import { type Settings, storedSettings } from "../policy/index.ts";
import { type Limits, NO_LIMITS } from "./principal.ts";

type PolicyRow = typeof quotaPolicies.$inferSelect;

export function limitsOf(row: PolicyRow | undefined): Limits {
  if (!row) return NO_LIMITS;
  return {
    requestsPerMinute: row.requestsPerMinute,
    tokensPerMinute: row.tokensPerMinute,
    tokensPerDay: row.tokensPerDay,
    tokensPerMonth: row.tokensPerMonth,
    usdPerDay: row.usdPerDay,
    usdPerMonth: row.usdPerMonth,
  };
}

/** Limits in the API's field names. */
export function limitsView(limits: Limits) {
  return {
    rpm_limit: limits.requestsPerMinute,
    tpm_limit: limits.tokensPerMinute,
    tokens_per_day: limits.tokensPerDay,
    tokens_per_month: limits.tokensPerMonth,
    usd_per_day: limits.usdPerDay,
    usd_per_month: limits.usdPerMonth,
  };
}

/** Each field of `override` that is set wins over `base`. */
export function overlay(base: Limits, override: PolicyRow | undefined): Limits {
  if (!override) return base;
  const merged = { ...base };
  for (const field of Object.keys(NO_LIMITS) as (keyof Limits)[]) {
    if (override[field] !== null) merged[field] = override[field];
  }
  return merged;
}

const scoped = (scope: PolicyRow["scope"], id: string | SQL): SQL =>
  sql`(${quotaPolicies.scope} = ${scope} and ${quotaPolicies.subjectId} = ${id})`;

/** The default row and the rows of whichever subjects are given, in one query (each may be a subquery). */
export function policiesQuery(
  db: Database,
  subjects: { userId?: string | SQL | null; teamId?: string | SQL | null; keyId?: string | SQL | null },
) {
  const conditions: SQL[] = [eq(quotaPolicies.scope, "default")];
  if (subjects.userId) conditions.push(scoped("user", subjects.userId));
  if (subjects.teamId) conditions.push(scoped("team", subjects.teamId));
  if (subjects.keyId) conditions.push(scoped("key", subjects.keyId));
  return db
    .select()
    .from(quotaPolicies)
    .where(or(...conditions));
}

export interface ResolvedPolicies {
  /** Default row overlaid with the user's own. */
  user: Limits;
  team: Limits | null;
  key: PolicyRow | undefined;
  /** Each level's settings for callers, as stored (src/policy resolves them). */
  settings: { global: Settings; team: Settings; user: Settings; key: Settings };
}

export function resolvePolicies(
  rows: PolicyRow[],
  subjects: { userId?: string | null; teamId?: string | null },
): ResolvedPolicies {
  const find = (scope: PolicyRow["scope"], id?: string | null) =>
    rows.find((r) => r.scope === scope && r.subjectId === (id ?? ""));
  const team = subjects.teamId ? find("team", subjects.teamId) : undefined;
  const user = subjects.userId ? find("user", subjects.userId) : undefined;
  const key = rows.find((r) => r.scope === "key");
  return {
    user: overlay(limitsOf(find("default")), user),
    team: team ? limitsOf(team) : null,
    key,
    settings: {
      global: storedSettings(find("default")?.settings),
      team: storedSettings(team?.settings),
      user: storedSettings(user?.settings),
      key: storedSettings(key?.settings),
    },
  };
}
