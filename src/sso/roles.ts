// From a verified ID token to who the person is to Sluice: their email (held
// to the allowed domains), their name, and the roles their groups map to.
import type { JWTPayload } from "jose";
import type { resolveOperator } from "../auth/operators.ts";
import type { Role } from "../auth/roles.ts";
import type { SsoConfig } from "../config/index.ts";
import { GatewayError } from "../http/errors.ts";

/** What the sign-in hands to `resolveOperator`: the person, and the roles their groups map to. */
export type OperatorClaims = Parameters<typeof resolveOperator>[1];

/** Which of two roles a person holds when groups grant both: the one that allows more. */
const RANK: Record<Role, number> = { owner: 5, admin: 4, member: 3, viewer: 2, billing: 1 };
const higher = (a: Role | null | undefined, b: Role): Role => (a && RANK[a] >= RANK[b] ? a : b);

const refused = (message: string, code: string) => new GatewayError(403, "permission", message, { code });

const text = (value: unknown): string | null => (typeof value === "string" && value.length > 0 ? value : null);

/** A claim by its exact name (`groups`, Auth0's `https://example.com/roles`), else by a dotted path (`realm_access.roles`). */
export function claimAt(payload: JWTPayload, name: string): unknown {
  if (name in payload) return payload[name];
  let value: unknown = payload;
  for (const part of name.split(".")) {
    if (typeof value !== "object" || value === null) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

/** The groups (or roles) a token names: an array of names, or one name. */
export function groupsOf(payload: JWTPayload, claim: string): string[] {
  const value = claimAt(payload, claim);
  if (typeof value === "string") return [value];
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === "string") : [];
}

function checkedEmail(payload: JWTPayload, sso: SsoConfig): string | null {
  const email = text(payload.email)?.toLowerCase() ?? null;
  if (sso.allowedDomains.length === 0) return email;
  const domain = email?.split("@").at(-1);
  // A provider that says the address is unverified could be vouching for anyone's.
  if (!email || !domain || payload.email_verified === false || !sso.allowedDomains.includes(domain)) {
    throw refused(
      `Sign-in is open to ${sso.allowedDomains.map((d) => `@${d}`).join(", ")} addresses only${email ? "" : ", and the provider sent none"}.`,
      "sso_domain_not_allowed",
    );
  }
  return email;
}

/** The person, as the ID token and the role map say; refused when their domain is not allowed. */
export function operatorClaims(payload: JWTPayload, sso: SsoConfig): OperatorClaims {
  const email = checkedEmail(payload, sso);
  let orgRole: Role | null = null;
  const teamRoles: Record<string, Role> = {};
  // The map matches groups, and the person's own (verified) email for providers without groups.
  const names = [...groupsOf(payload, sso.rolesClaim), ...(email && payload.email_verified !== false ? [email] : [])];
  for (const name of names) {
    const grant = sso.roleMap[name];
    if (grant?.scope === "org") orgRole = higher(orgRole, grant.role);
    else if (grant?.scope === "team") teamRoles[grant.teamId] = higher(teamRoles[grant.teamId], grant.role);
  }
  return {
    orgId: "default",
    subject: `${payload.iss}|${payload.sub}`,
    email,
    name: text(payload.name) ?? text(payload.preferred_username),
    orgRole: orgRole ?? sso.defaultRole ?? null,
    teamRoles,
  };
}
