// An MCP server protected by its own OAuth server, for users' own
// connections (`gamma`): the consent screen (which consents at once, as the
// user `login_hint` names, and redirects back with a code), the token
// endpoint (authorization code with PKCE, refresh tokens that rotate: each
// works once, and the client credentials grant), revocation, and an MCP endpoint that takes only a live
// access token and tells whose it is (`whoami`).
import { createHash, randomUUID } from "node:crypto";

export const MCP_OAUTH_PREFIX = "/__mock/mcp-oauth";
export const MOCK_MCP_OAUTH_CLIENT_ID = "mcp-gamma-client";
export const MOCK_MCP_OAUTH_CLIENT_SECRET = "mcp-gamma-client-secret";

interface Grant {
  user: string;
  redirectUri: string;
  challenge: string;
  scope: string;
}

type Reply = { status: number; body?: unknown; headers?: Record<string, string> };

export function mockMcpOAuth() {
  const codes = new Map<string, Grant>();
  /** Refresh token → its user, while it may still be used (once). */
  const refreshTokens = new Map<string, { user: string; scope: string }>();
  /** Access token → its user, expiry (ms) and the grant family it belongs to. */
  const accessTokens = new Map<string, { user: string; expiresAt: number; family: string }>();
  const revokedFamilies = new Set<string>();
  const stats = { exchanged: 0, refreshed: 0, revoked: 0, reused: 0, clientCredentials: 0 };
  let lifetimeS = 3600;

  const refuse = (error: string, status = 400): Reply => ({ status, body: { error } });

  function issue(user: string, scope: string, family: string) {
    const access = `gamma-at-${randomUUID()}`;
    const refresh = `gamma-rt-${family}.${randomUUID()}`;
    accessTokens.set(access, { user, expiresAt: Date.now() + lifetimeS * 1000, family });
    refreshTokens.set(refresh, { user, scope });
    return { access_token: access, refresh_token: refresh, expires_in: lifetimeS, token_type: "Bearer", scope };
  }
  const familyOf = (refresh: string) => /^gamma-rt-([^.]+)\./.exec(refresh)?.[1] ?? "";

  function token(form: URLSearchParams, authorization: string | undefined): Reply {
    const basic = /^Basic (.+)$/.exec(authorization ?? "")?.[1];
    const [id, secret] = basic
      ? Buffer.from(basic, "base64").toString().split(":").map(decodeURIComponent)
      : [form.get("client_id"), form.get("client_secret")];
    if (id !== MOCK_MCP_OAUTH_CLIENT_ID || secret !== MOCK_MCP_OAUTH_CLIENT_SECRET) return refuse("invalid_client", 401);
    if (form.get("grant_type") === "authorization_code") {
      const grant = codes.get(form.get("code") ?? "");
      codes.delete(form.get("code") ?? "");
      if (!grant) return refuse("invalid_grant");
      if (grant.redirectUri !== form.get("redirect_uri")) return refuse("invalid_grant");
      const challenge = createHash("sha256")
        .update(form.get("code_verifier") ?? "")
        .digest("base64url");
      if (challenge !== grant.challenge) return refuse("invalid_grant");
      stats.exchanged++;
      return { status: 200, body: issue(grant.user, grant.scope, randomUUID()) };
    }
    if (form.get("grant_type") === "client_credentials") {
      // The client's own token, only through HTTP Basic (as Sluice sends it), and no refresh token.
      if (!basic) return refuse("invalid_client", 401);
      stats.clientCredentials++;
      const access = `gamma-cc-${randomUUID()}`;
      const subject = `client:${id}${form.get("audience") ? `@${form.get("audience")}` : ""}`;
      accessTokens.set(access, { user: subject, expiresAt: Date.now() + lifetimeS * 1000, family: randomUUID() });
      return {
        status: 200,
        body: { access_token: access, expires_in: lifetimeS, token_type: "Bearer", scope: form.get("scope") ?? "" },
      };
    }
    if (form.get("grant_type") === "refresh_token") {
      const refresh = form.get("refresh_token") ?? "";
      const held = refreshTokens.get(refresh);
      const family = familyOf(refresh);
      if (!held || revokedFamilies.has(family)) {
        // A rotated refresh token used again: the whole grant is revoked, as OAuth 2.1 servers do.
        if (family && !revokedFamilies.has(family)) stats.reused++;
        revokedFamilies.add(family);
        return refuse("invalid_grant");
      }
      refreshTokens.delete(refresh);
      stats.refreshed++;
      return { status: 200, body: issue(held.user, held.scope, family) };
    }
    return refuse("unsupported_grant_type");
  }

  function handle(method: string, url: URL, text: string, authorization: string | undefined): Reply | undefined {
    const path = url.pathname.slice(MCP_OAUTH_PREFIX.length);
    if (path === "/authorize" && method === "GET") {
      const q = url.searchParams;
      if (q.get("client_id") !== MOCK_MCP_OAUTH_CLIENT_ID) return refuse("invalid_client");
      if (q.get("response_type") !== "code" || q.get("code_challenge_method") !== "S256" || !q.get("code_challenge")) {
        return refuse("invalid_request");
      }
      const redirect = new URL(q.get("redirect_uri") ?? "");
      if (q.get("login_hint") === "deny") redirect.searchParams.set("error", "access_denied");
      else {
        const code = `gamma-code-${randomUUID()}`;
        codes.set(code, {
          user: q.get("login_hint") || "gamma-user",
          redirectUri: q.get("redirect_uri") ?? "",
          challenge: q.get("code_challenge") ?? "",
          scope: q.get("scope") ?? "",
        });
        redirect.searchParams.set("code", code);
      }
      redirect.searchParams.set("state", q.get("state") ?? "");
      return { status: 302, headers: { location: redirect.toString() } };
    }
    if (path === "/token" && method === "POST") return token(new URLSearchParams(text), authorization);
    if (path === "/revoke" && method === "POST") {
      const revoked = new URLSearchParams(text).get("token") ?? "";
      const family = accessTokens.get(revoked)?.family ?? familyOf(revoked);
      if (!family) return { status: 200, body: {} };
      revokedFamilies.add(family);
      stats.revoked++;
      return { status: 200, body: {} };
    }
    // Test controls: how long new access tokens live; expire every access token now; revoke every grant; counts.
    if (path === "/settings" && method === "POST") {
      lifetimeS = Number((JSON.parse(text || "{}") as { expires_in?: number }).expires_in ?? 3600);
      return { status: 200, body: { expires_in: lifetimeS } };
    }
    if (path === "/expire" && method === "POST") {
      for (const held of accessTokens.values()) held.expiresAt = 0;
      return { status: 200, body: {} };
    }
    // Revokes the tokens of the client credentials grant only, so users' connections are untouched.
    if (path === "/revoke-client-tokens" && method === "POST") {
      for (const [access, held] of accessTokens) if (access.startsWith("gamma-cc-")) revokedFamilies.add(held.family);
      return { status: 200, body: {} };
    }
    if (path === "/revoke-all" && method === "POST") {
      for (const refresh of refreshTokens.keys()) revokedFamilies.add(familyOf(refresh));
      return { status: 200, body: {} };
    }
    if (path === "/stats") return { status: 200, body: stats };
    return undefined;
  }

  /** The user a live access token belongs to; undefined for any other bearer. */
  function userOf(authorization: string | undefined): string | undefined {
    const held = accessTokens.get(/^Bearer (\S+)$/.exec(authorization ?? "")?.[1] ?? "");
    if (!held || held.expiresAt <= Date.now() || revokedFamilies.has(held.family)) return undefined;
    return held.user;
  }

  /** Gamma's MCP answers: no sessions, JSON only; `whoami` names the token's user. */
  function answer(user: string, message: { id?: unknown; method?: string; params?: Record<string, unknown> }): unknown {
    const result = (value: unknown) => ({ jsonrpc: "2.0", id: message.id, result: value });
    const text = (value: string) => result({ content: [{ type: "text", text: value }] });
    switch (message.method) {
      case "initialize":
        return result({
          protocolVersion: String(message.params?.protocolVersion ?? "2025-06-18"),
          capabilities: { tools: {} },
          serverInfo: { name: "mock-gamma", version: "1.0.0" },
        });
      case "tools/list":
        return result({
          tools: [
            { name: "whoami", description: "Names the user whose token called", inputSchema: { type: "object" } },
            { name: "echo", description: "Says back `text`", inputSchema: { type: "object" } },
          ],
        });
      case "tools/call":
        if (message.params?.name === "whoami") return text(user);
        if (message.params?.name === "echo") return text(String((message.params.arguments as { text?: unknown })?.text));
        return { jsonrpc: "2.0", id: message.id, error: { code: -32602, message: "Unknown tool" } };
    }
    return { jsonrpc: "2.0", id: message.id, error: { code: -32601, message: `Method not found: ${message.method}` } };
  }

  /** Its RFC 8414 metadata, under the issuer it is served at. */
  const metadata = (issuer: string) => ({
    issuer,
    authorization_endpoint: `${issuer}/authorize`,
    token_endpoint: `${issuer}/token`,
    revocation_endpoint: `${issuer}/revoke`,
    response_types_supported: ["code"],
    grant_types_supported: ["authorization_code", "refresh_token", "client_credentials"],
    code_challenge_methods_supported: ["S256"],
  });

  return { handle, userOf, answer, metadata };
}
