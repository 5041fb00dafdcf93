// Values only this gateway can read: JSON encrypted under a key derived from
// ADMIN_KEY for one purpose, so a value sealed for one use is never taken for
// another, and any isolate opens it. Sign-in state and sessions, the
// authorization server's pending requests, consents and client ids are sealed
// this way.
//
// The format is a compact JWE with `dir` and A256GCM (RFC 7516), written here
// with WebCrypto rather than jose's general JWE, which brings every key
// management algorithm into the Worker; values sealed by either read the same.
import { errors, type JWTPayload } from "jose";
import type * as z from "../zod.ts";
import { base64url } from "./encoding.ts";
import { signingKey } from "./sluice-token.ts";

const HEADER = base64url(new TextEncoder().encode(JSON.stringify({ alg: "dir", enc: "A256GCM" })));
const encoder = new TextEncoder();
const aesKeys = new WeakMap<Uint8Array, Promise<CryptoKey>>();

function aesKey(raw: Uint8Array): Promise<CryptoKey> {
  let key = aesKeys.get(raw);
  if (!key) {
    key = crypto.subtle.importKey("raw", raw as Uint8Array<ArrayBuffer>, "AES-GCM", false, ["encrypt", "decrypt"]);
    aesKeys.set(raw, key);
  }
  return key;
}

function fromBase64url(text: string): Uint8Array<ArrayBuffer> {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) throw new errors.JWEInvalid("Invalid JWE");
  const binary = atob(text.replaceAll("-", "+").replaceAll("_", "/"));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/**
 * Seals `payload` for `purpose`. `expires`: seconds from now, or `{ at }` in
 * epoch seconds; without it the value never expires (an OAuth client id).
 */
export async function seal(
  adminKey: string,
  purpose: string,
  payload: JWTPayload,
  expires?: number | { at: number },
): Promise<string> {
  const iat = Math.floor(Date.now() / 1000);
  const claims: JWTPayload = { ...payload, iat };
  if (expires !== undefined) claims.exp = typeof expires === "number" ? iat + expires : expires.at;
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const sealed = new Uint8Array(
    await crypto.subtle.encrypt(
      { name: "AES-GCM", iv, additionalData: encoder.encode(HEADER), tagLength: 128 },
      await aesKey(await signingKey(adminKey, purpose)),
      encoder.encode(JSON.stringify(claims)),
    ),
  );
  const tag = sealed.length - 16;
  return `${HEADER}..${base64url(iv)}.${base64url(sealed.subarray(0, tag))}.${base64url(sealed.subarray(tag))}`;
}

/**
 * What was sealed for `purpose`; throws jose's errors (`errors.JWTExpired`
 * for one past its time) for a value that is not ours, not for this purpose,
 * or expired. `expiring` (the default) refuses a value sealed without an expiry.
 */
export async function unseal(
  adminKey: string,
  purpose: string,
  sealed: string,
  options: { expiring?: boolean } = {},
): Promise<JWTPayload> {
  const parts = sealed.split(".");
  if (parts.length !== 5 || parts[1] !== "") throw new errors.JWEInvalid("Invalid Compact JWE");
  const [header, , ivText, cipherText, tagText] = parts as [string, string, string, string, string];
  let protectedHeader: unknown;
  try {
    protectedHeader = JSON.parse(new TextDecoder().decode(fromBase64url(header)));
  } catch {
    throw new errors.JWEInvalid("JWE Protected Header is invalid");
  }
  const { alg, enc, ...rest } = (protectedHeader ?? {}) as Record<string, unknown>;
  // Only what `seal` writes: no compression, no other algorithm, no critical extensions.
  if (alg !== "dir" || enc !== "A256GCM" || Object.keys(rest).length > 0) {
    throw new errors.JOSEAlgNotAllowed("JWE header not allowed");
  }
  const iv = fromBase64url(ivText);
  const tag = fromBase64url(tagText);
  if (iv.length !== 12 || tag.length !== 16) throw new errors.JWEInvalid("Invalid JWE");
  const cipher = fromBase64url(cipherText);
  const joined = new Uint8Array(cipher.length + 16);
  joined.set(cipher);
  joined.set(tag, cipher.length);
  let plain: ArrayBuffer;
  try {
    plain = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv, additionalData: encoder.encode(header), tagLength: 128 },
      await aesKey(await signingKey(adminKey, purpose)),
      joined,
    );
  } catch {
    throw new errors.JWEDecryptionFailed();
  }
  let payload: unknown;
  try {
    payload = JSON.parse(new TextDecoder().decode(plain));
  } catch {
    throw new errors.JWTInvalid("JWT Claims Set must be a top-level JSON object");
  }
  if (typeof payload !== "object" || payload === null || Array.isArray(payload)) {
    throw new errors.JWTInvalid("JWT Claims Set must be a top-level JSON object");
  }
  const claims = payload as JWTPayload;
  const now = Math.floor(Date.now() / 1000);
  for (const claim of ["iat", "nbf", "exp"] as const) {
    if (claims[claim] !== undefined && typeof claims[claim] !== "number") {
      throw new errors.JWTClaimValidationFailed(`"${claim}" claim must be a number`, claims, claim, "invalid");
    }
  }
  if (claims.nbf !== undefined && claims.nbf > now) {
    throw new errors.JWTClaimValidationFailed('"nbf" claim timestamp check failed', claims, "nbf", "check_failed");
  }
  if (claims.exp === undefined) {
    if (options.expiring !== false) {
      throw new errors.JWTClaimValidationFailed('missing required "exp" claim', claims, "exp", "missing");
    }
  } else if (claims.exp <= now) {
    throw new errors.JWTExpired('"exp" claim timestamp check failed', claims, "exp", "check_failed");
  }
  return claims;
}

/** What was sealed for `purpose`, or undefined when the value is missing, expired, not ours or not of that shape. */
export async function openFor<T>(
  adminKey: string,
  purpose: string,
  sealed: string | undefined,
  schema: z.ZodMiniType<T>,
): Promise<T | undefined> {
  if (!sealed) return undefined;
  try {
    return schema.parse(await unseal(adminKey, purpose, sealed));
  } catch {
    return undefined;
  }
}
