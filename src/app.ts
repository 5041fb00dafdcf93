// The Hono app: request id, security headers, CORS, config, auth, routes,
// and one place where errors become responses in the caller's format.
import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { secureHeaders } from "hono/secure-headers";
import { DESCRIBE } from "#describe";
import { ConfigError, configFor } from "./config/index.ts";
import type { GatewayContext, GatewayEnv } from "./context.ts";
import { databaseUnreachable } from "./db/client.ts";
import { errorBody, errorHeaders } from "./formats/index.ts";
import { serveJudgesWith } from "./guardrails/judge.ts";
import { corsMiddleware } from "./http/cors.ts";
import { GatewayError } from "./http/errors.ts";
import { logDetail, reason } from "./log.ts";
import { doc } from "./openapi/doc.ts";
import { captureRequestLog } from "./request-logs/index.ts";
import { adminRoutes } from "./routes/admin.ts";
import { anthropicRoutes } from "./routes/anthropic.ts";
import { appApiRoutes } from "./routes/app-api.ts";
import { authRoutes } from "./routes/auth.ts";
import { bedrockRoutes } from "./routes/bedrock.ts";
import { cohereRoutes } from "./routes/cohere.ts";
import { errorsIn } from "./routes/endpoint.ts";
import { exampleRoutes } from "./routes/examples.ts";
import { geminiRoutes } from "./routes/gemini.ts";
import { healthRoutes } from "./routes/health.ts";
import { mcpRoutes } from "./routes/mcp.ts";
import { mcpConnectionRoutes } from "./routes/mcp-connections.ts";
import { protectedResourceRoutes } from "./routes/mcp-oauth.ts";
import { mediaRoutes } from "./routes/media.ts";
import { metricsRoutes } from "./routes/metrics.ts";
import { authorizationServerRoutes, oauthRoutes } from "./routes/oauth.ts";
import { openaiRoutes } from "./routes/openai.ts";
import { providerAccountRoutes } from "./routes/provider-accounts.ts";
import { realtimeRoutes } from "./routes/realtime.ts";
import { ssoRoutes } from "./routes/sso.ts";
import { usageRoutes } from "./routes/usage.ts";
import { servicesFor } from "./services.ts";
import { captureContent, finishObservation, startObservation } from "./telemetry/observation.ts";

function toGatewayError(error: unknown): GatewayError {
  if (error instanceof GatewayError) return error;
  if (error instanceof ConfigError) {
    return new GatewayError(500, "internal", `Sluice is misconfigured: ${error.problems.join("; ")}.`, {
      code: "configuration_error",
    });
  }
  if (error instanceof HTTPException) {
    return new GatewayError(error.status, error.status === 413 ? "request_too_large" : "invalid_request", error.message);
  }
  if (databaseUnreachable(error)) {
    return new GatewayError(503, "unavailable", "The database cannot be reached just now; try again shortly.", {
      code: "database_unavailable",
      headers: { "retry-after": "2" },
      cause: error,
    });
  }
  return new GatewayError(500, "internal", "Internal error.", { cause: error });
}

function renderError(c: GatewayContext, error: unknown): Response {
  const failure = toGatewayError(error);
  // Config problems were logged once when parsed; anything else unexpected is logged here.
  if (failure.status >= 500 && !(error instanceof GatewayError) && !(error instanceof ConfigError)) {
    // An unreachable database is one line; anything else its cause and frames, never a query and its parameters.
    const detail = databaseUnreachable(error) ? reason(error) : logDetail(error);
    console.error(`sluice: ${c.get("requestId") ?? "-"} ${detail}`);
  }
  const format = c.get("format") ?? "openai";
  const requestId = c.get("requestId");
  return c.json(errorBody(format, failure), failure.status as 400, {
    ...failure.headers,
    ...errorHeaders(format, failure),
    ...(requestId && { "x-request-id": requestId }),
  });
}

