// Budget and quota alerts: when a key, user or team has used 50 %, 80 % or
// 100 % of a budget or quota, one `budget.threshold` event goes to
// ALERTS_WEBHOOK_URL, signed as the billing webhook is. Checked against the
// ledger after each batch of records is written (off the request path), for
// the subjects in that batch. A threshold is announced once per period: a row
// in `limit_alerts` claims it before the event is sent, and is taken back if
// the receiver does not take the event, so a later batch tries again.
import { and, eq, inArray, sql } from "drizzle-orm";
import { limitsOf, overlay } from "../auth/policies.ts";
import type { Limits } from "../auth/principal.ts";
import type { WebhookTarget } from "../config/index.ts";
import type { Database } from "../db/client.ts";
import { limitAlerts, quotaPolicies, usageEvents, virtualKeys } from "../db/schema.ts";
import { budgetWindow, windowsAt } from "../limits/windows.ts";
import { reason } from "../log.ts";
import type { UsageRecord } from "./record.ts";
import { postSigned } from "./webhooks.ts";

export const THRESHOLDS = [50, 80, 100] as const;

type SubjectType = "key" | "user" | "team";

/** One limit of one subject over one period. */
interface Watched {
  subjectType: SubjectType;
  subjectId: string;
  name: "budget" | "usd_per_day" | "usd_per_month" | "tokens_per_day" | "tokens_per_month";
  unit: "usd" | "tokens";
  limit: number;
  period: string;
  startMs: number;
  resetMs: number | null;
}

function periodLimits(type: SubjectType, id: string, limits: Limits, now: number, timeZone: string): Watched[] {
  const w = windowsAt(now, timeZone);
  const day = { period: w.dayKey, startMs: w.dayStartMs, resetMs: w.dayResetMs };
  const month = { period: w.monthKey, startMs: w.monthStartMs, resetMs: w.monthResetMs };
  const out: Watched[] = [];
  const add = (name: Watched["name"], unit: Watched["unit"], limit: number | null, window: typeof day) => {
    if (limit !== null && limit > 0) out.push({ subjectType: type, subjectId: id, name, unit, limit, ...window });
  };
  add("usd_per_day", "usd", limits.usdPerDay, day);
  add("usd_per_month", "usd", limits.usdPerMonth, month);
  add("tokens_per_day", "tokens", limits.tokensPerDay, day);
  add("tokens_per_month", "tokens", limits.tokensPerMonth, month);
  return out;
}

/** Every budget and quota of the batch's keys, users and teams, with the period now in force. */
async function watchedLimits(db: Database, records: UsageRecord[], timeZone: string, now: number): Promise<Watched[]> {
  const ids = (pick: (r: UsageRecord) => string | null) => [...new Set(records.flatMap((r) => pick(r) ?? []))];
  const keyIds = ids((r) => r.keyId);
  const userIds = ids((r) => r.userId);
  const teamIds = ids((r) => r.teamId);
  if (keyIds.length + userIds.length + teamIds.length === 0) return [];
  const subject = (scope: "key" | "user" | "team", list: string[]) =>
    list.length > 0 ? and(eq(quotaPolicies.scope, scope), inArray(quotaPolicies.subjectId, list)) : undefined;
  const [policies, keys] = await Promise.all([
    db
      .select()
      .from(quotaPolicies)
      .where(
        sql`${eq(quotaPolicies.scope, "default")} or ${subject("user", userIds) ?? sql`false`} or ${subject("team", teamIds) ?? sql`false`} or ${subject("key", keyIds) ?? sql`false`}`,
      ),
    keyIds.length > 0
      ? db
          .select({ id: virtualKeys.id, maxBudgetUsd: virtualKeys.maxBudgetUsd, budgetDuration: virtualKeys.budgetDuration })
          .from(virtualKeys)
          .where(inArray(virtualKeys.id, keyIds))
      : Promise.resolve([]),
  ]);
  const find = (scope: string, id: string) => policies.find((p) => p.scope === scope && p.subjectId === id);
  const defaults = limitsOf(find("default", ""));
  const windows = windowsAt(now, timeZone);
  const watched: Watched[] = [];
  for (const key of keys) {
    watched.push(...periodLimits("key", key.id, limitsOf(find("key", key.id)), now, timeZone));
    if (key.maxBudgetUsd !== null && key.maxBudgetUsd > 0) {
      const window = budgetWindow(key.budgetDuration, now, windows);
      watched.push({
        subjectType: "key",
        subjectId: key.id,
        name: "budget",
        unit: "usd",
        limit: key.maxBudgetUsd,
        period: window.key,
        startMs: window.startMs,
        resetMs: window.resetMs,
      });
    }
  }
  for (const id of userIds) watched.push(...periodLimits("user", id, overlay(defaults, find("user", id)), now, timeZone));
  for (const id of teamIds) {
    const team = find("team", id);
    if (team) watched.push(...periodLimits("team", id, limitsOf(team), now, timeZone));
  }
  return watched;
}

