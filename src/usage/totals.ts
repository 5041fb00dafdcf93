// What a principal has used today and this month, from the ledger, counted as the limits count it.
import { sql } from "drizzle-orm";
import { type Principal, principalKeyId, principalUserId } from "../auth/principal.ts";
import type { Database } from "../db/client.ts";
import { usageEvents } from "../db/schema.ts";
import { countedTokens } from "../limits/rebuild.ts";
import { windowsAt } from "../limits/windows.ts";

export interface UsageTotals {
  tokensToday: number;
  tokensThisMonth: number;
  usdToday: number;
  usdThisMonth: number;
}

/**
 * Today and this month are the limits' own windows (midnight and the 1st in
 * `LIMITS_TIMEZONE`), and a row's tokens are those its request was counted
 * with, a realtime session's audio included: the figures are the ones the
 * limiter refuses against.
 */
export async function usageTotals(db: Database, principal: Principal, timeZone: string, now = Date.now()): Promise<UsageTotals> {
  const keyId = principalKeyId(principal);
  const userId = principalUserId(principal);
  const subject =
    principal.type === "guest"
      ? sql`${usageEvents.appId} = ${principal.appId} and ${usageEvents.deviceId} = ${principal.deviceId}`
      : keyId
        ? sql`${usageEvents.keyId} = ${keyId}`
        : userId
          ? sql`${usageEvents.userId} = ${userId}`
          : sql`false`;
  const windows = windowsAt(now, timeZone);
  const day = new Date(windows.dayStartMs);
  const month = new Date(windows.monthStartMs);
  const tokens = countedTokens;
  const [row] = await db
    .select({
      tokensToday: sql<string>`coalesce(sum(${tokens}) filter (where ${usageEvents.createdAt} >= ${day.toISOString()}), 0)`,
      tokensThisMonth: sql<string>`coalesce(sum(${tokens}), 0)`,
      usdToday: sql<string>`coalesce(sum(${usageEvents.costUsd}) filter (where ${usageEvents.createdAt} >= ${day.toISOString()}), 0)`,
      usdThisMonth: sql<string>`coalesce(sum(${usageEvents.costUsd}), 0)`,
    })
    .from(usageEvents)
    .where(sql`${subject} and ${usageEvents.createdAt} >= ${month.toISOString()}`);
  return {
    tokensToday: Number(row?.tokensToday ?? 0),
    tokensThisMonth: Number(row?.tokensThisMonth ?? 0),
    usdToday: Number(row?.usdToday ?? 0),
    usdThisMonth: Number(row?.usdThisMonth ?? 0),
  };
}
