// What a principal has used today and this month, from the ledger.
import { sql } from "drizzle-orm";
import { type Principal, principalKeyId, principalUserId } from "../auth/principal.ts";
import type { Database } from "../db/client.ts";
import { usageEvents } from "../db/schema.ts";

export interface UsageTotals {
  tokensToday: number;
  tokensThisMonth: number;
  usdToday: number;
  usdThisMonth: number;
}

export function periodStarts(now = new Date()): { day: Date; month: Date } {
  return {
    day: new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate())),
    month: new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1)),
  };
}

export async function usageTotals(db: Database, principal: Principal): Promise<UsageTotals> {
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
  const { day, month } = periodStarts();
  const tokens = sql`${usageEvents.promptTokens} + ${usageEvents.completionTokens}`;
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
