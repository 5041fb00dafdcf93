// What the token endpoint trades for tokens, in Redis and each taken once
// (GETDEL, so two isolates cannot both take one): authorization codes for a
// minute, refresh tokens for 30 days, rotated at each use. Redis holds only
// their hashes as keys; the client is named by its id's hash. Every grant
// from one sign-in is a family: a spent code or refresh token that comes
// back means someone holds a copy, so the whole family is revoked.

import { randomText, sha256 } from "../auth/encoding.ts";
import type { Services } from "../services.ts";

export const CODE_SECONDS = 60;
export const REFRESH_SECONDS = 30 * 24 * 3600;
/** How long a spent code is remembered, to catch a replay of it. */
const SPENT_CODE_SECONDS = 600;

const KEYS = {
  code: { prefix: "sluice:oauth:code:", seconds: CODE_SECONDS, spentSeconds: SPENT_CODE_SECONDS },
  refresh: { prefix: "sluice:oauth:refresh:", seconds: REFRESH_SECONDS, spentSeconds: REFRESH_SECONDS },
} as const;
type GrantKind = keyof typeof KEYS;

const spentKey = (hash: string) => `sluice:oauth:spent:${hash}`;
const revokedKey = (family: string) => `sluice:oauth:revoked:${family}`;

/** Who was signed in, for which client and resource: what a code or refresh token grants. */
export interface Grant {
  client: string;
  userId: string;
  resource: string;
  scope: string | null;
  /** The sign-in every code and refresh token of this chain comes from. */
  family: string;
}

export interface CodeGrant extends Grant {
  redirectUri: string;
  challenge: string;
}

export const clientHash = (clientId: string) => sha256(clientId);
export const newFamily = () => randomText(16);

async function store(services: Services, kind: GrantKind, token: string, grant: Grant): Promise<void> {
  await services.redis.set(`${KEYS[kind].prefix}${await sha256(token)}`, grant, { ex: KEYS[kind].seconds });
}

/** Takes a code or refresh token once; a spent one that comes back revokes its family (RFC 9700 §4.14.2). */
async function takeOnce<T extends Grant>(services: Services, kind: GrantKind, token: string): Promise<T | null> {
  const hash = await sha256(token);
  const grant = await services.redis.getdel<T>(`${KEYS[kind].prefix}${hash}`);
  if (!grant) {
    const family = await services.redis.get<string>(spentKey(hash));
    if (family) await services.redis.set(revokedKey(family), 1, { ex: REFRESH_SECONDS });
    return null;
  }
  const [revoked] = await Promise.all([
    services.redis.get(revokedKey(grant.family)),
    services.redis.set(spentKey(hash), grant.family, { ex: KEYS[kind].spentSeconds }),
  ]);
  return revoked ? null : grant;
}

export async function issueCode(services: Services, grant: CodeGrant): Promise<string> {
  const code = randomText(32);
  await store(services, "code", code, grant);
  return code;
}

export const takeCode = (services: Services, code: string) => takeOnce<CodeGrant>(services, "code", code);

export async function issueRefreshToken(services: Services, grant: Grant): Promise<string> {
  const token = `sluice_rt_${randomText(32)}`;
  await store(services, "refresh", token, grant);
  return token;
}

export const takeRefreshToken = (services: Services, token: string) => takeOnce<Grant>(services, "refresh", token);
