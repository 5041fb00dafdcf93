// OAuth protected resource metadata for `/mcp` (RFC 9728): off until
// MCP_AUTHORIZATION_SERVERS is set; then served at the well-known paths, and
// pointed at by the `WWW-Authenticate` header of a 401 from `/mcp`.
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { BASE, callWorker } from "./helpers.ts";

const configured = {
  ...env,
  MCP_AUTHORIZATION_SERVERS: "https://id.example/, https://login.example/tenant",
  MCP_OAUTH_SCOPES: "openid mcp",
};

const initialize = (path: string) =>
  new Request(`${BASE}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "t", version: "1" } },
    }),
  });

describe("OAuth protected resource metadata for /mcp", () => {
  it("is off until configured: no metadata, and a 401 without the hint", async () => {
    const metadata = await callWorker(new Request(`${BASE}/.well-known/oauth-protected-resource`));
    expect(metadata.response.status).toBe(404);
    await metadata.response.arrayBuffer();
    const { response } = await callWorker(initialize("/mcp"));
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate") ?? "").not.toContain("resource_metadata");
    await response.arrayBuffer();
  });

  it("serves the metadata for /mcp and for one server, at both well-known paths", async () => {
    for (const [path, resource] of [
      ["/.well-known/oauth-protected-resource", "/mcp"],
      ["/.well-known/oauth-protected-resource/mcp", "/mcp"],
      ["/.well-known/oauth-protected-resource/mcp/github", "/mcp/github"],
    ] as const) {
      const { response } = await callWorker(new Request(`${BASE}${path}`), configured);
      expect(response.status, path).toBe(200);
      expect(response.headers.get("content-type")).toContain("application/json");
      expect(await response.json()).toEqual({
        resource: `${BASE}${resource}`,
        authorization_servers: ["https://id.example", "https://login.example/tenant"],
        bearer_methods_supported: ["header"],
        scopes_supported: ["openid", "mcp"],
        resource_name: "Sluice MCP gateway",
      });
    }
  });

  it("points a 401 from /mcp at the metadata, in the MCP error shape", async () => {
    for (const [path, hint] of [
      ["/mcp", "/.well-known/oauth-protected-resource/mcp"],
      ["/mcp/github", "/.well-known/oauth-protected-resource/mcp/github"],
    ] as const) {
      const { response } = await callWorker(initialize(path), configured);
      expect(response.status).toBe(401);
      expect(response.headers.get("www-authenticate")).toBe(`Bearer resource_metadata="${BASE}${hint}"`);
      const body = (await response.json()) as { jsonrpc: string; error: { message: string } };
      expect(body.jsonrpc).toBe("2.0");
      expect(body.error.message).toMatch(/credential/i);
    }
    // Another route's 401 carries no MCP hint.
    const other = await callWorker(
      new Request(`${BASE}/v1/models`, { headers: { authorization: "Bearer sk-nope" } }),
      configured,
    );
    expect(other.response.status).toBe(401);
    expect(other.response.headers.get("www-authenticate") ?? "").not.toContain("resource_metadata");
    await other.response.arrayBuffer();
  });
});
