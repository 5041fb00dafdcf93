// A cold isolate's first model call reads the catalog while its caller is
// authenticated: the read starts before anything awaits it, the request's
// later reads share it, and a warm isolate starts none.
import { describe, expect, it } from "vitest";
import type { GatewayContext } from "../../src/context.ts";
import { catalogFor, prefetchCatalog } from "../../src/routing/catalog.ts";

/** A database whose one batch (the catalog's five queries) answers when the test says. */
function heldDatabase() {
  const batches: number[] = [];
  const releases: (() => void)[] = [];
  const query = { from: () => query, where: () => query };
  const db = {
    select: () => query,
    batch: (queries: unknown[]) => {
      batches.push(queries.length);
      return new Promise((resolve) => releases.push(() => resolve(queries.map(() => []))));
    },
  };
  return { db, batches, release: () => releases.shift()?.() };
}

function context(services: object): GatewayContext {
  const variables = new Map<string, unknown>([
    ["services", services],
    ["config", { routing: { catalogRefreshMs: 60_000 } }],
  ]);
  return {
    get: (name: string) => variables.get(name),
    set: (name: string, value: unknown) => variables.set(name, value),
    executionCtx: { waitUntil: () => undefined },
  } as unknown as GatewayContext;
}

describe("prefetchCatalog", () => {
  it("starts a cold isolate's catalog read at once, which the request's own reads then share", async () => {
    const { db, batches, release } = heldDatabase();
    const services = { db };
    const first = context(services);

    prefetchCatalog(first);
    // Begun before the request awaited anything (authentication comes next).
    expect(batches).toEqual([5]);
    const reading = catalogFor(first);
    const again = catalogFor(first);
    expect(batches).toEqual([5]);
    release();
    const catalog = await reading;
    expect(await again).toBe(catalog);
    expect(catalog.models.size).toBe(0);

    // The isolate now holds the catalog: the next request starts no read and gets the same one.
    const second = context(services);
    prefetchCatalog(second);
    expect(second.get("catalog")).toBeUndefined();
    expect(await catalogFor(second)).toBe(catalog);
    expect(batches).toEqual([5]);
  });

  it("reads nothing early for a request that never prefetched", async () => {
    const { db, batches, release } = heldDatabase();
    const request = context({ db });
    expect(batches).toEqual([]);
    const reading = catalogFor(request);
    expect(batches).toEqual([5]);
    release();
    expect((await reading).providers.size).toBe(0);
  });
});
