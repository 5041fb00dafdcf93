// Turns the Worker's env into a Config once per env object; a bad setting
// becomes a ConfigError that names the variable.
import type { StreamUsage } from "../formats/types.ts";
import { PROVIDERS } from "../providers/index.ts";
import type { EnvVars, ProviderSettings } from "../providers/types.ts";
import type { ParsedEnv } from "./schema.ts";
import { CONFIG_KEYS, envSchema, providerEnvSchema } from "./schema.ts";
import { type SsoConfig, ssoConfig } from "./sso.ts";

export type { Env } from "./schema.ts";
export { CONFIG_KEYS } from "./schema.ts";
export type { RoleGrant, SsoConfig } from "./sso.ts";

export interface Config {
  databaseUrl: string;
  redis: { url: string; token: string };
  adminKey: string;
  jwt: {
    secret?: string;
    jwksUrl?: string;
    issuer?: string;
    audience?: string;
    claims: { user: string; email: string; name: string; team: string; tier: string };
  };
  /** Lifetime of Sluice-issued tokens, in seconds. */
  tokenTtlSeconds: number;
  /** Apps without a backend: guest tokens, the public exchange's limit, proofs of the app. */
  apps: AppsConfig;
  /** Whether `/examples/*` is served. */
  examples: boolean;
  /** Key-encryption keys for stored provider credentials: the current one wraps, all of them unwrap. */
  encryption: { current?: EncryptionKey; all: EncryptionKey[] };
  routing: RoutingConfig;
  corsOrigins: string[];
  /**
   * Where MCP clients get a token for `/mcp` (RFC 9728); undefined: not offered. `sluice`: this gateway is an
   * authorization server itself (`/oauth/*`), signing people in through single sign-on.
   */
  mcpOAuth?: { authorizationServers: string[]; sluice: boolean; scopes: string[] };
  defaultProvider?: string;
  maxBodyBytes: number;
  /** The largest multipart upload each kind of media endpoint reads, checked while it streams in. */
  maxUploadBytes: { audio: number; image: number };
  limits: {
    timeZone: string;
    onRedisFailure: { rateLimits: "open" | "closed"; quotas: "open" | "closed" };
    defaultMaxOutputTokens: number;
    /** Whether the check may run alongside the upstream call when the isolate last saw ample room. */
    overlap: boolean;
    /** How long a lease of reservations lasts in an isolate; 0 for none. */
    leaseMs: number;
  };
  /** Built-in providers the environment configures (a credential, or a base URL), by kind. */
  providers: Partial<Record<string, ProviderSettings>>;
  /** Signed webhooks: usage batches for billing, and limit alerts. */
  webhooks: { billing?: BillingWebhook; alerts?: WebhookTarget };
  /** Users' Google accounts for Gemini, when an OAuth client is configured. */
  google?: GoogleOAuthConfig;
  /** Single sign-on to the dashboard and the admin API (OpenID Connect); undefined when off. */
  sso?: SsoConfig;
  responseCache: {
    maxTtlSeconds: number;
    maxBytes: number;
    /** Whether Redis keeps a shared copy beside each location's edge cache. */
    redis: boolean;
    /** Whether a hit counts against token quotas and budgets. */
    billHits: boolean;
  };
  /** How many days request logs are kept. */
  requestLogRetentionDays: number;
  /** Signs the calls of webhook guardrails, when set. */
  guardrailWebhookSecret?: string;
  /** Traces and metrics; each undefined when off. */
  observability: ObservabilityConfig;
}

export interface TracingConfig {
  /** Where spans are posted (OTLP/HTTP, JSON). */
  url: string;
  headers: Record<string, string>;
  timeoutMs: number;
  serviceName: string;
  sampler: { parentBased: boolean; ratio: number };
  /** Whether traced calls carry their prompt and answer (redacted) on their client span. */
  captureContent: boolean;
}

export interface ObservabilityConfig {
  tracing?: TracingConfig;
  metrics?: {
    token?: string;
    /** Where the cron pushes them as OTLP metrics, when set. */
    otlp?: { url: string; headers: Record<string, string>; timeoutMs: number; serviceName: string };
  };
  /** Each model call's record, shipped in batches to an HTTP sink. */
  logExport?: LogExportConfig;
  /** One JSON line per model call on the console. */
  consoleLog: boolean;
}

export interface LogExportConfig {
  url: string;
  format: "jsonl" | "otlp";
  headers: Record<string, string>;
  secret?: string;
  timeoutMs: number;
  serviceName: string;
}

