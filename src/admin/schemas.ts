// Request bodies of the admin and self-service APIs, in the names LiteLLM users know.
import { parseDuration } from "../config/index.ts";
import { withoutControl } from "../formats/fields.ts";
import { settingsSchema } from "../policy/index.ts";
import { PROVIDER_KINDS } from "../providers/index.ts";
import { REGION_NAME } from "../providers/regions.ts";
import { isGatewayMetadata } from "../usage/record.ts";
import * as z from "../zod.ts";

/** A provider's key: its last characters are stored as its hint, where a control character (a NUL) cannot go. */

const duration = z
  .string()
  .check(z.refine((text) => parseDuration(text) !== undefined, { message: "must be a duration like 30m, 24h, 30d or 1mo" }));
// Limits are stored as Postgres integers.
export const limit = z.nullable(z.number().check(z.int(), z.nonnegative(), z.lte(2_147_483_647)));
export const usd = z.nullable(z.number().check(z.nonnegative()));
/** Names, ids and labels go into headers, logs and the ledger: bounded, and without control characters. */
export const text = (max: number) => withoutControl(z.string().check(z.maxLength(max)));
export const id = (max = 200) => withoutControl(z.string().check(z.minLength(1), z.maxLength(max)));
// Postgres's jsonb takes no NUL character, anywhere in the document; the gateway's own names are its to write.
export const metadata = z.record(z.string(), z.unknown()).check(
  z.refine((value) => !JSON.stringify(value).includes("\\u0000"), { message: "must not contain NUL characters" }),
  z.superRefine((value, context) => {
    for (const name of Object.keys(value).filter(isGatewayMetadata)) {
      context.addIssue({ code: "custom", path: [name], message: "is a name the gateway records itself" });
    }
  }),
);

export const keyFields = {
  name: z.optional(z.nullable(text(200))),
  models: z.optional(z.nullable(z.array(id(330)).check(z.maxLength(1000)))),
  rpm_limit: z.optional(limit),
  tpm_limit: z.optional(limit),
  max_budget: z.optional(usd),
  budget_duration: z.optional(z.nullable(duration)),
  /** Lifetime from now: `30m`, `24h`, `30d`. */
  duration: z.optional(z.nullable(duration)),
  metadata: z.optional(metadata),
  /** Seconds the key's answers are cached for (bounded by RESPONSE_CACHE_MAX_TTL); null or 0: not cached unless asked. */
  cache_ttl: z.optional(limit),
  /** Settings that add to its team's, its owner's and the global ones (src/policy); a section set to null is cleared. */
  settings: z.optional(settingsSchema),
};

const cacheScope = z.optional(z.nullable(z.enum(["key", "team"], { message: "must be key or team" })));

export const createKeySchema = z.strictObject({
  ...keyFields,
  /**
   * `team`: the key is served answers cached for any key or user of its team; `key`: its own only; unset: as its
   * team says. Admin only: a user minting a key may not widen whose answers it sees.
   */
  cache_scope: cacheScope,
  user_id: z.optional(z.nullable(id())),
  team_id: z.optional(z.nullable(id())),
});
export type CreateKeyInput = z.infer<typeof createKeySchema>;

export const updateKeySchema = z.partial(createKeySchema);

/**
 * What a signed-in user sets on a key of their own: not its metadata, which
 * routing rules (`key.metadata.*`), usage filters and billing receivers read
 * as the organization's word about the key.
 */
const { metadata: _metadata, ...selfServiceFields } = keyFields;
export const selfServiceKeySchema = z.strictObject(selfServiceFields);

export const quotaFields = {
  rpm_limit: z.optional(limit),
  tpm_limit: z.optional(limit),
  tokens_per_day: z.optional(limit),
  tokens_per_month: z.optional(limit),
  usd_per_day: z.optional(usd),
  usd_per_month: z.optional(usd),
};
export const quotaSchema = z.strictObject(quotaFields);
/** The global settings for callers, which every team, user and key adds to. */
export const globalSettingsSchema = settingsSchema;
export type QuotaInput = z.infer<typeof quotaSchema>;

