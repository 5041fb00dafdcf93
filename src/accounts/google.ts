// A user's own Google account for Gemini: the OAuth authorization-code flow
// with PKCE (a signed, short-lived `state` bound to the browser that started
// it; the verifier kept in Redis for one use), the refresh token sealed like
// a provider key, and access tokens refreshed before they expire, one
// refresh at a time, and kept in isolate memory only.

import { eq } from "drizzle-orm";
import { decodeProtectedHeader, jwtVerify, SignJWT } from "jose";
import { secretsEqual } from "../auth/constant-time.ts";
import { randomText, sha256 } from "../auth/encoding.ts";
import type { Config, GoogleOAuthConfig } from "../config/index.ts";
import { open, seal } from "../credentials/envelope.ts";
import type { Credential } from "../credentials/pool.ts";
import { providerAccounts } from "../db/schema.ts";
import { GatewayError } from "../http/errors.ts";
import { IsolateCache, RefreshingCache } from "../isolate-cache.ts";
import type { Services } from "../services.ts";
import { codeAssistProject } from "./code-assist.ts";

export type AccountRow = typeof providerAccounts.$inferSelect;

const STATE_TTL_SECONDS = 600;
const verifierKey = (nonce: string) => `sluice:oauth:google:${nonce}`;
const encoder = new TextEncoder();

export function googleConfig(config: Config): GoogleOAuthConfig {
  if (!config.google) {
    throw new GatewayError(
      404,
      "not_found",
      "Google accounts are not enabled here: GOOGLE_OAUTH_CLIENT_ID and GOOGLE_OAUTH_CLIENT_SECRET are unset.",
      {
        code: "google_oauth_disabled",
      },
    );
  }
  return config.google;
}

/** The key `state` is signed with: derived from the admin key, so no other secret is needed. */
async function stateKey(config: Config): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(`sluice:oauth-state:${config.adminKey}`)));
}

export const redirectUrl = (google: GoogleOAuthConfig, origin: string) =>
  google.redirectUrl ?? `${origin}/api/provider-accounts/google/callback`;

/**
 * The browser that starts a connection gets a random value in a cookie, and
 * the state carries its hash: Google's redirect back completes only in that
 * browser, so nobody can send a victim a link that connects the victim's
 * Google account to the sender's Sluice user.
 */
export const BINDING_COOKIE_SECONDS = STATE_TTL_SECONDS;

/** Where to send the user: Google's consent screen, with PKCE and a signed `state` naming them and their browser. */
export async function startUrl(
  services: Services,
  config: Config,
  input: { userId: string; origin: string },
): Promise<{ url: string; binding: string }> {
  const google = googleConfig(config);
  const nonce = randomText(16);
  const verifier = randomText(32);
  const binding = randomText(32);
  const challenge = await sha256(verifier);
  await services.redis.set(verifierKey(nonce), verifier, { ex: STATE_TTL_SECONDS });
  const state = await new SignJWT({ nonce, bnd: await sha256(binding) })
    .setProtectedHeader({ alg: "HS256" })
    .setSubject(input.userId)
    .setAudience("sluice:google-oauth")
    .setIssuedAt()
    .setExpirationTime(`${STATE_TTL_SECONDS}s`)
    .sign(await stateKey(config));
  const url = new URL(google.authorizeUrl);
  url.search = new URLSearchParams({
    client_id: google.clientId,
    redirect_uri: redirectUrl(google, input.origin),
    response_type: "code",
    scope: google.scopes,
    state,
    code_challenge: challenge,
    code_challenge_method: "S256",
    // A refresh token, and asked for again on each connection, so a reconnect gets a fresh one.
    access_type: "offline",
    prompt: "consent",
    include_granted_scopes: "true",
  }).toString();
  return { url: url.toString(), binding };
}

const badState = (why: string) =>
  new GatewayError(400, "invalid_request", `The sign-in could not be completed: ${why} Start again.`, {
    code: "invalid_oauth_state",
  });