export interface AppsConfig {
  tokenTtlSeconds: number;
  /** Exchanges a minute per client network; null for no limit. */
  publicRateLimit: number | null;
  ipHashSalt: string;
  turnstile: { secret?: string; verifyUrl: string };
  appCheck: { jwksUrl: string; issuer: string };
}

export interface GoogleOAuthConfig {
  clientId: string;
  clientSecret: string;
  authorizeUrl: string;
  tokenUrl: string;
  revokeUrl: string;
  /** Unset: the gateway's own callback, from the request's origin. */
  redirectUrl?: string;
  scopes: string;
  /** Which API connected accounts call, and where. */
  api: "generative-language" | "code-assist";
  geminiApiUrl: string;
  codeAssistUrl: string;
  /** The Code Assist project to use, when the operator names one. */
  project?: string;
}

/** What each API the accounts may call needs, and who the account is. */
export const GOOGLE_DEFAULT_SCOPES = {
  "generative-language":
    "openid email https://www.googleapis.com/auth/generative-language.retriever https://www.googleapis.com/auth/cloud-platform",
  "code-assist": "openid email https://www.googleapis.com/auth/cloud-platform",
} as const;

export interface WebhookTarget {
  url: string;
  secret: string;
}

/** The billing webhook, with the first step of its retry backoff. */
export interface BillingWebhook extends WebhookTarget {
  retryBaseSeconds: number;
}

export interface EncryptionKey {
  version: number;
  /** 32 bytes, base64. */
  secret: string;
}

/** Which failures move a request on to its next attempt. */
export interface FailoverPolicy {
  connection: boolean;
  timeout: boolean;
  statuses: (status: number) => boolean;
}

export interface RoutingConfig {
  failoverOn: FailoverPolicy;
  retries: number;
  backoffMs: number;
  retryAfterMaxMs: number;
  attemptTimeoutMs: number;
  firstByteTimeoutMs: number;
  streamIdleTimeoutMs: number;
  /** Whether an OpenAI stream's usage chunk goes to every client, or only to one that asked for it. */
  streamUsage: StreamUsage;
  deadlineMs: number;
  cooldown: { failures: number; ms: number };
  catalogRefreshMs: number;
}

/** The MCP authorization servers; `sluice` names this gateway, which signs people in through single sign-on. */
function mcpOAuthConfig(list: string, scopes: string | undefined, sso: SsoConfig | undefined): NonNullable<Config["mcpOAuth"]> {
  const names = list.split(",").map((url) => url.trim().replace(/\/+$/, ""));
  const sluice = names.includes("sluice");
  if (sluice && !sso) {
    throw new ConfigError([
      "MCP_AUTHORIZATION_SERVERS=sluice signs people in through single sign-on: set SSO_DISCOVERY_URL and SSO_CLIENT_ID",
    ]);
  }
  return {
    authorizationServers: names.filter((name) => name !== "sluice"),
    sluice,
    scopes: (scopes ?? "").split(/\s+/).filter(Boolean),
  };
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration: ${problems.join("; ")}`);
  }
}

function providerSettings(vars: EnvVars, raw: Record<string, unknown>): Config["providers"] {
  const providers: Config["providers"] = {};
  for (const provider of PROVIDERS) {
    // A provider behind a binding (Workers AI) is on when the Worker has the binding.
    if (provider.binding && typeof raw[provider.binding] === "object" && raw[provider.binding] !== null) {
      providers[provider.kind] = { baseUrl: provider.defaultBaseUrl ?? "" };
    }
    if (!provider.env) continue;
    const secret = provider.env.secret(vars);
    const baseUrl = provider.env.baseUrl(vars);
    if (secret || baseUrl) {
      const apiVersion = provider.env.apiVersion?.(vars);
      const region = provider.env.region?.(vars);
      providers[provider.kind] = {
        secret,
        baseUrl: (baseUrl ?? provider.defaultBaseUrl ?? "").replace(/\/+$/, ""),
        ...(apiVersion && { apiVersion }),
        ...(region && { region }),
      };
    }
  }
  return providers;
}

function failoverPolicy(list: string): FailoverPolicy {
  const items = list.split(",").map((item) => item.trim());
  const codes = new Set(items.filter((item) => /^\d+$/.test(item)).map(Number));
  const classes = new Set(items.filter((item) => /^[45]xx$/.test(item)).map((item) => Number(item[0])));
  return {
    connection: items.includes("connection"),
    timeout: items.includes("timeout"),
    statuses: (status) => codes.has(status) || classes.has(Math.floor(status / 100)),
  };
}

export function encryptionKey(text: string, variable: string): EncryptionKey {
  const match = /^(?:v(\d+):)?([A-Za-z0-9+/=_-]+)$/.exec(text.trim());
  let bytes = 0;
  try {
    bytes = match?.[2] ? atob(match[2].replaceAll("-", "+").replaceAll("_", "/")).length : 0;
  } catch {
    bytes = 0;
  }
  if (!match?.[2] || bytes !== 32) {
    throw new ConfigError([`${variable} must be 32 random bytes in base64, optionally prefixed \`v<N>:\``]);
  }
  return { version: Number(match[1] ?? 1), secret: match[2] };
}

