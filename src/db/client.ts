// Drizzle over Neon's SQL-over-HTTP driver. Loopback database hosts are the
// local stand-in, reached over plain HTTP on the port of the connection string.
import { neon, neonConfig } from "@neondatabase/serverless";
import { drizzle } from "drizzle-orm/neon-http";
import * as schema from "./schema.ts";

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|\[?::1\]?)$/;
const neonEndpoint = neonConfig.fetchEndpoint;

neonConfig.fetchEndpoint = (host, port, options) => {
  if (LOOPBACK.test(host)) return `http://${host}:${port || 5432}/sql`;
  return typeof neonEndpoint === "function" ? neonEndpoint(host, port, options) : neonEndpoint;
};

export type Database = ReturnType<typeof createDatabase>;

export function createDatabase(databaseUrl: string) {
  return drizzle({ client: neon(databaseUrl, { disableWarningInBrowsers: true }), schema });
}

/**
 * Postgres gave no answer to the query: Neon (or the network to it) could
 * not reach it, or it was shutting down, starting, or out of connections.
 * Not a query Postgres answered with an error of the data's or the SQL's.
 */
export function databaseUnreachable(error: unknown): boolean {
  let cause = error;
  for (let depth = 0; cause && depth < 5; depth++, cause = (cause as { cause?: unknown }).cause) {
    if ((cause as { name?: unknown }).name !== "NeonDbError") continue;
    const code = (cause as { code?: unknown }).code;
    // A SQLSTATE is five characters; a connection failure has none, or the driver's own (ECONNREFUSED).
    return typeof code !== "string" || !/^[0-9A-Z]{5}$/.test(code) || /^(08|53|57)/.test(code);
  }
  return false;
}
