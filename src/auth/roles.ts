// Roles and permissions: what each role in an organization or a team may do
// on the admin API and the dashboard, and `can()`, which every admin and
// usage route asks before it acts. The admin key may do everything.
import type { Principal } from "./principal.ts";

export type Role = "owner" | "admin" | "member" | "viewer" | "billing";

export const ROLES: readonly Role[] = ["owner", "admin", "member", "viewer", "billing"];

/** Every permission a route can declare; an admin token's scopes are drawn from these too. */
export const PERMISSIONS = [
  "keys:read",
  "keys:write",
  /** Mint, list and revoke one's own keys only. */
  "keys:self",
  "people:read",
  "people:write",
  "limits:write",
  "catalog:read",
  "catalog:write",
  "credentials:read",
  "credentials:write",
  "apps:read",
  "apps:write",
  "usage:read",
  /** What a logged request asked and was answered (`GET /admin/requests/{id}`'s `log`): prompts, not spend. */
  "logs:read",
  "billing:read",
  "billing:write",
  "audit:read",
  "members:read",
  "members:write",
  "tokens:read",
  "tokens:write",
] as const;

export type Permission = (typeof PERMISSIONS)[number];

const READS: Permission[] = PERMISSIONS.filter((p) => p.endsWith(":read"));

/** What each role allows. An organization role applies to every team; a team role to its team. */
export const ROLE_PERMISSIONS: Record<Role, readonly Permission[]> = {
  owner: PERMISSIONS,
  /** Everything an owner may, except making someone an owner (the members routes check that). */
  admin: PERMISSIONS,
  member: ["keys:self", "catalog:read"],
  viewer: READS.filter((p) => p !== "audit:read" && p !== "tokens:read" && p !== "credentials:read" && p !== "logs:read"),
  billing: ["usage:read", "billing:read"],
};

/**
 * Permissions a team role grants within its team. The rest (catalog,
 * credentials, limits beyond a key's, members, tokens, audit) belong to the
 * organization: a team admin cannot change their own team's limits.
 */
export const TEAM_PERMISSIONS: ReadonlySet<Permission> = new Set<Permission>([
  "keys:read",
  "keys:write",
  "keys:self",
  "usage:read",
  "logs:read",
  "billing:read",
  "catalog:read",
]);

/** Higher wins when two sources name a role for the same person (the stored one, the identity provider's). */
const RANK: Record<Role, number> = { owner: 5, admin: 4, member: 3, billing: 2, viewer: 1 };

export function higherRole(a: Role | null | undefined, b: Role | null | undefined): Role | null {
  if (!a) return b ?? null;
  if (!b) return a;
  return RANK[a] >= RANK[b] ? a : b;
}

export const isRole = (value: unknown): value is Role => typeof value === "string" && (ROLES as string[]).includes(value);
export const isPermission = (value: unknown): value is Permission =>
  typeof value === "string" && (PERMISSIONS as readonly string[]).includes(value);

const roleHas = (role: Role | null | undefined, permission: Permission) =>
  role ? ROLE_PERMISSIONS[role].includes(permission) : false;

/** An admin token's scopes narrow what its roles allow; `*` narrows nothing. */
const scopesAllow = (scopes: string[] | null, permission: Permission) =>
  scopes === null || scopes.includes("*") || scopes.includes(permission);

/**
 * "A role in any team", for `can()`: a symbol, so that no team's id (a team
 * may be named `any`) can stand for every team.
 */
export const ANY_TEAM: unique symbol = Symbol("any team");

/**
 * Whether the caller may do this. With a team, its role in that team counts
 * too (for the permissions a team role grants); with `ANY_TEAM`, a role in
 * any team does: the route's gate, before it knows which team a request
 * touches. Without a team, the organization role alone decides.
 */
export function can(principal: Principal, permission: Permission, teamId?: string | null | typeof ANY_TEAM): boolean {
  if (principal.type === "admin") return true;
  if (principal.type !== "operator") return false;
  if (!scopesAllow(principal.scopes, permission)) return false;
  if (roleHas(principal.orgRole, permission)) return true;
  if (!teamId || !TEAM_PERMISSIONS.has(permission)) return false;
  if (teamId === ANY_TEAM) return Object.values(principal.teamRoles).some((role) => roleHas(role, permission));
  return roleHas(principal.teamRoles[teamId], permission);
}

/** Whether the organization role alone allows it: the whole organization is in reach. */
export const canOrgWide = (principal: Principal, permission: Permission): boolean => can(principal, permission);

/** The teams in which the caller holds the permission through a team role. */
export function teamsWhere(principal: Principal, permission: Permission): string[] {
  if (principal.type !== "operator" || !TEAM_PERMISSIONS.has(permission) || !scopesAllow(principal.scopes, permission)) {
    return [];
  }
  return Object.entries(principal.teamRoles)
    .filter(([, role]) => roleHas(role, permission))
    .map(([team]) => team);
}

/** Every permission the caller holds somewhere: what the dashboard shows them. */
export function permissionsOf(principal: Principal): Permission[] {
  return PERMISSIONS.filter((permission) => can(principal, permission, ANY_TEAM));
}
