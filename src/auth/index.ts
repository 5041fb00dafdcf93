// Decides who is calling: the admin key, a virtual key, a Sluice-issued
// token, or an end user's JWT. Produces a Principal or a refusal that helps
// and leaks nothing.
import { guestPrincipal } from "../apps/guest.ts";
import { forgetApp, forgetApps } from "../apps/registry.ts";
import type { GatewayContext } from "../context.ts";
import { GatewayError, unauthorized } from "../http/errors.ts";
import { verifyAccessToken } from "../oauth/access-token.ts";
import { sessionPrincipal } from "../sso/session.ts";
import { secretsEqual } from "./constant-time.ts";
import { hasQueryCredential, readCredential } from "./credentials.ts";
import { claimText, verifyUserJwt } from "./jwt.ts";
import { type CachedKey, findKeyByHash, findKeyById, forgetKey, forgetKeys, hashSecret } from "./keys.ts";
import { ADMIN_TOKEN_PREFIX, adminTokenPrincipal } from "./operators.ts";
import type { Principal } from "./principal.ts";
import { sluiceTokenKind, verifyKeyToken } from "./sluice-token.ts";
import { type Claims, forgetUser, forgetUsers, userFromClaims } from "./users.ts";

const JWT_SHAPE = /^[\w-]+\.[\w-]+\.[\w-]*$/;

function keyPrincipal(key: CachedKey | null, via: "key" | "token"): Principal {
  if (!key) throw unauthorized("Invalid API key.");
  if (key.revokedAt !== null) throw unauthorized("This API key has been revoked.");
  if (key.expiresAt !== null && key.expiresAt <= Date.now()) throw unauthorized("This API key has expired.");
  if (key.ownerBlocked) throw new GatewayError(403, "permission", "The owner of this API key is blocked.", { code: "blocked" });
  const { revokedAt: _revoked, ownerBlocked: _blocked, ...identity } = key;
  return { type: "key", id: key.keyId, via, ...identity };
}

async function userPrincipal(c: GatewayContext, token: string): Promise<Principal> {
  const config = c.get("config");
  if (!config.jwt.secret && !config.jwt.jwksUrl) throw unauthorized("Invalid API key.");
  const payload = await verifyUserJwt(token, config);
  const claims = config.jwt.claims;
  const userId = claimText(payload, claims.user);
  if (!userId) throw unauthorized(`Token has no \`${claims.user}\` claim to identify the user.`);
  const user = {
    userId,
    email: claimText(payload, claims.email),
    name: claimText(payload, claims.name),
    teamId: claimText(payload, claims.team),
    tier: claimText(payload, claims.tier),
  };
  return knownUser(c, user, payload);
}

/** A user, as Postgres has them (created on first sight), unless they or their team are blocked. */
async function knownUser(c: GatewayContext, claims: Claims, payload: Record<string, unknown>): Promise<Principal> {
  const user = await userFromClaims(c.get("services").db, claims, (work) => c.executionCtx.waitUntil(work));
  if (user.blocked) throw new GatewayError(403, "permission", "This user is blocked.", { code: "blocked" });
  if (user.teamBlocked) throw new GatewayError(403, "permission", "This team is blocked.", { code: "blocked" });
  const { blocked: _blocked, teamBlocked: _teamBlocked, ...identity } = user;
  return { type: "user", id: user.userId, ...identity, claims: payload };
}

export async function authenticate(c: GatewayContext): Promise<Principal> {
  const config = c.get("config");
  const services = c.get("services");
  const credential = readCredential(c.req.raw, {
    query: c.get("queryCredential") === true,
    protocol: c.get("protocolCredential") === true,
  });
  if (credential === undefined) {
    // A person signed in to the dashboard: read only when single sign-on is configured.
    if (config.sso) {
      const operator = await sessionPrincipal(c);
      if (operator) return operator;
    }
    if (hasQueryCredential(c.req.raw)) {
      throw unauthorized(
        "A credential in the URL (`?key=`) is taken only on Gemini's routes: send `Authorization: Bearer <key>` or `x-api-key`.",
      );
    }
    throw unauthorized("No credential: send `Authorization: Bearer <key>`, `x-api-key` or `x-goog-api-key`.");
  }
  if (credential === "") throw unauthorized("Malformed Authorization header: expected `Bearer <key>`.");
  if (secretsEqual(credential, config.adminKey)) return { type: "admin", id: "admin" };
  if (credential.startsWith(ADMIN_TOKEN_PREFIX)) return adminTokenPrincipal(services, credential);
  if (credential.startsWith("sk-")) return keyPrincipal(await findKeyByHash(services.db, await hashSecret(credential)), "key");
  if (credential.startsWith("pk_")) {
    throw unauthorized("A publishable key (`pk_…`) calls nothing itself: exchange it at POST /auth/attest for a guest token.");
  }
  if (JWT_SHAPE.test(credential)) {
    const kind = sluiceTokenKind(credential);
    if (kind === "guest") return guestPrincipal(c, credential);
    if (kind === "oauth") {
      // Issued by this gateway's authorization server to an MCP client, for the user who signed in there.
      const userId = await verifyAccessToken(config.adminKey, credential, c.req.url);
      return knownUser(c, { userId, email: null, name: null, teamId: null, tier: null }, { sub: userId });
    }
    if (kind === "key") {
      return keyPrincipal(await findKeyById(services.db, await verifyKeyToken(config.adminKey, credential)), "token");
    }
    return userPrincipal(c, credential);
  }
  throw unauthorized("Invalid API key.");
}

