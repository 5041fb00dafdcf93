// What each provider named by a `provider_spend` node has cost this month,
// summed from the ledger. Read with the catalog (in its background refresh,
// every CATALOG_REFRESH), and only when some route has such a node: a request
// reads a number the isolate already holds, and without such a route nothing
// is queried at all.
import { and, gte, inArray, sql } from "drizzle-orm";
import type { Database } from "../../db/client.ts";
import { usageEvents } from "../../db/schema.ts";
import type { RuleNode } from "./schema.ts";

/** The providers a tree's `provider_spend` nodes watch. */
export function watchedProviders(node: RuleNode, into = new Set<string>()): Set<string> {
  switch (node.type) {
    case "provider_spend":
      into.add(node.provider);
      watchedProviders(node.over, into);
      watchedProviders(node.under, into);
      break;
    case "split":
      for (const arm of node.arms) watchedProviders(arm.route, into);
      break;
    case "match":
      for (const item of node.cases) watchedProviders(item.route, into);
      watchedProviders(node.default, into);
      break;
    case "budget":
      watchedProviders(node.over, into);
      watchedProviders(node.under, into);
      break;
  }
  return into;
}

/** The first instant of the calendar month, UTC. */
export const monthStart = (now: number) => {
  const date = new Date(now);
  return new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1));
};

/** USD spent this calendar month (UTC) per provider, for the providers asked about (0 for one with no calls). */
export async function providerSpendThisMonth(db: Database, providers: Iterable<string>, now = Date.now()) {
  const wanted = [...providers];
  const spend = new Map<string, number>(wanted.map((provider) => [provider, 0]));
  if (wanted.length === 0) return spend;
  const rows = await db
    .select({ provider: usageEvents.provider, usd: sql<string>`coalesce(sum(${usageEvents.costUsd}), 0)` })
    .from(usageEvents)
    .where(and(gte(usageEvents.createdAt, monthStart(now)), inArray(usageEvents.provider, wanted)))
    .groupBy(usageEvents.provider);
  for (const row of rows) spend.set(row.provider, Number(row.usd));
  return spend;
}
