// Apps through the admin API: what a browser or mobile app without a backend
// may do with its publishable key. Every change reaches other isolates
// through the Redis markers, as a key's does.
import { asc, eq } from "drizzle-orm";
import { type AppRow, forgetApp } from "../apps/registry.ts";
import { clearDenied, markChanged, markDenied } from "../auth/deny-list.ts";
import { apps, type GuestLimitsRow } from "../db/schema.ts";
import { badRequest, GatewayError } from "../http/errors.ts";
import type { Services } from "../services.ts";
import * as z from "../zod.ts";
import { id, limit, metadata, text, usd } from "./schemas.ts";

const guestLimitsSchema = z.strictObject({
  rpm_limit: z.optional(limit),
  tpm_limit: z.optional(limit),
  tokens_per_day: z.optional(limit),
  usd_per_day: z.optional(usd),
});

const origin = z
  .string()
  .check(
    z.maxLength(300),
    z.regex(/^https?:\/\/[^/\s?#]+$/, { message: "must be an origin: scheme and host, no path (https://app.example)" }),
  );
const bundleId = z
  .string()
  .check(z.maxLength(255), z.regex(/^[A-Za-z0-9][\w.-]*$/, { message: "must be a bundle id or package name (com.example.app)" }));

const appFields = {
  name: text(200),
  allowed_origins: z.array(origin).check(z.maxLength(100)),
  ios_bundle_ids: z.array(bundleId).check(z.maxLength(50)),
  android_packages: z.array(bundleId).check(z.maxLength(50)),
  models: z.nullable(z.array(id(330)).check(z.maxLength(1000))),
  /** Proofs of the app taken at the exchange; one of them is then required. */
  proofs: z.array(z.enum(["turnstile", "app_check"], { message: "must be turnstile or app_check" })).check(z.maxLength(2)),
  app_check_project: z.nullable(z.string().check(z.regex(/^\d{1,20}$/, { message: "must be a Firebase project number" }))),
  app_check_app_ids: z.array(id(200)).check(z.maxLength(50)),
  device_limits: guestLimitsSchema,
  ip_limits: guestLimitsSchema,
  guest_usd_per_day: usd,
  metadata,
};

const { name, ...optionalFields } = appFields;

export const createAppSchema = z.strictObject({
  id: z.optional(
    z.string().check(z.regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, { message: "must be 1 to 63 lowercase letters, digits, `_` or `-`" })),
  ),
  name,
  ...z.partial(z.object(optionalFields)).shape,
});
export const updateAppSchema = z.strictObject({
  ...z.partial(z.object(appFields)).shape,
  /** A disabled app's exchanges and guests are refused everywhere within a second. */
  disabled: z.optional(z.boolean()),
});
export type CreateAppInput = z.infer<typeof createAppSchema>;
export type UpdateAppInput = z.infer<typeof updateAppSchema>;

/** What a new app's guests get until an admin says otherwise: small, since anyone can be a guest. */
export const DEFAULT_DEVICE_LIMITS: GuestLimitsRow = {
  rpm_limit: 10,
  tpm_limit: 20_000,
  tokens_per_day: 50_000,
  usd_per_day: 0.05,
};
export const DEFAULT_IP_LIMITS: GuestLimitsRow = { rpm_limit: 30, tpm_limit: 60_000, tokens_per_day: 200_000, usd_per_day: 0.25 };
export const DEFAULT_GUEST_USD_PER_DAY = 5;

export function appView(row: AppRow) {
  return {
    id: row.id,
    name: row.name,
    publishable_key: row.publishableKey,
    allowed_origins: row.allowedOrigins,
    ios_bundle_ids: row.iosBundleIds,
    android_packages: row.androidPackages,
    models: row.models,
    proofs: row.proofs,
    app_check_project: row.appCheckProject,
    app_check_app_ids: row.appCheckAppIds,
    device_limits: row.deviceLimits,
    ip_limits: row.ipLimits,
    guest_usd_per_day: row.guestUsdPerDay,
    metadata: row.metadata,
    disabled: row.disabledAt !== null,
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  };
}

function newPublishableKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  return `pk_${[...bytes].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
}

const newAppId = () =>
  `app_${[...crypto.getRandomValues(new Uint8Array(8))].map((b) => b.toString(16).padStart(2, "0")).join("")}`;

const notFound = (appId: string) => new GatewayError(404, "not_found", `No app \`${appId}\`.`, { code: "app_not_found" });

/** A proof the app asks for must be checkable: Turnstile needs the origins it is solved on, App Check a project and apps. */
function checkProofSetup(row: Pick<AppRow, "proofs" | "allowedOrigins" | "appCheckProject" | "appCheckAppIds">): void {
  if (row.proofs.includes("turnstile") && row.allowedOrigins.length === 0) {
    throw badRequest("Invalid `proofs`: `turnstile` needs `allowed_origins`, the pages its challenge is solved on.", "proofs");
  }
  if (row.proofs.includes("app_check") && (!row.appCheckProject || row.appCheckAppIds.length === 0)) {
    throw badRequest("Invalid `proofs`: `app_check` needs `app_check_project` and `app_check_app_ids`.", "proofs");
  }
}

