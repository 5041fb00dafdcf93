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