/**
 * The caller as Postgres has them now, after a change marker said this
 * isolate's copy is stale: the copy forgotten, the credential read again.
 * Throws the refusal the fresh copy calls for (revoked, expired, blocked).
 */
export async function reauthenticate(c: GatewayContext): Promise<Principal> {
  const principal = c.get("principal");
  if (principal.type === "key") {
    const credential = readCredential(c.req.raw, {
      query: c.get("queryCredential") === true,
      protocol: c.get("protocolCredential") === true,
    });
    forgetKey(principal.keyId, credential?.startsWith("sk-") ? await hashSecret(credential) : undefined);
  } else if (principal.type === "user") forgetUser(principal.userId);
  else if (principal.type === "guest") forgetApp(principal.appId);
  const fresh = await authenticate(c);
  c.set("principal", fresh);
  return fresh;
}

/**
 * The caller as Postgres has them now, found by who they are rather than by
 * their credential: for a connection that outlives the credential it opened
 * with (a realtime session opened with a client secret or a JWT that has
 * since expired). Throws the refusal the fresh copy calls for (revoked,
 * expired, blocked); a guest keeps the copy it has (its app's state reaches
 * it through the deny markers).
 */
export async function reloadCaller(c: GatewayContext, principal: Principal): Promise<Principal> {
  if (principal.type === "key") {
    forgetKey(principal.keyId);
    return keyPrincipal(await findKeyById(c.get("services").db, principal.keyId), principal.via);
  }
  if (principal.type === "user") {
    forgetUser(principal.userId);
    const { userId, email, name, teamId, tier } = principal;
    return knownUser(c, { userId, email, name, teamId, tier }, { ...principal.claims });
  }
  return principal;
}

const matches = (pattern: string, name: string) =>
  pattern === "*" || (pattern.endsWith("*") ? name.startsWith(pattern.slice(0, -1)) : pattern === name);

/** Whether a key's (or an app's, for its guests) allowlist names a route (a plain entry or pattern); no allowlist allows every route. */
export function isRouteAllowed(principal: Principal, route: string): boolean {
  if (principal.type !== "key" && principal.type !== "guest") return true;
  if (principal.models === null || principal.models.length === 0) return true;
  return principal.models.some((entry) => matches(entry, route));
}

/** A deployment: the model asked for, and the provider and upstream model that would serve it. */
export interface Deployment {
  model: string;
  provider: string;
  upstreamModel: string;
}

/**
 * Whether a key's allowlist lets this deployment serve the call. A plain
 * entry (`gpt-4o-mini`, `claude-*`) allows the model where it routes by
 * itself (`natural`: its catalog entry or its name), never on a provider the
 * caller picked; `provider/model` and `provider/*` name the deployment
 * itself. No allowlist allows everything.
 */
export function isDeploymentAllowed(principal: Principal, target: Deployment, natural: string | undefined): boolean {
  if (principal.type === "admin" || principal.type === "user" || principal.type === "operator") return true;
  if (principal.models === null || principal.models.length === 0) return true;
  return principal.models.some((entry) => {
    const slash = entry.indexOf("/");
    if (slash > 0 && entry.slice(0, slash) === target.provider && matches(entry.slice(slash + 1), target.upstreamModel)) {
      return true;
    }
    return natural === target.provider && matches(entry, target.model);
  });
}

/** 403 unless the key may have this deployment serve the call, saying whether the model or the provider is the problem. */
export function assertDeploymentAllowed(principal: Principal, target: Deployment, natural: string | undefined): void {
  if (isDeploymentAllowed(principal, target, natural)) return;
  const elsewhere = natural !== undefined && natural !== target.provider;
  const onNatural = elsewhere && isDeploymentAllowed(principal, target, target.provider);
  const who = principal.type === "guest" ? "This app" : "This key";
  throw new GatewayError(
    403,
    "permission",
    onNatural
      ? `${who} may use the model \`${target.model}\`, but not on the provider \`${target.provider}\`.`
      : `${who} may not use the model \`${target.model}\`${elsewhere ? ` on the provider \`${target.provider}\`` : ""}.`,
    { code: "model_not_allowed", param: onNatural ? "provider" : "model" },
  );
}

/** The admin key, or a signed-in owner or admin of the organization. */
export function requireAdmin(principal: Principal): void {
  if (principal.type === "admin") return;
  if (principal.type === "operator" && (principal.orgRole === "owner" || principal.orgRole === "admin")) return;
  const message =
    principal.type === "operator"
      ? "This route needs an organization owner or admin; your role does not allow it."
      : "This route needs the admin key.";
  throw new GatewayError(403, "permission", message, { code: "admin_only" });
}

/** Drops every caller this isolate holds (keys, users and apps): other isolates read theirs again as their copies expire. */
export function forgetAllCallers(): void {
  forgetKeys();
  forgetUsers();
  forgetApps();
}
