// Every setting Sluice reads, parsed by zod into one typed Config.
import { PROVIDERS } from "../providers/index.ts";
import type { RequestLogBucket } from "../request-logs/index.ts";
import type { BillingQueue } from "../usage/billing-queue.ts";
import type { UsageQueue } from "../usage/record.ts";
import * as z from "../zod.ts";

const optionalText = z.pipe(
  z.optional(z.string()),
  z.transform((value) => (value?.trim() ? value.trim() : undefined)),
);

const optionalUrl = z.pipe(optionalText, z.optional(z.url({ message: "must be an http(s) URL" })));

const positiveInt = (fallback: number) =>
  z.pipe(
    z.transform((value) => (value === undefined || value === "" ? fallback : Number(value))),
    z.number().check(z.int(), z.positive()),
  );

/** Each provider's own variables (`<P>_API_KEY`, `<P>_BASE_URL`, …), as its descriptor names them. */
export const providerEnvSchema = z.object(
  Object.fromEntries(
    PROVIDERS.flatMap((provider) => provider.env?.vars ?? []).map((v) => [v.name, v.url ? optionalUrl : optionalText]),
  ),
);

const nonNegativeInt = (fallback: number) =>
  z.pipe(
    z.transform((value) => (value === undefined || value === "" ? fallback : Number(value))),
    z.number().check(z.int(), z.nonnegative()),
  );

const DURATION_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `500ms`, `30s`, `2m`, or a bare number of milliseconds. */
const durationMs = (fallback: string) =>
  z.pipe(
    z.transform((value) => {
      const text = value === undefined || value === "" ? fallback : String(value).trim();
      const match = /^(\d+)(ms|s|m|h)?$/.exec(text);
      return match ? Number(match[1]) * (DURATION_MS[match[2] ?? "ms"] ?? 1) : Number.NaN;
    }),
    z.number({ message: "must be a duration like 500ms, 30s or 2m" }).check(z.int(), z.nonnegative()),
  );

