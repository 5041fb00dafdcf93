// CORS for the browsers that call Sluice directly. Origins come from
// CORS_ORIGINS, read straight from the Worker's env so that even a
// configuration error reaches the page with its CORS headers. A listed origin
// is reflected with credentials allowed; `*` allows any origin, without
// credentials (a browser must not send cookies or auth to a gateway that
// answers everyone). Headers go onto the final response after the route has
// run, so no placeholder response is built on the way. An origin an app
// lists (apps/origins.ts) is allowed like a listed one; only a request whose
// origin is not already allowed asks.
import type { MiddlewareHandler } from "hono";
import { isAppOrigin } from "../apps/origins.ts";
import type { GatewayEnv } from "../context.ts";

const ALLOW_HEADERS = [
  "authorization",
  "content-type",
  "x-api-key",
  "x-goog-api-key",
  "anthropic-version",
  "anthropic-beta",
  "x-sluice-provider",
  "x-sluice-cache",
  "mcp-session-id",
  "mcp-protocol-version",
  "last-event-id",
].join(", ");
const EXPOSE_HEADERS = [
  "x-request-id",
  "x-sluice-provider",
  "x-sluice-model",
  "x-sluice-attempts",
  "x-sluice-cache",
  "x-sluice-dropped",
  "x-sluice-route",
  "x-sluice-route-reason",
  "age",
  "retry-after",
  "x-ratelimit-limit-requests",
  "x-ratelimit-remaining-requests",
  "x-ratelimit-reset-requests",
  "x-ratelimit-limit-tokens",
  "x-ratelimit-remaining-tokens",
  "x-ratelimit-reset-tokens",
  "x-ratelimit-limit-tool-calls",
  "x-ratelimit-remaining-tool-calls",
  "x-ratelimit-reset-tool-calls",
  "mcp-session-id",
].join(", ");
const ALLOW_METHODS = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS";
const MAX_AGE = "600";

const originLists = new WeakMap<object, string[]>();

function allowedOrigins(env: object): string[] {
  let list = originLists.get(env);
  if (!list) {
    const raw = (env as { CORS_ORIGINS?: unknown }).CORS_ORIGINS;
    list = (typeof raw === "string" ? raw : "")
      .split(",")
      .map((origin) => origin.trim())
      .filter(Boolean);
    originLists.set(env, list);
  }
  return list;
}

/** The CORS headers for a request's origin, or none when the origin may not call. */
function corsHeaders(origin: string | undefined, allowed: string[]): [string, string][] {
  if (!origin) return [];
  if (allowed.includes(origin)) {
    return [
      ["access-control-allow-origin", origin],
      ["access-control-allow-credentials", "true"],
      ["vary", "Origin"],
    ];
  }
  if (allowed.includes("*")) return [["access-control-allow-origin", "*"]];
  return [];
}

export function corsMiddleware(): MiddlewareHandler<GatewayEnv> {
  return async (c, next) => {
    const origin = c.req.header("origin");
    const allowed = allowedOrigins(c.env ?? {});
    let headers = corsHeaders(origin, allowed);
    if (origin && headers.length === 0 && (await isAppOrigin(c.env ?? {}, origin).catch(() => false))) {
      headers = corsHeaders(origin, [origin]);
    }
    if (c.req.method === "OPTIONS" && c.req.header("access-control-request-method")) {
      // A preflight is answered here, whatever the route.
      const preflight = new Headers(headers);
      if (headers.length > 0) {
        preflight.set("access-control-allow-methods", ALLOW_METHODS);
        preflight.set("access-control-allow-headers", ALLOW_HEADERS);
        preflight.set("access-control-max-age", MAX_AGE);
      }
      preflight.append("vary", "Access-Control-Request-Headers");
      return new Response(null, { status: 204, headers: preflight });
    }
    await next();
    if (headers.length === 0) return;
    const responseHeaders = c.res.headers;
    for (const [name, value] of headers) responseHeaders.set(name, value);
    responseHeaders.set("access-control-expose-headers", EXPOSE_HEADERS);
  };
}
