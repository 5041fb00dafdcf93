// Guest tokens: what `POST /auth/attest` answers, a few minutes long, bound
// to one app and one device. Signed like Sluice's other tokens, with a key of
// their own, so neither kind can stand for the other.
import { errors, jwtVerify, SignJWT } from "jose";
import { SLUICE_AUDIENCE, SLUICE_ISSUER, signingKey } from "../auth/sluice-token.ts";
import { GatewayError, unauthorized } from "../http/errors.ts";

const PURPOSE = "sluice guest token signing v1";

export interface GuestClaims {
  appId: string;
  deviceId: string;
}

export async function issueGuestToken(adminKey: string, claims: GuestClaims, expiresAt: number): Promise<string> {
  return new SignJWT({ typ: "guest", app: claims.appId })
    .setProtectedHeader({ alg: "HS256" })
    .setIssuer(SLUICE_ISSUER)
    .setAudience(SLUICE_AUDIENCE)
    .setSubject(claims.deviceId)
    .setIssuedAt()
    .setExpirationTime(Math.floor(expiresAt / 1000))
    .sign(await signingKey(adminKey, PURPOSE));
}

/** The app and device a guest token stands for; a 401 saying what is wrong otherwise. */
export async function verifyGuestToken(adminKey: string, token: string): Promise<GuestClaims> {
  try {
    const { payload } = await jwtVerify(token, await signingKey(adminKey, PURPOSE), {
      issuer: SLUICE_ISSUER,
      audience: SLUICE_AUDIENCE,
      algorithms: ["HS256"],
      clockTolerance: 5,
    });
    if (payload.typ !== "guest" || typeof payload.sub !== "string" || typeof payload.app !== "string") {
      throw unauthorized("Token is malformed.");
    }
    return { appId: payload.app, deviceId: payload.sub };
  } catch (error) {
    if (error instanceof errors.JWTExpired)
      throw unauthorized("Guest token has expired: exchange the app's key again at POST /auth/attest.");
    if (error instanceof errors.JWSSignatureVerificationFailed) throw unauthorized("Token signature is invalid.");
    if (error instanceof GatewayError) throw error;
    throw unauthorized("Token is invalid.");
  }
}
