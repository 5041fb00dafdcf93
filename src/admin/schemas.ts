// Request bodies of the admin and self-service APIs, in the names LiteLLM users know.
import * as z from "zod";
import { parseDuration } from "../config/index.ts";

const duration = z
  .string()
  .refine((text) => parseDuration(text) !== undefined, { message: "must be a duration like 30m, 24h, 30d or 1mo" });
// Limits are stored as Postgres integers.
const limit = z.number().int().nonnegative().max(2_147_483_647).nullable();
const usd = z.number().nonnegative().nullable();
const metadata = z.record(z.string(), z.unknown());

export const keyFields = {
  name: z.string().max(200).nullable().optional(),
  models: z.array(z.string().min(1)).nullable().optional(),
  rpm_limit: limit.optional(),
  tpm_limit: limit.optional(),
  max_budget: usd.optional(),
  budget_duration: duration.nullable().optional(),
  /** Lifetime from now: `30m`, `24h`, `30d`. */
  duration: duration.nullable().optional(),
  metadata: metadata.optional(),
};

export const createKeySchema = z.strictObject({
  ...keyFields,
  user_id: z.string().min(1).max(200).nullable().optional(),
  team_id: z.string().min(1).max(200).nullable().optional(),
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
export type QuotaInput = z.infer<typeof quotaSchema>;

export const userSchema = z.strictObject({
  id: z.string().min(1).max(200).optional(),
  email: z.string().max(320).nullable().optional(),
  name: z.string().max(200).nullable().optional(),
  team_id: z.string().min(1).max(200).nullable().optional(),
  tier: z.string().max(100).nullable().optional(),
  blocked: z.boolean().optional(),
  metadata: metadata.optional(),
  ...quotaFields,
});
export type UserInput = z.infer<typeof userSchema>;

export const teamSchema = z.strictObject({
  id: z.string().min(1).max(200).optional(),
  name: z.string().min(1).max(200).optional(),
  blocked: z.boolean().optional(),
  metadata: metadata.optional(),
  ...quotaFields,
});
export type TeamInput = z.infer<typeof teamSchema>;
