// The authorization endpoint's two halves. `startAuthorization` checks the
// client's request and sends the person to the single sign-on provider,
// carrying the request (and the sign-in's own secrets) in a ten-minute
// encrypted cookie bound to this browser. `finishAuthorization` completes the
// sign-in, makes the person a Sluice user as an end user's JWT would (created
// on first sight), and says what the one-use code the client gets once the
// person allows it will grant (consent.ts).
import type { JWTPayload } from "jose";
import { openFor, seal } from "../auth/sealed.ts";
import { userFromClaims } from "../auth/users.ts";
import type { Config, SsoConfig } from "../config/index.ts";
import { GatewayError } from "../http/errors.ts";
import type { Services } from "../services.ts";
import { finishSignIn, SIGN_IN_SECONDS, startSignIn } from "../sso/flow.ts";
import { operatorClaims } from "../sso/roles.ts";
import * as z from "../zod.ts";
import { isMcpResource } from "./access-token.ts";
import { isRegisteredRedirect, openClient } from "./clients.ts";
import { type CodeGrant, clientHash, newFamily } from "./grants.ts";

const PENDING_PURPOSE = "sluice oauth authorization v1";
export const AUTHORIZE_COOKIE = "sluice-oauth";
export const AUTHORIZE_SECONDS = SIGN_IN_SECONDS;

const requestSchema = z.object({
  response_type: z.optional(z.string()),
  client_id: z.string().check(z.minLength(1), z.maxLength(4000)),
  redirect_uri: z.string().check(z.minLength(1), z.maxLength(2000)),
  code_challenge: z.optional(z.string()),
  code_challenge_method: z.optional(z.string()),
  state: z.optional(z.string().check(z.maxLength(1000))),
  scope: z.optional(z.string().check(z.maxLength(1000))),
  resource: z.optional(z.string().check(z.maxLength(2000))),
});

/** The client's request, once its client and redirect URI are known good: errors from here on go back to the client. */
export interface AuthorizationRequest {
  clientId: string;
  redirectUri: string;
  challenge: string;
  state: string | null;
  scope: string | null;
  resource: string;
}

/** A refusal the client hears about at its redirect URI (RFC 6749 §4.1.2.1). */
export class RedirectedError extends Error {
  constructor(
    readonly redirectUri: string,
    readonly state: string | null,
    readonly error: string,
    message: string,
  ) {
    super(message);
  }
}

/** Where the client's redirect goes, with these parameters (and the issuer, RFC 9207). */
export function clientRedirect(redirectUri: string, issuer: string, params: Record<string, string | null>): string {
  const url = new URL(redirectUri);
  for (const [name, value] of Object.entries(params)) if (value !== null) url.searchParams.set(name, value);
  url.searchParams.set("iss", issuer);
  return url.toString();
}

const badAuthorization = (message: string) => new GatewayError(400, "invalid_request", message, { code: "invalid_request" });

const PKCE_CHALLENGE = /^[A-Za-z0-9_-]{43}$/;

/** The client's request checked: a bad client or redirect URI is a page here; anything else goes back to the client. */
export async function readAuthorizationRequest(
  config: Config,
  query: Record<string, string>,
  origin: string,
): Promise<AuthorizationRequest> {
  const parsed = requestSchema.safeParse(query);
  if (!parsed.success) throw badAuthorization("The authorization request needs `client_id` and `redirect_uri`.");
  const q = parsed.data;
  const client = await openClient(config.adminKey, q.client_id).catch(() => {
    throw badAuthorization("Unknown `client_id`: the application must register at /oauth/register first.");
  });
  if (!isRegisteredRedirect(client, q.redirect_uri)) {
    throw badAuthorization("The `redirect_uri` is not one this application registered.");
  }
  const state = q.state ?? null;
  const refuse = (error: string, message: string) => new RedirectedError(q.redirect_uri, state, error, message);
  if (q.response_type !== "code") throw refuse("unsupported_response_type", "Only `response_type=code` is supported.");
  if (q.code_challenge_method !== "S256" || !q.code_challenge || !PKCE_CHALLENGE.test(q.code_challenge)) {
    throw refuse("invalid_request", "PKCE is required: `code_challenge` (S256, base64url) and `code_challenge_method=S256`.");
  }
  const resource = q.resource ?? `${origin}/mcp`;
  if (!isMcpResource(resource, origin)) {
    throw refuse(
      "invalid_target",
      `The \`resource\` must be this gateway's MCP endpoint, ${origin}/mcp (or ${origin}/mcp/{server}).`,
    );
  }
  return {
    clientId: q.client_id,
    redirectUri: q.redirect_uri,
    challenge: q.code_challenge,
    state,
    scope: q.scope ?? null,
    resource,
  };
}

