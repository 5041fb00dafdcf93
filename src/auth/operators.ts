// Operators: the people (signed in) and admin tokens that act on the admin
// API and the dashboard. `resolveOperator` is what sign-in calls with the
// roles the identity provider's groups or claims map to; admin tokens are
// looked up here by the hash of their secret.
import { and, eq, sql } from "drizzle-orm";
import { adminTokens, organizations, orgMembers } from "../db/schema.ts";
import { unauthorized } from "../http/errors.ts";
import type { Services } from "../services.ts";
import { hashSecret } from "./keys.ts";
import type { OperatorIdentity, Principal } from "./principal.ts";
import { higherRole, isRole, type Role } from "./roles.ts";

export const DEFAULT_ORG = "default";

/** An admin token's secret starts with this, so it is told apart from a virtual key (`sk-`) at a glance. */
export const ADMIN_TOKEN_PREFIX = "sat_";

export interface OperatorClaims {
  orgId: string;
  subject: string;
  email: string | null;
  name: string | null;
  orgRole: Role | null;
  teamRoles: Record<string, Role>;
}

/** Team roles as stored (jsonb), keeping only real roles. */
export function teamRolesOf(stored: Record<string, string> | null | undefined): Record<string, Role> {
  const roles: Record<string, Role> = {};
  for (const [team, role] of Object.entries(stored ?? {})) if (isRole(role)) roles[team] = role;
  return roles;
}

/** Both sets of team roles, the higher role winning where both name a team. */
export function mergeTeamRoles(a: Record<string, Role>, b: Record<string, Role>): Record<string, Role> {
  const merged: Record<string, Role> = { ...a };
  for (const [team, role] of Object.entries(b)) merged[team] = higherRole(merged[team], role) ?? role;
  return merged;
}

/**
 * The operator a sign-in names: their membership created on first sight
 * (the organization too, if it is new), the stored roles combined with the
 * ones mapped from the identity provider (the higher wins), the identity
 * returned. The stored roles are left as an admin set them: a role the
 * provider stops granting is gone at the next sign-in.
 */
export async function resolveOperator(services: Services, claims: OperatorClaims): Promise<OperatorIdentity> {
  const { db } = services;
  await db.insert(organizations).values({ id: claims.orgId, name: claims.orgId }).onConflictDoNothing();
  const [row] = await db
    .insert(orgMembers)
    .values({ orgId: claims.orgId, subject: claims.subject, email: claims.email, name: claims.name, lastSeenAt: new Date() })
    .onConflictDoUpdate({
      target: [orgMembers.orgId, orgMembers.subject],
      set: {
        email: sql`coalesce(excluded.email, ${orgMembers.email})`,
        name: sql`coalesce(excluded.name, ${orgMembers.name})`,
        lastSeenAt: sql`now()`,
      },
    })
    .returning();
  const storedRole = row && isRole(row.orgRole) ? row.orgRole : null;
  return {
    orgId: claims.orgId,
    subject: claims.subject,
    email: claims.email ?? row?.email ?? null,
    name: claims.name ?? row?.name ?? null,
    orgRole: higherRole(storedRole, claims.orgRole),
    teamRoles: mergeTeamRoles(teamRolesOf(row?.teamRoles), claims.teamRoles),
    scopes: null,
  };
}

/** The operator an admin token stands for; a refusal (401) when it is unknown, revoked or expired. */
export async function adminTokenPrincipal(services: Services, secret: string): Promise<Principal> {
  const { db } = services;
  const [row] = await db
    .select()
    .from(adminTokens)
    .where(eq(adminTokens.tokenHash, await hashSecret(secret)));
  if (!row) throw unauthorized("Invalid admin token.");
  if (row.revokedAt) throw unauthorized("This admin token has been revoked.");
  if (row.expiresAt && row.expiresAt.getTime() <= Date.now()) throw unauthorized("This admin token has expired.");
  // Last use is a hint for whoever tidies tokens up; a minute's precision is plenty.
  if (!row.lastUsedAt || Date.now() - row.lastUsedAt.getTime() > 60_000) {
    await db
      .update(adminTokens)
      .set({ lastUsedAt: new Date() })
      .where(and(eq(adminTokens.id, row.id)));
  }
  return {
    type: "operator",
    id: row.id,
    via: "admin_token",
    orgId: row.orgId,
    subject: row.id,
    email: null,
    name: row.name,
    orgRole: isRole(row.orgRole) ? row.orgRole : null,
    teamRoles: teamRolesOf(row.teamRoles),
    scopes: row.scopes,
  };
}