export const userSchema = z.strictObject({
  id: z.optional(id()),
  email: z.optional(z.nullable(text(320))),
  name: z.optional(z.nullable(text(200))),
  team_id: z.optional(z.nullable(id())),
  tier: z.optional(z.nullable(text(100))),
  blocked: z.optional(z.boolean()),
  metadata: z.optional(metadata),
  settings: z.optional(settingsSchema),
  ...quotaFields,
});
export type UserInput = z.infer<typeof userSchema>;

export const teamSchema = z.strictObject({
  id: z.optional(id()),
  name: z.optional(id()),
  blocked: z.optional(z.boolean()),
  /** `team`: its keys and users share cached answers (a key that says `key` keeps its own). */
  cache_scope: cacheScope,
  metadata: z.optional(metadata),
  settings: z.optional(settingsSchema),
  ...quotaFields,
});
export type TeamInput = z.infer<typeof teamSchema>;

const price = z.number().check(z.nonnegative(), z.lte(1_000_000));

export const providerSchema = z.strictObject({
  id: z.optional(
    z.string().check(z.regex(/^[a-z0-9][a-z0-9_.-]{0,63}$/, { message: "must be lowercase letters, digits, `_`, `.` or `-`" })),
  ),
  kind: z.optional(z.enum(PROVIDER_KINDS)),
  base_url: z.optional(z.nullable(z.url({ message: "must be an http(s) URL" }))),
  api_version: z.optional(z.nullable(id(64))),
  /** Where the deployment runs, for data controls' `allowed_regions`: `eu-west-1`, `europe-west4`, `westeurope`, `eu`… */
  region: z.optional(
    z.nullable(
      z
        .string()
        .check(z.regex(REGION_NAME, { message: "must be a region, like eu-west-1, europe-west4 or westeurope (lowercase)" })),
    ),
  ),
  enabled: z.optional(z.boolean()),
});
export type ProviderInput = z.infer<typeof providerSchema>;

export const modelSchema = z.strictObject({
  id: z.optional(id(256)),
  provider: z.optional(id(64)),
  upstream_id: z.optional(id(256)),
  input_usd_per_mtok: z.optional(price),
  output_usd_per_mtok: z.optional(price),
  cached_input_usd_per_mtok: z.optional(z.nullable(price)),
  /** Five-minute prompt-cache writes; null: 1.25 times the input price (an hour's: twice it). */
  cache_write_usd_per_mtok: z.optional(z.nullable(price)),
  context_window: z.optional(limit),
  max_output_tokens: z.optional(limit),
  /** Public model names to try, in order, when this one fails. */
  fallbacks: z.optional(z.array(id(256)).check(z.maxLength(10))),
  /** Seconds this model's answers are cached for, unless the key or the request says otherwise; null or 0: not cached. */
  cache_ttl: z.optional(limit),
  enabled: z.optional(z.boolean()),
});
export type ModelInput = z.infer<typeof modelSchema>;

const credentialFields = {
  name: z.optional(z.nullable(text(200))),
  weight: z.optional(z.number().check(z.int(), z.gte(0), z.lte(1000))),
  rpm_limit: z.optional(limit),
  tpm_limit: z.optional(limit),
  tokens_per_day: z.optional(limit),
  disabled: z.optional(z.boolean()),
};

/** A provider key travels in a header and its last characters are stored: no control characters. */
const providerSecret = withoutControl(z.string().check(z.minLength(1), z.maxLength(4096)));

export const createCredentialSchema = z.strictObject({
  provider: id(64),
  owner_type: z._default(z.enum(["global", "user", "team"]), "global"),
  owner_id: z.optional(id()),
  /** The provider key; stored encrypted and never shown again. */
  api_key: z.optional(providerSecret),
  /** A credential of several parts, for providers that take one (Bedrock, Vertex AI); sealed the same way. */
  credential: z.optional(z.record(z.string(), z.unknown())),
  ...credentialFields,
});
export type CreateCredentialInput = z.infer<typeof createCredentialSchema>;

export const updateCredentialSchema = z.strictObject({
  api_key: z.optional(providerSecret),
  credential: z.optional(z.record(z.string(), z.unknown())),
  ...credentialFields,
});
export type UpdateCredentialInput = z.infer<typeof updateCredentialSchema>;

/** `PUT /api/provider-keys`: a user's own key for one provider. */
export const providerKeySchema = z.strictObject({
  provider: id(64),
  api_key: providerSecret,
  name: z.optional(z.nullable(text(200))),
});
