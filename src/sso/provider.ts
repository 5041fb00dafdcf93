// The identity provider as its discovery document describes it, read once an
// hour per isolate, and its signing keys (jose caches them in the key set).
import { createRemoteJWKSet, type JWTVerifyGetKey } from "jose";
import type { SsoConfig } from "../config/index.ts";
import { GatewayError } from "../http/errors.ts";
import { IsolateCache } from "../isolate-cache.ts";
import * as z from "../zod.ts";

const discoverySchema = z.object({
  issuer: z.string().check(z.minLength(1)),
  authorization_endpoint: z.url(),
  token_endpoint: z.url(),
  jwks_uri: z.url(),
  token_endpoint_auth_methods_supported: z.optional(z.array(z.string())),
  code_challenge_methods_supported: z.optional(z.array(z.string())),
});

export type Discovery = z.infer<typeof discoverySchema>;

const DISCOVERY_TTL_MS = 3_600_000;
const discoveries = new IsolateCache<Promise<Discovery>>(4, DISCOVERY_TTL_MS);
const keySets = new IsolateCache<JWTVerifyGetKey>(4, Number.POSITIVE_INFINITY);

const unreachable = (why: string) =>
  new GatewayError(502, "upstream", `The identity provider's discovery document ${why}.`, { code: "sso_provider_unavailable" });

async function fetchDiscovery(url: string): Promise<Discovery> {
  let response: Response;
  try {
    response = await fetch(url, { headers: { accept: "application/json" }, signal: AbortSignal.timeout(10_000) });
  } catch {
    throw unreachable("could not be fetched");
  }
  if (!response.ok) throw unreachable(`answered HTTP ${response.status}`);
  const parsed = discoverySchema.safeParse(await response.json().catch(() => undefined));
  if (!parsed.success) throw unreachable("is not an OpenID Connect discovery document");
  return parsed.data;
}

/** The provider's endpoints; a failed read is not kept, so the next sign-in tries again. */
export function discover(sso: SsoConfig): Promise<Discovery> {
  let found = discoveries.get(sso.discoveryUrl);
  if (!found) {
    found = fetchDiscovery(sso.discoveryUrl);
    discoveries.set(sso.discoveryUrl, found);
    found.catch(() => discoveries.delete(sso.discoveryUrl));
  }
  return found;
}

export function providerKeys(jwksUri: string): JWTVerifyGetKey {
  let set = keySets.get(jwksUri);
  if (!set) {
    set = createRemoteJWKSet(new URL(jwksUri), { cooldownDuration: 30_000, cacheMaxAge: 600_000 });
    keySets.set(jwksUri, set);
  }
  return set;
}
