// CORS for apps' pages: an origin an app lists may call the gateway from a
// browser, as one in CORS_ORIGINS may. Asked only for a request whose origin
// CORS_ORIGINS does not allow, and answered from a copy of every enabled
// app's origins that each isolate reads at most once a minute.
import { isNull } from "drizzle-orm";
import { configFor } from "../config/index.ts";
import { apps } from "../db/schema.ts";
import { reason } from "../log.ts";
import { servicesFor } from "../services.ts";

const REFRESH_MS = 60_000;
const RETRY_MS = 5_000;
let known: { origins: ReadonlySet<string>; at: number } | undefined;
let loading: Promise<ReadonlySet<string>> | undefined;

async function loadOrigins(env: object): Promise<ReadonlySet<string>> {
  const config = configFor(env);
  const rows = await servicesFor(config, env)
    .db.select({ origins: apps.allowedOrigins })
    .from(apps)
    .where(isNull(apps.disabledAt));
  return new Set(rows.flatMap((row) => row.origins));
}

/** Whether some enabled app lists the origin; a store that cannot be read answers from the last copy, or no. */
export async function isAppOrigin(env: object, origin: string): Promise<boolean> {
  if (!known || Date.now() - known.at > REFRESH_MS) {
    loading ??= loadOrigins(env)
      .then((origins) => {
        known = { origins, at: Date.now() };
        return origins;
      })
      .catch((error) => {
        console.warn(`sluice: apps: origins could not be read (${reason(error)})`);
        // The last copy (or none) serves a few seconds more before the next try, so a dead store is not asked per request.
        known = { origins: known?.origins ?? new Set<string>(), at: Date.now() - REFRESH_MS + RETRY_MS };
        return known.origins;
      })
      .finally(() => {
        loading = undefined;
      });
    return (await loading).has(origin);
  }
  return known.origins.has(origin);
}

/** After an admin change to an app: this isolate reads the origins again on the next call that needs them. */
export function forgetAppOrigins(): void {
  known = undefined;
}