/**
 * Checks `state` (signature, expiry, the browser it was issued to) and takes
 * its verifier, once: a replayed, expired or carried-off state is refused.
 */
export async function takeState(
  services: Services,
  config: Config,
  input: { state: string; binding: string | undefined },
): Promise<{ userId: string; verifier: string }> {
  const { state } = input;
  let claims: { sub?: string; nonce?: unknown; bnd?: unknown };
  try {
    // A state that is not even a signed token is refused before verification is started on it.
    if (decodeProtectedHeader(state).alg !== "HS256") throw new Error("not an HS256 token");
    ({ payload: claims } = await jwtVerify(state, await stateKey(config), {
      audience: "sluice:google-oauth",
      algorithms: ["HS256"],
    }));
  } catch {
    throw badState("the state is not one this gateway issued, or it has expired.");
  }
  if (!claims.sub || typeof claims.nonce !== "string" || typeof claims.bnd !== "string") {
    throw badState("the state is incomplete.");
  }
  if (!input.binding || !secretsEqual(await sha256(input.binding), claims.bnd)) {
    throw badState("it must finish in the browser that started it (its cookie is missing or not this sign-in's).");
  }
  const verifier = await services.redis.getdel<string>(verifierKey(claims.nonce));
  if (!verifier) throw badState("this sign-in was already used, or it has expired.");
  return { userId: claims.sub, verifier: String(verifier) };
}

interface TokenAnswer {
  access_token?: string;
  expires_in?: number;
  refresh_token?: string;
  scope?: string;
  id_token?: string;
  error?: string;
  error_description?: string;
}

async function tokenRequest(
  google: GoogleOAuthConfig,
  form: Record<string, string>,
): Promise<{ status: number; body: TokenAnswer }> {
  const response = await fetch(google.tokenUrl, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
    body: new URLSearchParams({ client_id: google.clientId, client_secret: google.clientSecret, ...form }),
  });
  const body = (await response.json().catch(() => ({}))) as TokenAnswer;
  return { status: response.status, body };
}

/** The id token's claims, read without checking its signature: it came straight from Google's token endpoint over TLS. */
function identity(idToken: string | undefined): { sub?: string; email?: string } {
  try {
    const payload = idToken?.split(".")[1];
    return payload
      ? (JSON.parse(atob(payload.replaceAll("-", "+").replaceAll("_", "/"))) as { sub?: string; email?: string })
      : {};
  } catch {
    return {};
  }
}

const context = (row: Pick<AccountRow, "id" | "userId" | "provider">) => `sluice:account:${row.id}:${row.provider}:${row.userId}`;

/** Scopes that only say who the account is; every other scope asked for must be granted. */
const IDENTITY_SCOPES = new Set([
  "openid",
  "email",
  "profile",
  "https://www.googleapis.com/auth/userinfo.email",
  "https://www.googleapis.com/auth/userinfo.profile",
]);

/** With granular consent a user may untick scopes: calls would then fail later, so the connection fails now. */
function checkGranted(asked: string, granted: string | undefined): void {
  if (granted === undefined) return;
  const held = new Set(granted.split(/\s+/));
  const missing = asked.split(/\s+/).filter((scope) => scope && !IDENTITY_SCOPES.has(scope) && !held.has(scope));
  if (missing.length === 0) return;
  throw new GatewayError(
    400,
    "invalid_request",
    `Google granted less than Sluice needs (not granted: ${missing.join(", ")}). Connect again and allow all of it.`,
    { code: "oauth_scopes_missing" },
  );
}

