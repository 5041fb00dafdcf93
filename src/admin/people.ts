// Users, teams and their quota policies, as the admin API sees them.
import { and, eq } from "drizzle-orm";
import { clearDenied, markChanged, markDenied } from "../auth/deny-list.ts";
import { limitsOf, limitsView } from "../auth/policies.ts";
import { forgetUsers } from "../auth/users.ts";
import { quotaPolicies, teams, users } from "../db/schema.ts";
import { GatewayError } from "../http/errors.ts";
import { storedSettings } from "../policy/index.ts";
import type { Services } from "../services.ts";
import type { QuotaInput, TeamInput, UserInput } from "./schemas.ts";
import { writeSettings } from "./settings.ts";

type Scope = (typeof quotaPolicies.$inferSelect)["scope"];

const QUOTA_COLUMNS = {
  rpm_limit: "requestsPerMinute",
  tpm_limit: "tokensPerMinute",
  tokens_per_day: "tokensPerDay",
  tokens_per_month: "tokensPerMonth",
  usd_per_day: "usdPerDay",
  usd_per_month: "usdPerMonth",
} as const;

function quotaChanges(input: QuotaInput) {
  const changes: Partial<Record<(typeof QUOTA_COLUMNS)[keyof typeof QUOTA_COLUMNS], number | null>> = {};
  for (const [field, column] of Object.entries(QUOTA_COLUMNS) as [
    keyof QuotaInput,
    (typeof QUOTA_COLUMNS)[keyof typeof QUOTA_COLUMNS],
  ][]) {
    if (input[field] !== undefined) changes[column] = input[field] ?? null;
  }
  return changes;
}

export async function readPolicy(services: Services, scope: Scope, subjectId: string) {
  const [row] = await services.db
    .select()
    .from(quotaPolicies)
    .where(and(eq(quotaPolicies.scope, scope), eq(quotaPolicies.subjectId, subjectId)));
  return row;
}

export const policyView = (row: typeof quotaPolicies.$inferSelect | undefined) => limitsView(limitsOf(row));

/** A subject's quota and settings, as the admin API shows them beside the subject. */
export async function quotaAndSettings(services: Services, scope: Scope, subjectId: string) {
  const row = await readPolicy(services, scope, subjectId);
  return { quota: policyView(row), settings: storedSettings(row?.settings) };
}

/** Sets the given quota fields of a subject's policy, creating the row when needed. */
export async function writePolicy(services: Services, scope: Scope, subjectId: string, input: QuotaInput): Promise<void> {
  const changes = quotaChanges(input);
  if (Object.keys(changes).length === 0) return;
  await services.db
    .insert(quotaPolicies)
    .values({ scope, subjectId, ...changes })
    .onConflictDoUpdate({ target: [quotaPolicies.scope, quotaPolicies.subjectId], set: { ...changes, updatedAt: new Date() } });
  forgetUsers();
}

type UserRow = typeof users.$inferSelect;
type TeamRow = typeof teams.$inferSelect;

export const userView = (row: UserRow) => ({
  id: row.id,
  email: row.email,
  name: row.name,
  team_id: row.teamId,
  tier: row.tier,
  blocked: row.blockedAt !== null,
  metadata: row.metadata,
  last_active_at: row.lastActiveAt?.toISOString() ?? null,
  created_at: row.createdAt.toISOString(),
});

export const teamView = (row: TeamRow) => ({
  id: row.id,
  name: row.name,
  blocked: row.blockedAt !== null,
  cache_scope: row.cacheScope ?? "key",
  metadata: row.metadata,
  created_at: row.createdAt.toISOString(),
});

export async function getUser(services: Services, id: string): Promise<UserRow> {
  const [row] = await services.db.select().from(users).where(eq(users.id, id));
  if (!row) throw new GatewayError(404, "not_found", `No user \`${id}\`.`, { code: "user_not_found" });
  return row;
}

export async function getTeam(services: Services, id: string): Promise<TeamRow> {
  const [row] = await services.db.select().from(teams).where(eq(teams.id, id));
  if (!row) throw new GatewayError(404, "not_found", `No team \`${id}\`.`, { code: "team_not_found" });
  return row;
}

/** Blocks or unblocks at once: Postgres for good, a Redis marker for every isolate. */
async function setBlocked(services: Services, kind: "user" | "team", id: string, blocked: boolean): Promise<void> {
  if (blocked) await markDenied(services.redis, kind, id);
  else await clearDenied(services.redis, kind, id);
  forgetUsers();
}

export async function upsertUser(services: Services, id: string, input: UserInput): Promise<UserRow> {
  if (input.team_id) await services.db.insert(teams).values({ id: input.team_id, name: input.team_id }).onConflictDoNothing();
  const values = {
    ...(input.email !== undefined && { email: input.email }),
    ...(input.name !== undefined && { name: input.name }),
    ...(input.team_id !== undefined && { teamId: input.team_id }),
    ...(input.tier !== undefined && { tier: input.tier }),
    ...(input.metadata !== undefined && { metadata: input.metadata }),
    ...(input.blocked !== undefined && { blockedAt: input.blocked ? new Date() : null }),
  };
  const [row] = await services.db
    .insert(users)
    .values({ id, ...values })
    .onConflictDoUpdate({ target: users.id, set: { ...values, updatedAt: new Date() } })
    .returning();
  await writePolicy(services, "user", id, input);
  if (input.settings) await writeSettings(services, "user", id, input.settings);
  if (input.blocked !== undefined) await setBlocked(services, "user", id, input.blocked);
  // The user's copies, and those of their keys, are read again in every isolate at the next check.
  await markChanged(services.redis, "user", id);
  if (!row) throw new Error("user upsert returned no row");
  return row;
}

export async function upsertTeam(services: Services, id: string, input: TeamInput): Promise<TeamRow> {
  const values = {
    ...(input.name !== undefined && { name: input.name }),
    ...(input.cache_scope !== undefined && { cacheScope: input.cache_scope }),
    ...(input.metadata !== undefined && { metadata: input.metadata }),
    ...(input.blocked !== undefined && { blockedAt: input.blocked ? new Date() : null }),
  };
  const [row] = await services.db
    .insert(teams)
    .values({ id, name: input.name ?? id, ...values })
    .onConflictDoUpdate({ target: teams.id, set: { ...values, updatedAt: new Date() } })
    .returning();
  await writePolicy(services, "team", id, input);
  if (input.settings) await writeSettings(services, "team", id, input.settings);
  if (input.blocked !== undefined) await setBlocked(services, "team", id, input.blocked);
  await markChanged(services.redis, "team", id);
  if (!row) throw new Error("team upsert returned no row");
  return row;
}
