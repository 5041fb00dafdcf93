// The authorization server's short-lived browser state (the pending request
// across the sign-in, the consent awaiting an answer): JSON encrypted under a
// key derived from ADMIN_KEY for one purpose, with an expiry, so any isolate
// reads it and nothing else can.
import { EncryptJWT, type JWTPayload, jwtDecrypt } from "jose";
import { signingKey } from "../auth/sluice-token.ts";
import type * as z from "../zod.ts";

export async function sealFor(adminKey: string, purpose: string, payload: JWTPayload, seconds: number): Promise<string> {
  return new EncryptJWT(payload)
    .setProtectedHeader({ alg: "dir", enc: "A256GCM" })
    .setIssuedAt()
    .setExpirationTime(`${seconds}s`)
    .encrypt(await signingKey(adminKey, purpose));
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
    const { payload } = await jwtDecrypt(sealed, await signingKey(adminKey, purpose), {
      keyManagementAlgorithms: ["dir"],
      contentEncryptionAlgorithms: ["A256GCM"],
      requiredClaims: ["exp"],
    });
    return schema.parse(payload);
  } catch {
    return undefined;
  }
}