/** Exchanges the code for tokens and keeps the account: the refresh token sealed, the access token in memory. */
export async function connect(
  services: Services,
  config: Config,
  input: { userId: string; code: string; verifier: string; origin: string },
): Promise<AccountRow> {
  const google = googleConfig(config);
  const { status, body } = await tokenRequest(google, {
    grant_type: "authorization_code",
    code: input.code,
    code_verifier: input.verifier,
    redirect_uri: redirectUrl(google, input.origin),
  });
  if (status !== 200 || !body.access_token) {
    throw new GatewayError(400, "invalid_request", `Google did not accept the sign-in (${body.error ?? status}). Start again.`, {
      code: "oauth_exchange_failed",
    });
  }
  if (!body.refresh_token) {
    throw new GatewayError(
      400,
      "invalid_request",
      "Google sent no refresh token; remove Sluice's access in your Google account and connect again.",
      {
        code: "oauth_no_refresh_token",
      },
    );
  }
  checkGranted(google.scopes, body.scope);
  // Code Assist names a project in every call: found, or the account onboarded, now.
  const project = google.api === "code-assist" ? await codeAssistProject(google, body.access_token) : null;
  const who = identity(body.id_token);
  const [existing] = await services.db.select().from(providerAccounts).where(eq(providerAccounts.userId, input.userId));
  const id = existing?.id ?? `acct_${randomText(12)}`;
  const sealed = await seal(body.refresh_token, context({ id, userId: input.userId, provider: "google" }), config.encryption);
  const values = {
    subject: who.sub ?? null,
    email: who.email ?? null,
    scopes: body.scope ?? google.scopes,
    api: google.api,
    project,
    ...sealed,
    updatedAt: new Date(),
  };
  const [row] = await services.db
    .insert(providerAccounts)
    .values({ id, userId: input.userId, provider: "google", ...values })
    .onConflictDoUpdate({ target: [providerAccounts.userId, providerAccounts.provider], set: values })
    .returning();
  if (!row) throw new Error("account upsert returned no row");
  forgetAccount(services, row.userId);
  remember(row, body.access_token, body.expires_in);
  return row;
}

/** Access tokens by account and version (the row's update time), never written anywhere. */
const accessTokens = new IsolateCache<{ token: string; expiresAt: number }>(10_000, 3600_000);
const tokenKey = (row: AccountRow) => `${row.id}:${row.updatedAt.getTime()}`;
/** Refreshed this long before Google's expiry, so a token never expires in flight. */
const EARLY_MS = 60_000;

function remember(row: AccountRow, token: string, expiresIn: number | undefined): string {
  const lifetimeMs = Math.max(0, (expiresIn ?? 3600) * 1000 - EARLY_MS);
  accessTokens.set(tokenKey(row), { token, expiresAt: Date.now() + lifetimeMs }, lifetimeMs);
  return token;
}

export const reconnect = () =>
  new GatewayError(
    401,
    "authentication",
    "Your Google account's access has expired or was revoked. Connect it again: POST /api/provider-accounts/google/start.",
    { code: "google_account_reconnect" },
  );

/** Grants Google refused lately, by account version: asked about again only after this, not on every call. */
const refusedGrants = new IsolateCache<true>(10_000, 30_000);
/** Refreshes under way, so the requests that find a token expired together share one. */
const refreshing = new Map<string, Promise<string>>();

async function refreshed(row: AccountRow, config: Config): Promise<string> {
  const google = googleConfig(config);
  const refreshToken = await open(row, context(row), config.encryption);
  const { status, body } = await tokenRequest(google, { grant_type: "refresh_token", refresh_token: refreshToken });
  if (status === 200 && body.access_token) return remember(row, body.access_token, body.expires_in);
  if (body.error === "invalid_grant" || status === 401) {
    refusedGrants.set(tokenKey(row), true);
    throw reconnect();
  }
  throw new GatewayError(
    502,
    "upstream",
    `Google's token endpoint answered ${status}; the account's token could not be refreshed.`,
    { code: "google_token_refresh_failed" },
  );
}

/** A current access token for the account: from memory, or refreshed at Google (one refresh for all who wait). */
export async function accessToken(row: AccountRow, config: Config): Promise<string> {
  const key = tokenKey(row);
  const cached = accessTokens.get(key);
  if (cached && cached.expiresAt > Date.now()) return cached.token;
  if (refusedGrants.get(key)) throw reconnect();
  let refresh = refreshing.get(key);
  if (!refresh) {
    refresh = refreshed(row, config).finally(() => refreshing.delete(key));
    refreshing.set(key, refresh);
  }
  return refresh;
}