const COLUMNS = { key: usageEvents.keyId, user: usageEvents.userId, team: usageEvents.teamId } as const;

/** What each watched limit has used in its period, from the ledger: one query per subject and period start. */
async function usedOf(db: Database, watched: Watched[]): Promise<Map<Watched, number>> {
  const groups = new Map<string, Watched[]>();
  for (const w of watched) {
    const group = `${w.subjectType}|${w.subjectId}|${w.startMs}`;
    groups.set(group, [...(groups.get(group) ?? []), w]);
  }
  const used = new Map<Watched, number>();
  await Promise.all(
    [...groups.values()].map(async (list) => {
      const first = list[0] as Watched;
      const [row] = await db
        .select({
          usd: sql<string>`coalesce(sum(${usageEvents.costUsd}), 0)::text`,
          tokens: sql<string>`coalesce(sum(${usageEvents.promptTokens} + ${usageEvents.completionTokens}), 0)::text`,
        })
        .from(usageEvents)
        .where(
          and(
            eq(COLUMNS[first.subjectType], first.subjectId),
            sql`${usageEvents.createdAt} >= ${new Date(first.startMs).toISOString()}`,
          ),
        );
      for (const w of list) used.set(w, Number(w.unit === "usd" ? row?.usd : row?.tokens) || 0);
    }),
  );
  return used;
}

/** Announces every threshold the batch's subjects have newly crossed; never throws. */
export async function checkThresholds(
  db: Database,
  target: WebhookTarget | undefined,
  timeZone: string,
  records: UsageRecord[],
  now = Date.now(),
): Promise<number> {
  if (!target || records.length === 0) return 0;
  let sent = 0;
  try {
    const watched = await watchedLimits(db, records, timeZone, now);
    const used = await usedOf(db, watched);
    for (const w of watched) {
      const amount = used.get(w) ?? 0;
      const crossed = THRESHOLDS.filter((t) => amount >= (w.limit * t) / 100);
      for (const threshold of crossed) {
        const claim = { subjectType: w.subjectType, subjectId: w.subjectId, limitName: w.name, period: w.period, threshold };
        const [claimed] = await db.insert(limitAlerts).values(claim).onConflictDoNothing().returning({ id: limitAlerts.id });
        if (!claimed) continue;
        const event = {
          type: "budget.threshold",
          data: {
            subject_type: w.subjectType,
            subject_id: w.subjectId,
            limit: w.name,
            unit: w.unit,
            threshold,
            limit_value: w.limit,
            used: amount,
            period: w.period,
            period_start: new Date(w.startMs).toISOString(),
            resets_at: w.resetMs === null ? null : new Date(w.resetMs).toISOString(),
          },
          created_at: new Date(now).toISOString(),
        };
        const key = `alert_${w.subjectType}_${w.subjectId}_${w.name}_${w.period}_${threshold}`;
        const delivery = await postSigned(target, JSON.stringify(event), key);
        if (delivery.ok) {
          sent += 1;
          continue;
        }
        // Not taken: the claim goes, so the next batch for this subject announces it again.
        await db.delete(limitAlerts).where(eq(limitAlerts.id, claimed.id));
        console.warn(`sluice: alert ${key} not delivered (${delivery.error}); will retry`);
      }
    }
  } catch (error) {
    console.error(`sluice: limit alerts not checked: ${reason(error)}`);
  }
  return sent;
}
