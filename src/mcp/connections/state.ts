// The start of a user's connection to an MCP server, as Google accounts do
// it: PKCE (S256, the verifier kept in Redis for one use), and a signed,
// short-lived `state` naming the user, the server and the hash of a value
// the starting browser holds in a cookie, so the server's redirect back
// completes only there, once.

import { decodeProtectedHeader, jwtVerify, SignJWT } from "jose";
import { secretsEqual } from "../../auth/constant-time.ts";
import { randomText, sha256 } from "../../auth/encoding.ts";
import type { Config } from "../../config/index.ts";
import { GatewayError } from "../../http/errors.ts";
import type { Services } from "../../services.ts";
import type { McpServer } from "../registry.ts";

export const STATE_TTL_SECONDS = 600;
const AUDIENCE = "sluice:mcp-oauth";
const verifierKey = (nonce: string) => `sluice:oauth:mcp:${nonce}`;
const encoder = new TextEncoder();

/** Derived from the admin key, and apart from the Google sign-in's, so one flow's state never passes for the other's. */
async function stateKey(config: Config): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(`sluice:mcp-oauth-state:${config.adminKey}`)));
}

/** The one callback every `user_oauth` server's client registers. */
export const CALLBACK_PATH = "/api/mcp-connections/callback";
export const callbackUrl = (origin: string) => `${origin}${CALLBACK_PATH}`;

/** The server's authorization URL with PKCE and a signed state, and the value the browser keeps in its cookie. */
export async function startAuthorization(
  services: Services,
  config: Config,
  input: { userId: string; server: McpServer & { oauth: NonNullable<McpServer["oauth"]> }; origin: string },
): Promise<{ url: string; binding: string }> {
  const nonce = randomText(16);
  const verifier = randomText(32);
  const binding = randomText(32);
  await services.redis.set(verifierKey(nonce), verifier, { ex: STATE_TTL_SECONDS });
  const state = await new SignJWT({ nonce, srv: input.server.name, bnd: await sha256(binding) })
    .setProtectedHeader({ alg: "HS256" })
    .setSubject(input.userId)
    .setAudience(AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(`${STATE_TTL_SECONDS}s`)
    .sign(await stateKey(config));
  const url = new URL(input.server.oauth.authorizationUrl);
  // Parameters the server's URL already carries (a tenant, an audience) are kept.
  for (const [name, value] of Object.entries({
    response_type: "code",
    client_id: input.server.oauth.clientId,
    redirect_uri: callbackUrl(input.origin),
    state,
    code_challenge: await sha256(verifier),
    code_challenge_method: "S256",
    ...(input.server.oauth.scopes && { scope: input.server.oauth.scopes }),
  })) {
    url.searchParams.set(name, value);
  }
  return { url: url.toString(), binding };
}

const badState = (why: string) =>
  new GatewayError(400, "invalid_request", `The connection could not be completed: ${why} Start again.`, {
    code: "invalid_oauth_state",
  });

/** Checks `state` (signature, expiry, the browser it was issued to) and takes its verifier, once. */
export async function takeState(
  services: Services,
  config: Config,
  input: { state: string; binding: string | undefined },
): Promise<{ userId: string; server: string; verifier: string }> {
  let claims: { sub?: string; nonce?: unknown; srv?: unknown; bnd?: unknown };
  try {
    if (decodeProtectedHeader(input.state).alg !== "HS256") throw new Error("not an HS256 token");
    ({ payload: claims } = await jwtVerify(input.state, await stateKey(config), { audience: AUDIENCE, algorithms: ["HS256"] }));
  } catch {
    throw badState("the state is not one this gateway issued, or it has expired.");
  }
  if (!claims.sub || typeof claims.nonce !== "string" || typeof claims.srv !== "string" || typeof claims.bnd !== "string") {
    throw badState("the state is incomplete.");
  }
  if (!input.binding || !secretsEqual(await sha256(input.binding), claims.bnd)) {
    throw badState("it must finish in the browser that started it (its cookie is missing or not this connection's).");
  }
  const verifier = await services.redis.getdel<string>(verifierKey(claims.nonce));
  if (!verifier) throw badState("this connection was already completed, or it has expired.");
  return { userId: claims.sub, server: claims.srv, verifier: String(verifier) };
}
