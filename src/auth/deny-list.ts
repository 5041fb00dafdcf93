// Revocations and blocks that every isolate sees within a second: a short-lived
// Redis marker, read in the request's one Redis round trip. Postgres stays the
// truth; the marker only has to outlive the isolate caches (KEY_CACHE_TTL_MS).
import type { Redis } from "@upstash/redis/cloudflare";
import { GatewayError, unauthorized } from "../http/errors.ts";
import type { Principal } from "./principal.ts";

export type DenyKind = "key" | "user" | "team";
const MARKER_TTL_SECONDS = 300;

export const denyMarkerKey = (kind: DenyKind, id: string) => `sluice:deny:${kind}:${id}`;
const markerKey = denyMarkerKey;

/** The refusal for a revoked key (401) or a blocked user or team (403). */
export function deniedError(kind: DenyKind): GatewayError {
  if (kind === "key") return unauthorized("This API key has been revoked.");
  return new GatewayError(403, "permission", kind === "user" ? "This user is blocked." : "This team is blocked.", {
    code: "blocked",
  });
}

export async function markDenied(redis: Redis, kind: DenyKind, id: string): Promise<void> {
  await redis.set(markerKey(kind, id), "1", { ex: MARKER_TTL_SECONDS });
}

export async function clearDenied(redis: Redis, kind: DenyKind, id: string): Promise<void> {
  await redis.del(markerKey(kind, id));
}

function subjects(principal: Principal): [DenyKind, string][] {
  if (principal.type === "admin") return [];
  const list: [DenyKind, string][] = [];
  if (principal.type === "key") list.push(["key", principal.keyId]);
  if (principal.userId) list.push(["user", principal.userId]);
  if (principal.teamId) list.push(["team", principal.teamId]);
  return list;
}

/** Throws when the caller's key was revoked or its user or team blocked, in any isolate. */
export async function checkDenied(redis: Redis, principal: Principal): Promise<void> {
  const list = subjects(principal);
  if (list.length === 0) return;
  const values = await redis.mget<(string | null)[]>(...list.map(([kind, id]) => markerKey(kind, id)));
  const hit = list.find((_, i) => values[i] !== null);
  if (!hit) return;
  if (hit[0] === "key") throw unauthorized("This API key has been revoked.");
  throw new GatewayError(403, "permission", hit[0] === "user" ? "This user is blocked." : "This team is blocked.", {
    code: "blocked",
  });
}
