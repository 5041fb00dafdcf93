// Who is calling, and the limits and settings that apply to them.
import type { CallerPolicy } from "../policy/index.ts";
import type { Role } from "./roles.ts";

/** A quota policy; null means no limit. */
export interface Limits {
  requestsPerMinute: number | null;
  tokensPerMinute: number | null;
  tokensPerDay: number | null;
  tokensPerMonth: number | null;
  usdPerDay: number | null;
  usdPerMonth: number | null;
}

export const NO_LIMITS: Limits = {
  requestsPerMinute: null,
  tokensPerMinute: null,
  tokensPerDay: null,
  tokensPerMonth: null,
  usdPerDay: null,
  usdPerMonth: null,
};

export interface UserIdentity {
  userId: string;
  teamId: string | null;
  tier: string | null;
  email: string | null;
  name: string | null;
  limits: Limits;
  /** The team's own (aggregate) limits, when it has a policy. */
  teamLimits: Limits | null;
  /** Whose cached answers the user is served: their own, or their team's when the team says so. */
  cacheScope: "user" | "team";
  /** The settings of every level that applies (global, team, user), merged. */
  policy: CallerPolicy;
  /** When this isolate read it from Postgres: a change marker newer than this makes it stale. */
  loadedAt: number;
}

export interface KeyIdentity {
  keyId: string;
  name: string | null;
  userId: string | null;
  teamId: string | null;
  /** The owning user's tier: a key is its owner's, and routing rules on `tier` read it as theirs. */
  ownerTier: string | null;
  /**
   * The key's user minted it themself. A key an administrator gave them is theirs for spend and limits, but
   * never acts at their own accounts (their provider keys, linked accounts, MCP connections).
   */
  ownerMinted: boolean;
  /**
   * The owning user's own tool-call limits (global, team and user settings merged): every key of theirs
   * counts its calls against them together, as well as against the key's own.
   */
  ownerToolCalls: { minute?: number; day?: number } | null;
  /** Model allowlist; null allows all. */
  models: string[] | null;
  limits: Limits;
  /** The key's USD budget and its period (`1d`, `30d`, `1mo`; null for lifetime). */
  budget: { maxUsd: number; duration: string | null } | null;
  expiresAt: number | null;
  metadata: Record<string, unknown>;
  /** The key's response cache setting: seconds (null: not set) and whose answers it shares. */
  cache: { ttlSeconds: number | null; scope: "key" | "team" };
  /** The owning user's limits, which the key never exceeds. */
  userLimits: Limits | null;
  /** The settings of every level that applies (global, team, owner, key), merged. */
  policy: CallerPolicy;
  teamLimits: Limits | null;
  /** When this isolate read it from Postgres: a change marker newer than this makes it stale. */
  loadedAt: number;
}

/** An app's user without an account: a device holding a guest token, on some network. */
export interface GuestIdentity {
  appId: string;
  deviceId: string;
  /** Salted hash of the request's client network (IPv4 address, IPv6 /64): never the address itself. */
  ipHash: string;
  userId: null;
  teamId: null;
  /** The app's model allowlist; null allows all. */
  models: string[] | null;
  /** Each device's limits, each network's, and all of the app's guests' together. */
  limits: Limits;
  ipLimits: Limits;
  appLimits: Limits;
  /** The web origins the app's pages come from; a browser call from any other is refused. */
  origins: string[];
  policy: CallerPolicy;
  loadedAt: number;
}

/** A person (signed in) or an automation token acting on the admin API and the dashboard. */
export interface OperatorIdentity {
  orgId: string;
  /** A signed-in person's stable id (issuer and subject), or the admin token's id. */
  subject: string;
  email: string | null;
  name: string | null;
  orgRole: Role | null;
  teamRoles: Record<string, Role>;
  /** An admin token's scopes; null for a signed-in person, whose roles decide. */
  scopes: string[] | null;
}

export type Principal =
  | { type: "admin"; id: "admin" }
  | ({
      type: "user";
      id: string;
      /** The verified token's claims, as routing conditions read them (`claims.plan`); never stored or logged. */
      claims: Readonly<Record<string, unknown>>;
    } & UserIdentity)
  | ({ type: "key"; id: string; via: "key" | "token" } & KeyIdentity)
  | ({ type: "guest"; id: string } & GuestIdentity)
  | ({ type: "operator"; id: string; via: "session" | "admin_token" } & OperatorIdentity);

export type PrincipalType = Principal["type"];

/** Callers of the admin API (the admin key, operators) have no user, team or settings of their own. */
const isOperatorOrAdmin = (p: Principal): p is Extract<Principal, { type: "admin" | "operator" }> =>
  p.type === "admin" || p.type === "operator";

export const principalUserId = (p: Principal): string | null => (isOperatorOrAdmin(p) ? null : p.userId);
/**
 * The user whose own accounts (provider keys, linked accounts, MCP connections) the caller acts at: a
 * signed-in user, or a key its user minted themself; null for any other caller.
 */
export const principalPersonId = (p: Principal): string | null =>
  p.type === "user" ? p.userId : p.type === "key" && p.ownerMinted ? p.userId : null;
export const principalTeamId = (p: Principal): string | null => (isOperatorOrAdmin(p) ? null : p.teamId);
export const principalKeyId = (p: Principal): string | null => (p.type === "key" ? p.keyId : null);
export const principalAppId = (p: Principal): string | null => (p.type === "guest" ? p.appId : null);

/** The settings that apply to the caller; none for the admin key or an operator. */
export const principalPolicy = (p: Principal): CallerPolicy | undefined => (isOperatorOrAdmin(p) ? undefined : p.policy);