/**
 * Revokes the grant at Google and deletes the account, which is gone
 * either way; `revoked` says whether Google confirmed it (if not, the user
 * can remove the access in their Google account).
 */
export async function disconnect(
  services: Services,
  config: Config,
  userId: string,
): Promise<{ disconnected: boolean; revoked: boolean }> {
  const [row] = await services.db.select().from(providerAccounts).where(eq(providerAccounts.userId, userId));
  if (!row) return { disconnected: false, revoked: false };
  let revoked = false;
  try {
    const refreshToken = await open(row, context(row), config.encryption);
    const answer = await fetch(googleConfig(config).revokeUrl, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ token: refreshToken }),
      signal: AbortSignal.timeout(10_000),
    });
    revoked = answer.ok;
    if (!revoked) console.warn(`sluice: Google did not revoke account ${row.id}: ${answer.status}`);
  } catch (error) {
    console.warn(`sluice: revoking account ${row.id} at Google failed: ${error instanceof Error ? error.message : "unknown"}`);
  }
  await services.db.delete(providerAccounts).where(eq(providerAccounts.id, row.id));
  accessTokens.delete(tokenKey(row));
  forgetAccount(services, userId);
  return { disconnected: true, revoked };
}

export function accountView(row: AccountRow) {
  return {
    provider: row.provider,
    api: row.api,
    email: row.email,
    scopes: row.scopes.split(/\s+/).filter(Boolean),
    allow_fallback: row.allowFallback,
    connected_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  };
}

const accounts = new WeakMap<Services, RefreshingCache<AccountRow | null>>();

function accountCache(services: Services, config: Config): RefreshingCache<AccountRow | null> {
  let cache = accounts.get(services);
  if (!cache) {
    cache = new RefreshingCache(10_000, config.routing.catalogRefreshMs, 10 * 60_000);
    accounts.set(services, cache);
  }
  return cache;
}

/** Drops this isolate's copy after a change; other isolates re-read within CATALOG_REFRESH. */
function forgetAccount(services: Services, userId: string): void {
  accounts.get(services)?.forget(userId);
}

/** The user's connected Google account, from the isolate cache or Postgres; null when there is none. */
export async function googleAccountOf(
  services: Services,
  config: Config,
  userId: string,
  defer: (work: Promise<unknown>) => void,
): Promise<AccountRow | null> {
  if (!config.google) return null;
  const cache = accountCache(services, config);
  return cache.get(
    userId,
    async () => (await services.db.select().from(providerAccounts).where(eq(providerAccounts.userId, userId)))[0] ?? null,
    defer,
  );
}

/**
 * The account as a credential for Gemini: its secret is a fresh access
 * token, sent as a bearer token, and only ever to Google's own API for the
 * account (the Gemini API, or Code Assist with the account's project), never
 * to the target's base URL.
 */
export function accountCredential(row: AccountRow, config: Config): Credential {
  const google = googleConfig(config);
  const codeAssist = row.api === "code-assist" && row.project ? { project: row.project } : undefined;
  return {
    id: `account:${row.id}`,
    owner: "user",
    weight: 1,
    // Always before the gateway's own key, which serves only when the user allows it and the account cannot.
    preferred: true,
    limits: { requestsPerMinute: null, tokensPerMinute: null, tokensPerDay: null },
    bearer: true,
    settings: codeAssist
      ? { baseUrl: google.codeAssistUrl, codeAssist, apiVersion: undefined }
      : { baseUrl: google.geminiApiUrl, apiVersion: undefined },
    secret: () => accessToken(row, config),
    invalidate: () => accessTokens.delete(tokenKey(row)),
  };
}

export async function setFallback(services: Services, userId: string, allow: boolean): Promise<AccountRow | undefined> {
  const [row] = await services.db
    .update(providerAccounts)
    .set({ allowFallback: allow, updatedAt: new Date() })
    .where(eq(providerAccounts.userId, userId))
    .returning();
  forgetAccount(services, userId);
  return row;
}
