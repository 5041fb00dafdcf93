// End users' JWTs: an HS256 shared secret and/or an identity provider's JWKS,
// with issuer, audience, a small clock tolerance and an algorithm allowlist.
import { createRemoteJWKSet, decodeProtectedHeader, errors, type JWTPayload, type JWTVerifyGetKey, jwtVerify } from "jose";
import type { Config } from "../config/index.ts";
import { hasControl } from "../formats/fields.ts";
import { GatewayError, unauthorized } from "../http/errors.ts";
import { IsolateCache } from "../isolate-cache.ts";

const SECRET_ALGORITHMS = ["HS256"];
const JWKS_ALGORITHMS = ["RS256", "ES256", "EdDSA"];
const CLOCK_TOLERANCE_SECONDS = 30;

// jose caches fetched keys inside each key set; one set per JWKS URL for the isolate's life.
const keySets = new IsolateCache<JWTVerifyGetKey>(8, Number.POSITIVE_INFINITY);
const secretKeys = new IsolateCache<Uint8Array>(8, Number.POSITIVE_INFINITY);

function keySet(url: string): JWTVerifyGetKey {
  let set = keySets.get(url);
  if (!set) {
    set = createRemoteJWKSet(new URL(url), { cooldownDuration: 30_000, cacheMaxAge: 600_000 });
    keySets.set(url, set);
  }
  return set;
}

function secretKey(secret: string): Uint8Array {
  let key = secretKeys.get(secret);
  if (!key) {
    key = new TextEncoder().encode(secret);
    secretKeys.set(secret, key);
  }
  return key;
}

/** A refusal that says what was wrong with the token without echoing it. */
function describe(error: unknown): GatewayError {
  if (error instanceof GatewayError) return error;
  if (error instanceof errors.JWTExpired) return unauthorized("Token has expired.");
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === "nbf") return unauthorized("Token is not valid yet.");
    if (error.claim === "iss") return unauthorized("Token has the wrong issuer.");
    if (error.claim === "aud") return unauthorized("Token has the wrong audience.");
    if (error.claim === "exp" && error.reason === "missing") {
      return unauthorized("Token has no expiry (`exp`); tokens must expire.");
    }
    return unauthorized(`Token claim \`${error.claim}\` is invalid.`);
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) return unauthorized("Token signature is invalid.");
  if (error instanceof errors.JWKSNoMatchingKey) return unauthorized("Token is signed with an unknown key (`kid`).");
  if (error instanceof errors.JOSEAlgNotAllowed) return unauthorized("Token algorithm is not allowed.");
  if (error instanceof errors.JWKSTimeout || error instanceof errors.JWKSInvalid) {
    return new GatewayError(503, "unavailable", "The identity provider's keys could not be fetched.");
  }
  return unauthorized("Token is malformed.");
}

/** Verifies an end user's JWT; throws a 401 GatewayError saying what is wrong. */
export async function verifyUserJwt(token: string, config: Config): Promise<JWTPayload> {
  let alg: string | undefined;
  try {
    alg = decodeProtectedHeader(token).alg;
  } catch {
    throw unauthorized("Token is malformed.");
  }
  if (!alg || alg === "none") throw unauthorized("Token algorithm is not allowed.");
  const options = {
    issuer: config.jwt.issuer,
    audience: config.jwt.audience,
    clockTolerance: CLOCK_TOLERANCE_SECONDS,
    // A token that never expires would be a credential for good.
    requiredClaims: ["exp"],
  };
  try {
    // The header's algorithm picks the key type, and each key type has its own allowlist,
    // so a token cannot pass an RSA public key off as an HMAC secret.
    if (SECRET_ALGORITHMS.includes(alg)) {
      if (!config.jwt.secret) throw unauthorized("Token algorithm is not allowed.");
      return (await jwtVerify(token, secretKey(config.jwt.secret), { ...options, algorithms: SECRET_ALGORITHMS })).payload;
    }
    if (JWKS_ALGORITHMS.includes(alg)) {
      if (!config.jwt.jwksUrl) throw unauthorized("Token algorithm is not allowed.");
      return (await jwtVerify(token, keySet(config.jwt.jwksUrl), { ...options, algorithms: JWKS_ALGORITHMS })).payload;
    }
    throw unauthorized("Token algorithm is not allowed.");
  } catch (error) {
    throw describe(error);
  }
}

/** The longest claim value kept as a user's id, team, email, name or tier. */
const CLAIM_MAX = 320;

/** A claim as text; a value with control characters or over 320 characters is refused, not cut. */
export function claimText(payload: JWTPayload, claim: string): string | null {
  const value = payload[claim];
  const text = typeof value === "string" && value.length > 0 ? value : typeof value === "number" ? String(value) : null;
  if (text !== null && (text.length > CLAIM_MAX || hasControl(text))) {
    throw unauthorized(`Token claim \`${claim}\` must be at most ${CLAIM_MAX} characters, without control characters.`);
  }
  return text;
}
