// Every setting Sluice reads, parsed by zod into one typed Config.
import * as z from "zod";

const optionalText = z
  .string()
  .optional()
  .transform((value) => (value?.trim() ? value.trim() : undefined));

const optionalUrl = optionalText.pipe(z.url({ message: "must be an http(s) URL" }).optional());

const positiveInt = (fallback: number) =>
  z.preprocess((value) => (value === undefined || value === "" ? fallback : Number(value)), z.number().int().positive());

const providerFields = {
  OPENAI_API_KEY: optionalText,
  OPENAI_BASE_URL: optionalUrl,
  ANTHROPIC_API_KEY: optionalText,
  ANTHROPIC_BASE_URL: optionalUrl,
  GEMINI_API_KEY: optionalText,
  GEMINI_BASE_URL: optionalUrl,
  MISTRAL_API_KEY: optionalText,
  MISTRAL_BASE_URL: optionalUrl,
  MOCK_BASE_URL: optionalUrl,
};

export const envSchema = z.object({
  DATABASE_URL: z
    .string({ message: "is required: a Postgres connection string (Neon, or the local stand-in)" })
    .regex(/^postgres(ql)?:\/\//, { message: "must be a postgres:// connection string" }),
  UPSTASH_REDIS_REST_URL: z.url({ message: "is required: the Upstash Redis REST URL" }),
  UPSTASH_REDIS_REST_TOKEN: z.string({ message: "is required: the Upstash Redis REST token" }).min(1),
  ADMIN_KEY: z.string({ message: "is required: the admin API key" }).min(16, { message: "must be at least 16 characters" }),
  JWT_SECRET: optionalText,
  JWKS_URL: optionalUrl,
  JWT_ISSUER: optionalText,
  JWT_AUDIENCE: optionalText,
  /** Claims that carry the user's id, email, name, team and tier. */
  JWT_USER_CLAIM: optionalText,
  JWT_EMAIL_CLAIM: optionalText,
  JWT_NAME_CLAIM: optionalText,
  JWT_TEAM_CLAIM: optionalText,
  JWT_TIER_CLAIM: optionalText,
  /** Lifetime of tokens from `POST /auth/token`, e.g. `15m`. */
  TOKEN_TTL: optionalText.pipe(
    z
      .string()
      .regex(/^\d+(s|m|h)$/, { message: "must be a duration like 15m or 1h" })
      .optional(),
  ),
  ENCRYPTION_KEY: optionalText,
  CORS_ORIGINS: optionalText,
  DEFAULT_PROVIDER: optionalText,
  /** IANA time zone in which daily and monthly windows reset; UTC by default. */
  LIMITS_TIMEZONE: optionalText.refine(
    (zone) => {
      if (!zone) return true;
      try {
        new Intl.DateTimeFormat("en-US", { timeZone: zone });
        return true;
      } catch {
        return false;
      }
    },
    { message: "must be an IANA time zone such as UTC or Europe/Paris" },
  ),
  /** When Redis cannot be reached: per-minute limits fail `open` (default) or `closed`. */
  REDIS_FAILURE_RATE_LIMITS: z.enum(["open", "closed"], { message: "must be open or closed" }).default("open"),
  /** When Redis cannot be reached: quotas and budgets fail `closed` (default) or `open`. */
  REDIS_FAILURE_QUOTAS: z.enum(["open", "closed"], { message: "must be open or closed" }).default("closed"),
  /** Output tokens reserved for a request that sets no max_tokens. */
  DEFAULT_MAX_OUTPUT_TOKENS: positiveInt(4096),
  MAX_BODY_BYTES: positiveInt(4 * 1024 * 1024),
  ...providerFields,
});

export type Env = z.input<typeof envSchema>;
export type ParsedEnv = z.output<typeof envSchema>;

/** The names every setting is read from, for tooling that merges env sources. */
export const CONFIG_KEYS = Object.keys(envSchema.shape) as (keyof Env)[];
