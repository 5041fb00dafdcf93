// The mock's Google OAuth server, for users who connect their Google account:
// the consent screen (which consents at once and redirects back with a code),
// the token endpoint (authorization code with PKCE, and refresh), revocation,
// and the check the Gemini paths make of a bearer token it issued.
import { createHash, randomUUID } from "node:crypto";
import { MOCK_GOOGLE_CLIENT_ID, MOCK_GOOGLE_CLIENT_SECRET, MOCK_GOOGLE_EMAIL } from "./credentials.ts";

export const GOOGLE_PREFIX = "/__mock/google";

interface Grant {
  redirectUri: string;
  challenge: string;
  scope: string;
}

export interface MockGoogle {
  /** Answers a request under GOOGLE_PREFIX; undefined for other paths. */
  handle(
    method: string,
    url: URL,
    text: string,
  ): { status: number; body?: unknown; headers?: Record<string, string> } | undefined;
  /** Whether a bearer token is one it issued, unexpired and unrevoked. */
  accepts(authorization: string | undefined): boolean;
}

const b64url = (text: string) => Buffer.from(text).toString("base64url");

export function mockGoogle(): MockGoogle {
  const codes = new Map<string, Grant>();
  /** Refresh token → whether it still holds. */
  const refreshTokens = new Map<string, boolean>();
  /** Access token → expiry (ms) and the refresh token it came from. */
  const accessTokens = new Map<string, { expiresAt: number; refresh: string }>();
  const stats = { exchanged: 0, refreshed: 0, revoked: 0 };
  let lifetimeS = 3600;

  const issue = (refresh: string) => {
    const token = `ya29.mock-${randomUUID()}`;
    accessTokens.set(token, { expiresAt: Date.now() + lifetimeS * 1000, refresh });
    return token;
  };
  const idToken = () =>
    `${b64url(JSON.stringify({ alg: "none" }))}.${b64url(JSON.stringify({ sub: "1000000000000000001", email: MOCK_GOOGLE_EMAIL }))}.`;
  const refuse = (error: string, description: string) => ({ status: 400, body: { error, error_description: description } });

  function token(form: URLSearchParams) {
    if (form.get("client_id") !== MOCK_GOOGLE_CLIENT_ID || form.get("client_secret") !== MOCK_GOOGLE_CLIENT_SECRET) {
      return { status: 401, body: { error: "invalid_client", error_description: "The OAuth client was not found." } };
    }
    if (form.get("grant_type") === "authorization_code") {
      const grant = codes.get(form.get("code") ?? "");
      codes.delete(form.get("code") ?? "");
      if (!grant) return refuse("invalid_grant", "Malformed auth code.");
      if (grant.redirectUri !== form.get("redirect_uri")) return refuse("redirect_uri_mismatch", "Bad Request");
      const challenge = createHash("sha256")
        .update(form.get("code_verifier") ?? "")
        .digest("base64url");
      if (challenge !== grant.challenge) return refuse("invalid_grant", "Invalid code verifier.");
      const refresh = `1//mock-${randomUUID()}`;
      refreshTokens.set(refresh, true);
      stats.exchanged++;
      return {
        status: 200,
        body: {
          access_token: issue(refresh),
          expires_in: lifetimeS,
          refresh_token: refresh,
          scope: grant.scope,
          token_type: "Bearer",
          id_token: idToken(),
        },
      };
    }
    if (form.get("grant_type") === "refresh_token") {
      const refresh = form.get("refresh_token") ?? "";
      if (!refreshTokens.get(refresh)) return refuse("invalid_grant", "Token has been expired or revoked.");
      stats.refreshed++;
      return { status: 200, body: { access_token: issue(refresh), expires_in: lifetimeS, token_type: "Bearer" } };
    }
    return refuse("unsupported_grant_type", "Invalid grant_type.");
  }

  return {
    handle(method, url, text) {
      const path = url.pathname.slice(GOOGLE_PREFIX.length);
      if (path === "/o/oauth2/v2/auth" && method === "GET") {
        const q = url.searchParams;
        if (q.get("client_id") !== MOCK_GOOGLE_CLIENT_ID) return { status: 400, body: { error: "invalid_client" } };
        if (q.get("response_type") !== "code" || q.get("code_challenge_method") !== "S256" || !q.get("code_challenge")) {
          return { status: 400, body: { error: "invalid_request", error_description: "code flow with S256 PKCE required" } };
        }
        const redirect = new URL(q.get("redirect_uri") ?? "");
        // `login_hint=deny` plays a user who refuses; `partial`, one who unticks all but their email.
        if (q.get("login_hint") === "deny") redirect.searchParams.set("error", "access_denied");
        else {
          const code = `4/mock-${randomUUID()}`;
          codes.set(code, {
            redirectUri: q.get("redirect_uri") ?? "",
            challenge: q.get("code_challenge") ?? "",
            scope: q.get("login_hint") === "partial" ? "openid email" : (q.get("scope") ?? ""),
          });
          redirect.searchParams.set("code", code);
        }
        redirect.searchParams.set("state", q.get("state") ?? "");
        return { status: 302, headers: { location: redirect.toString() } };
      }
      if (path === "/token" && method === "POST") return token(new URLSearchParams(text));
      if (path === "/revoke" && method === "POST") {
        const revoked = new URLSearchParams(text).get("token") ?? "";
        if (!refreshTokens.has(revoked) && !accessTokens.has(revoked)) return refuse("invalid_token", "Token is not valid.");
        const refresh = accessTokens.get(revoked)?.refresh ?? revoked;
        refreshTokens.set(refresh, false);
        for (const [access, held] of accessTokens) if (held.refresh === refresh) accessTokens.delete(access);
        stats.revoked++;
        return { status: 200, body: {} };
      }
      // Test controls: how long new access tokens live; expire every token now; revoke every grant; counts.
      if (path === "/settings" && method === "POST") {
        lifetimeS = Number((JSON.parse(text || "{}") as { expires_in?: number }).expires_in ?? 3600);
        return { status: 200, body: { expires_in: lifetimeS } };
      }
      if (path === "/expire" && method === "POST") {
        for (const held of accessTokens.values()) held.expiresAt = 0;
        return { status: 200, body: {} };
      }
      if (path === "/revoke-all" && method === "POST") {
        for (const refresh of refreshTokens.keys()) refreshTokens.set(refresh, false);
        accessTokens.clear();
        return { status: 200, body: {} };
      }
      if (path === "/stats") return { status: 200, body: stats };
      return { status: 404, body: { error: "not_found" } };
    },
    accepts(authorization) {
      const held = accessTokens.get(/^Bearer (\S+)$/.exec(authorization ?? "")?.[1] ?? "");
      return held !== undefined && held.expiresAt > Date.now();
    },
  };
}