const pendingSchema = z.object({
  signIn: z.string(),
  request: z.object({
    clientId: z.string(),
    redirectUri: z.string(),
    challenge: z.string(),
    state: z.nullable(z.string()),
    scope: z.nullable(z.string()),
    resource: z.string(),
  }),
});

/** The provider's sign-in page, and the cookie that carries the client's request to the callback. */
export async function startAuthorization(
  config: Config,
  sso: SsoConfig,
  input: { request: AuthorizationRequest; gatewayOrigin: string; loginHint: string | undefined },
): Promise<{ url: string; cookie: string }> {
  const started = await startSignIn(config, sso, {
    origin: input.gatewayOrigin,
    returnTo: undefined,
    loginHint: input.loginHint,
    redirectUri: `${input.gatewayOrigin}/oauth/callback`,
  });
  const cookie = await seal(
    config.adminKey,
    PENDING_PURPOSE,
    { signIn: started.cookie, request: { ...input.request } },
    AUTHORIZE_SECONDS,
  );
  return { url: started.url, cookie };
}

/** The client's request this browser started, or undefined when its cookie is missing, expired or not ours. */
export const openPending = (config: Config, cookie: string | undefined) =>
  openFor(config.adminKey, PENDING_PURPOSE, cookie, pendingSchema);

/** The Sluice user a signed-in person is: the same as their JWT names them when the provider issues those, else namespaced. */
function userIdOf(config: Config, payload: JWTPayload): string {
  const sub = String(payload.sub);
  return payload.iss === config.jwt.issuer ? sub : `${payload.iss}|${sub}`;
}

/**
 * Completes the sign-in: what a code for the client's request would grant,
 * and who signed in, as the consent page names them. The code itself is
 * issued only once the person allows it (consent.ts).
 */
export async function finishAuthorization(
  services: Services,
  config: Config,
  sso: SsoConfig,
  input: { code: string; state: string; pending: z.infer<typeof pendingSchema>; defer: (work: Promise<unknown>) => void },
): Promise<{ grant: CodeGrant; person: string }> {
  const { request } = input.pending;
  const refuse = (error: string, message: string) => new RedirectedError(request.redirectUri, request.state, error, message);
  let payload: JWTPayload;
  let person: { email: string | null; name: string | null };
  try {
    ({ payload } = await finishSignIn(services, config, sso, {
      code: input.code,
      state: input.state,
      cookie: input.pending.signIn,
    }));
    person = operatorClaims(payload, sso);
  } catch (failure) {
    if (!(failure instanceof GatewayError) || (failure.status >= 500 && failure.kind !== "upstream")) throw failure;
    throw refuse(failure.kind === "upstream" ? "temporarily_unavailable" : "access_denied", failure.message);
  }
  const user = await userFromClaims(
    services.db,
    { userId: userIdOf(config, payload), email: person.email, name: person.name, teamId: null, tier: null },
    input.defer,
  );
  if (user.blocked || user.teamBlocked) throw refuse("access_denied", `This ${user.blocked ? "user" : "team"} is blocked.`);
  const grant: CodeGrant = {
    client: await clientHash(request.clientId),
    userId: user.userId,
    resource: request.resource,
    scope: request.scope,
    redirectUri: request.redirectUri,
    challenge: request.challenge,
    family: newFamily(),
  };
  return { grant, person: person.email ?? person.name ?? user.userId };
}
