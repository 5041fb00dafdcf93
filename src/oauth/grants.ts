// What the token endpoint trades for tokens, in Redis and each taken once
// (GETDEL, so two isolates cannot both take one): authorization codes for a
// minute, refresh tokens for 30 days, rotated at each use. Redis holds only
// their hashes as keys; the client is named by its id's hash.
import type { Services } from "../services.ts";
import { randomText, sha256 } from "./encoding.ts";

export const CODE_SECONDS = 60;
export const REFRESH_SECONDS = 30 * 24 * 3600;

const codeKey = (hash: string) => `sluice:oauth:code:${hash}`;
const refreshKey = (hash: string) => `sluice:oauth:refresh:${hash}`;

/** Who was signed in, for which client and resource: what a code or refresh token grants. */
export interface Grant {
  client: string;
  userId: string;
  resource: string;
  scope: string | null;
}

export interface CodeGrant extends Grant {
  redirectUri: string;
  challenge: string;
}

export const clientHash = (clientId: string) => sha256(clientId);

export async function issueCode(services: Services, grant: CodeGrant): Promise<string> {
  const code = randomText(32);
  await services.redis.set(codeKey(await sha256(code)), grant, { ex: CODE_SECONDS });
  return code;
}

export async function takeCode(services: Services, code: string): Promise<CodeGrant | null> {
  return services.redis.getdel<CodeGrant>(codeKey(await sha256(code)));
}

export async function issueRefreshToken(services: Services, grant: Grant): Promise<string> {
  const token = `sluice_rt_${randomText(32)}`;
  await services.redis.set(refreshKey(await sha256(token)), grant, { ex: REFRESH_SECONDS });
  return token;
}

export async function takeRefreshToken(services: Services, token: string): Promise<Grant | null> {
  return services.redis.getdel<Grant>(refreshKey(await sha256(token)));
}
