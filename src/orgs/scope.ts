// What an operator's roles reach inside a route: which teams' keys, whose
// usage. The route's declared permission let them in; these narrow it to
// the objects they touch. The admin key reaches everything.
import { eq, inArray, or, type SQL } from "drizzle-orm";
import { readPolicy } from "../admin/people.ts";
import type { CreateKeyInput } from "../admin/schemas.ts";
import type { KeyRow } from "../auth/keys.ts";
import type { Principal } from "../auth/principal.ts";
import { ANY_TEAM, can, type Permission, teamsWhere } from "../auth/roles.ts";
import { usageEvents, users, virtualKeys } from "../db/schema.ts";
import { GatewayError } from "../http/errors.ts";
import type { Services } from "../services.ts";

const MEMBER_METADATA = "A member's key carries no metadata: an administrator of its team sets it.";

const refuse = (message: string) => new GatewayError(403, "permission", message, { code: "permission_denied" });

/** The user id an operator's own keys carry: their subject. */
const selfOf = (principal: Principal): string | null => (principal.type === "operator" ? principal.subject : null);

const mayOwn = (principal: Principal) => can(principal, "keys:self", ANY_TEAM);

/** 403 unless the caller may read (or change) this key: by its team, or as its owner minting for themself. */
export function assertKeyReach(principal: Principal, row: KeyRow, permission: "keys:read" | "keys:write"): void {
  if (can(principal, permission, row.teamId)) return;
  if (mayOwn(principal) && row.userId !== null && row.userId === selfOf(principal)) return;
  throw refuse("This key is outside your teams: your role does not reach it.");
}

/**
 * Which keys a listing shows: all for an organization-wide reader; else the
 * keys of the teams the caller reads, and their own.
 */
export function keyListScope(principal: Principal): SQL | undefined {
  if (can(principal, "keys:read")) return undefined;
  const teams = teamsWhere(principal, "keys:read");
  const self = mayOwn(principal) ? selfOf(principal) : null;
  const parts = [...(teams.length ? [inArray(virtualKeys.teamId, teams)] : []), ...(self ? [eq(virtualKeys.userId, self)] : [])];
  return parts.length ? or(...parts) : eq(virtualKeys.id, "");
}

/**
 * A new key's input as the caller may mint it: anything for whoever writes
 * keys for the whole organization; for a team's administrator, a key of
 * that team within its own limits, owned by nobody, themself or one of the
 * team's users; for a member, a key of their own only, in a team where
 * their role lets them hold keys.
 */
export async function keyInputFor(services: Services, principal: Principal, input: CreateKeyInput): Promise<CreateKeyInput> {
  if (can(principal, "keys:write")) return input;
  const self = selfOf(principal);
  if (input.team_id && can(principal, "keys:write", input.team_id)) {
    if (input.user_id && input.user_id !== self) await assertTeamUser(services, input.team_id, input.user_id);
    await assertWithinTeamLimits(services, input.team_id, input);
    return input;
  }
  if (!mayOwn(principal) || !self || principal.type !== "operator") {
    throw refuse("Your role may mint keys only for a team it administers: name its `team_id`.");
  }
  if (input.user_id && input.user_id !== self) throw refuse("A member mints keys only for themself.");
  if (input.team_id && !teamsWhere(principal, "keys:self").includes(input.team_id)) {
    throw refuse("You may mint a key only in a team where your role holds keys.");
  }
  if (input.cache_scope === "team") throw refuse("A member's key may not share its team's cached answers.");
  // Routing rules and the ledger read a key's metadata as an administrator's word, never its holder's.
  if (input.metadata !== undefined) throw refuse(MEMBER_METADATA);
  if (input.team_id) await assertWithinTeamLimits(services, input.team_id, input);
  return { ...input, user_id: self };
}

/** A change to a key: the caller reaches the key, and the team it moves to. */
export async function keyChangeFor(
  services: Services,
  principal: Principal,
  row: KeyRow,
  input: Partial<CreateKeyInput>,
): Promise<void> {
  assertKeyReach(principal, row, "keys:write");
  if (can(principal, "keys:write")) return;
  // Reached as its owner, not as its team's administrator: the same bounds as when a member mints one.
  const administers = row.teamId !== null && can(principal, "keys:write", row.teamId);
  if (!administers && input.cache_scope === "team") throw refuse("A member's key may not share its team's cached answers.");
  if (!administers && input.metadata !== undefined) throw refuse(MEMBER_METADATA);
  if (input.team_id !== undefined && input.team_id !== row.teamId && !can(principal, "keys:write", input.team_id)) {
    throw refuse("A key may move only to a team you administer.");
  }
  if (input.user_id !== undefined && input.user_id !== row.userId) throw refuse("Your role may not give a key to someone else.");
  const team = input.team_id ?? row.teamId;
  if (team) await assertWithinTeamLimits(services, team, input);
}

/** A team's administrator gives a key to one of the team's users, never to someone else's (their spend and quota pay for it). */
async function assertTeamUser(services: Services, teamId: string, userId: string): Promise<void> {
  const [user] = await services.db.select({ teamId: users.teamId }).from(users).where(eq(users.id, userId));
  if (user?.teamId !== teamId) throw refuse("A key may go only to a user of its team.");
}

/** A team's administrator sets its keys' limits within the team's own, never above them. */
async function assertWithinTeamLimits(services: Services, teamId: string, input: Partial<CreateKeyInput>): Promise<void> {
  const policy = await readPolicy(services, "team", teamId);
  if (!policy) return;
  const over = (asked: number | null | undefined, cap: number | null) => cap !== null && typeof asked === "number" && asked > cap;
  if (over(input.rpm_limit, policy.requestsPerMinute)) {
    throw refuse(`\`rpm_limit\` may not exceed the team's own (${policy.requestsPerMinute}).`);
  }
  if (over(input.tpm_limit, policy.tokensPerMinute)) {
    throw refuse(`\`tpm_limit\` may not exceed the team's own (${policy.tokensPerMinute}).`);
  }
}

/**
 * Whose usage the caller reads: everyone's for an organization-wide
 * reader, else the rows of the teams they read.
 */
export function usageScope(principal: Principal): SQL | undefined {
  const readers: Permission[] = ["usage:read", "billing:read"];
  if (readers.some((permission) => can(principal, permission))) return undefined;
  const teams = [...new Set(readers.flatMap((permission) => teamsWhere(principal, permission)))];
  return teams.length ? inArray(usageEvents.teamId, teams) : eq(usageEvents.requestId, "");
}
