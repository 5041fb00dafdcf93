// The mock's OpenID Connect provider, for single sign-on: discovery, an
// authorize endpoint that approves at once (as the test user it is told to
// be, with the groups it is told to have), the token endpoint (authorization
// code with S256 PKCE, client_secret_basic or _post), and its JWKS. ID tokens
// are RS256 with a key made fresh at each start. Test controls:
// `POST <prefix>/users` sets who signs in (by `login_hint`, or by default),
// `POST <prefix>/next` bends the next ID token (wrong audience, issuer,
// nonce, expiry, or signed by a key the JWKS does not hold).
import { createHash, generateKeyPairSync, randomUUID } from "node:crypto";
import { exportJWK, SignJWT } from "jose";
import { MOCK_OIDC_CLIENT_ID, MOCK_OIDC_CLIENT_SECRET, MOCK_OIDC_PATH } from "./credentials.ts";

export const OIDC_PREFIX = MOCK_OIDC_PATH;

export interface MockOidcUser {
  sub: string;
  email?: string;
  email_verified?: boolean;
  name?: string;
  groups?: string[];
  /** Any other claims to put in the ID token. */
  claims?: Record<string, unknown>;
}

/** How the next ID token is bent, once. */
interface Bend {
  aud?: string;
  iss?: string;
  nonce?: string;
  expires_in?: number;
  foreign_key?: boolean;
}

interface Grant {
  redirectUri: string;
  challenge: string;
  nonce: string | undefined;
  user: MockOidcUser;
}

type Reply = { status: number; body?: unknown; headers?: Record<string, string> };

const DEFAULT_USER: MockOidcUser = {
  sub: "mock-person-0001",
  email: "ada@example.com",
  email_verified: true,
  name: "Ada Lovelace",
  groups: ["platform-admins"],
};

function rsaKey() {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  return { privateKey, publicKey, kid: `mock-${randomUUID().slice(0, 8)}` };
}

