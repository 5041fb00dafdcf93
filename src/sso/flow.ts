// The sign-in itself: OpenID Connect's authorization code flow with PKCE
// (S256), `state` and `nonce`. What the browser must bring back (state,
// nonce, the PKCE verifier, where to return) travels in a short-lived
// encrypted cookie bound to the browser that started; each state is taken
// once. The ID token is verified against the provider's JWKS, issuer,
// audience (this client), nonce and expiry.

import { errors, type JWTPayload, jwtVerify } from "jose";
import { secretsEqual } from "../auth/constant-time.ts";
import { randomText, sha256 } from "../auth/encoding.ts";
import { seal, unseal } from "../auth/sealed.ts";
import type { Config, SsoConfig } from "../config/index.ts";
import { hasControl } from "../formats/fields.ts";
import { GatewayError } from "../http/errors.ts";
import type { Services } from "../services.ts";
import { type Discovery, discover, providerKeys } from "./provider.ts";

const SIGN_IN_PURPOSE = "sluice sso sign-in v1";
export const SIGN_IN_COOKIE = "sluice-sso";
export const SIGN_IN_SECONDS = 600;
const ID_TOKEN_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA"];
const CLOCK_TOLERANCE_SECONDS = 60;

const usedStateKey = (hash: string) => `sluice:sso:state:${hash}`;

export const badSignIn = (why: string) =>
  new GatewayError(400, "invalid_request", `The sign-in could not be completed: ${why} Start again.`, {
    code: "invalid_sso_state",
  });

const providerRefused = (why: string) =>
  new GatewayError(502, "upstream", `The identity provider ${why}.`, { code: "sso_provider_error" });

/** Where a sign-in may return: a path on this gateway, never another site. */
export function safeReturnPath(path: string | undefined): string {
  if (!path?.startsWith("/") || path.startsWith("//") || path.includes("\\")) return "/dashboard/";
  return path.length > 512 || hasControl(path) ? "/dashboard/" : path;
}

export const redirectUri = (sso: SsoConfig, origin: string) => sso.redirectUrl ?? `${origin}/auth/sso/callback`;

interface SignIn {
  state: string;
  nonce: string;
  verifier: string;
  returnTo: string;
  redirectUri: string;
}

/** The provider's sign-in page for this browser, and the cookie that lets only this browser finish. */
export async function startSignIn(
  config: Config,
  sso: SsoConfig,
  input: { origin: string; returnTo: string | undefined; loginHint: string | undefined; redirectUri?: string },
): Promise<{ url: string; cookie: string }> {
  const provider = await discover(sso);
  const signIn: SignIn = {
    state: randomText(32),
    nonce: randomText(32),
    verifier: randomText(32),
    returnTo: safeReturnPath(input.returnTo),
    redirectUri: input.redirectUri ?? redirectUri(sso, input.origin),
  };
  const cookie = await seal(config.adminKey, SIGN_IN_PURPOSE, { ...signIn }, SIGN_IN_SECONDS);
  const url = new URL(provider.authorization_endpoint);
  const params: Record<string, string> = {
    response_type: "code",
    client_id: sso.clientId,
    redirect_uri: signIn.redirectUri,
    scope: sso.scopes,
    state: signIn.state,
    nonce: signIn.nonce,
    code_challenge: await sha256(signIn.verifier),
    code_challenge_method: "S256",
    ...(input.loginHint && { login_hint: input.loginHint }),
  };
  for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value);
  return { url: url.toString(), cookie };
}

async function openSignIn(config: Config, cookie: string | undefined): Promise<SignIn> {
  if (!cookie) throw badSignIn("it must finish in the browser that started it, within ten minutes (its cookie is missing).");
  try {
    const payload = await unseal(config.adminKey, SIGN_IN_PURPOSE, cookie);
    const { state, nonce, verifier, returnTo, redirectUri } = payload as Partial<Record<keyof SignIn, unknown>>;
    if ([state, nonce, verifier, returnTo, redirectUri].some((value) => typeof value !== "string")) throw new Error("incomplete");
    return payload as unknown as SignIn;
  } catch {
    throw badSignIn("it has expired, or its cookie is not one this gateway set.");
  }
}

