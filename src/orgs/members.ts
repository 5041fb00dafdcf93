// The organization's members: who operates the gateway, with which role in
// the organization and in each team. Sign-in creates them; an admin may
// name them ahead of it, or change their roles. A change to someone's roles,
// or their removal, ends the sessions they signed in with before it.
import { and, asc, eq } from "drizzle-orm";
import { markMemberChanged } from "../auth/deny-list.ts";
import { DEFAULT_ORG, teamRolesOf } from "../auth/operators.ts";
import type { Principal } from "../auth/principal.ts";
import { permissionsOf, ROLES, type Role } from "../auth/roles.ts";
import { organizations, orgMembers } from "../db/schema.ts";
import { GatewayError } from "../http/errors.ts";
import type { Services } from "../services.ts";
import * as z from "../zod.ts";

const role = z.enum(ROLES as [Role, ...Role[]]);

export const memberSchema = z.strictObject({
  email: z.optional(z.nullable(z.string().check(z.maxLength(320)))),
  name: z.optional(z.nullable(z.string().check(z.maxLength(200)))),
  role: z.optional(z.nullable(role)),
  team_roles: z.optional(z.record(z.string().check(z.minLength(1), z.maxLength(200)), role)),
});
export type MemberInput = z.infer<typeof memberSchema>;

type MemberRow = typeof orgMembers.$inferSelect;

export function memberView(row: MemberRow) {
  return {
    subject: row.subject,
    org_id: row.orgId,
    email: row.email,
    name: row.name,
    role: row.orgRole,
    team_roles: teamRolesOf(row.teamRoles),
    last_seen_at: row.lastSeenAt?.toISOString() ?? null,
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  };
}

export const orgOf = (principal: Principal) => (principal.type === "operator" ? principal.orgId : DEFAULT_ORG);

export async function listMembers(services: Services, principal: Principal) {
  const rows = await services.db
    .select()
    .from(orgMembers)
    .where(eq(orgMembers.orgId, orgOf(principal)))
    .orderBy(asc(orgMembers.subject));
  return rows.map(memberView);
}

export async function getMember(services: Services, principal: Principal, subject: string): Promise<MemberRow> {
  const [row] = await services.db
    .select()
    .from(orgMembers)
    .where(and(eq(orgMembers.orgId, orgOf(principal)), eq(orgMembers.subject, subject)));
  if (!row) throw new GatewayError(404, "not_found", `No member \`${subject}\`.`, { code: "member_not_found" });
  return row;
}

/** Only an owner (or the admin key) makes, or unmakes, an owner. */
function assertOwnerChange(principal: Principal, before: MemberRow | undefined, input: MemberInput): void {
  if (principal.type === "admin" || (principal.type === "operator" && principal.orgRole === "owner")) return;
  const touchesOwner =
    input.role === "owner" || before?.orgRole === "owner" || Object.values(input.team_roles ?? {}).includes("owner");
  if (touchesOwner) {
    throw new GatewayError(403, "permission", "Only an owner may make or change an owner.", { code: "permission_denied" });
  }
}

/**
 * Writes a change to a member's roles, their sessions' old roles ended in
 * every isolate: marked before the write, so a change Redis cannot record
 * fails instead of leaving old sessions their roles; and after, so a sign-in
 * that read the row while it was being written is refused too.
 */
async function changingRoles<T>(services: Services, subject: string, write: () => Promise<T>): Promise<T> {
  await markMemberChanged(services.redis, subject);
  const result = await write();
  await markMemberChanged(services.redis, subject);
  return result;
}

export async function putMember(services: Services, principal: Principal, subject: string, input: MemberInput) {
  const orgId = orgOf(principal);
  const [before] = await services.db
    .select()
    .from(orgMembers)
    .where(and(eq(orgMembers.orgId, orgId), eq(orgMembers.subject, subject)));
  assertOwnerChange(principal, before, input);
  await services.db.insert(organizations).values({ id: orgId, name: orgId }).onConflictDoNothing();
  const set = {
    ...(input.email !== undefined && { email: input.email }),
    ...(input.name !== undefined && { name: input.name }),
    ...(input.role !== undefined && { orgRole: input.role }),
    ...(input.team_roles !== undefined && { teamRoles: input.team_roles }),
    updatedAt: new Date(),
  };
  const upsert = () =>
    services.db
      .insert(orgMembers)
      .values({ orgId, subject, ...set })
      .onConflictDoUpdate({ target: [orgMembers.orgId, orgMembers.subject], set })
      .returning();
  const touchesRoles = input.role !== undefined || input.team_roles !== undefined;
  const [row] = touchesRoles ? await changingRoles(services, subject, upsert) : await upsert();
  if (!row) throw new Error("member upsert returned no row");
  return memberView(row);
}

export async function removeMember(services: Services, principal: Principal, subject: string) {
  const row = await getMember(services, principal, subject);
  assertOwnerChange(principal, row, {});
  await changingRoles(services, subject, () =>
    services.db.delete(orgMembers).where(and(eq(orgMembers.orgId, row.orgId), eq(orgMembers.subject, subject))),
  );
  return { ...memberView(row), deleted: true };
}

/** Who is calling, and what their roles allow: what the dashboard shows each person. */
export function whoAmI(principal: Principal) {
  if (principal.type === "admin") {
    return {
      type: "admin",
      org_id: DEFAULT_ORG,
      subject: "admin",
      role: "owner",
      team_roles: {},
      scopes: null,
      permissions: permissionsOf(principal),
    };
  }
  if (principal.type !== "operator") throw new Error("whoAmI is an operator route");
  return {
    type: principal.via,
    org_id: principal.orgId,
    subject: principal.subject,
    email: principal.email,
    name: principal.name,
    role: principal.orgRole,
    team_roles: principal.teamRoles,
    scopes: principal.scopes,
    permissions: permissionsOf(principal),
  };
}