function encryptionKeys(env: ParsedEnv): Config["encryption"] {
  const current = env.ENCRYPTION_KEY ? encryptionKey(env.ENCRYPTION_KEY, "ENCRYPTION_KEY") : undefined;
  const previous = (env.ENCRYPTION_KEY_PREVIOUS ?? "")
    .split(",")
    .filter((item) => item.trim())
    .map((item) => encryptionKey(item, "ENCRYPTION_KEY_PREVIOUS"));
  const all = [...(current ? [current] : []), ...previous];
  if (new Set(all.map((key) => key.version)).size !== all.length) {
    throw new ConfigError(["ENCRYPTION_KEY and ENCRYPTION_KEY_PREVIOUS must each have their own version"]);
  }
  return { current, all };
}

/** Parses raw env values; throws ConfigError naming each bad variable. */
export function parseConfig(raw: Record<string, unknown>): Config {
  const picked = Object.fromEntries(CONFIG_KEYS.map((key) => [key, raw[key]]));
  const parsed = envSchema.safeParse(picked);
  const providerVars = providerEnvSchema.safeParse(picked);
  const issues = [...(parsed.error?.issues ?? []), ...(providerVars.error?.issues ?? [])];
  if (!parsed.success || !providerVars.success) {
    throw new ConfigError(issues.map((issue) => `${issue.path.join(".")} ${issue.message}`));
  }
  const env = parsed.data;
  const webhook = (url: string | undefined, secret: string | undefined, name: string): WebhookTarget | undefined => {
    if (!url) return undefined;
    if (!secret || secret.length < 16) throw new ConfigError([`${name} is required (16 characters or more) when its URL is set`]);
    return { url, secret };
  };
  // A token the app signs for anything else (a session, another service) must not pass as an API credential.
  if ((env.JWT_SECRET || env.JWKS_URL) && (!env.JWT_ISSUER || !env.JWT_AUDIENCE)) {
    throw new ConfigError(["JWT_ISSUER and JWT_AUDIENCE are required when JWT_SECRET or JWKS_URL is set"]);
  }
  const ssoProblems: string[] = [];
  const sso = ssoConfig(env, ssoProblems);
  if (ssoProblems.length > 0) throw new ConfigError(ssoProblems);
  const billing = webhook(env.BILLING_WEBHOOK_URL, env.BILLING_WEBHOOK_SECRET, "BILLING_WEBHOOK_SECRET");
  const webhooks = {
    // Queue delays are whole seconds.
    billing: billing && { ...billing, retryBaseSeconds: Math.max(1, Math.ceil(env.BILLING_RETRY_BASE / 1000)) },
    alerts: webhook(env.ALERTS_WEBHOOK_URL, env.ALERTS_WEBHOOK_SECRET ?? env.BILLING_WEBHOOK_SECRET, "ALERTS_WEBHOOK_SECRET"),
  };
  return {
    databaseUrl: env.DATABASE_URL,
    redis: { url: env.UPSTASH_REDIS_REST_URL, token: env.UPSTASH_REDIS_REST_TOKEN },
    adminKey: env.ADMIN_KEY,
    jwt: {
      secret: env.JWT_SECRET,
      jwksUrl: env.JWKS_URL,
      issuer: env.JWT_ISSUER,
      audience: env.JWT_AUDIENCE,
      claims: {
        user: env.JWT_USER_CLAIM ?? "sub",
        email: env.JWT_EMAIL_CLAIM ?? "email",
        name: env.JWT_NAME_CLAIM ?? "name",
        team: env.JWT_TEAM_CLAIM ?? "team",
        tier: env.JWT_TIER_CLAIM ?? "tier",
      },
    },
    tokenTtlSeconds: durationSeconds(env.TOKEN_TTL ?? "15m"),
    apps: {
      tokenTtlSeconds: durationSeconds(env.APP_TOKEN_TTL ?? "10m"),
      publicRateLimit: env.PUBLIC_RATE_LIMIT === "off" ? null : Number(env.PUBLIC_RATE_LIMIT ?? 30),
      ipHashSalt: env.IP_HASH_SALT ?? `ip-hash:${env.ADMIN_KEY}`,
      turnstile: {
        secret: env.TURNSTILE_SECRET_KEY,
        verifyUrl: env.TURNSTILE_VERIFY_URL ?? "https://challenges.cloudflare.com/turnstile/v0/siteverify",
      },
      appCheck: {
        jwksUrl: env.APP_CHECK_JWKS_URL ?? "https://firebaseappcheck.googleapis.com/v1/jwks",
        issuer: (env.APP_CHECK_ISSUER ?? "https://firebaseappcheck.googleapis.com").replace(/\/+$/, ""),
      },
    },
    examples: env.EXAMPLES === "on",
    encryption: encryptionKeys(env),
    routing: {
      failoverOn: failoverPolicy(env.FAILOVER_ON ?? "connection,timeout,429,5xx"),
      retries: env.UPSTREAM_RETRIES,
      backoffMs: env.RETRY_BACKOFF,
      retryAfterMaxMs: env.RETRY_AFTER_MAX,
      attemptTimeoutMs: env.UPSTREAM_ATTEMPT_TIMEOUT,
      firstByteTimeoutMs: env.UPSTREAM_FIRST_BYTE_TIMEOUT,
      streamIdleTimeoutMs: env.UPSTREAM_STREAM_IDLE_TIMEOUT,
      streamUsage: env.STREAM_USAGE,
      deadlineMs: env.REQUEST_DEADLINE,
      cooldown: { failures: env.COOLDOWN_FAILURES, ms: env.COOLDOWN },
      catalogRefreshMs: env.CATALOG_REFRESH,
    },
    corsOrigins: (env.CORS_ORIGINS ?? "")
      .split(",")
      .map((origin) => origin.trim())
      .filter(Boolean),
    ...(env.MCP_AUTHORIZATION_SERVERS && { mcpOAuth: mcpOAuthConfig(env.MCP_AUTHORIZATION_SERVERS, env.MCP_OAUTH_SCOPES, sso) }),
    defaultProvider: env.DEFAULT_PROVIDER,
    maxBodyBytes: env.MAX_BODY_BYTES,
    maxUploadBytes: { audio: env.MAX_AUDIO_UPLOAD_BYTES, image: env.MAX_IMAGE_UPLOAD_BYTES },
    limits: {
      timeZone: env.LIMITS_TIMEZONE ?? "UTC",
      onRedisFailure: { rateLimits: env.REDIS_FAILURE_RATE_LIMITS, quotas: env.REDIS_FAILURE_QUOTAS },
      defaultMaxOutputTokens: env.DEFAULT_MAX_OUTPUT_TOKENS,
      overlap: env.LIMITS_OVERLAP === "on",
      leaseMs: env.LIMITS_LEASE,
    },
    providers: providerSettings(providerVars.data as EnvVars, raw),
    webhooks,
    google: googleOAuth(env),
    sso,
    responseCache: {
      maxTtlSeconds: Math.floor(env.RESPONSE_CACHE_MAX_TTL / 1000),
      maxBytes: env.RESPONSE_CACHE_MAX_BYTES,
      redis: env.RESPONSE_CACHE_REDIS === "on",
      billHits: env.RESPONSE_CACHE_BILL_HITS === "on",
    },
    requestLogRetentionDays: env.REQUEST_LOGS_RETENTION_DAYS,
    guardrailWebhookSecret: env.GUARDRAIL_WEBHOOK_SECRET,
    observability: {
      tracing: tracingConfig(env),
      metrics:
        env.METRICS === "on"
          ? {
              token: env.METRICS_TOKEN,
              ...(env.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT && {
                otlp: {
                  url: env.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT,
                  headers: otlpHeaders(env.OTEL_EXPORTER_OTLP_HEADERS),
                  timeoutMs: env.OTEL_EXPORTER_OTLP_TIMEOUT,
                  serviceName: env.OTEL_SERVICE_NAME ?? "sluice",
                },
              }),
            }
          : undefined,
      logExport: env.LOG_EXPORT_URL
        ? {
            url: env.LOG_EXPORT_URL,
            format: env.LOG_EXPORT_FORMAT,
            headers: otlpHeaders(env.LOG_EXPORT_HEADERS, "LOG_EXPORT_HEADERS"),
            secret: env.LOG_EXPORT_SECRET,
            timeoutMs: env.LOG_EXPORT_TIMEOUT,
            serviceName: env.OTEL_SERVICE_NAME ?? "sluice",
          }
        : undefined,
      consoleLog: env.CONSOLE_REQUEST_LOG === "json",
    },
  };
}

