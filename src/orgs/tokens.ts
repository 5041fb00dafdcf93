// Admin tokens for automation: named, expiring, scoped, in an organization;
// the secret is shown once and only its hash is kept.
import { and, desc, eq } from "drizzle-orm";
import { displaySuffix, hashSecret } from "../auth/keys.ts";
import { ADMIN_TOKEN_PREFIX, DEFAULT_ORG } from "../auth/operators.ts";
import type { Principal } from "../auth/principal.ts";
import { can, isPermission, PERMISSIONS, ROLE_PERMISSIONS, ROLES, type Role } from "../auth/roles.ts";
import { parseDuration } from "../config/index.ts";
import { adminTokens } from "../db/schema.ts";
import { badRequest, GatewayError } from "../http/errors.ts";
import type { Services } from "../services.ts";
import * as z from "../zod.ts";

const role = z.enum(ROLES as [Role, ...Role[]]);

export const createTokenSchema = z.strictObject({
  name: z.string().check(z.minLength(1), z.maxLength(200)),
  /** Permissions, or `*` for whatever the roles allow. */
  scopes: z._default(
    z
      .array(
        z
          .string()
          .check(z.refine((s) => s === "*" || isPermission(s), { message: `must be * or one of ${PERMISSIONS.join(", ")}` })),
      )
      .check(z.minLength(1), z.maxLength(PERMISSIONS.length + 1)),
    ["*"],
  ),
  /** The role the token acts with in the organization; `admin` unless it says. */
  role: z._default(z.nullable(role), "admin"),
  team_roles: z._default(z.record(z.string().check(z.minLength(1), z.maxLength(200)), role), {}),
  /** `30d`, `12h`…; unset: it never expires. */
  expires_in: z.optional(
    z.string().check(z.refine((s) => parseDuration(s) !== undefined, { message: "must be a duration like 30d or 12h" })),
  ),
});
export type CreateTokenInput = z.infer<typeof createTokenSchema>;

type TokenRow = typeof adminTokens.$inferSelect;

export function tokenView(row: TokenRow) {
  return {
    id: row.id,
    name: row.name,
    org_id: row.orgId,
    token_display: `${ADMIN_TOKEN_PREFIX}…${row.tokenSuffix}`,
    scopes: row.scopes,
    role: row.orgRole,
    team_roles: row.teamRoles,
    created_by: row.createdBy,
    expires_at: row.expiresAt?.toISOString() ?? null,
    revoked_at: row.revokedAt?.toISOString() ?? null,
    last_used_at: row.lastUsedAt?.toISOString() ?? null,
    created_at: row.createdAt.toISOString(),
  };
}

const orgOf = (principal: Principal) => (principal.type === "operator" ? principal.orgId : DEFAULT_ORG);

/**
 * No operator mints a token that can do more than they can: every scope is
 * one they hold, and an owner's role comes only from an owner.
 */
function assertWithinCaller(principal: Principal, input: CreateTokenInput): void {
  if (principal.type === "admin") return;
  const beyond = (r: Role | null, team?: string) =>
    r !== null && ROLE_PERMISSIONS[r].some((permission) => !can(principal, permission, team));
  const ownerFromNonOwner = principal.type !== "operator" || principal.orgRole !== "owner";
  const tooMuch =
    beyond(input.role) ||
    (input.role === "owner" && ownerFromNonOwner) ||
    Object.entries(input.team_roles).some(([team, r]) => beyond(r, team));
  if (tooMuch) {
    throw new GatewayError(403, "permission", "A token may not do more than the operator who mints it.", {
      code: "permission_denied",
    });
  }
}

export async function createToken(services: Services, principal: Principal, input: CreateTokenInput) {
  assertWithinCaller(principal, input);
  const secret = `${ADMIN_TOKEN_PREFIX}${[...crypto.getRandomValues(new Uint8Array(24))].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
  const seconds = input.expires_in ? parseDuration(input.expires_in) : undefined;
  const [row] = await services.db
    .insert(adminTokens)
    .values({
      id: `tok_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`,
      orgId: orgOf(principal),
      name: input.name,
      tokenHash: await hashSecret(secret),
      tokenSuffix: displaySuffix(secret),
      scopes: input.scopes,
      orgRole: input.role,
      teamRoles: input.team_roles,
      createdBy: principal.type === "operator" ? principal.subject : "admin",
      expiresAt: seconds === undefined ? null : new Date(Date.now() + seconds * 1000),
    })
    .returning();
  if (!row) throw new Error("admin token insert returned no row");
  return { ...tokenView(row), token: secret };
}

export async function listTokens(services: Services, principal: Principal) {
  const org = principal.type === "operator" ? eq(adminTokens.orgId, principal.orgId) : undefined;
  const rows = await services.db.select().from(adminTokens).where(org).orderBy(desc(adminTokens.createdAt));
  return rows.map(tokenView);
}

export async function getToken(services: Services, principal: Principal, id: string): Promise<TokenRow> {
  const org = principal.type === "operator" ? eq(adminTokens.orgId, principal.orgId) : undefined;
  const [row] = await services.db
    .select()
    .from(adminTokens)
    .where(and(eq(adminTokens.id, id), org));
  if (!row) throw new GatewayError(404, "not_found", `No admin token \`${id}\`.`, { code: "token_not_found" });
  return row;
}

export async function revokeToken(services: Services, principal: Principal, id: string) {
  const row = await getToken(services, principal, id);
  if (row.revokedAt) return tokenView(row);
  const [revoked] = await services.db
    .update(adminTokens)
    .set({ revokedAt: new Date() })
    .where(eq(adminTokens.id, row.id))
    .returning();
  if (!revoked) throw badRequest("The token could not be revoked.");
  return tokenView(revoked);
}
