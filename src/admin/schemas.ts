// Request bodies of the admin and self-service APIs, in the names LiteLLM users know.
import * as z from "zod";
import { parseDuration } from "../config/index.ts";
import { withoutControl } from "../formats/fields.ts";
import { settingsSchema } from "../policy/index.ts";
import { PROVIDER_KINDS } from "../providers/index.ts";
import { REGION_NAME } from "../providers/regions.ts";
import { isGatewayMetadata } from "../usage/record.ts";

/** A provider's key: its last characters are stored as its hint, where a control character (a NUL) cannot go. */

const duration = z
  .string()
  .refine((text) => parseDuration(text) !== undefined, { message: "must be a duration like 30m, 24h, 30d or 1mo" });
// Limits are stored as Postgres integers.
export const limit = z.number().int().nonnegative().max(2_147_483_647).nullable();
export const usd = z.number().nonnegative().nullable();
/** Names, ids and labels go into headers, logs and the ledger: bounded, and without control characters. */
export const text = (max: number) => withoutControl(z.string().max(max));
export const id = (max = 200) => withoutControl(z.string().min(1).max(max));
// Postgres's jsonb takes no NUL character, anywhere in the document; the gateway's own names are its to write.
export const metadata = z
  .record(z.string(), z.unknown())
  .refine((value) => !JSON.stringify(value).includes("\\u0000"), { message: "must not contain NUL characters" })
  .superRefine((value, context) => {
    for (const name of Object.keys(value).filter(isGatewayMetadata)) {
      context.addIssue({ code: "custom", path: [name], message: "is a name the gateway records itself" });
    }
  });

export const keyFields = {
  name: text(200).nullable().optional(),
  models: z.array(id(330)).max(1000).nullable().optional(),
  rpm_limit: limit.optional(),
  tpm_limit: limit.optional(),
  max_budget: usd.optional(),
  budget_duration: duration.nullable().optional(),
  /** Lifetime from now: `30m`, `24h`, `30d`. */
  duration: duration.nullable().optional(),
  metadata: metadata.optional(),
  /** Seconds the key's answers are cached for (bounded by RESPONSE_CACHE_MAX_TTL); null or 0: not cached unless asked. */
  cache_ttl: limit.optional(),
  /** Settings that add to its team's, its owner's and the global ones (src/policy); a section set to null is cleared. */
  settings: settingsSchema.optional(),
};

const cacheScope = z.enum(["key", "team"], { message: "must be key or team" }).nullable().optional();

export const createKeySchema = z.strictObject({
  ...keyFields,
  /**
   * `team`: the key is served answers cached for any key or user of its team; `key`: its own only; unset: as its
   * team says. Admin only: a user minting a key may not widen whose answers it sees.
   */
  cache_scope: cacheScope,
  user_id: id().nullable().optional(),
  team_id: id().nullable().optional(),
});
export type CreateKeyInput = z.infer<typeof createKeySchema>;

export const updateKeySchema = createKeySchema.partial();

export const selfServiceKeySchema = z.strictObject(keyFields);

export const quotaFields = {
  rpm_limit: limit.optional(),
  tpm_limit: limit.optional(),
  tokens_per_day: limit.optional(),
  tokens_per_month: limit.optional(),
  usd_per_day: usd.optional(),
  usd_per_month: usd.optional(),
};
export const quotaSchema = z.strictObject(quotaFields);
/** The global settings for callers, which every team, user and key adds to. */
export const globalSettingsSchema = settingsSchema;
export type QuotaInput = z.infer<typeof quotaSchema>;

export const userSchema = z.strictObject({
  id: id().optional(),
  email: text(320).nullable().optional(),
  name: text(200).nullable().optional(),
  team_id: id().nullable().optional(),
  tier: text(100).nullable().optional(),
  blocked: z.boolean().optional(),
  metadata: metadata.optional(),
  settings: settingsSchema.optional(),
  ...quotaFields,
});
export type UserInput = z.infer<typeof userSchema>;

export const teamSchema = z.strictObject({
  id: id().optional(),
  name: id().optional(),
  blocked: z.boolean().optional(),
  /** `team`: its keys and users share cached answers (a key that says `key` keeps its own). */
  cache_scope: cacheScope,
  metadata: metadata.optional(),
  settings: settingsSchema.optional(),
  ...quotaFields,
});
export type TeamInput = z.infer<typeof teamSchema>;

const price = z.number().nonnegative().max(1_000_000);

export const providerSchema = z.strictObject({
  id: z
    .string()
    .regex(/^[a-z0-9][a-z0-9_.-]{0,63}$/, { message: "must be lowercase letters, digits, `_`, `.` or `-`" })
    .optional(),
  kind: z.enum(PROVIDER_KINDS).optional(),
  base_url: z.url({ message: "must be an http(s) URL" }).nullable().optional(),
  api_version: id(64).nullable().optional(),
  /** Where the deployment runs, for data controls' `allowed_regions`: `eu-west-1`, `europe-west4`, `westeurope`, `eu`… */
  region: z
    .string()
    .regex(REGION_NAME, { message: "must be a region, like eu-west-1, europe-west4 or westeurope (lowercase)" })
    .nullable()
    .optional(),
  enabled: z.boolean().optional(),
});
export type ProviderInput = z.infer<typeof providerSchema>;

export const modelSchema = z.strictObject({
  id: id(256).optional(),
  provider: id(64).optional(),
  upstream_id: id(256).optional(),
  input_usd_per_mtok: price.optional(),
  output_usd_per_mtok: price.optional(),
  cached_input_usd_per_mtok: price.nullable().optional(),
  /** Five-minute prompt-cache writes; null: 1.25 times the input price (an hour's: twice it). */
  cache_write_usd_per_mtok: price.nullable().optional(),
  context_window: limit.optional(),
  max_output_tokens: limit.optional(),
  /** Public model names to try, in order, when this one fails. */
  fallbacks: z.array(id(256)).max(10).optional(),
  /** Seconds this model's answers are cached for, unless the key or the request says otherwise; null or 0: not cached. */
  cache_ttl: limit.optional(),
  enabled: z.boolean().optional(),
});
export type ModelInput = z.infer<typeof modelSchema>;

const credentialFields = {
  name: text(200).nullable().optional(),
  weight: z.number().int().min(0).max(1000).optional(),
  rpm_limit: limit.optional(),
  tpm_limit: limit.optional(),
  tokens_per_day: limit.optional(),
  disabled: z.boolean().optional(),
};

/** A provider key travels in a header and its last characters are stored: no control characters. */
const providerSecret = withoutControl(z.string().min(1).max(4096));

export const createCredentialSchema = z.strictObject({
  provider: id(64),
  owner_type: z.enum(["global", "user", "team"]).default("global"),
  owner_id: id().optional(),
  /** The provider key; stored encrypted and never shown again. */
  api_key: providerSecret.optional(),
  /** A credential of several parts, for providers that take one (Bedrock, Vertex AI); sealed the same way. */
  credential: z.record(z.string(), z.unknown()).optional(),
  ...credentialFields,
});
export type CreateCredentialInput = z.infer<typeof createCredentialSchema>;

export const updateCredentialSchema = z.strictObject({
  api_key: providerSecret.optional(),
  credential: z.record(z.string(), z.unknown()).optional(),
  ...credentialFields,
});
export type UpdateCredentialInput = z.infer<typeof updateCredentialSchema>;

/** `PUT /api/provider-keys`: a user's own key for one provider. */
export const providerKeySchema = z.strictObject({
  provider: id(64),
  api_key: providerSecret,
  name: text(200).nullable().optional(),
});
