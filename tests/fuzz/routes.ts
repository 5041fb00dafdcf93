// Every route of the app, each with the credential that reaches its handler
// and a body it accepts, for the fuzz to send and break. Admin writes touch
// only names of their own (`fuzz-*`), so no other suite sees them; the default
// quota, which every suite's new users get, is only ever rewritten as it is.
import { env } from "cloudflare:test";
import { MOCK_MCP_ALPHA_TOKEN } from "../../dev/mock-upstream/mcp.ts";
import { globalSettingsSchema, quotaSchema } from "../../src/admin/schemas.ts";
import type { z } from "../../src/zod.ts";

export type Auth =
  | "admin"
  | "key"
  | "token"
  | "user"
  | "rs256"
  | "es256"
  | "eddsa"
  | "none"
  | "garbage"
  | "basic"
  | "empty-bearer"
  | "key-in-x-api-key"
  | "key-in-x-goog-api-key"
  | "jwt-in-x-api-key"
  | "jwks-in-x-goog-api-key"
  | "key-in-query"
  | "jwt-in-query";

export interface FuzzRoute {
  /** The route as the app names it: method and Hono path. */
  route: string;
  /** The path sent; `{name}` is filled from the fixtures made before the run. */
  path: string;
  /** The credential that reaches its handler. */
  auth: Auth;
  /** A body it accepts, to break. */
  template?: Record<string, unknown>;
  /** The path's own value, which a path mutation replaces: the Gemini model, an id. */
  segment?: string;
  /** An answer other than a 2xx that shows the handler ran: for a route that cannot succeed here. */
  reached?: (status: number, text: string) => boolean;
  /** Its own errors are an HTML page for a browser, not JSON. */
  page?: true;
  /** Query parameters sent with hostile values. */
  hostileQuery?: string[];
  /** A write others would see: a body this schema accepts is sent as the template, which changes nothing. */
  unchangedBy?: z.ZodMiniType;
}

/** A fuzz-made name: what an admin write may create under it stays the fuzz's own. */
export const FUZZ_ID_FIELDS = new Set(["id", "name"]);

/** Where the fuzz's own catalog provider sends its calls: the mock, so whatever reaches it is answered. */
export const FUZZ_PROVIDER_URL = String(env.MOCK_BASE_URL);

/** The mock's MCP server `alpha`, which the fuzz's MCP servers are. */
export const FUZZ_MCP_URL = `${String(env.MOCK_BASE_URL).replace(/\/v1$/, "")}/mcp/alpha`;
const MCP_INITIALIZE = {
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "fuzz", version: "1.0.0" } },
};

const chat = { model: "mock-echo", messages: [{ role: "user", content: "fuzz" }], max_tokens: 8 };
const contents = [{ role: "user", parts: [{ text: "fuzz" }] }];
const withCode = (status: number, code: string) => (answered: number, text: string) =>
  answered === status && text.includes(`"${code}"`);

