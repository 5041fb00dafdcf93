// Helpers for identity tests: tokens signed as an app or identity provider would.
import { env } from "cloudflare:test";
import { exportJWK, generateKeyPair, type JWTPayload, SignJWT } from "jose";
import { BASE, callWorker, TEST_ADMIN_KEY } from "./helpers.ts";
import { TEST_JWT_AUDIENCE, TEST_JWT_ISSUER, TEST_JWT_SECRET } from "./setup/constants.ts";

export const uniqueId = (prefix: string) => `${prefix}-${crypto.randomUUID().slice(0, 8)}`;

/** An app's HS256 token with the configured issuer and audience. */
export function appToken(
  claims: JWTPayload,
  options: { secret?: string; expiresIn?: string | number; notBefore?: string | number } = {},
) {
  let jwt = new SignJWT(claims)
    .setProtectedHeader({ alg: "HS256" })
    .setIssuer(TEST_JWT_ISSUER)
    .setAudience(TEST_JWT_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(options.expiresIn ?? "10m");
  if (claims.iss) jwt = jwt.setIssuer(claims.iss);
  if (claims.aud) jwt = jwt.setAudience(claims.aud);
  if (options.notBefore !== undefined) jwt = jwt.setNotBefore(options.notBefore);
  return jwt.sign(new TextEncoder().encode(options.secret ?? TEST_JWT_SECRET));
}

/** An identity provider: a key pair whose public half is published on the mock's JWKS URL. */
export async function identityProvider(alg: "RS256" | "ES256" | "EdDSA") {
  const { publicKey, privateKey } = await generateKeyPair(alg, {
    extractable: true,
    crv: alg === "EdDSA" ? "Ed25519" : undefined,
  });
  const kid = uniqueId(alg);
  const jwk = { ...(await exportJWK(publicKey)), kid, alg, use: "sig" };
  // Each provider has a key set of its own, as the gateway caches key sets by URL.
  const jwksUrl = `${env.JWKS_URL}/${kid}`;
  await fetch(jwksUrl, { method: "PUT", body: JSON.stringify({ keys: [jwk] }) });
  return {
    kid,
    publicKey,
    bindings: { ...env, JWKS_URL: jwksUrl },
    sign: (claims: JWTPayload, header: { kid?: string } = {}) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg, kid: header.kid ?? kid })
        .setIssuer(TEST_JWT_ISSUER)
        .setAudience(TEST_JWT_AUDIENCE)
        .setIssuedAt()
        .setExpirationTime("10m")
        .sign(privateKey),
  };
}

export async function admin(method: string, path: string, body?: unknown) {
  const { response } = await callWorker(
    new Request(`${BASE}${path}`, {
      method,
      headers: { authorization: `Bearer ${TEST_ADMIN_KEY}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    }),
  );
  return { status: response.status, body: (await response.json()) as Record<string, unknown> & { key?: string; id?: string } };
}

export function chatAs(credential: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}) {
  return new Request(`${BASE}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${credential}`, "content-type": "application/json", ...headers },
    body: JSON.stringify({ model: "mock-echo", messages: [{ role: "user", content: "who am I" }], ...extra }),
  });
}

export async function errorOf(
  response: Response,
): Promise<{ status: number; message: string; type: string; code: string | null }> {
  const body = (await response.json()) as { error: { message: string; type: string; code: string | null } };
  return { status: response.status, ...body.error };
}
