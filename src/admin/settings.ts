// Settings for callers at each level, kept on the level's quota policy row:
// the default row's are global. A change names the sections it sets (null
// clears one) and leaves the others, in one statement, so two admins changing
// different sections at once both land.
import { and, eq, inArray, sql } from "drizzle-orm";
import { quotaPolicies } from "../db/schema.ts";
import { type Settings, type SettingsInput, storedSettings } from "../policy/index.ts";
import type { Services } from "../services.ts";

type Scope = (typeof quotaPolicies.$inferSelect)["scope"];

export async function writeSettings(services: Services, scope: Scope, subjectId: string, change: SettingsInput): Promise<void> {
  const set = Object.fromEntries(Object.entries(change).filter(([, value]) => value !== null && value !== undefined));
  const cleared = Object.entries(change)
    .filter(([, value]) => value === null)
    .map(([name]) => name);
  if (Object.keys(set).length === 0 && cleared.length === 0) return;
  const patch = JSON.stringify(set);
  const clearedList = sql`array[${sql.join(
    cleared.map((name) => sql`${name}`),
    sql`, `,
  )}]::text[]`;
  await services.db
    .insert(quotaPolicies)
    .values({ scope, subjectId, settings: set })
    .onConflictDoUpdate({
      target: [quotaPolicies.scope, quotaPolicies.subjectId],
      set: { settings: sql`(${quotaPolicies.settings} || ${patch}::jsonb) - ${clearedList}`, updatedAt: new Date() },
    });
}

export async function readSettings(services: Services, scope: Scope, subjectId: string): Promise<Settings> {
  const [row] = await services.db
    .select({ settings: quotaPolicies.settings })
    .from(quotaPolicies)
    .where(and(eq(quotaPolicies.scope, scope), eq(quotaPolicies.subjectId, subjectId)));
  return storedSettings(row?.settings);
}

/** The settings of many subjects of one scope, for a listing. */
export async function readSettingsOf(services: Services, scope: Scope, subjectIds: string[]): Promise<Map<string, Settings>> {
  if (subjectIds.length === 0) return new Map();
  const rows = await services.db
    .select({ subjectId: quotaPolicies.subjectId, settings: quotaPolicies.settings })
    .from(quotaPolicies)
    .where(and(eq(quotaPolicies.scope, scope), inArray(quotaPolicies.subjectId, subjectIds)));
  return new Map(rows.map((row) => [row.subjectId, storedSettings(row.settings)]));
}
