// The dashboard session: an encrypted, authenticated cookie (a JWE the
// gateway alone can open, keyed from the admin key like Sluice's own
// tokens), HttpOnly, Secure, SameSite=Lax, with an expiry, and a sign-out
// that holds in every isolate until the session would have expired anyway.
// The roles are sealed in at sign-in; a change to the member's roles (or
// their removal) ends every session sealed before it, in every isolate.
// A cookie reaches any request the browser makes to the gateway, so a
// request it authenticates must come from the gateway's own pages: any
// `Origin` it carries must be the gateway's, and a state-changing one must
// carry it (or the browser's `Sec-Fetch-Site: same-origin`).
import { errors } from "jose";
import { memberChangedKey, predatesMemberChange } from "../auth/deny-list.ts";
import type { OperatorIdentity, Principal } from "../auth/principal.ts";
import { seal, unseal } from "../auth/sealed.ts";
import type { Config, SsoConfig } from "../config/index.ts";
import type { GatewayContext } from "../context.ts";
import { GatewayError } from "../http/errors.ts";
import * as z from "../zod.ts";

const unauthorized = (message: string, code: string) => new GatewayError(401, "authentication", message, { code });

const SESSION_PURPOSE = "sluice sso session v1";
const ROLE = z.enum(["owner", "admin", "member", "viewer", "billing"]);
const identitySchema = z.object({
  orgId: z.string(),
  subject: z.string(),
  email: z.nullable(z.string()),
  name: z.nullable(z.string()),
  orgRole: z.nullable(ROLE),
  teamRoles: z.record(z.string(), ROLE),
});
// `iat_ms`: the sign-in's time in milliseconds (`iat` is in seconds), to tell it from a role change in the same second.
const sessionSchema = z.object({
  sid: z.string(),
  iat: z.number(),
  iat_ms: z.optional(z.number()),
  exp: z.number(),
  op: identitySchema,
});

export interface Session {
  sid: string;
  /** Milliseconds since the epoch: when the person signed in and their roles were sealed. */
  issuedAt: number;
  /** Seconds since the epoch. */
  exp: number;
  identity: OperatorIdentity;
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);
const LOCAL_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);

export const signedOutKey = (sid: string) => `sluice:sso:signed-out:${sid}`;

/**
 * The cookies' names and flags for this request's scheme: `__Host-` and
 * Secure over HTTPS; plain names without Secure on a local HTTP gateway
 * (`npm run dev`); none at all on plain HTTP anywhere else.
 */
export function cookieScheme(url: string): { prefix: string; secure: string } | undefined {
  const parsed = new URL(url);
  if (parsed.protocol === "https:") return { prefix: "__Host-", secure: "; Secure" };
  return LOCAL_HOSTS.has(parsed.hostname) ? { prefix: "", secure: "" } : undefined;
}

export const SESSION_COOKIE = "sluice-session";

/** A `Set-Cookie` value: the cookie for the whole gateway, HttpOnly and SameSite=Lax; an empty value and 0 clears it. */
export function cookieHeader(url: string, name: string, value: string, maxAgeSeconds: number): string {
  const scheme = cookieScheme(url) ?? { prefix: "__Host-", secure: "; Secure" };
  return `${scheme.prefix}${name}=${value}; Path=/; Max-Age=${maxAgeSeconds}; HttpOnly; SameSite=Lax${scheme.secure}`;
}

/** A cookie of this gateway's, read under the name its scheme gives it. */
export function readCookie(c: GatewayContext, name: string): string | undefined {
  const header = c.req.header("cookie");
  const scheme = header && cookieScheme(c.req.url);
  if (!header || !scheme) return undefined;
  const wanted = `${scheme.prefix}${name}=`;
  for (const part of header.split(";")) {
    const trimmed = part.trim();
    if (trimmed.startsWith(wanted)) return trimmed.slice(wanted.length);
  }
  return undefined;
}

/** The gateway's own origin, as its pages are served: the redirect URL's when one is configured. */
export function gatewayOrigin(c: GatewayContext, sso: SsoConfig): string {
  return new URL(sso.redirectUrl ?? c.req.url).origin;
}

