// OAuth 2.0 Protected Resource Metadata (RFC 9728) for `/mcp`: what MCP
// clients that expect OAuth (Claude Code, IDEs) read to learn which
// authorization server issues the tokens `/mcp` accepts, so they can sign the
// user in there and come back with a token. Off until MCP_AUTHORIZATION_SERVERS
// names the servers (`sluice` for this gateway's own, routes/oauth.ts, or the
// issuer of the end users' JWTs): until then the well-known paths are 404 and
// a 401 carries no hint.
import type { MiddlewareHandler } from "hono";
import { Hono } from "hono";
import { DESCRIBE } from "#describe";
import type { Config } from "../config/index.ts";
import type { GatewayContext, GatewayEnv } from "../context.ts";
import { GatewayError } from "../http/errors.ts";
import { doc } from "../openapi/doc.ts";

const WELL_KNOWN = "/.well-known/oauth-protected-resource";

/** Where a resource's metadata is: the well-known prefix inserted before its path (RFC 9728 §3.1). */
export const metadataUrl = (origin: string, resourcePath: string) => `${origin}${WELL_KNOWN}${resourcePath}`;

function metadataOf(config: NonNullable<Config["mcpOAuth"]>, origin: string, resource: string) {
  return {
    resource,
    authorization_servers: [...(config.sluice ? [origin] : []), ...config.authorizationServers],
    bearer_methods_supported: ["header"],
    ...(config.scopes.length > 0 && { scopes_supported: config.scopes }),
    resource_name: "Sluice MCP gateway",
  };
}

const notOffered = () =>
  new GatewayError(404, "not_found", "No OAuth protected resource here: MCP_AUTHORIZATION_SERVERS is not set.", {
    code: "not_found",
  });

function serveMetadata(c: GatewayContext, resourcePath: string): Response {
  const config = c.get("config").mcpOAuth;
  if (!config) throw notOffered();
  const origin = new URL(c.req.url).origin;
  return c.json(metadataOf(config, origin, `${origin}${resourcePath}`), 200, { "cache-control": "public, max-age=300" });
}

export const protectedResourceRoutes = new Hono<GatewayEnv>();

const metadataDoc = doc(DESCRIBE && { summary: "OAuth protected resource metadata (RFC 9728) for /mcp; 404 unless configured" });
protectedResourceRoutes.get("/", metadataDoc, (c) => serveMetadata(c, "/mcp"));
protectedResourceRoutes.get("/mcp", metadataDoc, (c) => serveMetadata(c, "/mcp"));
protectedResourceRoutes.get("/mcp/:server", metadataDoc, (c) => serveMetadata(c, `/mcp/${c.req.param("server")}`));

/** On a 401 from `/mcp`, the hint MCP clients follow to the metadata (RFC 9728 §5.1); nothing when off. */
export const resourceMetadataHint: MiddlewareHandler<GatewayEnv> = async (c, next) => {
  await next();
  if (c.res.status !== 401 || !c.get("config")?.mcpOAuth) return;
  const url = new URL(c.req.url);
  const scoped = /^\/mcp\/[^/]+/.exec(url.pathname)?.[0] ?? "/mcp";
  c.res.headers.set("www-authenticate", `Bearer resource_metadata="${metadataUrl(url.origin, scoped)}"`);
};