/** `name=value,name2=value2`, values URL-encoded, as the OpenTelemetry variables write headers. */
function otlpHeaders(text: string | undefined, variable = "OTEL_EXPORTER_OTLP_HEADERS"): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const pair of (text ?? "").split(",")) {
    const at = pair.indexOf("=");
    if (at <= 0) continue;
    try {
      headers[decodeURIComponent(pair.slice(0, at).trim())] = decodeURIComponent(pair.slice(at + 1).trim());
    } catch {
      throw new ConfigError([`${variable} must be name=value pairs, URL-encoded, separated by commas`]);
    }
  }
  return headers;
}

function tracingConfig(env: ParsedEnv): TracingConfig | undefined {
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.replace(/\/+$/, "");
  const url = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? (base && `${base}/v1/traces`);
  const sampler = env.OTEL_TRACES_SAMPLER;
  // Nowhere to send spans, or none to send: off, and the hot path does nothing for it.
  if (!url || sampler === "always_off") return undefined;
  const ratio = sampler.endsWith("traceidratio") ? env.OTEL_TRACES_SAMPLER_ARG : sampler.endsWith("always_off") ? 0 : 1;
  return {
    url,
    headers: otlpHeaders(env.OTEL_EXPORTER_OTLP_HEADERS),
    timeoutMs: env.OTEL_EXPORTER_OTLP_TIMEOUT,
    serviceName: env.OTEL_SERVICE_NAME ?? "sluice",
    sampler: { parentBased: sampler.startsWith("parentbased_"), ratio },
    captureContent: env.OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT === "true",
  };
}

