// Access tokens a provider gets by exchanging a stored credential (Vertex
// AI's service account, Azure's Entra ID client), kept per isolate until
// shortly before they expire. Concurrent requests share one exchange.
import { IsolateCache } from "../isolate-cache.ts";

export interface AccessToken {
  value: string;
  expiresAt: number;
}

/** A token is renewed this long before it expires, so none expires in flight. */
export const RENEW_BEFORE_MS = 5 * 60_000;

/** By credential; each entry lives until its token expires. */
export const tokens = new IsolateCache<AccessToken>(1_000, Number.POSITIVE_INFINITY);
/** Exchanges under way: each leaves when it ends, so this holds no more than the requests in flight. */
const pending = new Map<string, Promise<AccessToken>>();

/** The token kept for `id` (the credential's whole text), or a fresh one from `exchange`. */
export async function cachedToken(id: string, exchange: () => Promise<AccessToken>): Promise<string> {
  const cached = tokens.get(id);
  if (cached && cached.expiresAt - Date.now() > RENEW_BEFORE_MS) return cached.value;
  let next = pending.get(id);
  if (!next) {
    next = exchange().finally(() => pending.delete(id));
    pending.set(id, next);
  }
  const token = await next;
  tokens.set(id, token, Math.max(0, token.expiresAt - Date.now()));
  return token.value;
}

/** A reason code such as `invalid_grant`, and nothing longer a host could use to say more. */
export const reasonCode = (value: unknown) => (typeof value === "string" && /^[a-z_]{1,40}$/.test(value) ? value : undefined);
