// The access tokens the authorization server issues: Sluice tokens that
// stand for a user, short-lived (TOKEN_TTL), signed with a key of their own
// (derived from the admin key), and bound to the resource they were issued
// for (RFC 8707): a token for `/mcp` is taken on `/mcp` and `/mcp/{server}`,
// one for `/mcp/{server}` only there, and neither anywhere else.
import { errors, jwtVerify, SignJWT } from "jose";
import { SLUICE_ISSUER, signingKey } from "../auth/sluice-token.ts";
import { unauthorized } from "../http/errors.ts";

const ACCESS_PURPOSE = "sluice oauth access token v1";
export const ACCESS_TOKEN_TYPE = "oauth";
const RESOURCE_PATH = /^\/mcp(\/[a-z0-9][a-z0-9-]*)?$/;

/** Whether a resource indicator names this gateway's MCP endpoint, or one server's. */
export function isMcpResource(resource: string, origin: string): boolean {
  try {
    const url = new URL(resource);
    return url.origin === origin && RESOURCE_PATH.test(url.pathname) && !url.search && !url.hash && !resource.endsWith("/");
  } catch {
    return false;
  }
}

/** Whether a token issued for `resource` may be used on this request URL: the resource itself, or a path under it. */
export function resourceCovers(resource: string, requestUrl: string): boolean {
  const request = new URL(requestUrl);
  if (!isMcpResource(resource, request.origin)) return false;
  const path = new URL(resource).pathname;
  return request.pathname === path || request.pathname.startsWith(`${path}/`);
}

export async function issueAccessToken(
  adminKey: string,
  grant: { userId: string; resource: string; scope: string | null; ttlSeconds: number },
): Promise<string> {
  return new SignJWT({ typ: ACCESS_TOKEN_TYPE, ...(grant.scope && { scope: grant.scope }) })
    .setProtectedHeader({ alg: "HS256" })
    .setIssuer(SLUICE_ISSUER)
    .setAudience(grant.resource)
    .setSubject(grant.userId)
    .setJti(crypto.randomUUID())
    .setIssuedAt()
    .setExpirationTime(`${grant.ttlSeconds}s`)
    .sign(await signingKey(adminKey, ACCESS_PURPOSE));
}

/** The user an access token stands for, when it holds and was issued for this request's resource. */
export async function verifyAccessToken(adminKey: string, token: string, requestUrl: string): Promise<string> {
  let payload: { typ?: unknown; sub?: unknown; aud?: unknown };
  try {
    ({ payload } = await jwtVerify(token, await signingKey(adminKey, ACCESS_PURPOSE), {
      issuer: SLUICE_ISSUER,
      algorithms: ["HS256"],
      clockTolerance: 30,
      requiredClaims: ["exp", "aud", "sub"],
    }));
  } catch (error) {
    if (error instanceof errors.JWTExpired) throw unauthorized("Token has expired.");
    if (error instanceof errors.JWSSignatureVerificationFailed) throw unauthorized("Token signature is invalid.");
    throw unauthorized("Token is invalid.");
  }
  if (payload.typ !== ACCESS_TOKEN_TYPE || typeof payload.sub !== "string") throw unauthorized("Token is malformed.");
  if (typeof payload.aud !== "string" || !resourceCovers(payload.aud, requestUrl)) {
    throw unauthorized("Token was issued for another resource: get one for this endpoint.");
  }
  return payload.sub;
}