interface TokenAnswer {
  id_token?: unknown;
  error?: unknown;
  error_description?: unknown;
}

/** The code exchanged at the token endpoint, with the client's secret as the provider asks for it. */
async function exchangeCode(provider: Discovery, sso: SsoConfig, code: string, signIn: SignIn): Promise<string> {
  const form = new URLSearchParams({
    grant_type: "authorization_code",
    code,
    redirect_uri: signIn.redirectUri,
    code_verifier: signIn.verifier,
    client_id: sso.clientId,
  });
  const headers: Record<string, string> = { "content-type": "application/x-www-form-urlencoded", accept: "application/json" };
  if (sso.clientSecret) {
    const methods = provider.token_endpoint_auth_methods_supported ?? ["client_secret_basic"];
    if (methods.includes("client_secret_basic")) {
      headers.authorization = `Basic ${btoa(`${encodeURIComponent(sso.clientId)}:${encodeURIComponent(sso.clientSecret)}`)}`;
    } else form.set("client_secret", sso.clientSecret);
  }
  let response: Response;
  try {
    response = await fetch(provider.token_endpoint, { method: "POST", headers, body: form, signal: AbortSignal.timeout(10_000) });
  } catch {
    throw providerRefused("could not be reached to exchange the code");
  }
  const answer = (await response.json().catch(() => ({}))) as TokenAnswer;
  if (!response.ok || typeof answer.id_token !== "string") {
    const error = typeof answer.error === "string" ? answer.error.slice(0, 64) : `HTTP ${response.status}`;
    throw providerRefused(`refused the code (${error})`);
  }
  return answer.id_token;
}

function idTokenRefused(error: unknown): GatewayError {
  const why =
    error instanceof errors.JWTExpired
      ? "it has expired"
      : error instanceof errors.JWTClaimValidationFailed
        ? `its \`${error.claim}\` is not this gateway's`
        : error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWSSignatureVerificationFailed
          ? "its signature is not the provider's"
          : "it is not a valid ID token";
  return providerRefused(`sent an ID token that does not hold: ${why}`);
}

/** The ID token, verified: the provider's key, its issuer, this client as audience, this sign-in's nonce, unexpired. */
async function verifyIdToken(provider: Discovery, sso: SsoConfig, idToken: string, nonce: string): Promise<JWTPayload> {
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(idToken, providerKeys(provider.jwks_uri), {
      issuer: provider.issuer,
      audience: sso.clientId,
      algorithms: ID_TOKEN_ALGORITHMS,
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
      requiredClaims: ["exp", "iat", "sub"],
    }));
  } catch (error) {
    throw idTokenRefused(error);
  }
  if (typeof payload.nonce !== "string" || !secretsEqual(payload.nonce, nonce)) {
    throw providerRefused("sent an ID token that does not hold: its `nonce` is not this sign-in's");
  }
  // A token for several audiences must name this client as the one it was issued to.
  if (Array.isArray(payload.aud) && payload.aud.length > 1 && payload.azp !== sso.clientId) {
    throw providerRefused("sent an ID token that does not hold: its `azp` is not this gateway's");
  }
  return payload;
}

/** Finishes a sign-in in the browser that started it: the verified ID token, and where to return. */
export async function finishSignIn(
  services: Services,
  config: Config,
  sso: SsoConfig,
  input: { code: string; state: string; cookie: string | undefined },
): Promise<{ payload: JWTPayload; returnTo: string }> {
  const signIn = await openSignIn(config, input.cookie);
  if (!secretsEqual(input.state, signIn.state)) throw badSignIn("its state is not the one this browser started with.");
  const taken = await services.redis.set(usedStateKey(await sha256(signIn.state)), "1", { nx: true, ex: SIGN_IN_SECONDS });
  if (taken === null) throw badSignIn("this sign-in was already used.");
  const provider = await discover(sso);
  const idToken = await exchangeCode(provider, sso, input.code, signIn);
  return { payload: await verifyIdToken(provider, sso, idToken, signIn.nonce), returnTo: signIn.returnTo };
}
