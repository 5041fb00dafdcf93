// A key this isolate has not seen costs one Postgres round trip: its row,
// its owner's, its team's and their settings come back in one batch, the
// rows it names found through the key's own row by subqueries.
import { PgDialect } from "drizzle-orm/pg-core";
import { describe, expect, it } from "vitest";
import { findKeyByHash } from "../../src/auth/keys.ts";
import type { Database } from "../../src/db/client.ts";

const KEY_ROW = {
  id: "key_lookup_1",
  name: "agent",
  keyHash: "h",
  userId: "user_lookup_1",
  teamId: null,
  models: null,
  rpmLimit: 60,
  tpmLimit: null,
  maxBudgetUsd: null,
  budgetDuration: null,
  expiresAt: null,
  metadata: {},
  cacheTtlSeconds: null,
  cacheScope: null,
  revokedAt: null,
};

/** A database that answers one batch with the rows given, and records every query it is asked to run. */
function recordingDatabase(answers: unknown[][]) {
  const dialect = new PgDialect();
  const batches: string[][] = [];
  const awaitedAlone: unknown[] = [];
  const builder = () => {
    const parts: { where?: unknown } = {};
    const query = {
      from: () => query,
      where: (condition: unknown) => {
        parts.where = condition;
        return query;
      },
      limit: () => query,
      sql: () => (parts.where ? dialect.sqlToQuery(parts.where as never).sql : ""),
      // Awaiting a query on its own is a round trip of its own.
      // biome-ignore lint/suspicious/noThenProperty: a stand-in for a query builder, which is thenable
      then: (resolve: (rows: unknown[]) => void) => {
        awaitedAlone.push(query);
        resolve([]);
      },
    };
    return query;
  };
  const db = {
    select: builder,
    batch: async (queries: { sql: () => string }[]) => {
      batches.push(queries.map((q) => q.sql()));
      return answers;
    },
  };
  return { db: db as unknown as Database, batches, awaitedAlone };
}

describe("a key not yet in the isolate", () => {
  it("is read with its owner, team and settings in one batch", async () => {
    const { db, batches, awaitedAlone } = recordingDatabase([
      [KEY_ROW],
      [{ blockedAt: null, teamId: "team_lookup_1" }],
      [{ blockedAt: new Date(), cacheScope: "team" }],
      [],
    ]);
    const key = await findKeyByHash(db, "hash-of-a-new-key");
    expect(batches).toHaveLength(1);
    expect(awaitedAlone).toHaveLength(0);
    // The owner's, the team's and the settings' rows are found through the key's row, not from values read first.
    const [keyQuery, ownerQuery, teamQuery, policyQuery] = batches[0] ?? [];
    expect(keyQuery).toContain('"virtual_keys"."key_hash" = $1');
    for (const query of [ownerQuery, teamQuery, policyQuery]) expect(query).toContain('from "virtual_keys" where');
    expect(key).toMatchObject({
      keyId: "key_lookup_1",
      userId: "user_lookup_1",
      teamId: "team_lookup_1",
      ownerBlocked: true,
      cache: { ttlSeconds: null, scope: "team" },
    });
    expect(key?.limits.requestsPerMinute).toBe(60);
  });

  it("is null, still in one batch, when no key has that hash", async () => {
    const { db, batches, awaitedAlone } = recordingDatabase([[], [], [], []]);
    expect(await findKeyByHash(db, "hash-of-no-key")).toBeNull();
    expect(batches).toHaveLength(1);
    expect(awaitedAlone).toHaveLength(0);
  });
});
