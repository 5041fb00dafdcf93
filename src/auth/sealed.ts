// Values only this gateway can read: JSON encrypted (JWE, `dir` with
// A256GCM) under a key derived from ADMIN_KEY for one purpose, so a value
// sealed for one use is never taken for another, and any isolate opens it.
// Sign-in state and sessions, the authorization server's pending requests,
// consents and client ids are sealed this way.
import { EncryptJWT, type JWTPayload, jwtDecrypt } from "jose";
import type * as z from "../zod.ts";
import { signingKey } from "./sluice-token.ts";

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
  const jwt = new EncryptJWT(payload).setProtectedHeader({ alg: "dir", enc: "A256GCM" }).setIssuedAt();
  if (expires !== undefined) jwt.setExpirationTime(typeof expires === "number" ? `${expires}s` : expires.at);
  return jwt.encrypt(await signingKey(adminKey, purpose));
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
  const { payload } = await jwtDecrypt(sealed, await signingKey(adminKey, purpose), {
    keyManagementAlgorithms: ["dir"],
    contentEncryptionAlgorithms: ["A256GCM"],
    requiredClaims: options.expiring === false ? [] : ["exp"],
  });
  return payload;
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