export const envSchema = z.object({
  DATABASE_URL: z
    .string({ message: "is required: a Postgres connection string (Neon, or the local stand-in)" })
    .check(z.regex(/^postgres(ql)?:\/\//, { message: "must be a postgres:// connection string" })),
  UPSTASH_REDIS_REST_URL: z.url({ message: "is required: the Upstash Redis REST URL" }),
  UPSTASH_REDIS_REST_TOKEN: z.string({ message: "is required: the Upstash Redis REST token" }).check(z.minLength(1)),
  ADMIN_KEY: z
    .string({ message: "is required: the admin API key" })
    .check(z.minLength(16, { message: "must be at least 16 characters" })),
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
  TOKEN_TTL: z.pipe(
    optionalText,
    z.optional(z.string().check(z.regex(/^\d+(s|m|h)$/, { message: "must be a duration like 15m or 1h" }))),
  ),
  /** Lifetime of guest tokens from `POST /auth/attest`, e.g. `10m`. */
  APP_TOKEN_TTL: z.pipe(
    optionalText,
    z.optional(z.string().check(z.regex(/^\d+(s|m|h)$/, { message: "must be a duration like 10m or 1h" }))),
  ),
  /** Requests a minute each client network (IPv4 address, IPv6 /64) may make to `POST /auth/attest`; `off` for none. */
  PUBLIC_RATE_LIMIT: z.pipe(
    optionalText,
    z.optional(z.string().check(z.regex(/^(\d+|off)$/, { message: "must be a number of requests a minute, or off" }))),
  ),
  /** Salt of the client-network hashes in the ledger and the guest limits; derived from ADMIN_KEY when unset. */
  IP_HASH_SALT: optionalText,
  /** `on`: the gateway serves its example app at `/examples/chat`; `off` (default): it does not. */
  EXAMPLES: z._default(z.enum(["on", "off"], { message: "must be on or off" }), "off"),
  /** Cloudflare Turnstile: the secret for siteverify, and where siteverify is (Cloudflare's by default). */
  TURNSTILE_SECRET_KEY: optionalText,
  TURNSTILE_VERIFY_URL: optionalUrl,
  /** Firebase App Check's public keys (Firebase's by default), and the issuer's base, for a stand-in. */
  APP_CHECK_JWKS_URL: optionalUrl,
  APP_CHECK_ISSUER: optionalUrl,
  /** The key-encryption key for stored provider keys: 32 bytes in base64, optionally `v<N>:`-prefixed (version 1 otherwise). */
  ENCRYPTION_KEY: optionalText,
  /** Earlier key-encryption keys, comma-separated `v<N>:<base64>`, readable until every credential is rewrapped. */
  ENCRYPTION_KEY_PREVIOUS: optionalText,
  CORS_ORIGINS: optionalText,
  /**
   * The OAuth authorization servers (issuer URLs, comma-separated; `sluice` for this gateway itself) that MCP
   * clients are pointed at for a token `/mcp` accepts: RFC 9728 metadata and a 401's `WWW-Authenticate` hint.
   * Unset: neither is offered.
   */
  MCP_AUTHORIZATION_SERVERS: z.pipe(
    optionalText,
    z.optional(
      z.string().check(
        z.refine((list) => list.split(",").every((url) => url.trim() === "sluice" || /^https?:\/\/[^\s,]+$/.test(url.trim())), {
          message: "must be comma-separated http(s) URLs, or `sluice`",
        }),
      ),
    ),
  ),
  /** The scopes MCP clients should ask the authorization server for, space-separated (RFC 9728 `scopes_supported`). */
  MCP_OAUTH_SCOPES: optionalText,
  DEFAULT_PROVIDER: optionalText,
  /** Where usage records are delivered in signed batches (the billing outbox), and the signing secret. */
  BILLING_WEBHOOK_URL: optionalUrl,
  BILLING_WEBHOOK_SECRET: optionalText,
  /** The first wait after a failed billing delivery, in whole seconds; it doubles up to the cap (110 s). */
  BILLING_RETRY_BASE: durationMs("15s"),
  /** Where budget and quota thresholds are announced; signed with ALERTS_WEBHOOK_SECRET, else the billing secret. */
  ALERTS_WEBHOOK_URL: optionalUrl,
  ALERTS_WEBHOOK_SECRET: optionalText,
  /** A Google OAuth client (web application): users connect their Google account for Gemini on their own quota. */
  GOOGLE_OAUTH_CLIENT_ID: optionalText,
  GOOGLE_OAUTH_CLIENT_SECRET: optionalText,
  /** Google's authorization server (consent at `/o/oauth2/v2/auth`); overridden for the fake Google in `dev/`. */
  GOOGLE_OAUTH_BASE_URL: optionalUrl,
  GOOGLE_TOKEN_URL: optionalUrl,
  GOOGLE_REVOKE_URL: optionalUrl,
  /** Where Google sends users back; by default this gateway's own `/api/provider-accounts/google/callback`. */
  GOOGLE_OAUTH_REDIRECT_URL: optionalUrl,
  /** Space-separated scopes asked for; by default what the accounts' API needs, and the account's email. */
  GOOGLE_OAUTH_SCOPES: optionalText,
  /** Which API users' accounts call: `generative-language` (the Gemini API with OAuth), or `code-assist` (the Gemini CLI's). */
  GOOGLE_ACCOUNT_API: z.optional(z.enum(["generative-language", "code-assist"])),
  /** Where accounts' Gemini API calls go; Google's own by default. */
  GOOGLE_GEMINI_API_URL: optionalUrl,
  /** Where accounts' Code Assist calls go; Google's own by default. */
  GOOGLE_CODE_ASSIST_URL: optionalUrl,
  /** A Google Cloud project for Code Assist (Standard and Enterprise); the free tier's is found at connection. */
  GOOGLE_CLOUD_PROJECT: optionalText,
  /** Single sign-on (OpenID Connect): the provider's discovery URL (or its issuer), and this gateway's client there. */
  SSO_DISCOVERY_URL: optionalUrl,
  SSO_CLIENT_ID: optionalText,
  SSO_CLIENT_SECRET: optionalText,
  /** Space-separated scopes asked for; `openid email profile` by default. */
  SSO_SCOPES: optionalText,
  /** Where the provider sends people back; by default this gateway's own `/auth/sso/callback`. */
  SSO_REDIRECT_URL: optionalUrl,
  /** The ID-token claim holding groups or roles (a dotted path reaches a nested one); `groups` by default. */
  SSO_ROLES_CLAIM: optionalText,
  /** JSON: group or role name → `org:<role>` or `team:<team id>:<role>`. */
  SSO_ROLE_MAP: optionalText,
  /** The organization role of a person none of whose groups is mapped; unset, such a person is not let in. */
  SSO_DEFAULT_ROLE: z.optional(
    z.enum(["owner", "admin", "member", "viewer", "billing"], { message: "must be owner, admin, member, viewer or billing" }),
  ),
  /** Comma-separated email domains allowed to sign in (verified email required); unset, any. */
  SSO_ALLOWED_DOMAINS: optionalText,
  /** How long a dashboard session lasts, e.g. `12h`. */
  SSO_SESSION_TTL: z.pipe(
    optionalText,
    z.optional(z.string().check(z.regex(/^\d+(m|h|d)$/, { message: "must be a duration like 30m, 12h or 7d" }))),
  ),
  /** The provider's name on the dashboard's sign-in button (`Okta`, `Google`…). */
  SSO_PROVIDER_NAME: optionalText,
  /** IANA time zone in which daily and monthly windows reset; UTC by default. */
  LIMITS_TIMEZONE: optionalText.check(
    z.refine(
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
  ),
  /** When Redis cannot be reached: per-minute limits fail `open` (default) or `closed`. */
  REDIS_FAILURE_RATE_LIMITS: z._default(z.enum(["open", "closed"], { message: "must be open or closed" }), "open"),
  /** When Redis cannot be reached: quotas and budgets fail `closed` (default) or `open`. */
  REDIS_FAILURE_QUOTAS: z._default(z.enum(["open", "closed"], { message: "must be open or closed" }), "closed"),
  /** Whether the limits check may run alongside the upstream call when the isolate last saw ample room (`on`, default) or always before it (`off`). */
  LIMITS_OVERLAP: z._default(z.enum(["on", "off"], { message: "must be on or off" }), "on"),
  /** How long an isolate may hand out reservations it took ahead for a busy caller; 0 turns leases off. */
  LIMITS_LEASE: durationMs("1s"),
  /** The longest a response may be cached for, whatever a request, key or model asks. */
  RESPONSE_CACHE_MAX_TTL: durationMs("24h"),
  /** The largest answer (JSON or a whole stream) the response cache keeps. */
  RESPONSE_CACHE_MAX_BYTES: positiveInt(1024 * 1024),
  /** `on`: cached answers are also kept in Redis, shared by every location; `off` (default): the edge cache only. */
  RESPONSE_CACHE_REDIS: z._default(z.enum(["on", "off"], { message: "must be on or off" }), "off"),
  /** `on`: a cache hit counts against token quotas and budgets as the original call did; `off` (default): only against requests per minute. */
  RESPONSE_CACHE_BILL_HITS: z._default(z.enum(["on", "off"], { message: "must be on or off" }), "off"),
  /** Output tokens reserved for a request that sets no max_tokens. */
  DEFAULT_MAX_OUTPUT_TOKENS: positiveInt(4096),
  MAX_BODY_BYTES: positiveInt(4 * 1024 * 1024),
  /** The largest audio upload (`/v1/audio/transcriptions`, `/v1/audio/translations`): 25 MiB, as OpenAI takes. */
  MAX_AUDIO_UPLOAD_BYTES: positiveInt(25 * 1024 * 1024),
  /** The largest image upload (`/v1/images/edits`, all its images together). */
  MAX_IMAGE_UPLOAD_BYTES: positiveInt(50 * 1024 * 1024),
  /** Failures that move a request on to its next attempt: `connection`, `timeout`, `5xx`, `4xx`, or status codes. */
  FAILOVER_ON: z.pipe(
    optionalText,
    z.optional(
      z.string().check(
        z.regex(/^\s*(connection|timeout|[45]xx|[45]\d\d)(\s*,\s*(connection|timeout|[45]xx|[45]\d\d))*\s*$/, {
          message: "must be a comma-separated list of connection, timeout, 4xx, 5xx or status codes such as 429",
        }),
      ),
    ),
  ),
  /** Extra attempts on the same target before moving down the fallback chain. */
  UPSTREAM_RETRIES: nonNegativeInt(1),
  /** The first backoff step; each retry waits a random time up to base × 2^n (full jitter). */
  RETRY_BACKOFF: durationMs("250ms"),
  /** The longest an upstream's `Retry-After` is waited out; a longer one moves on to the next target. */
  RETRY_AFTER_MAX: durationMs("10s"),
  /** One attempt, from sending it until the whole answer (or, streamed, its first byte) is in. */
  UPSTREAM_ATTEMPT_TIMEOUT: durationMs("120s"),
  /** From sending an attempt until the upstream's first byte. */
  UPSTREAM_FIRST_BYTE_TIMEOUT: durationMs("60s"),
  /** The longest gap between two chunks of a stream. */
  UPSTREAM_STREAM_IDLE_TIMEOUT: durationMs("60s"),
  /**
   * `always`: every OpenAI chat or text completion stream ends with its usage chunk, asked for or not (a client that
   * sends `stream_options.include_usage: false` still goes without); `asked` (default): only when the client asks.
   */
  STREAM_USAGE: z._default(z.enum(["asked", "always"], { message: "must be asked or always" }), "asked"),
  /** Every attempt and wait of one request together, until its answer starts. */
  REQUEST_DEADLINE: durationMs("300s"),
  /** Failures of one target, within COOLDOWN, that put it in cooldown. */
  COOLDOWN_FAILURES: positiveInt(3),
  /** How long a failing target is skipped. */
  COOLDOWN: durationMs("30s"),
  /** How often an isolate re-reads the model catalog and the routing health from the stores. */
  CATALOG_REFRESH: durationMs("5s"),
  /** OpenTelemetry: the collector's base URL (traces go to `<it>/v1/traces`); unset with the next one, tracing is off. */
  OTEL_EXPORTER_OTLP_ENDPOINT: optionalUrl,
  /** OpenTelemetry: the full URL traces are posted to, when not `<OTEL_EXPORTER_OTLP_ENDPOINT>/v1/traces`. */
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: optionalUrl,
  /** Headers sent with each export, `name=value` pairs separated by commas, values URL-encoded. */
  OTEL_EXPORTER_OTLP_HEADERS: optionalText,
  /** How long one export may take before it is given up (and its spans counted as dropped). */
  OTEL_EXPORTER_OTLP_TIMEOUT: durationMs("10s"),
  /** The `service.name` of the spans. */
  OTEL_SERVICE_NAME: optionalText,
  /** Which requests are traced: the standard sampler names; a caller's sampled `traceparent` is followed by the `parentbased_*` ones. */
  OTEL_TRACES_SAMPLER: z._default(
    z.enum(
      ["always_on", "always_off", "traceidratio", "parentbased_always_on", "parentbased_always_off", "parentbased_traceidratio"],
      { message: "must be a standard sampler name such as parentbased_traceidratio" },
    ),
    "parentbased_always_on",
  ),
  /** The ratio of traces the `traceidratio` samplers keep, from 0 to 1. */
  OTEL_TRACES_SAMPLER_ARG: z.pipe(
    z.transform((value) => (value === undefined || value === "" ? 1 : Number(value))),
    z.number({ message: "must be a ratio from 0 to 1" }).check(
      z.gte(0, { message: "must be a ratio from 0 to 1" }),
      z.lte(1, {
        message: "must be a ratio from 0 to 1",
      }),
    ),
  ),
  /** `true`: traced calls carry their prompt and answer on the client span (`gen_ai.input.messages`, `gen_ai.output.messages`), redacted. */
  OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: z._default(
    z.enum(["true", "false"], { message: "must be true or false" }),
    "false",
  ),
  /** With METRICS=on, the cron pushes the same counters as OTLP metrics (JSON) to this URL every minute. */
  OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: optionalUrl,
  /** `on`: `GET /metrics` answers in Prometheus text format, from counters every isolate adds to in Redis; `off` (default): no route, no counting. */
  METRICS: z._default(z.enum(["on", "off"], { message: "must be on or off" }), "off"),
  /** How many days request logs are kept; the cron deletes older ones. */
  REQUEST_LOGS_RETENTION_DAYS: positiveInt(30),
  /** A bearer token that may read `/metrics` besides the admin key (a scraper need not hold the admin key). */
  METRICS_TOKEN: optionalText,
  /** Where each model call's record is posted, in batches, after its response; unset, nothing is exported. */
  LOG_EXPORT_URL: optionalUrl,
  /** `jsonl` (default): one JSON object a line; `otlp`: OTLP/HTTP logs in their JSON encoding. */
  LOG_EXPORT_FORMAT: z._default(z.enum(["jsonl", "otlp"], { message: "must be jsonl or otlp" }), "jsonl"),
  /** Headers sent with each export, `name=value` pairs separated by commas, values URL-encoded (as OTEL_EXPORTER_OTLP_HEADERS). */
  LOG_EXPORT_HEADERS: optionalText,
  /** Signs each export with `x-sluice-signature`, as the billing webhook is signed. */
  LOG_EXPORT_SECRET: optionalText,
  /** How long one export may take before it is given up (and tried again with a later batch). */
  LOG_EXPORT_TIMEOUT: durationMs("10s"),
  /** Signs each call of a webhook guardrail with `x-sluice-signature`, as the billing webhook is signed. */
  GUARDRAIL_WEBHOOK_SECRET: optionalText,
  /** `json`: one JSON line per model call on the console (Workers Logs indexes it); `off` (default): none. */
  CONSOLE_REQUEST_LOG: z._default(z.enum(["json", "off"], { message: "must be json or off" }), "off"),
});

/** Settings, plus the Worker's bindings. */
export type Env = z.input<typeof envSchema> &
  Partial<Record<string, unknown>> & {
    /** Usage records, written to the ledger in batches by this Worker's queue consumer. */
    USAGE_QUEUE?: UsageQueue;
    /** Wake-ups for the billing outbox's next delivery pass, consumed by this Worker. */
    BILLING_QUEUE?: BillingQueue;
    /** Request logs (prompts and answers of callers who opted in): an R2 bucket. */
    REQUEST_LOGS?: RequestLogBucket;
  };
export type ParsedEnv = z.output<typeof envSchema>;

/** The names every setting is read from, for tooling that merges env sources. */
export const CONFIG_KEYS = [...Object.keys(envSchema.shape), ...Object.keys(providerEnvSchema.shape)];
