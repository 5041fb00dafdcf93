// Applies drizzle/ migrations to DATABASE_URL through the same Neon HTTP
// driver the Worker uses: a Neon database, or the local stand-in.
import { fileURLToPath } from "node:url";
import { migrate } from "drizzle-orm/neon-http/migrator";
import { createDatabase } from "../src/db/client.ts";
import { readDevVars } from "./env.ts";

export const MIGRATIONS_FOLDER = fileURLToPath(new URL("../drizzle", import.meta.url));

export async function migrateDatabase(databaseUrl: string): Promise<void> {
  await migrate(createDatabase(databaseUrl), { migrationsFolder: MIGRATIONS_FOLDER });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const databaseUrl = process.env.DATABASE_URL ?? readDevVars().DATABASE_URL;
  if (!databaseUrl) {
    console.error("db:migrate: set DATABASE_URL (or run `npm run dev` once to write .dev.vars)");
    process.exit(1);
  }
  migrateDatabase(databaseUrl).then(
    () => console.log("db:migrate: migrations applied"),
    (error: unknown) => {
      console.error(`db:migrate: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    },
  );
}
