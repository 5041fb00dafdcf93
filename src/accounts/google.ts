// A user's own Google account for Gemini: the OAuth authorization-code flow
// with PKCE (a signed, short-lived `state`; the verifier kept in Redis for
// one use), the refresh token sealed like a provider key, and access tokens
// refreshed before they expire and kept in isolate memory only.
import { eq } from "drizzle-orm";
import { jwtVerify, SignJWT } from "jose";
import type { Config, GoogleOAuthConfig } from "../config/index.ts";
import { open, seal } from "../credentials/envelope.ts";
import type { Credential } from "../credentials/pool.ts";
import { providerAccounts } from "../db/schema.ts";
import { GatewayError } from "../http/errors.ts";
import { IsolateCache, RefreshingCache } from "../isolate-cache.ts";
import type { Services } from "../services.ts";

export type AccountRow = typeof providerAccounts.$inferSelect;

const STATE_TTL_SECONDS = 600;
const verifierKey = (nonce: string) => `sluice:oauth:google:${nonce}`;
const encoder = new TextEncoder();

const base64url = (bytes: Uint8Array) =>
  btoa(String.fromCharCode(...bytes))
    .replaceAll("+", "-")
    .replaceAll("/", "_")
    .replace(/=+$/, "");
const randomText = (size: number) => base64url(crypto.getRandomValues(new Uint8Array(size)));

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

/** Where to send the user: Google's consent screen, with PKCE and a signed `state` naming them. */
export async function startUrl(services: Services, config: Config, userId: string, origin: string): Promise<string> {
  const google = googleConfig(config);
  const nonce = randomText(16);
  const verifier = randomText(32);
  const challenge = base64url(new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(verifier))));
  await services.redis.set(verifierKey(nonce), verifier, { ex: STATE_TTL_SECONDS });
  const state = await new SignJWT({ nonce })
    .setProtectedHeader({ alg: "HS256" })
    .setSubject(userId)
    .setAudience("sluice:google-oauth")
    .setIssuedAt()
    .setExpirationTime(`${STATE_TTL_SECONDS}s`)
    .sign(await stateKey(config));
  const url = new URL(google.authorizeUrl);
  url.search = new URLSearchParams({
    client_id: google.clientId,
    redirect_uri: redirectUrl(google, origin),
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
  return url.toString();
}

const badState = (why: string) =>
  new GatewayError(400, "invalid_request", `The sign-in could not be completed: ${why} Start again.`, {
    code: "invalid_oauth_state",
  });

/** Checks `state` (signature, expiry) and takes its verifier, once: a replayed or expired state is refused. */
export async function takeState(
  services: Services,
  config: Config,
  state: string,
): Promise<{ userId: string; verifier: string }> {
  let claims: { sub?: string; nonce?: unknown };
  try {
    ({ payload: claims } = await jwtVerify(state, await stateKey(config), {
      audience: "sluice:google-oauth",
      algorithms: ["HS256"],
    }));
  } catch {
    throw badState("the state is not one this gateway issued, or it has expired.");
  }
  if (!claims.sub || typeof claims.nonce !== "string") throw badState("the state is incomplete.");
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
  const who = identity(body.id_token);
  const [existing] = await services.db.select().from(providerAccounts).where(eq(providerAccounts.userId, input.userId));
  const id = existing?.id ?? `acct_${randomText(12)}`;
  const sealed = await seal(body.refresh_token, context({ id, userId: input.userId, provider: "google" }), config.encryption);
  const values = {
    subject: who.sub ?? null,
    email: who.email ?? null,
    scopes: body.scope ?? google.scopes,
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
    "Your Google account's access has expired or was revoked. Connect it again: GET /api/provider-accounts/google/start.",
    { code: "google_account_reconnect" },
  );

/** A current access token for the account: from memory, or refreshed at Google. */
export async function accessToken(row: AccountRow, config: Config): Promise<string> {
  const cached = accessTokens.get(tokenKey(row));
  if (cached && cached.expiresAt > Date.now()) return cached.token;
  const google = googleConfig(config);
  const refreshToken = await open(row, context(row), config.encryption);
  const { status, body } = await tokenRequest(google, { grant_type: "refresh_token", refresh_token: refreshToken });
  if (status === 200 && body.access_token) return remember(row, body.access_token, body.expires_in);
  if (body.error === "invalid_grant" || status === 401) throw reconnect();
  throw new GatewayError(
    502,
    "upstream",
    `Google's token endpoint answered ${status}; the account's token could not be refreshed.`,
    {
      code: "google_token_refresh_failed",
    },
  );
}

/** Revokes the grant at Google (best effort: the account is forgotten either way) and deletes it. */
export async function disconnect(services: Services, config: Config, userId: string): Promise<boolean> {
  const [row] = await services.db.select().from(providerAccounts).where(eq(providerAccounts.userId, userId));
  if (!row) return false;
  try {
    const refreshToken = await open(row, context(row), config.encryption);
    const revoked = await fetch(googleConfig(config).revokeUrl, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ token: refreshToken }),
    });
    if (!revoked.ok) console.warn(`sluice: Google did not revoke account ${row.id}: ${revoked.status}`);
  } catch (error) {
    console.warn(`sluice: revoking account ${row.id} at Google failed: ${error instanceof Error ? error.message : "unknown"}`);
  }
  await services.db.delete(providerAccounts).where(eq(providerAccounts.id, row.id));
  accessTokens.delete(tokenKey(row));
  forgetAccount(services, userId);
  return true;
}

export function accountView(row: AccountRow) {
  return {
    provider: row.provider,
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

/** The account as a credential for Gemini: its secret is a fresh access token, sent as a bearer token. */
export function accountCredential(row: AccountRow, config: Config): Credential {
  return {
    id: `account:${row.id}`,
    owner: "user",
    // Picked before the gateway's own key whenever the user allows that as a fallback.
    weight: 1_000_000,
    limits: { requestsPerMinute: null, tokensPerMinute: null, tokensPerDay: null },
    bearer: true,
    secret: () => accessToken(row, config),
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
