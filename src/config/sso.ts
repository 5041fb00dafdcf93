// Single sign-on's settings: off unless a provider and a client are named;
// a role map that does not parse is a configuration error, not a surprise at
// someone's first sign-in.
import type { Role } from "../auth/roles.ts";
import type { ParsedEnv } from "./schema.ts";

/** What one group (or role) at the provider grants: a role in the organization, or in one team. */
export type RoleGrant = { scope: "org"; role: Role } | { scope: "team"; teamId: string; role: Role };

export interface SsoConfig {
  /** The provider's `.well-known/openid-configuration`. */
  discoveryUrl: string;
  clientId: string;
  /** Unset for a public client (PKCE alone). */
  clientSecret?: string;
  scopes: string;
  /** Unset: the gateway's own `/auth/sso/callback`, from the request's origin. */
  redirectUrl?: string;
  rolesClaim: string;
  roleMap: Record<string, RoleGrant>;
  defaultRole?: Role;
  /** Lower-case email domains allowed in; empty allows any. */
  allowedDomains: string[];
  sessionTtlSeconds: number;
  providerName: string;
}

const ROLES: readonly Role[] = ["owner", "admin", "member", "viewer", "billing"];
const isRole = (text: string | undefined): text is Role => ROLES.includes(text as Role);
const DISCOVERY_PATH = "/.well-known/openid-configuration";
const UNIT_SECONDS: Record<string, number> = { m: 60, h: 3600, d: 86_400 };

/** `org:<role>` or `team:<team id>:<role>`. */
export function parseGrant(text: string): RoleGrant | undefined {
  const parts = text.split(":");
  if (parts.length === 2 && parts[0] === "org" && isRole(parts[1])) return { scope: "org", role: parts[1] };
  const role = parts.at(-1);
  const teamId = parts.slice(1, -1).join(":");
  if (parts.length >= 3 && parts[0] === "team" && teamId && isRole(role)) return { scope: "team", teamId, role };
  return undefined;
}

function roleMap(text: string | undefined, problems: string[]): Record<string, RoleGrant> {
  if (!text) return {};
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    problems.push("SSO_ROLE_MAP must be a JSON object of group name → `org:<role>` or `team:<team id>:<role>`");
    return {};
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    problems.push("SSO_ROLE_MAP must be a JSON object of group name → `org:<role>` or `team:<team id>:<role>`");
    return {};
  }
  const map: Record<string, RoleGrant> = {};
  for (const [group, value] of Object.entries(raw)) {
    const grant = typeof value === "string" ? parseGrant(value) : undefined;
    if (!grant) {
      problems.push(
        `SSO_ROLE_MAP's \`${group}\` must map to \`org:<role>\` or \`team:<team id>:<role>\`, the role one of ${ROLES.join(", ")}`,
      );
    } else map[group] = grant;
  }
  return map;
}

/** Single sign-on's settings, or undefined when it is off; each problem is added to `problems`. */
export function ssoConfig(env: ParsedEnv, problems: string[]): SsoConfig | undefined {
  const named = [env.SSO_DISCOVERY_URL, env.SSO_CLIENT_ID].filter(Boolean).length;
  if (named === 0) return undefined;
  if (!env.SSO_DISCOVERY_URL || !env.SSO_CLIENT_ID) {
    problems.push("SSO_DISCOVERY_URL and SSO_CLIENT_ID are both required for single sign-on");
    return undefined;
  }
  const base = env.SSO_DISCOVERY_URL.replace(/\/+$/, "");
  const ttl = /^(\d+)(m|h|d)$/.exec(env.SSO_SESSION_TTL ?? "12h");
  return {
    discoveryUrl: base.endsWith(DISCOVERY_PATH) ? base : `${base}${DISCOVERY_PATH}`,
    clientId: env.SSO_CLIENT_ID,
    clientSecret: env.SSO_CLIENT_SECRET,
    scopes: env.SSO_SCOPES ?? "openid email profile",
    redirectUrl: env.SSO_REDIRECT_URL,
    rolesClaim: env.SSO_ROLES_CLAIM ?? "groups",
    roleMap: roleMap(env.SSO_ROLE_MAP, problems),
    defaultRole: env.SSO_DEFAULT_ROLE,
    allowedDomains: (env.SSO_ALLOWED_DOMAINS ?? "")
      .split(",")
      .map((domain) => domain.trim().toLowerCase().replace(/^@/, ""))
      .filter(Boolean),
    sessionTtlSeconds: Number(ttl?.[1] ?? 12) * (UNIT_SECONDS[ttl?.[2] ?? "h"] ?? 3600),
    providerName: env.SSO_PROVIDER_NAME ?? "single sign-on",
  };
}