type AppChanges = Partial<typeof apps.$inferInsert>;

function changesOf(input: Omit<UpdateAppInput, "disabled">, existing?: AppRow): AppChanges {
  return {
    ...(input.name !== undefined && { name: input.name }),
    ...(input.allowed_origins !== undefined && { allowedOrigins: input.allowed_origins }),
    ...(input.ios_bundle_ids !== undefined && { iosBundleIds: input.ios_bundle_ids }),
    ...(input.android_packages !== undefined && { androidPackages: input.android_packages }),
    ...(input.models !== undefined && { models: input.models }),
    ...(input.proofs !== undefined && { proofs: input.proofs }),
    ...(input.app_check_project !== undefined && { appCheckProject: input.app_check_project }),
    ...(input.app_check_app_ids !== undefined && { appCheckAppIds: input.app_check_app_ids }),
    // A limit not named keeps its value; null lifts it.
    ...(input.device_limits !== undefined && {
      deviceLimits: { ...(existing?.deviceLimits ?? DEFAULT_DEVICE_LIMITS), ...input.device_limits },
    }),
    ...(input.ip_limits !== undefined && { ipLimits: { ...(existing?.ipLimits ?? DEFAULT_IP_LIMITS), ...input.ip_limits } }),
    ...(input.guest_usd_per_day !== undefined && { guestUsdPerDay: input.guest_usd_per_day }),
    ...(input.metadata !== undefined && { metadata: input.metadata }),
  };
}

export async function registerApp(services: Services, input: CreateAppInput) {
  const values = {
    id: input.id ?? newAppId(),
    name: input.name,
    publishableKey: newPublishableKey(),
    deviceLimits: DEFAULT_DEVICE_LIMITS,
    ipLimits: DEFAULT_IP_LIMITS,
    guestUsdPerDay: DEFAULT_GUEST_USD_PER_DAY,
    ...changesOf(input),
  };
  checkProofSetup({
    proofs: values.proofs ?? [],
    allowedOrigins: values.allowedOrigins ?? [],
    appCheckProject: values.appCheckProject ?? null,
    appCheckAppIds: values.appCheckAppIds ?? [],
  });
  const [row] = await services.db.insert(apps).values(values).onConflictDoNothing().returning();
  if (!row) throw new GatewayError(409, "invalid_request", `App \`${values.id}\` exists.`, { code: "app_exists" });
  // Isolates may remember the id as unknown for a few seconds; a marker says their copy is stale.
  forgetApp(row.id, [row.publishableKey]);
  return appView(row);
}

export async function listApps(services: Services, page: { limit: number; offset: number }) {
  const rows = await services.db.select().from(apps).orderBy(asc(apps.id)).limit(page.limit).offset(page.offset);
  return rows.map(appView);
}

async function appRow(services: Services, appId: string): Promise<AppRow> {
  const [row] = await services.db.select().from(apps).where(eq(apps.id, appId));
  if (!row) throw notFound(appId);
  return row;
}

export const getApp = async (services: Services, appId: string) => appView(await appRow(services, appId));

export async function updateApp(services: Services, appId: string, input: UpdateAppInput) {
  const existing = await appRow(services, appId);
  const { disabled, ...fields } = input;
  const changes: AppChanges = {
    ...changesOf(fields, existing),
    ...(disabled !== undefined && { disabledAt: disabled ? (existing.disabledAt ?? new Date()) : null }),
    updatedAt: new Date(),
  };
  checkProofSetup({ ...existing, ...changes });
  const [row] = await services.db.update(apps).set(changes).where(eq(apps.id, appId)).returning();
  if (!row) throw notFound(appId);
  if (disabled === true) await markDenied(services.redis, "app", appId);
  if (disabled === false) await clearDenied(services.redis, "app", appId);
  await markChanged(services.redis, "app", appId);
  forgetApp(appId, [existing.publishableKey]);
  return appView(row);
}

/** A new publishable key; the old one stops being exchanged (other isolates within a minute). */
export async function rotatePublishableKey(services: Services, appId: string) {
  const existing = await appRow(services, appId);
  const [row] = await services.db
    .update(apps)
    .set({ publishableKey: newPublishableKey(), updatedAt: new Date() })
    .where(eq(apps.id, appId))
    .returning();
  if (!row) throw notFound(appId);
  forgetApp(appId, [existing.publishableKey]);
  return appView(row);
}

/** Deletes the app; its guests are refused everywhere within a second, and its ledger rows keep its id. */
export async function deleteApp(services: Services, appId: string) {
  const existing = await appRow(services, appId);
  await services.db.delete(apps).where(eq(apps.id, appId));
  await markDenied(services.redis, "app", appId);
  forgetApp(appId, [existing.publishableKey]);
  return { id: appId, deleted: true };
}