function googleOAuth(env: {
  GOOGLE_OAUTH_CLIENT_ID?: string;
  GOOGLE_OAUTH_CLIENT_SECRET?: string;
  GOOGLE_OAUTH_BASE_URL?: string;
  GOOGLE_TOKEN_URL?: string;
  GOOGLE_REVOKE_URL?: string;
  GOOGLE_OAUTH_REDIRECT_URL?: string;
  GOOGLE_OAUTH_SCOPES?: string;
  GOOGLE_ACCOUNT_API?: "generative-language" | "code-assist";
  GOOGLE_GEMINI_API_URL?: string;
  GOOGLE_CODE_ASSIST_URL?: string;
  GOOGLE_CLOUD_PROJECT?: string;
}): GoogleOAuthConfig | undefined {
  if (!env.GOOGLE_OAUTH_CLIENT_ID || !env.GOOGLE_OAUTH_CLIENT_SECRET) return undefined;
  const base = (env.GOOGLE_OAUTH_BASE_URL ?? "https://accounts.google.com").replace(/\/+$/, "");
  const api = env.GOOGLE_ACCOUNT_API ?? "generative-language";
  return {
    clientId: env.GOOGLE_OAUTH_CLIENT_ID,
    clientSecret: env.GOOGLE_OAUTH_CLIENT_SECRET,
    authorizeUrl: `${base}/o/oauth2/v2/auth`,
    tokenUrl: env.GOOGLE_TOKEN_URL ?? "https://oauth2.googleapis.com/token",
    revokeUrl: env.GOOGLE_REVOKE_URL ?? "https://oauth2.googleapis.com/revoke",
    redirectUrl: env.GOOGLE_OAUTH_REDIRECT_URL,
    scopes: env.GOOGLE_OAUTH_SCOPES ?? GOOGLE_DEFAULT_SCOPES[api],
    api,
    geminiApiUrl: (env.GOOGLE_GEMINI_API_URL ?? "https://generativelanguage.googleapis.com").replace(/\/+$/, ""),
    codeAssistUrl: (env.GOOGLE_CODE_ASSIST_URL ?? "https://cloudcode-pa.googleapis.com").replace(/\/+$/, ""),
    project: env.GOOGLE_CLOUD_PROJECT,
  };
}

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800, mo: 2_592_000 };

/** `30m`, `24h`, `30d`, `1mo` in seconds; undefined when the text is not a duration. */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d+)(s|m|h|d|w|mo)$/.exec(text.trim());
  return match ? Number(match[1]) * (UNIT_SECONDS[match[2] ?? "s"] ?? 1) : undefined;
}

function durationSeconds(text: string): number {
  return parseDuration(text) ?? 900;
}

const configCache = new WeakMap<object, Config | ConfigError>();

/** The env object is stable for an isolate's life, so its Config is parsed once. */
export function configFor(env: object): Config {
  let cached = configCache.get(env);
  if (!cached) {
    try {
      cached = parseConfig(env as Record<string, unknown>);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      cached = error;
      console.error(`sluice: ${error.message}`);
    }
    configCache.set(env, cached);
  }
  if (cached instanceof ConfigError) throw cached;
  return cached;
}