export function createApp() {
  const app = new Hono<GatewayEnv>();

  // Outermost, so that every answer carries them, errors included.
  app.use(corsMiddleware());
  app.use(secureHeaders({ crossOriginResourcePolicy: "cross-origin" }));
  app.use(async (c, next) => {
    c.set("startedAt", performance.now());
    c.set("requestId", `req_${crypto.randomUUID().replaceAll("-", "")}`);
    c.set("format", "openai");
    const config = configFor(c.env);
    c.set("config", config);
    c.set("services", servicesFor(config, c.env));
    const observation = startObservation(c);
    if (observation) c.set("observation", observation);
    await next();
    c.res.headers.set("x-request-id", c.get("requestId"));
    const logKey = c.get("requestLog");
    const logged = logKey && c.env.REQUEST_LOGS ? captureRequestLog(c, c.env.REQUEST_LOGS, logKey) : undefined;
    if (!observation) return;
    if (logged) observation.requestLog = logged;
    if (observation.trace && c.get("config").observability.tracing?.captureContent) captureContent(c, observation);
    if (observation.trace) c.res.headers.set("x-sluice-trace-id", observation.trace.server.traceId);
    c.executionCtx.waitUntil(finishObservation(c, observation));
  });

  app.route("/", healthRoutes);
  app.route("/", metricsRoutes);
  app.get("/", doc(DESCRIBE && { summary: "What this is, and its routes" }), (c) =>
    c.json({
      name: "sluice",
      description: "An edge gateway for LLM APIs",
      routes: [
        "POST /v1/chat/completions",
        "POST /v1/responses",
        "POST /v1/completions",
        "POST /v1/embeddings",
        "POST /v1/audio/transcriptions, POST /v1/audio/translations, POST /v1/audio/speech",
        "POST /v1/images/generations, POST /v1/images/edits",
        "POST /v1/moderations",
        "GET /v1/realtime (WebSocket), POST /v1/realtime/client_secrets",
        "POST /v1/messages",
        "POST /v1/messages/count_tokens",
        "POST /v1beta/models/{model}:generateContent",
        "POST /v1beta/models/{model}:streamGenerateContent?alt=sse",
        "GET /v1beta/models",
        "POST /model/{modelId}/converse, POST /model/{modelId}/converse-stream",
        "POST /api/ai/generate",
        "POST /api/ai/completion",
        "GET /v1/models",
        "POST /auth/token",
        "POST /auth/attest",
        "GET /auth/sso/login, GET /auth/sso/session, POST /auth/sso/logout (single sign-on)",
        "POST /api/keys",
        "GET /api/ai/quota",
        "GET /api/ai/usage",
        "GET /admin/usage, GET /spend/logs, GET /global/spend/report",
        "GET /admin/billing/outbox, POST /admin/billing/outbox/replay",
        "PUT /api/provider-keys",
        "/admin/keys, /admin/apps, /admin/users, /admin/teams, /admin/quota/default",
        "/admin/models, /admin/providers, /admin/credentials, /admin/mcp/servers",
        "/admin/me, /admin/members, /admin/tokens, GET /admin/audit",
        "POST /mcp, POST /mcp/{server} (MCP Streamable HTTP)",
        "POST /oauth/register, GET /oauth/authorize, POST /oauth/token (OAuth for MCP clients)",
        "GET /health",
        "GET /metrics",
        "GET /openapi.json, GET /docs",
      ],
    }),
  );

  // Every authenticated route declares its error shape and whether it is gated (routes/endpoint.ts);
  // these set the shape of the errors for paths no route matches.
  app.use("/v1/messages/*", errorsIn("anthropic"));
  for (const path of ["/v1beta/*", "/v1alpha/*"]) app.use(path, errorsIn("gemini"));
  app.use("/v2/*", errorsIn("cohere"));
  app.use("/model/*", errorsIn("bedrock"));
  app.route("/", openaiRoutes);
  app.route("/", mediaRoutes);
  app.route("/", realtimeRoutes);
  app.route("/", anthropicRoutes);
  app.route("/", geminiRoutes);
  app.route("/", cohereRoutes);
  app.route("/", bedrockRoutes);
  app.route("/", usageRoutes);
  app.route("/admin", adminRoutes);
  app.route("/auth/sso", ssoRoutes);
  app.route("/auth", authRoutes);
  app.route("/api/provider-accounts", providerAccountRoutes);
  app.route("/api/mcp-connections", mcpConnectionRoutes);
  app.route("/api", appApiRoutes);
  app.route("/examples", exampleRoutes);
  app.route("/mcp", mcpRoutes);
  app.route("/.well-known/oauth-protected-resource", protectedResourceRoutes);
  app.route("/.well-known/oauth-authorization-server", authorizationServerRoutes);
  app.route("/oauth", oauthRoutes);

  // `/openapi.json` and `/docs` are static assets, built from these routes (openapi/site.ts).

  app.notFound((c) => renderError(c, new GatewayError(404, "not_found", `No route for ${c.req.method} ${c.req.path}.`)));
  app.onError((error, c) => renderError(c, error));
  // A judge guardrail's call goes through the gateway itself (src/guardrails/judge.ts).
  serveJudgesWith((request, env, ctx) => app.fetch(request, env as GatewayEnv["Bindings"], ctx as ExecutionContext));
  return app;
}
