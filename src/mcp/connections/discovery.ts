// Where a `user_oauth` server's users sign in, found as MCP clients find it:
// the server's protected-resource metadata (RFC 9728) names its
// authorization server, whose metadata (RFC 8414, or OpenID discovery) gives
// the endpoints. Read once, when the admin registers the server.
import { GatewayError } from "../../http/errors.ts";
import * as z from "../../zod.ts";

const resourceMetadata = z.object({ authorization_servers: z.array(z.url()).check(z.minLength(1)) });
const serverMetadata = z.object({
  authorization_endpoint: z.url(),
  token_endpoint: z.url(),
  revocation_endpoint: z.optional(z.url()),
});

export interface DiscoveredEndpoints {
  authorizationUrl: string;
  tokenUrl: string;
  revocationUrl: string | null;
}

/** `https://host/.well-known/{name}/path`: the well-known name goes between the host and the path (RFC 8414 §3.1, RFC 9728 §3.1). */
const wellKnown = (url: URL, name: string) =>
  `${url.origin}/.well-known/${name}${url.pathname === "/" ? "" : url.pathname.replace(/\/$/, "")}`;

async function firstJson<T>(urls: string[], schema: z.ZodMiniType<T>): Promise<T | undefined> {
  for (const url of urls) {
    try {
      const response = await fetch(url, { headers: { accept: "application/json" }, signal: AbortSignal.timeout(10_000) });
      if (!response.ok) {
        await response.body?.cancel();
        continue;
      }
      const parsed = schema.safeParse(await response.json());
      if (parsed.success) return parsed.data;
    } catch {
      // The next place, or none.
    }
  }
  return undefined;
}

export async function discoverEndpoints(serverUrl: string): Promise<DiscoveredEndpoints> {
  const server = new URL(serverUrl);
  const resource = await firstJson(
    [wellKnown(server, "oauth-protected-resource"), `${server.origin}/.well-known/oauth-protected-resource`],
    resourceMetadata,
  );
  // Servers from before RFC 9728 are their own authorization server.
  const issuer = new URL(resource?.authorization_servers[0] ?? server.origin);
  const metadata = await firstJson(
    [wellKnown(issuer, "oauth-authorization-server"), wellKnown(issuer, "openid-configuration")],
    serverMetadata,
  );
  if (!metadata) {
    throw new GatewayError(
      400,
      "invalid_request",
      `No OAuth metadata found for ${serverUrl} (at ${issuer.toString()}): give \`authorization_url\` and \`token_url\`.`,
      { code: "mcp_oauth_discovery_failed", param: "auth" },
    );
  }
  return {
    authorizationUrl: metadata.authorization_endpoint,
    tokenUrl: metadata.token_endpoint,
    revocationUrl: metadata.revocation_endpoint ?? null,
  };
}
