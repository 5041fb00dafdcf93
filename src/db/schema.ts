// The whole data model (DESIGN §4). Later work adds columns, not tables.
import { sql } from "drizzle-orm";
import {
  bigserial,
  boolean,
  doublePrecision,
  index,
  integer,
  jsonb,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
} from "drizzle-orm/pg-core";

const createdAt = () => timestamp("created_at", { withTimezone: true }).notNull().defaultNow();
const updatedAt = () => timestamp("updated_at", { withTimezone: true }).notNull().defaultNow();
const usd = (name: string) => doublePrecision(name);
type Metadata = Record<string, unknown>;

/** Organizations: teams, members and admin tokens belong to one. The migration creates `default`, so one-org installs need no setup. */
export const organizations = pgTable("organizations", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
});

export const teams = pgTable("teams", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  orgId: text("org_id")
    .notNull()
    .default("default")
    .references(() => organizations.id, { onDelete: "cascade" }),
  metadata: jsonb("metadata").$type<Metadata>().notNull().default({}),
  blockedAt: timestamp("blocked_at", { withTimezone: true }),
  /** `team`: the team's keys and users are served each other's cached answers (a key may still say `key`). */
  cacheScope: text("cache_scope", { enum: ["key", "team"] }),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
});

export const users = pgTable(
  "users",
  {
    /** The identity provider's subject (JWT `sub` by default). */
    id: text("id").primaryKey(),
    email: text("email"),
    name: text("name"),
    teamId: text("team_id").references(() => teams.id, { onDelete: "set null" }),
    tier: text("tier"),
    metadata: jsonb("metadata").$type<Metadata>().notNull().default({}),
    blockedAt: timestamp("blocked_at", { withTimezone: true }),
    lastActiveAt: timestamp("last_active_at", { withTimezone: true }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index("users_team_idx").on(t.teamId)],
);

export const virtualKeys = pgTable(
  "virtual_keys",
  {
    id: text("id").primaryKey(),
    /** Hex SHA-256 of the secret; the secret itself is never stored. */
    keyHash: text("key_hash").notNull(),
    /** Last characters of the secret, to tell keys apart in listings. */
    keySuffix: text("key_suffix").notNull(),
    name: text("name"),
    userId: text("user_id").references(() => users.id, { onDelete: "cascade" }),
    teamId: text("team_id").references(() => teams.id, { onDelete: "cascade" }),
    /** Model allowlist; null allows every model. */
    models: text("models").array(),
    rpmLimit: integer("rpm_limit"),
    tpmLimit: integer("tpm_limit"),
    maxBudgetUsd: usd("max_budget_usd"),
    /** `1d`, `30d`, `1mo`…; null makes the budget a lifetime one. */
    budgetDuration: text("budget_duration"),
    expiresAt: timestamp("expires_at", { withTimezone: true }),
    revokedAt: timestamp("revoked_at", { withTimezone: true }),
    metadata: jsonb("metadata").$type<Metadata>().notNull().default({}),
    /**
     * Who minted it: `user:<id>` (a signed-in user, for themself), `operator:<subject>`, `admin_token:<id>` or
     * `admin`; null for keys minted before it was kept. Only a key its own user minted acts at that user's own
     * accounts (provider keys, linked accounts, MCP connections).
     */
    createdBy: text("created_by"),
    /** Seconds the key's answers are cached for; null leaves it to the request and the model. */
    cacheTtlSeconds: integer("cache_ttl_seconds"),
    /** Whose cached answers the key may be served: its own (`key`, the default) or its team's. */
    cacheScope: text("cache_scope", { enum: ["key", "team"] }),
    lastUsedAt: timestamp("last_used_at", { withTimezone: true }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex("virtual_keys_hash_idx").on(t.keyHash),
    index("virtual_keys_user_idx").on(t.userId),
    index("virtual_keys_team_idx").on(t.teamId),
  ],
);

/** Quotas and limits; the row with scope `default` holds the defaults for new users. */
export const quotaPolicies = pgTable(
  "quota_policies",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    scope: text("scope", { enum: ["default", "user", "team", "key"] }).notNull(),
    /** The user, team or key id; empty for the default row. */
    subjectId: text("subject_id").notNull().default(""),
    tokensPerDay: integer("tokens_per_day"),
    tokensPerMonth: integer("tokens_per_month"),
    usdPerDay: usd("usd_per_day"),
    usdPerMonth: usd("usd_per_month"),
    requestsPerMinute: integer("requests_per_minute"),
    tokensPerMinute: integer("tokens_per_minute"),
    /** The level's settings for callers (src/policy): the default row's are global, the others add to them. */
    settings: jsonb("settings").$type<Record<string, unknown>>().notNull().default({}),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [uniqueIndex("quota_policies_subject_idx").on(t.scope, t.subjectId)],
);

export const providers = pgTable("providers", {
  id: text("id").primaryKey(),
  kind: text("kind").notNull(),
  baseUrl: text("base_url"),
  apiVersion: text("api_version"),
  /** Where the deployment runs (`eu-west-1`), for data controls; null: what its base URL or credential says. */
  region: text("region"),
  enabled: boolean("enabled").notNull().default(true),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
});

export const models = pgTable("models", {
  /** The public model name clients send. */
  id: text("id").primaryKey(),
  providerId: text("provider_id")
    .notNull()
    .references(() => providers.id, { onDelete: "cascade" }),
  upstreamId: text("upstream_id").notNull(),
  inputUsdPerMtok: usd("input_usd_per_mtok").notNull().default(0),
  outputUsdPerMtok: usd("output_usd_per_mtok").notNull().default(0),
  cachedInputUsdPerMtok: usd("cached_input_usd_per_mtok"),
  /** Prompt-cache writes kept five minutes; 1.25 times the input price when null. */
  cacheWriteUsdPerMtok: usd("cache_write_usd_per_mtok"),
  contextWindow: integer("context_window"),
  maxOutputTokens: integer("max_output_tokens"),
  /** Public model names to try, in order, when this one fails. */
  fallbacks: text("fallbacks").array().notNull().default(sql`'{}'::text[]`),
  /** Seconds answers for this model are cached for, unless the key or the request says otherwise. */
  cacheTtlSeconds: integer("cache_ttl_seconds"),
  enabled: boolean("enabled").notNull().default(true),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
});

/**
 * Guardrail policies: what to look for in prompts (input), answers (output)
 * or both, and what to do on a find. Attached to callers by id through the
 * `guardrails` section of their settings (src/policy), at any level.
 */
export const guardrails = pgTable("guardrails", {
  id: text("id").primaryKey(),
  /** Shown to the caller when it blocks, and in the ledger. */
  name: text("name").notNull(),
  phase: text("phase", { enum: ["input", "output", "both"] }).notNull(),
  mode: text("mode", { enum: ["block", "redact", "flag"] }).notNull(),
  /** Built-in detectors: email, phone, card, iban, ssn, ip, secret. */
  kinds: text("kinds").array().notNull().default(sql`'{}'::text[]`),
  /** Custom patterns and words: `{patterns: [{name, regex, flags}], words: [...]}`. */
  options: jsonb("options").$type<Record<string, unknown>>().notNull().default({}),
  enabled: boolean("enabled").notNull().default(true),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
});

/** Routes: a name clients ask for as their model, served by a rule tree (src/routing/rules). */
export const routes = pgTable("routes", {
  name: text("name").primaryKey(),
  description: text("description"),
  /** The rule tree, as src/routing/rules/schema.ts validates it. */
  rule: jsonb("rule").$type<Record<string, unknown>>().notNull(),
  /** Public model names tried, in order, after the chosen model's own fallbacks. */
  fallbacks: text("fallbacks").array().notNull().default(sql`'{}'::text[]`),
  enabled: boolean("enabled").notNull().default(true),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
});

export const providerCredentials = pgTable(
  "provider_credentials",
  {
    id: text("id").primaryKey(),
    providerId: text("provider_id").notNull(),
    ownerType: text("owner_type", { enum: ["global", "user", "team"] }).notNull(),
    ownerId: text("owner_id").notNull().default(""),
    name: text("name"),
    /** AES-GCM ciphertext of the provider key under a per-row data key. */
    ciphertext: text("ciphertext").notNull(),
    iv: text("iv").notNull(),
    /** The data key, itself encrypted under the key-encryption key. */
    wrappedKey: text("wrapped_key").notNull(),
    kekVersion: integer("kek_version").notNull().default(1),
    keySuffix: text("key_suffix").notNull(),
    weight: integer("weight").notNull().default(1),
    rpmLimit: integer("rpm_limit"),
    tpmLimit: integer("tpm_limit"),
    tokensPerDay: integer("tokens_per_day"),
    disabledAt: timestamp("disabled_at", { withTimezone: true }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index("provider_credentials_owner_idx").on(t.providerId, t.ownerType, t.ownerId)],
);

/** Per-minute and per-day limits of one guest subject (a device, or a network); a missing field is no limit. */
export interface GuestLimitsRow {
  rpm_limit?: number | null;
  tpm_limit?: number | null;
  tokens_per_day?: number | null;
  usd_per_day?: number | null;
}

/**
 * A browser or mobile app whose users have no account: its publishable key
 * (public by design, so stored as it is) is exchanged with a proof of the app
 * for a short-lived guest token.
 */
export const apps = pgTable(
  "apps",
  {
    id: text("id").primaryKey(),
    name: text("name").notNull(),
    /** `pk_…`: shipped in the app's bundle; worth nothing outside the app's origins and proofs. */
    publishableKey: text("publishable_key").notNull(),
    /** Exact web origins (`https://app.example`) the app's pages are served from. */
    allowedOrigins: text("allowed_origins").array().notNull().default(sql`'{}'::text[]`),
    iosBundleIds: text("ios_bundle_ids").array().notNull().default(sql`'{}'::text[]`),
    androidPackages: text("android_packages").array().notNull().default(sql`'{}'::text[]`),
    /** Model allowlist for the app's guests; null allows every model. */
    models: text("models").array(),
    /** Proofs of the app accepted at the exchange (`turnstile`, `app_check`); empty requires none. */
    proofs: text("proofs").array().notNull().default(sql`'{}'::text[]`),
    /** Firebase project number and the Firebase app ids whose App Check tokens are taken. */
    appCheckProject: text("app_check_project"),
    appCheckAppIds: text("app_check_app_ids").array().notNull().default(sql`'{}'::text[]`),
    /** Each device's limits, and each network's (client IP, IPv6 by /64). */
    deviceLimits: jsonb("device_limits").$type<GuestLimitsRow>().notNull().default({}),
    ipLimits: jsonb("ip_limits").$type<GuestLimitsRow>().notNull().default({}),
    /** What all of the app's guests together may spend in a day. */
    guestUsdPerDay: usd("guest_usd_per_day"),
    metadata: jsonb("metadata").$type<Metadata>().notNull().default({}),
    disabledAt: timestamp("disabled_at", { withTimezone: true }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [uniqueIndex("apps_publishable_key_idx").on(t.publishableKey)],
);

export const usageEvents = pgTable(
  "usage_events",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    requestId: text("request_id").notNull(),
    principalType: text("principal_type").notNull(),
    principalId: text("principal_id").notNull(),
    userId: text("user_id"),
    keyId: text("key_id"),
    teamId: text("team_id"),
    provider: text("provider").notNull(),
    model: text("model").notNull(),
    upstreamModel: text("upstream_model"),
    clientFormat: text("client_format").notNull(),
    promptTokens: integer("prompt_tokens").notNull().default(0),
    completionTokens: integer("completion_tokens").notNull().default(0),
    cachedTokens: integer("cached_tokens").notNull().default(0),
    /** Of the prompt, tokens written to the provider's cache (billed above the input rate). */
    cacheWriteTokens: integer("cache_write_tokens").notNull().default(0),
    costUsd: usd("cost_usd").notNull().default(0),
    latencyMs: integer("latency_ms").notNull(),
    ttfbMs: integer("ttfb_ms"),
    status: integer("status").notNull(),
    error: text("error"),
    streamed: boolean("streamed").notNull().default(false),
    attempts: integer("attempts").notNull().default(1),
    metadata: jsonb("metadata").$type<Metadata>().notNull().default({}),
    /** A guest's app, the device id its token is bound to, and a salted hash of its network (never the raw IP). */
    appId: text("app_id"),
    deviceId: text("device_id"),
    ipHash: text("ip_hash"),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex("usage_events_request_idx").on(t.requestId),
    index("usage_events_app_time_idx").on(t.appId, t.createdAt, t.id),
    // Each subject's rows newest first, and everyone's (the admin's reads): pages by (created_at, id).
    index("usage_events_user_time_idx").on(t.userId, t.createdAt, t.id),
    index("usage_events_key_time_idx").on(t.keyId, t.createdAt, t.id),
    index("usage_events_team_time_idx").on(t.teamId, t.createdAt, t.id),
    index("usage_events_time_idx").on(t.createdAt, t.id),
  ],
);

/** Usage to hand to an external billing system, written in the same batch as the ledger row. */
export const billingOutbox = pgTable(
  "billing_outbox",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    requestId: text("request_id").notNull(),
    payload: jsonb("payload").$type<Metadata>().notNull(),
    attempts: integer("attempts").notNull().default(0),
    sentAt: timestamp("sent_at", { withTimezone: true }),
    /** Not before this may it be sent again (backoff after a failed delivery). */
    nextAttemptAt: timestamp("next_attempt_at", { withTimezone: true }).notNull().defaultNow(),
    /** A delivery holds the row until then; another may take it after, if that one died mid-way. */
    claimedUntil: timestamp("claimed_until", { withTimezone: true }),
    /** Out of attempts: kept for an operator to look at and replay. */
    deadAt: timestamp("dead_at", { withTimezone: true }),
    lastError: text("last_error"),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex("billing_outbox_request_idx").on(t.requestId),
    index("billing_outbox_due_idx").on(t.nextAttemptAt, t.id).where(sql`${t.sentAt} is null and ${t.deadAt} is null`),
    index("billing_outbox_dead_idx").on(t.deadAt).where(sql`${t.deadAt} is not null`),
  ],
);

/** Budget and quota thresholds already announced: one row per subject, limit, period and threshold. */
export const limitAlerts = pgTable(
  "limit_alerts",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    subjectType: text("subject_type").notNull(),
    subjectId: text("subject_id").notNull(),
    /** `usd_per_day`, `tokens_per_month`, `budget`… */
    limitName: text("limit_name").notNull(),
    /** The period the limit counts over, e.g. `2026-11-25`, `2026-11`, `life`. */
    period: text("period").notNull(),
    threshold: integer("threshold").notNull(),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex("limit_alerts_once_idx").on(t.subjectType, t.subjectId, t.limitName, t.period, t.threshold)],
);

/**
 * Accounts users connect at a provider (a Google account, for Gemini on
 * their own quota): the refresh token sealed like a provider key, bound to
 * its row; never an access token, which lives in isolate memory only.
 */
export const providerAccounts = pgTable(
  "provider_accounts",
  {
    id: text("id").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    provider: text("provider", { enum: ["google"] }).notNull(),
    /** The account's stable id at the provider, and its email, when the provider said. */
    subject: text("subject"),
    email: text("email"),
    scopes: text("scopes").notNull().default(""),
    ciphertext: text("ciphertext").notNull(),
    iv: text("iv").notNull(),
    wrappedKey: text("wrapped_key").notNull(),
    kekVersion: integer("kek_version").notNull().default(1),
    /** Whether the user's calls may use the gateway's own credential when this account cannot serve them. */
    allowFallback: boolean("allow_fallback").notNull().default(false),
    /** Which API the account's calls go to: the Generative Language API, or Code Assist (the Gemini CLI's). */
    api: text("api", { enum: ["generative-language", "code-assist"] })
      .notNull()
      .default("generative-language"),
    /** Code Assist's project for the account, found or set up when it connected. */
    project: text("project"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [uniqueIndex("provider_accounts_user_idx").on(t.userId, t.provider)],
);

/**
 * MCP servers an admin puts behind `/mcp`: where each is, and the credential
 * the gateway sends it (a bearer token or one static header), sealed like a
 * provider key and bound to its row. Its id is the prefix of its tools' names.
 */
export const mcpServers = pgTable("mcp_servers", {
  id: text("id").primaryKey(),
  url: text("url").notNull(),
  description: text("description"),
  /** `user_oauth`: each user connects their own account; the sealed secret is then the OAuth client's. */
  authType: text("auth_type", { enum: ["none", "bearer", "header", "user_oauth", "client_credentials"] })
    .notNull()
    .default("none"),
  /** For `user_oauth` and `client_credentials`: the OAuth endpoints, client id and scopes (never the client secret). */
  oauth: jsonb("oauth").$type<McpServerOAuth>(),
  /** The header the secret goes in when `auth_type` is `header`. */
  authHeader: text("auth_header"),
  ciphertext: text("ciphertext"),
  iv: text("iv"),
  wrappedKey: text("wrapped_key"),
  kekVersion: integer("kek_version"),
  secretSuffix: text("secret_suffix"),
  /** How long one call may take before the caller gets a JSON-RPC error. */
  timeoutMs: integer("timeout_ms").notNull().default(30_000),
  /** Recorded on each tool call's ledger row. */
  pricePerCallUsd: usd("price_per_call_usd"),
  disabledAt: timestamp("disabled_at", { withTimezone: true }),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
});

export interface McpServerOAuth {
  authorizationUrl: string;
  tokenUrl: string;
  revocationUrl: string | null;
  clientId: string;
  scopes: string;
  /** `client_credentials` only: the `audience` asked for, when the token endpoint wants one. */
  audience?: string | null;
}

/**
 * A user's own OAuth connection to a `user_oauth` MCP server: the access and
 * refresh tokens sealed together like a provider key, bound to the row, the
 * user and the server. `status` is `reconnect` once a refresh was refused.
 */
export const mcpConnections = pgTable(
  "mcp_connections",
  {
    id: text("id").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    server: text("server")
      .notNull()
      .references(() => mcpServers.id, { onDelete: "cascade" }),
    status: text("status", { enum: ["active", "reconnect"] })
      .notNull()
      .default("active"),
    scopes: text("scopes").notNull().default(""),
    /** When the sealed access token expires; null when the server did not say. */
    expiresAt: timestamp("expires_at", { withTimezone: true }),
    ciphertext: text("ciphertext").notNull(),
    iv: text("iv").notNull(),
    wrappedKey: text("wrapped_key").notNull(),
    kekVersion: integer("kek_version").notNull().default(1),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [uniqueIndex("mcp_connections_user_server_idx").on(t.userId, t.server)],
);

/** The ledger of tool calls through `/mcp`: one row per call, refused ones included. */
export const mcpCalls = pgTable(
  "mcp_calls",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    requestId: text("request_id").notNull(),
    server: text("server").notNull(),
    tool: text("tool").notNull(),
    principalType: text("principal_type").notNull(),
    principalId: text("principal_id").notNull(),
    userId: text("user_id"),
    keyId: text("key_id"),
    teamId: text("team_id"),
    /** `ok`, `tool_error` (the tool answered `isError`), `error` (upstream failed), `rate_limited`. */
    status: text("status").notNull(),
    error: text("error"),
    latencyMs: integer("latency_ms").notNull(),
    bytesIn: integer("bytes_in").notNull().default(0),
    bytesOut: integer("bytes_out").notNull().default(0),
    costUsd: usd("cost_usd").notNull().default(0),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex("mcp_calls_request_idx").on(t.requestId),
    index("mcp_calls_server_time_idx").on(t.server, t.createdAt),
    index("mcp_calls_key_time_idx").on(t.keyId, t.createdAt),
    index("mcp_calls_user_time_idx").on(t.userId, t.createdAt),
  ],
);

/**
 * People who operate the gateway (signed in to the dashboard or the admin
 * API): their role in the organization and in its teams. Created on first
 * sign-in, or ahead of it by an admin.
 */
export const orgMembers = pgTable(
  "org_members",
  {
    orgId: text("org_id")
      .notNull()
      .references(() => organizations.id, { onDelete: "cascade" }),
    /** The identity provider's issuer and subject: stable across email changes. */
    subject: text("subject").notNull(),
    email: text("email"),
    name: text("name"),
    orgRole: text("org_role", { enum: ["owner", "admin", "member", "viewer", "billing"] }),
    /** Team id → role in that team. */
    teamRoles: jsonb("team_roles").$type<Record<string, string>>().notNull().default({}),
    lastSeenAt: timestamp("last_seen_at", { withTimezone: true }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [uniqueIndex("org_members_subject_idx").on(t.orgId, t.subject), index("org_members_email_idx").on(t.email)],
);

/** Admin tokens for automation: named, expiring, scoped; only the hash of the secret is kept. */
export const adminTokens = pgTable(
  "admin_tokens",
  {
    id: text("id").primaryKey(),
    orgId: text("org_id")
      .notNull()
      .references(() => organizations.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    /** Hex SHA-256 of the secret. */
    tokenHash: text("token_hash").notNull(),
    tokenSuffix: text("token_suffix").notNull(),
    /** Permissions (`keys:write`, `usage:read`, …) or `*`; they narrow what the roles allow. */
    scopes: text("scopes").array().notNull(),
    orgRole: text("org_role", { enum: ["owner", "admin", "member", "viewer", "billing"] }),
    teamRoles: jsonb("team_roles").$type<Record<string, string>>().notNull().default({}),
    /** Who minted it (`admin` for the admin key, or an operator's subject). */
    createdBy: text("created_by").notNull(),
    expiresAt: timestamp("expires_at", { withTimezone: true }),
    revokedAt: timestamp("revoked_at", { withTimezone: true }),
    lastUsedAt: timestamp("last_used_at", { withTimezone: true }),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex("admin_tokens_hash_idx").on(t.tokenHash), index("admin_tokens_org_idx").on(t.orgId)],
);

/**
 * Every change made through the admin API: who, what, when, from where,
 * before and after. Append-only: no route changes or deletes a row, and a
 * trigger refuses UPDATE and DELETE in Postgres itself.
 */
export const auditLog = pgTable(
  "audit_log",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    at: timestamp("at", { withTimezone: true }).notNull().defaultNow(),
    orgId: text("org_id").notNull().default("default"),
    /** `admin` (the admin key), `admin_token` or `session`. */
    actorType: text("actor_type").notNull(),
    actorId: text("actor_id").notNull(),
    actorEmail: text("actor_email"),
    /** `POST /admin/keys`, with the route's pattern (`PATCH /admin/keys/:id`). */
    action: text("action").notNull(),
    method: text("method").notNull(),
    path: text("path").notNull(),
    targetType: text("target_type"),
    targetId: text("target_id"),
    status: integer("status").notNull(),
    /** Salted hash of the caller's network address; never the address. */
    ipHash: text("ip_hash"),
    userAgent: text("user_agent"),
    requestId: text("request_id").notNull(),
    before: jsonb("before"),
    after: jsonb("after"),
  },
  (t) => [
    index("audit_log_at_idx").on(t.at),
    index("audit_log_actor_idx").on(t.actorId),
    index("audit_log_target_idx").on(t.targetType, t.targetId),
  ],
);
