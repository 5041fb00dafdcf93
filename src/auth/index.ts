// Decides who is calling: the admin key, a virtual key, a Sluice-issued
// token, or an end user's JWT. Produces a Principal or a refusal that helps
// and leaks nothing.
import type { GatewayContext } from "../context.ts";
import { GatewayError, unauthorized } from "../http/errors.ts";
import { secretsEqual } from "./constant-time.ts";
import { readCredential } from "./credentials.ts";
import { claimText, verifyUserJwt } from "./jwt.ts";
import { type CachedKey, findKeyByHash, findKeyById, hashSecret } from "./keys.ts";
import type { Principal } from "./principal.ts";
import { isSluiceToken, verifyKeyToken } from "./sluice-token.ts";
import { userFromClaims } from "./users.ts";

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
  const services = c.get("services");
  if (!config.jwt.secret && !config.jwt.jwksUrl) throw unauthorized("Invalid API key.");
  const payload = await verifyUserJwt(token, config);
  const claims = config.jwt.claims;
  const userId = claimText(payload, claims.user);
  if (!userId) throw unauthorized(`Token has no \`${claims.user}\` claim to identify the user.`);
  const user = await userFromClaims(
    services.db,
    {
      userId,
      email: claimText(payload, claims.email),
      name: claimText(payload, claims.name),
      teamId: claimText(payload, claims.team),
      tier: claimText(payload, claims.tier),
    },
    (work) => c.executionCtx.waitUntil(work),
  );
  if (user.blocked) throw new GatewayError(403, "permission", "This user is blocked.", { code: "blocked" });
  if (user.teamBlocked) throw new GatewayError(403, "permission", "This team is blocked.", { code: "blocked" });
  const { blocked: _blocked, teamBlocked: _teamBlocked, ...identity } = user;
  return { type: "user", id: user.userId, ...identity };
}

export async function authenticate(c: GatewayContext): Promise<Principal> {
  const config = c.get("config");
  const services = c.get("services");
  const credential = readCredential(c.req.raw);
  if (credential === undefined) {
    throw unauthorized("No credential: send `Authorization: Bearer <key>`, `x-api-key` or `x-goog-api-key`.");
  }
  if (credential === "") throw unauthorized("Malformed Authorization header: expected `Bearer <key>`.");
  if (secretsEqual(credential, config.adminKey)) return { type: "admin", id: "admin" };
  if (credential.startsWith("sk-")) return keyPrincipal(await findKeyByHash(services.db, await hashSecret(credential)), "key");
  if (JWT_SHAPE.test(credential)) {
    if (isSluiceToken(credential)) {
      return keyPrincipal(await findKeyById(services.db, await verifyKeyToken(config.adminKey, credential)), "token");
    }
    return userPrincipal(c, credential);
  }
  throw unauthorized("Invalid API key.");
}

/** Whether the principal may use this model (a key's allowlist; `prefix*` matches by prefix). */
export function isModelAllowed(principal: Principal, model: string): boolean {
  if (principal.type !== "key" || principal.models === null || principal.models.length === 0) return true;
  return principal.models.some((entry) => (entry.endsWith("*") ? model.startsWith(entry.slice(0, -1)) : entry === model));
}

/** 403 unless the principal may use this model. */
export function assertModelAllowed(principal: Principal, model: string): void {
  if (!isModelAllowed(principal, model)) {
    throw new GatewayError(403, "permission", `This key may not use the model \`${model}\`.`, {
      code: "model_not_allowed",
      param: "model",
    });
  }
}

/** The admin key, and nothing else. */
export function requireAdmin(principal: Principal): void {
  if (principal.type !== "admin")
    throw new GatewayError(403, "permission", "This route needs the admin key.", { code: "admin_only" });
}
