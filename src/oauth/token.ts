// The token endpoint's grants (OAuth 2.1): an authorization code with its
// PKCE verifier, or a refresh token; each is taken once, and each answer
// is a fresh access token and a fresh refresh token (the old one is spent).
import { secretsEqual } from "../auth/constant-time.ts";
import { sha256 } from "../auth/encoding.ts";
import type { Config } from "../config/index.ts";
import type { Services } from "../services.ts";
import { issueAccessToken } from "./access-token.ts";
import { openClient } from "./clients.ts";
import { invalidClient, invalidGrant, invalidRequest, invalidTarget } from "./errors.ts";
import { clientHash, type Grant, issueRefreshToken, takeCode, takeRefreshToken } from "./grants.ts";

const VERIFIER = /^[A-Za-z0-9._~-]{43,128}$/;

export interface TokenAnswer {
  access_token: string;
  token_type: "Bearer";
  expires_in: number;
  refresh_token: string;
  scope?: string;
}

interface TokenContext {
  services: Services;
  config: Config;
  form: URLSearchParams;
}

const required = (form: URLSearchParams, name: string): string => {
  const value = form.get(name);
  if (!value) throw invalidRequest(`\`${name}\` is required.`);
  return value;
};

/** The public client the request names (it has no secret: PKCE and its redirect URI bind it). */
async function clientOf(ctx: TokenContext): Promise<string> {
  const clientId = ctx.form.get("client_id");
  if (!clientId) throw invalidClient("`client_id` is required.");
  await openClient(ctx.config.adminKey, clientId);
  return clientHash(clientId);
}

/** A `resource` the client names again must be the one it was granted (RFC 8707 §2.2). */
function checkResource(form: URLSearchParams, grant: Grant): void {
  const resource = form.get("resource");
  if (resource !== null && resource !== grant.resource)
    throw invalidTarget(`This grant is for ${grant.resource}, not ${resource}.`);
}

async function answer(ctx: TokenContext, grant: Grant): Promise<TokenAnswer> {
  const ttlSeconds = ctx.config.tokenTtlSeconds;
  return {
    access_token: await issueAccessToken(ctx.config.adminKey, { ...grant, ttlSeconds }),
    token_type: "Bearer",
    expires_in: ttlSeconds,
    refresh_token: await issueRefreshToken(ctx.services, grant),
    ...(grant.scope && { scope: grant.scope }),
  };
}

async function authorizationCode(ctx: TokenContext): Promise<TokenAnswer> {
  const client = await clientOf(ctx);
  const code = required(ctx.form, "code");
  const verifier = required(ctx.form, "code_verifier");
  const redirectUri = required(ctx.form, "redirect_uri");
  if (!VERIFIER.test(verifier)) throw invalidRequest("`code_verifier` must be 43 to 128 unreserved characters.");
  // Taken before it is checked: a code tried with a wrong verifier is spent, so it cannot be guessed at.
  const grant = await takeCode(ctx.services, code);
  if (!grant) throw invalidGrant("The authorization code is unknown, expired or already used.");
  if (!secretsEqual(grant.client, client)) throw invalidGrant("The authorization code was issued to another client.");
  if (grant.redirectUri !== redirectUri) throw invalidGrant("`redirect_uri` is not the one the code was issued for.");
  if (!secretsEqual(await sha256(verifier), grant.challenge))
    throw invalidGrant("The PKCE `code_verifier` does not match the challenge.");
  checkResource(ctx.form, grant);
  const { redirectUri: _redirect, challenge: _challenge, ...granted } = grant;
  return answer(ctx, granted);
}

async function refreshToken(ctx: TokenContext): Promise<TokenAnswer> {
  const client = await clientOf(ctx);
  const grant = await takeRefreshToken(ctx.services, required(ctx.form, "refresh_token"));
  if (!grant) throw invalidGrant("The refresh token is unknown, expired, already used or revoked.");
  if (!secretsEqual(grant.client, client)) throw invalidGrant("The refresh token was issued to another client.");
  checkResource(ctx.form, grant);
  return answer(ctx, grant);
}

const GRANTS: Record<string, (ctx: TokenContext) => Promise<TokenAnswer>> = {
  authorization_code: authorizationCode,
  refresh_token: refreshToken,
};

export function grantFor(grantType: string | null): ((ctx: TokenContext) => Promise<TokenAnswer>) | undefined {
  return grantType !== null && Object.hasOwn(GRANTS, grantType) ? GRANTS[grantType] : undefined;
}
