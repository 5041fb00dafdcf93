// Short-lived JWTs Sluice signs itself (`POST /auth/token`), standing for a
// virtual key, for browsers and mobile apps that must not hold a long-lived key.
import { decodeJwt, errors, jwtVerify, SignJWT } from "jose";
import { unauthorized } from "../http/errors.ts";
import { IsolateCache } from "../isolate-cache.ts";

export const SLUICE_ISSUER = "sluice";
export const SLUICE_AUDIENCE = "sluice";
const AUDIENCE = SLUICE_AUDIENCE;

const signingKeys = new IsolateCache<Promise<Uint8Array>>(8, Number.POSITIVE_INFINITY);

/**
 * The signing key is derived from the admin key, so no extra secret is needed (and rotating it revokes all tokens);
 * each kind of token has a key of its own (`purpose`), so one can never pass for another.
 */
export function signingKey(adminKey: string, purpose = "sluice token signing v1"): Promise<Uint8Array> {
  const cacheKey = `${purpose}\u0000${adminKey}`;
  let key = signingKeys.get(cacheKey);
  if (!key) {
    key = (async () => {
      const hmac = await crypto.subtle.importKey(
        "raw",
        new TextEncoder().encode(adminKey),
        { name: "HMAC", hash: "SHA-256" },
        false,
        ["sign"],
      );
      return new Uint8Array(await crypto.subtle.sign("HMAC", hmac, new TextEncoder().encode(purpose)));
    })();
    signingKeys.set(cacheKey, key);
  }
  return key;
}

export async function issueKeyToken(adminKey: string, keyId: string, expiresAt: number): Promise<string> {
  return new SignJWT({ typ: "key" })
    .setProtectedHeader({ alg: "HS256" })
    .setIssuer(SLUICE_ISSUER)
    .setAudience(AUDIENCE)
    .setSubject(keyId)
    .setIssuedAt()
    .setExpirationTime(Math.floor(expiresAt / 1000))
    .sign(await signingKey(adminKey));
}

const KINDS: Record<string, "guest" | "oauth"> = { guest: "guest", oauth: "oauth" };

/** Which of Sluice's own tokens a JWT claims to be (checked properly when verified); undefined for any other JWT. */
export function sluiceTokenKind(token: string): "key" | "guest" | "oauth" | undefined {
  try {
    const payload = decodeJwt(token);
    if (payload.iss !== SLUICE_ISSUER) return undefined;
    return (typeof payload.typ === "string" && Object.hasOwn(KINDS, payload.typ) && KINDS[payload.typ]) || "key";
  } catch {
    return undefined;
  }
}

/** The key id a Sluice token stands for. */
export async function verifyKeyToken(adminKey: string, token: string): Promise<string> {
  try {
    const { payload } = await jwtVerify(token, await signingKey(adminKey), {
      issuer: SLUICE_ISSUER,
      audience: AUDIENCE,
      algorithms: ["HS256"],
      clockTolerance: 30,
    });
    if (payload.typ !== "key" || typeof payload.sub !== "string") throw unauthorized("Token is malformed.");
    return payload.sub;
  } catch (error) {
    if (error instanceof errors.JWTExpired) throw unauthorized("Token has expired.");
    if (error instanceof errors.JWSSignatureVerificationFailed) throw unauthorized("Token signature is invalid.");
    throw unauthorized("Token is invalid.");
  }
}