export function mockOidc() {
  const key = rsaKey();
  const foreign = rsaKey();
  const codes = new Map<string, Grant>();
  const users = new Map<string, MockOidcUser>();
  let defaultUser = DEFAULT_USER;
  let bend: Bend = {};
  const stats = { authorized: 0, exchanged: 0 };

  const issuer = (baseUrl: string) => `${baseUrl}${OIDC_PREFIX}`;
  const refuse = (error: string, description: string, status = 400): Reply => ({
    status,
    body: { error, error_description: description },
  });

  function clientOf(form: URLSearchParams, authorization: string | undefined): string | undefined {
    if (authorization?.startsWith("Basic ")) {
      const [id, secret] = Buffer.from(authorization.slice(6), "base64").toString("utf8").split(":").map(decodeURIComponent);
      return id === MOCK_OIDC_CLIENT_ID && secret === MOCK_OIDC_CLIENT_SECRET ? id : undefined;
    }
    const id = form.get("client_id");
    return id === MOCK_OIDC_CLIENT_ID && form.get("client_secret") === MOCK_OIDC_CLIENT_SECRET ? id : undefined;
  }

  async function token(form: URLSearchParams, authorization: string | undefined, baseUrl: string): Promise<Reply> {
    if (!clientOf(form, authorization)) return refuse("invalid_client", "Client authentication failed.", 401);
    if (form.get("grant_type") !== "authorization_code") return refuse("unsupported_grant_type", "Only authorization_code.");
    const code = form.get("code") ?? "";
    const grant = codes.get(code);
    codes.delete(code);
    if (!grant) return refuse("invalid_grant", "The code is unknown, used or expired.");
    if (grant.redirectUri !== form.get("redirect_uri")) return refuse("invalid_grant", "redirect_uri does not match.");
    const challenge = createHash("sha256")
      .update(form.get("code_verifier") ?? "")
      .digest("base64url");
    if (challenge !== grant.challenge) return refuse("invalid_grant", "PKCE verification failed.");
    const now = Math.floor(Date.now() / 1000);
    const { user } = grant;
    const signer = bend.foreign_key ? foreign : key;
    const idToken = await new SignJWT({
      ...user.claims,
      ...(user.email !== undefined && { email: user.email }),
      ...(user.email_verified !== undefined && { email_verified: user.email_verified }),
      ...(user.name !== undefined && { name: user.name }),
      ...(user.groups !== undefined && { groups: user.groups }),
      ...((bend.nonce ?? grant.nonce) !== undefined && { nonce: bend.nonce ?? grant.nonce }),
    })
      .setProtectedHeader({ alg: "RS256", kid: signer.kid })
      .setIssuer(bend.iss ?? issuer(baseUrl))
      .setAudience(bend.aud ?? MOCK_OIDC_CLIENT_ID)
      .setSubject(user.sub)
      .setIssuedAt(now)
      .setExpirationTime(now + (bend.expires_in ?? 300))
      .sign(signer.privateKey);
    bend = {};
    stats.exchanged++;
    return {
      status: 200,
      body: { access_token: `mock-at-${randomUUID()}`, token_type: "Bearer", expires_in: 300, id_token: idToken },
    };
  }

  function authorize(q: URLSearchParams): Reply {
    if (q.get("client_id") !== MOCK_OIDC_CLIENT_ID) return refuse("invalid_client", "Unknown client.");
    const redirectUri = q.get("redirect_uri");
    if (!redirectUri) return refuse("invalid_request", "redirect_uri is required.");
    if (q.get("response_type") !== "code" || q.get("code_challenge_method") !== "S256" || !q.get("code_challenge")) {
      return refuse("invalid_request", "The code flow with S256 PKCE is required.");
    }
    if (!(q.get("scope") ?? "").split(" ").includes("openid")) return refuse("invalid_scope", "openid is required.");
    const back = new URL(redirectUri);
    const hint = q.get("login_hint");
    if (hint === "deny") back.searchParams.set("error", "access_denied");
    else {
      const code = `mock-code-${randomUUID()}`;
      codes.set(code, {
        redirectUri,
        challenge: q.get("code_challenge") ?? "",
        nonce: q.get("nonce") ?? undefined,
        user: (hint && users.get(hint)) || defaultUser,
      });
      stats.authorized++;
      back.searchParams.set("code", code);
    }
    const state = q.get("state");
    if (state !== null) back.searchParams.set("state", state);
    return { status: 302, headers: { location: back.toString() } };
  }

  return {
    async handle(
      method: string,
      url: URL,
      text: string,
      authorization: string | undefined,
      baseUrl: string,
    ): Promise<Reply | undefined> {
      const path = url.pathname.slice(OIDC_PREFIX.length);
      if (path === "/.well-known/openid-configuration" && method === "GET") {
        const iss = issuer(baseUrl);
        return {
          status: 200,
          body: {
            issuer: iss,
            authorization_endpoint: `${iss}/authorize`,
            token_endpoint: `${iss}/token`,
            jwks_uri: `${iss}/jwks`,
            response_types_supported: ["code"],
            subject_types_supported: ["public"],
            id_token_signing_alg_values_supported: ["RS256"],
            scopes_supported: ["openid", "email", "profile", "groups"],
            token_endpoint_auth_methods_supported: ["client_secret_basic", "client_secret_post"],
            code_challenge_methods_supported: ["S256"],
            claims_supported: ["sub", "email", "email_verified", "name", "groups", "nonce"],
          },
        };
      }
      if (path === "/jwks" && method === "GET") {
        return { status: 200, body: { keys: [{ ...(await exportJWK(key.publicKey)), kid: key.kid, alg: "RS256", use: "sig" }] } };
      }
      if (path === "/authorize" && method === "GET") return authorize(url.searchParams);
      if (path === "/token" && method === "POST") return token(new URLSearchParams(text), authorization, baseUrl);
      if (path === "/users" && method === "POST") {
        const body = JSON.parse(text || "{}") as MockOidcUser & { login_hint?: string; default?: boolean };
        const { login_hint: hint, default: isDefault, ...user } = body;
        if (hint) users.set(hint, user);
        if (isDefault || !hint) defaultUser = user;
        return { status: 200, body: { ok: true } };
      }
      if (path === "/next" && method === "POST") {
        bend = JSON.parse(text || "{}") as Bend;
        return { status: 200, body: { ok: true } };
      }
      if (path === "/stats" && method === "GET") return { status: 200, body: stats };
      return undefined;
    },
  };
}
