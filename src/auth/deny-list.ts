// What every isolate must see within a second, though it holds a cached copy
// of the caller: revocations and blocks (deny markers), and admin changes to a
// key, user or team (change markers). Both are short-lived Redis markers read
// in the request's one Redis round trip. Postgres stays the truth; a marker
// only has to outlive the isolate caches (KEY_CACHE_TTL_MS). A member-change
// marker is the exception: it must outlive the sessions it refuses.
import type { Redis } from "@upstash/redis/cloudflare";
import { GatewayError, unauthorized } from "../http/errors.ts";
import type { Principal } from "./principal.ts";

/** A guest's device and network carry markers too, though only an app is disabled today. */
export type DenyKind = "key" | "user" | "team" | "app" | "device" | "network";
const MARKER_TTL_SECONDS = 300;
/**
 * A change marker says "copies loaded before this time are stale"; it is set
 * this far past the change, so a copy loaded just before it on an isolate
 * whose clock runs a little ahead is not taken for fresh.
 */
const CLOCK_MARGIN_MS = 1_000;

export const denyMarkerKey = (kind: DenyKind, id: string) => `sluice:deny:${kind}:${id}`;
export const changeMarkerKey = (kind: DenyKind, id: string) => `sluice:chg:${kind}:${id}`;

/** The refusal for a revoked key (401) or a blocked user or team (403). */
export function deniedError(kind: DenyKind): GatewayError {
  if (kind === "key") return unauthorized("This API key has been revoked.");
  if (kind === "app") return new GatewayError(403, "permission", "This app is disabled.", { code: "app_disabled" });
  if (kind === "device" || kind === "network") {
    return new GatewayError(403, "permission", `This ${kind} is blocked.`, { code: "blocked" });
  }
  return new GatewayError(403, "permission", kind === "user" ? "This user is blocked." : "This team is blocked.", {
    code: "blocked",
  });
}

export async function markDenied(redis: Redis, kind: DenyKind, id: string): Promise<void> {
  await redis.set(denyMarkerKey(kind, id), "1", { ex: MARKER_TTL_SECONDS });
}

export async function clearDenied(redis: Redis, kind: DenyKind, id: string): Promise<void> {
  await redis.del(denyMarkerKey(kind, id));
}

/** After an admin change: every isolate's copy of the subject, and of keys and users it is part of, is stale. */
export async function markChanged(redis: Redis, kind: DenyKind, id: string): Promise<void> {
  await redis.set(changeMarkerKey(kind, id), String(Date.now() + CLOCK_MARGIN_MS), { ex: MARKER_TTL_SECONDS });
}

/**
 * An organization member's roles changed, or they were removed: a dashboard
 * session sealed at or before this time (milliseconds) carries the old roles,
 * and sso/session.ts refuses it. Kept without expiry, since a session lasts
 * as long as SSO_SESSION_TTL says; it is one small key per changed member.
 */
export const memberChangedKey = (subject: string) => `sluice:sso:member-changed:${subject}`;

export async function markMemberChanged(redis: Redis, subject: string): Promise<void> {
  await redis.set(memberChangedKey(subject), String(Date.now()));
}

/** Whether a session issued at `issuedAt` (ms) predates the change its member's marker records. */
export const predatesMemberChange = (marker: string | number | null | undefined, issuedAt: number) =>
  marker !== null && marker !== undefined && issuedAt <= Number(marker);

/** The subjects a caller's markers are kept under: its key, its user and its team. */
export function markerSubjects(principal: Principal): [DenyKind, string][] {
  // An operator's session is checked when its cookie is read (sso/session.ts).
  if (principal.type === "admin" || principal.type === "operator") return [];
  if (principal.type === "guest") return [["app", principal.appId]];
  const list: [DenyKind, string][] = [];
  if (principal.type === "key") list.push(["key", principal.keyId]);
  if (principal.userId) list.push(["user", principal.userId]);
  if (principal.teamId) list.push(["team", principal.teamId]);
  return list;
}

/** Whether a change marker's value says a copy loaded at `loadedAt` is stale. */
const staleSince = (marker: string | number | null | undefined, loadedAt: number) =>
  marker !== null && marker !== undefined && Number(marker) > loadedAt;

/**
 * For routes outside the limits check: throws when the caller's key was
 * revoked or its user or team blocked, in any isolate; says `stale` when an
 * admin changed one of them after this isolate's copy was loaded.
 */
export async function checkMarkers(redis: Redis, principal: Principal): Promise<"fresh" | "stale"> {
  const list = markerSubjects(principal);
  if (list.length === 0 || principal.type === "admin" || principal.type === "operator") return "fresh";
  const keys = [...list.map(([kind, id]) => denyMarkerKey(kind, id)), ...list.map(([kind, id]) => changeMarkerKey(kind, id))];
  const values = await redis.mget<(string | number | null)[]>(...keys);
  const denied = list.findIndex((_, i) => values[i] !== null);
  if (denied >= 0) throw deniedError(list[denied]?.[0] ?? "key");
  return list.some((_, i) => staleSince(values[list.length + i], principal.loadedAt)) ? "stale" : "fresh";
}