const crossSite = () =>
  new GatewayError(403, "permission", "A signed-in session is taken only from the gateway's own pages (`Origin` mismatch).", {
    code: "csrf_origin_mismatch",
  });

/** Refuses a cookie-authenticated request that another site's page could have sent. */
export function checkSameOrigin(c: GatewayContext, sso: SsoConfig): void {
  const origin = c.req.header("origin");
  if (origin !== undefined) {
    if (origin !== gatewayOrigin(c, sso)) throw crossSite();
    return;
  }
  if (!SAFE_METHODS.has(c.req.method) && c.req.header("sec-fetch-site") !== "same-origin") throw crossSite();
}

/**
 * Seals a session for `identity`. `issuedAt`: when its roles were read (epoch ms), so a role change
 * written after that read, however soon, still ends it.
 */
export async function sealSession(
  config: Config,
  identity: OperatorIdentity,
  ttlSeconds: number,
  issuedAt = Date.now(),
): Promise<{ value: string; session: Session }> {
  const sid = crypto.randomUUID();
  const exp = Math.floor(issuedAt / 1000) + ttlSeconds;
  const { scopes: _scopes, ...op } = identity;
  const value = await seal(config.adminKey, SESSION_PURPOSE, { sid, iat_ms: issuedAt, op }, { at: exp });
  return { value, session: { sid, issuedAt, exp, identity } };
}

/** The session a cookie holds; a 401 saying so when it expired or is not one this gateway sealed. */
export async function openSession(config: Config, value: string): Promise<Session> {
  try {
    const session = sessionSchema.parse(await unseal(config.adminKey, SESSION_PURPOSE, value));
    // A session sealed before `iat_ms` was written counts from the start of its second: refused by a change in it.
    const issuedAt = session.iat_ms ?? session.iat * 1000;
    return { sid: session.sid, issuedAt, exp: session.exp, identity: { ...session.op, scopes: null } };
  } catch (error) {
    if (error instanceof errors.JWTExpired) {
      throw unauthorized("Your session has expired: sign in again.", "session_expired");
    }
    throw unauthorized("The session cookie is not valid: sign in again.", "session_invalid");
  }
}

/** Whether the session was signed out, or its member's roles changed after it was sealed: one Redis round trip. */
async function isSignedOut(c: GatewayContext, session: Session): Promise<boolean> {
  let markers: (string | number | null)[];
  try {
    markers = await c
      .get("services")
      .redis.mget<(string | number | null)[]>(signedOutKey(session.sid), memberChangedKey(session.identity.subject));
  } catch {
    // A session that cannot be checked is not taken: the admin key still works.
    throw new GatewayError(503, "unavailable", "Sessions cannot be checked just now; try again shortly.", {
      code: "sessions_unavailable",
      headers: { "retry-after": "2" },
    });
  }
  const [signedOut, memberChanged] = markers;
  return (signedOut !== null && signedOut !== undefined) || predatesMemberChange(memberChanged, session.issuedAt);
}

/** The signed-in person a request's session cookie stands for; undefined when it carries none. */
export async function sessionPrincipal(c: GatewayContext): Promise<Principal | undefined> {
  const sso = c.get("config").sso;
  if (!sso) return undefined;
  const value = readCookie(c, SESSION_COOKIE);
  if (!value) return undefined;
  checkSameOrigin(c, sso);
  const session = await openSession(c.get("config"), value);
  if (await isSignedOut(c, session)) throw unauthorized("This session was signed out: sign in again.", "session_signed_out");
  return { type: "operator", id: session.identity.subject, via: "session", ...session.identity };
}

/** Signs a session out everywhere: every isolate refuses its cookie until it would have expired. */
export async function signOut(c: GatewayContext, session: Session): Promise<void> {
  const remaining = session.exp - Math.floor(Date.now() / 1000);
  if (remaining > 0) await c.get("services").redis.set(signedOutKey(session.sid), "1", { ex: remaining + 60 });
}