export const ROUTES: FuzzRoute[] = [
  { route: "GET /health", path: "/health", auth: "none" },
  // Off in the suite's bindings: the handler answers that metrics are off.
  {
    route: "GET /metrics",
    path: "/metrics",
    auth: "none",
    reached: (status, text) => status === 404 && text.includes("METRICS"),
  },
  { route: "GET /", path: "/", auth: "none" },
  // The example app is off here (EXAMPLES): its refusal shows the handler ran.
  { route: "GET /examples/chat", path: "/examples/chat", auth: "none", reached: withCode(404, "examples_off") },
  { route: "GET /examples/chat.js", path: "/examples/chat.js", auth: "none", reached: withCode(404, "examples_off") },
  { route: "GET /examples/chat.css", path: "/examples/chat.css", auth: "none", reached: withCode(404, "examples_off") },

  { route: "POST /v1/chat/completions", path: "/v1/chat/completions", auth: "key", template: chat },
  {
    route: "POST /v1/responses",
    path: "/v1/responses",
    auth: "key",
    template: { model: "mock-echo", input: "fuzz", max_output_tokens: 8 },
  },
  {
    route: "POST /v1/completions",
    path: "/v1/completions",
    auth: "key",
    template: { model: "mock-echo", prompt: "fuzz", max_tokens: 8 },
  },
  { route: "POST /v1/embeddings", path: "/v1/embeddings", auth: "key", template: { model: "mock-echo", input: ["fuzz"] } },
  // Uploads are multipart: the fuzz's JSON bodies reach the handler and are refused for their content type.
  ...["/v1/audio/transcriptions", "/v1/audio/translations", "/v1/images/edits"].map(
    (path): FuzzRoute => ({ route: `POST ${path}`, path, auth: "key", reached: withCode(400, "invalid_content_type") }),
  ),
  {
    route: "POST /v1/audio/speech",
    path: "/v1/audio/speech",
    auth: "key",
    template: { model: "mock-tts", input: "fuzz", voice: "alloy", stream_format: "sse" },
  },
  {
    route: "POST /v1/images/generations",
    path: "/v1/images/generations",
    auth: "key",
    template: { model: "mock-image", prompt: "fuzz", n: 1, size: "256x256" },
  },
  { route: "POST /v1/moderations", path: "/v1/moderations", auth: "key", template: { model: "mock-moderation", input: "fuzz" } },
  // A WebSocket's route: a plain request is refused before anything else, which shows its handler ran.
  { route: "GET /v1/realtime", path: "/v1/realtime", auth: "key", reached: withCode(426, "upgrade_required") },
  {
    route: "POST /v1/realtime/client_secrets",
    path: "/v1/realtime/client_secrets",
    auth: "key",
    template: { expires_after: { anchor: "created_at", seconds: 60 }, session: { type: "realtime", model: "gpt-realtime" } },
  },
  { route: "GET /v1/models", path: "/v1/models", auth: "key" },
  { route: "POST /v2/chat", path: "/v2/chat", auth: "key", template: { model: "mock-echo", messages: chat.messages } },
  // The mock provider does not rerank: a body that passes reaches the handler and is refused for its provider.
  {
    route: "POST /v2/rerank",
    path: "/v2/rerank",
    auth: "key",
    template: { model: "mock-echo", query: "fuzz", documents: ["a", "b"] },
    reached: (status, text) => status === 400 && text.includes("served only by providers that speak it natively"),
  },
  {
    route: "POST /v1/messages",
    path: "/v1/messages",
    auth: "key",
    template: { model: "mock-echo", max_tokens: 8, messages: chat.messages },
  },
  {
    route: "POST /v1/messages/count_tokens",
    path: "/v1/messages/count_tokens",
    auth: "key",
    template: { model: "mock-echo", messages: chat.messages },
  },
  {
    route: "POST /v1beta/models/*",
    path: "/v1beta/models/mock-echo:generateContent",
    auth: "key",
    template: { contents },
    segment: "mock-echo",
  },
  {
    route: "POST /v1beta/models/*",
    path: "/v1beta/models/mock-echo:streamGenerateContent?alt=sse",
    auth: "key",
    template: { contents },
    segment: "mock-echo",
  },
  {
    route: "POST /v1alpha/models/*",
    path: "/v1alpha/models/mock-echo:generateContent",
    auth: "key",
    template: { contents },
    segment: "mock-echo",
  },
  {
    route: "POST /v1/models/*",
    path: "/v1/models/mock-echo:streamGenerateContent?alt=sse",
    auth: "key",
    template: { contents },
    segment: "mock-echo",
  },
  { route: "GET /v1beta/models", path: "/v1beta/models", auth: "key" },
  {
    route: "POST /model/:modelId/converse",
    path: "/model/mock-echo/converse",
    auth: "key",
    template: { messages: [{ role: "user", content: [{ text: "fuzz" }] }], inferenceConfig: { maxTokens: 8 } },
    segment: "mock-echo",
  },
  {
    route: "POST /model/:modelId/converse-stream",
    path: "/model/mock-echo/converse-stream",
    auth: "key",
    template: { messages: [{ role: "user", content: [{ text: "fuzz" }] }], inferenceConfig: { maxTokens: 8 } },
    segment: "mock-echo",
  },

  { route: "POST /api/ai/generate", path: "/api/ai/generate", auth: "user", template: { model: "mock-echo", contents } },
  { route: "POST /api/ai/completion", path: "/api/ai/completion", auth: "user", template: { ...chat, provider: "mock" } },
  { route: "GET /api/ai/usage", path: "/api/ai/usage", auth: "user" },
  { route: "GET /api/ai/quota", path: "/api/ai/quota", auth: "user" },
  { route: "POST /api/keys", path: "/api/keys", auth: "user", template: { name: "fuzz", rpm_limit: 5 } },
  {
    route: "PUT /api/provider-keys",
    path: "/api/provider-keys",
    auth: "user",
    // The fuzz user's own key, for the fuzz's own provider: it changes nothing any other caller sees.
    template: { provider: "fuzz-provider", api_key: "sk-fuzz-0123456789" },
  },
  { route: "GET /api/provider-keys", path: "/api/provider-keys", auth: "user" },
  {
    route: "DELETE /api/provider-keys/:provider",
    path: "/api/provider-keys/fuzz-provider",
    auth: "user",
    segment: "fuzz-provider",
  },
  {
    route: "POST /api/provider-accounts/google/start",
    path: "/api/provider-accounts/google/start",
    auth: "user",
  },
  {
    // Public: Google sends the browser here, and anyone can send anything.
    route: "GET /api/provider-accounts/google/callback",
    path: "/api/provider-accounts/google/callback",
    auth: "none",
    page: true,
    hostileQuery: ["state", "code", "error"],
    reached: (status, text) => status === 400 && text.includes("Google account not connected"),
  },
  { route: "GET /api/provider-accounts", path: "/api/provider-accounts", auth: "user" },
  {
    route: "PATCH /api/provider-accounts/google",
    path: "/api/provider-accounts/google",
    auth: "user",
    template: { allow_fallback: true },
    // The fuzz user has no Google account connected.
    reached: withCode(404, "account_not_found"),
  },
  { route: "DELETE /api/provider-accounts/google", path: "/api/provider-accounts/google", auth: "user" },
  {
    route: "POST /api/mcp-connections/:server/start",
    path: "/api/mcp-connections/fuzz-mcp/start",
    auth: "user",
    segment: "fuzz-mcp",
    // The fuzz's MCP server takes a bearer token: no user connects to it.
    reached: withCode(404, "mcp_server_not_found"),
  },
  {
    // Public: the MCP server's OAuth server sends the browser here, and anyone can send anything.
    route: "GET /api/mcp-connections/callback",
    path: "/api/mcp-connections/callback",
    auth: "none",
    page: true,
    hostileQuery: ["state", "code", "error"],
    reached: (status, text) => status === 400 && text.includes("MCP server not connected"),
  },
  { route: "GET /api/mcp-connections", path: "/api/mcp-connections", auth: "user" },
  { route: "DELETE /api/mcp-connections/:server", path: "/api/mcp-connections/fuzz-mcp", auth: "user", segment: "fuzz-mcp" },
  { route: "POST /auth/token", path: "/auth/token", auth: "key" },
  // Public: its template (the fuzz app's publishable key, for a native caller) is made before the run.
  { route: "POST /auth/attest", path: "/auth/attest", auth: "none" },
  // Its template (a guest token of the fuzz app) is made before the run.
  { route: "POST /auth/attest/link", path: "/auth/attest/link", auth: "user" },
  // Single sign-on is off in the suite's bindings: each route says so (tests/sso.test.ts runs it configured).
  // MCP's protected-resource metadata: 404 naming the setting while MCP_AUTHORIZATION_SERVERS is unset, as here.
  ...["", "/mcp", "/mcp/:server"].map((tail) => ({
    route: `GET /.well-known/oauth-protected-resource${tail}`,
    path: `/.well-known/oauth-protected-resource${tail.replace(":server", "alpha")}`,
    auth: "none" as const,
    reached: (status: number, text: string) => status === 404 && text.includes("MCP_AUTHORIZATION_SERVERS"),
  })),
  // Sluice's own authorization server for MCP clients: 404 naming the setting while it does not name `sluice`, as here
  // (tests/mcp-authorization.test.ts runs it configured).
  ...(
    [
      ["GET", "/.well-known/oauth-authorization-server"],
      ["POST", "/oauth/register"],
      ["GET", "/oauth/authorize"],
      ["GET", "/oauth/callback"],
      ["POST", "/oauth/consent"],
      ["POST", "/oauth/token"],
    ] as const
  ).map(([method, path]) => ({
    route: `${method} ${path}`,
    path,
    auth: "none" as const,
    reached: (status: number, text: string) => status === 404 && text.includes("MCP_AUTHORIZATION_SERVERS"),
  })),
  // Organizations: who is calling, members, admin tokens, the audit log.
  { route: "GET /admin/me", path: "/admin/me", auth: "admin" },
  { route: "GET /admin/members", path: "/admin/members", auth: "admin" },
  {
    route: "PUT /admin/members/:subject{.+}",
    path: "/admin/members/fuzz-member",
    auth: "admin",
    segment: "fuzz-member",
    template: { email: "fuzz@example.com", role: "viewer", team_roles: {} },
  },
  { route: "GET /admin/members/:subject{.+}", path: "/admin/members/fuzz-member", auth: "admin", segment: "fuzz-member" },
  {
    route: "DELETE /admin/members/:subject{.+}",
    path: "/admin/members/fuzz-member-gone",
    auth: "admin",
    segment: "fuzz-member-gone",
    reached: withCode(404, "member_not_found"),
  },
  { route: "GET /admin/tokens", path: "/admin/tokens", auth: "admin" },
  {
    route: "POST /admin/tokens",
    path: "/admin/tokens",
    auth: "admin",
    template: { name: "fuzz-token", scopes: ["usage:read"], role: "billing", expires_in: "1h" },
  },
  {
    route: "GET /admin/tokens/:id",
    path: "/admin/tokens/tok_fuzz",
    auth: "admin",
    segment: "tok_fuzz",
    reached: withCode(404, "token_not_found"),
  },
  {
    route: "DELETE /admin/tokens/:id",
    path: "/admin/tokens/tok_fuzz",
    auth: "admin",
    segment: "tok_fuzz",
    reached: withCode(404, "token_not_found"),
  },
  {
    route: "POST /admin/tokens/:id/revoke",
    path: "/admin/tokens/tok_fuzz/revoke",
    auth: "admin",
    segment: "tok_fuzz",
    reached: withCode(404, "token_not_found"),
  },
  { route: "GET /admin/audit", path: "/admin/audit", auth: "admin" },
  { route: "GET /auth/sso/login", path: "/auth/sso/login", auth: "none", reached: withCode(404, "sso_disabled") },
  { route: "GET /auth/sso/callback", path: "/auth/sso/callback", auth: "none", reached: withCode(404, "sso_disabled") },
  { route: "GET /auth/sso/session", path: "/auth/sso/session", auth: "none" },
  { route: "POST /auth/sso/logout", path: "/auth/sso/logout", auth: "none", reached: withCode(404, "sso_disabled") },

  { route: "GET /admin/usage", path: "/admin/usage", auth: "admin" },
  { route: "GET /admin/usage/undelivered", path: "/admin/usage/undelivered", auth: "admin" },
  // No such request in the ledger: the handler looked, and says so.
  {
    route: "GET /admin/requests/:id",
    path: "/admin/requests/req_fuzz",
    auth: "admin",
    segment: "req_fuzz",
    reached: (status, text) => status === 404 && text.includes("request_not_found"),
  },
  { route: "GET /spend/logs", path: "/spend/logs", auth: "admin" },
  { route: "GET /global/spend/report", path: "/global/spend/report", auth: "admin" },
  { route: "GET /admin/billing/outbox", path: "/admin/billing/outbox", auth: "admin" },
  {
    route: "POST /admin/billing/outbox/replay",
    path: "/admin/billing/outbox/replay",
    auth: "admin",
    template: { request_ids: ["req_none"] },
    // No BILLING_WEBHOOK_URL here: nowhere to replay to.
    reached: withCode(400, "billing_webhook_unset"),
  },

  {
    route: "POST /admin/keys",
    path: "/admin/keys",
    auth: "admin",
    template: { name: "fuzz", models: ["mock-*"], max_budget: 1 },
  },
  { route: "GET /admin/keys", path: "/admin/keys", auth: "admin" },
  { route: "GET /admin/keys/:id", path: "/admin/keys/{key}", auth: "admin", segment: "{key}" },
  {
    route: "PATCH /admin/keys/:id",
    path: "/admin/keys/{key}",
    auth: "admin",
    template: { name: "fuzz-shown", rpm_limit: 5 },
    segment: "{key}",
  },
  { route: "POST /admin/keys/:id/rotate", path: "/admin/keys/{rotatedKey}/rotate", auth: "admin", segment: "{rotatedKey}" },
  { route: "POST /admin/keys/:id/revoke", path: "/admin/keys/{revokedKey}/revoke", auth: "admin", segment: "{revokedKey}" },
  { route: "DELETE /admin/keys/:id", path: "/admin/keys/{deletedKey}", auth: "admin", segment: "{deletedKey}" },

  { route: "POST /admin/apps", path: "/admin/apps", auth: "admin", template: { id: "fuzz-app-new", name: "Fuzz" } },
  { route: "GET /admin/apps", path: "/admin/apps", auth: "admin" },
  { route: "GET /admin/apps/:id", path: "/admin/apps/fuzz-app", auth: "admin", segment: "fuzz-app" },
  {
    route: "PATCH /admin/apps/:id",
    path: "/admin/apps/fuzz-app",
    auth: "admin",
    template: { name: "Fuzz", device_limits: { rpm_limit: 1000 }, models: ["mock-*"] },
    segment: "fuzz-app",
  },
  {
    route: "POST /admin/apps/:id/rotate",
    path: "/admin/apps/fuzz-app-rotated/rotate",
    auth: "admin",
    segment: "fuzz-app-rotated",
  },
  { route: "DELETE /admin/apps/:id", path: "/admin/apps/fuzz-app-gone", auth: "admin", segment: "fuzz-app-gone" },

  { route: "POST /admin/users", path: "/admin/users", auth: "admin", template: { id: "fuzz-user", team_id: "fuzz-team" } },
  { route: "GET /admin/users", path: "/admin/users", auth: "admin" },
  { route: "GET /admin/users/:id", path: "/admin/users/fuzz-user", auth: "admin", segment: "fuzz-user" },
  {
    route: "PATCH /admin/users/:id",
    path: "/admin/users/fuzz-user",
    auth: "admin",
    template: { name: "Fuzz", tokens_per_day: 1000 },
    segment: "fuzz-user",
  },
  { route: "POST /admin/users/:id/block", path: "/admin/users/fuzz-user/block", auth: "admin", segment: "fuzz-user" },
  { route: "POST /admin/users/:id/unblock", path: "/admin/users/fuzz-user/unblock", auth: "admin", segment: "fuzz-user" },

  { route: "POST /admin/teams", path: "/admin/teams", auth: "admin", template: { id: "fuzz-team", name: "Fuzz" } },
  { route: "GET /admin/teams", path: "/admin/teams", auth: "admin" },
  { route: "GET /admin/teams/:id", path: "/admin/teams/fuzz-team", auth: "admin", segment: "fuzz-team" },
  {
    route: "PATCH /admin/teams/:id",
    path: "/admin/teams/fuzz-team",
    auth: "admin",
    template: { name: "Fuzz", usd_per_day: 5 },
    segment: "fuzz-team",
  },

  { route: "GET /admin/settings", path: "/admin/settings", auth: "admin" },
  // The template is the global settings as they stand, read before the run.
  { route: "PATCH /admin/settings", path: "/admin/settings", auth: "admin", unchangedBy: globalSettingsSchema },
  { route: "GET /admin/quota/default", path: "/admin/quota/default", auth: "admin" },
  // The template is the default as it stands, read before the run.
  { route: "PATCH /admin/quota/default", path: "/admin/quota/default", auth: "admin", unchangedBy: quotaSchema },

  { route: "GET /admin/providers", path: "/admin/providers", auth: "admin" },
  {
    route: "POST /admin/providers",
    path: "/admin/providers",
    auth: "admin",
    template: { id: "fuzz-provider-new", kind: "mock", base_url: FUZZ_PROVIDER_URL },
  },
  { route: "GET /admin/providers/:id", path: "/admin/providers/fuzz-provider", auth: "admin", segment: "fuzz-provider" },
  {
    route: "PATCH /admin/providers/:id",
    path: "/admin/providers/fuzz-provider",
    auth: "admin",
    template: { base_url: FUZZ_PROVIDER_URL, enabled: true },
    segment: "fuzz-provider",
  },
  {
    route: "DELETE /admin/providers/:id",
    path: "/admin/providers/fuzz-provider-gone",
    auth: "admin",
    segment: "fuzz-provider-gone",
  },

  { route: "GET /admin/models", path: "/admin/models", auth: "admin" },
  {
    route: "POST /admin/models",
    path: "/admin/models",
    auth: "admin",
    template: { id: "fuzz-model-new", provider: "fuzz-provider", upstream_id: "mock-echo", input_usd_per_mtok: 1 },
  },
  { route: "GET /admin/models/:id{.+}", path: "/admin/models/fuzz-model", auth: "admin", segment: "fuzz-model" },
  {
    route: "PATCH /admin/models/:id{.+}",
    path: "/admin/models/fuzz-model",
    auth: "admin",
    template: { upstream_id: "mock-echo", output_usd_per_mtok: 2, fallbacks: ["fuzz-model-new"] },
    segment: "fuzz-model",
  },
  { route: "DELETE /admin/models/:id{.+}", path: "/admin/models/fuzz-model-gone", auth: "admin", segment: "fuzz-model-gone" },

  { route: "GET /admin/guardrails", path: "/admin/guardrails", auth: "admin" },
  {
    route: "POST /admin/guardrails",
    path: "/admin/guardrails",
    auth: "admin",
    // Attached to no caller: what the fuzz writes checks nobody's requests.
    template: {
      id: "fuzz-guardrail-new",
      name: "Fuzz",
      phase: "both",
      mode: "redact",
      kinds: ["email", "card"],
      options: { patterns: [{ name: "ticket", regex: "T-\\d+" }], words: ["fuzz"] },
    },
  },
  { route: "GET /admin/guardrails/:id", path: "/admin/guardrails/fuzz-guardrail", auth: "admin", segment: "fuzz-guardrail" },
  {
    route: "PATCH /admin/guardrails/:id",
    path: "/admin/guardrails/fuzz-guardrail",
    auth: "admin",
    template: { mode: "block", kinds: ["secret"], enabled: true },
    segment: "fuzz-guardrail",
  },
  {
    route: "DELETE /admin/guardrails/:id",
    path: "/admin/guardrails/fuzz-guardrail-gone",
    auth: "admin",
    segment: "fuzz-guardrail-gone",
  },
  { route: "GET /admin/routes", path: "/admin/routes", auth: "admin" },
  {
    route: "POST /admin/routes",
    path: "/admin/routes",
    auth: "admin",
    template: { name: "fuzz-route-new", rule: { type: "model", model: "fuzz-model" }, fallbacks: ["fuzz-model"] },
  },
  { route: "GET /admin/routes/:name", path: "/admin/routes/fuzz-route", auth: "admin", segment: "fuzz-route" },
  {
    route: "PATCH /admin/routes/:name",
    path: "/admin/routes/fuzz-route",
    auth: "admin",
    template: { description: "fuzz", rule: { type: "model", model: "fuzz-model" }, fallbacks: [], enabled: true },
    segment: "fuzz-route",
  },
  { route: "DELETE /admin/routes/:name", path: "/admin/routes/fuzz-route-gone", auth: "admin", segment: "fuzz-route-gone" },
  {
    route: "POST /admin/routes/:name/explain",
    path: "/admin/routes/fuzz-route/explain",
    auth: "admin",
    template: {
      request_id: "fuzz-request",
      request: { stream: true, tools: false, input_tokens: 10, headers: { "x-region": "eu" }, hour: 3 },
      caller: { principal: "key", team: "fuzz-team", tier: "pro", key_metadata: { plan: "pro" }, used_share: 0.5 },
    },
  },

  { route: "GET /admin/credentials", path: "/admin/credentials", auth: "admin" },
  {
    route: "POST /admin/credentials",
    path: "/admin/credentials",
    auth: "admin",
    // For a provider no model routes to: what the fuzz writes must not change what other suites see.
    template: { provider: "fuzz-provider", api_key: "sk-fuzz-0123456789" },
  },
  // Rewraps what is sealed under an older key-encryption key; under the suite's one key, nothing.
  { route: "POST /admin/credentials/rotate", path: "/admin/credentials/rotate", auth: "admin" },
  { route: "GET /admin/credentials/:id", path: "/admin/credentials/{credential}", auth: "admin", segment: "{credential}" },
  {
    route: "PATCH /admin/credentials/:id",
    path: "/admin/credentials/{credential}",
    auth: "admin",
    template: { name: "fuzz", weight: 1 },
    segment: "{credential}",
  },
  {
    route: "DELETE /admin/credentials/:id",
    path: "/admin/credentials/{deletedCredential}",
    auth: "admin",
    segment: "{deletedCredential}",
  },

  { route: "GET /admin/mcp/servers", path: "/admin/mcp/servers", auth: "admin" },
  {
    route: "POST /admin/mcp/servers",
    path: "/admin/mcp/servers",
    auth: "admin",
    template: {
      name: "fuzz-mcp-new",
      url: FUZZ_MCP_URL,
      auth: { type: "bearer", token: MOCK_MCP_ALPHA_TOKEN },
      timeout_ms: 2000,
    },
  },
  { route: "GET /admin/mcp/servers/:name", path: "/admin/mcp/servers/fuzz-mcp", auth: "admin", segment: "fuzz-mcp" },
  {
    route: "PATCH /admin/mcp/servers/:name",
    path: "/admin/mcp/servers/fuzz-mcp",
    auth: "admin",
    template: { url: FUZZ_MCP_URL, auth: { type: "bearer", token: MOCK_MCP_ALPHA_TOKEN }, timeout_ms: 2000 },
    segment: "fuzz-mcp",
  },
  { route: "DELETE /admin/mcp/servers/:name", path: "/admin/mcp/servers/fuzz-mcp-gone", auth: "admin", segment: "fuzz-mcp-gone" },

  // MCP: a session starts with `initialize`, the one message that needs no session; the fuzz has none to send.
  { route: "POST /mcp", path: "/mcp", auth: "key", template: MCP_INITIALIZE },
  { route: "GET /mcp", path: "/mcp", auth: "key", reached: withCode(405, "method_not_allowed") },
  { route: "DELETE /mcp", path: "/mcp", auth: "key", reached: withCode(400, "mcp_session_required") },
  { route: "POST /mcp/:server", path: "/mcp/fuzz-mcp", auth: "key", template: MCP_INITIALIZE, segment: "fuzz-mcp" },
  {
    route: "GET /mcp/:server",
    path: "/mcp/fuzz-mcp",
    auth: "key",
    segment: "fuzz-mcp",
    reached: withCode(405, "method_not_allowed"),
  },
  {
    route: "DELETE /mcp/:server",
    path: "/mcp/fuzz-mcp",
    auth: "key",
    segment: "fuzz-mcp",
    reached: withCode(400, "mcp_session_required"),
  },
];

export const routeMethod = (route: FuzzRoute) => route.route.split(" ")[0] ?? "GET";
