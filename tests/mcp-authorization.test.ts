// Sluice as the authorization server of `/mcp` (MCP_AUTHORIZATION_SERVERS=sluice):
// the official MCP client's OAuth flow from a 401 to a tool list, people
// signing in at the mock's OpenID provider; and what the token endpoint
// refuses: a wrong PKCE verifier, a replayed code, a spent refresh token, a
// redirect URI not registered, a token for another resource.
import { env } from "cloudflare:test";
import { auth, type OAuthClientProvider, UnauthorizedError } from "@modelcontextprotocol/sdk/client/auth.js";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { OAuthClientInformationMixed, OAuthTokens } from "@modelcontextprotocol/sdk/shared/auth.js";
import { describe, expect, it } from "vitest";
import { MOCK_OIDC_CLIENT_ID, MOCK_OIDC_CLIENT_SECRET, MOCK_OIDC_PATH } from "../dev/mock-upstream/credentials.ts";
import { MOCK_MCP_ALPHA_TOKEN } from "../dev/mock-upstream/mcp.ts";
import { BASE, callWorker, TEST_ADMIN_KEY, workerFetch } from "./helpers.ts";
import { admin, uniqueId } from "./identity.ts";

const mockRoot = String(env.MOCK_BASE_URL).replace(/\/v1$/, "");
const oidc = `${mockRoot}${MOCK_OIDC_PATH}`;
const bindings = {
  ...env,
  MCP_AUTHORIZATION_SERVERS: "sluice",
  SSO_DISCOVERY_URL: oidc,
  SSO_CLIENT_ID: MOCK_OIDC_CLIENT_ID,
  SSO_CLIENT_SECRET: MOCK_OIDC_CLIENT_SECRET,
};
const REDIRECT = "http://127.0.0.1:33418/callback";

const call = (path: string, init: RequestInit = {}, on: object = bindings) =>
  callWorker(new Request(path.startsWith("http") ? path : `${BASE}${path}`, { redirect: "manual", ...init }), on);

/** Tells the mock provider who signs in with this login hint; their `sub`. */
async function person(email: string): Promise<{ hint: string; sub: string }> {
  const hint = uniqueId("hint");
  const sub = uniqueId("sub");
  const response = await fetch(`${oidc}/users`, {
    method: "POST",
    body: JSON.stringify({ login_hint: hint, sub, email, email_verified: true, name: "MCP Person" }),
  });
  expect(response.status).toBe(200);
  return { hint, sub };
}

/** A browser following an authorization URL: Sluice, the provider, Sluice's callback; where it ends (the client's redirect). */
async function followSignIn(authorizationUrl: URL | string, hint: string): Promise<URL> {
  const url = new URL(authorizationUrl);
  url.searchParams.set("login_hint", hint);
  const { response: start } = await call(url.toString());
  expect(start.status).toBe(302);
  const cookie = (start.headers.getSetCookie()[0] ?? "").split(";")[0] ?? "";
  expect(cookie).toMatch(/^__Host-sluice-oauth=/);
  const toProvider = new URL(start.headers.get("location") ?? "");
  expect(`${toProvider.origin}${toProvider.pathname}`).toBe(`${oidc}/authorize`);
  expect(toProvider.searchParams.get("redirect_uri")).toBe(`${BASE}/oauth/callback`);
  const approved = await fetch(toProvider, { redirect: "manual" });
  expect(approved.status).toBe(302);
  const { response: back } = await call(approved.headers.get("location") ?? "", { headers: { cookie } });
  // Signed in: Sluice asks the person before any code goes to the client.
  const consent = await consentOf(back);
  const answered = await answerConsent(consent, "allow");
  expect(answered.status).toBe(303);
  expect(answered.headers.get("cache-control")).toBe("no-store");
  return new URL(answered.headers.get("location") ?? "");
}

interface Consent {
  page: string;
  cookie: string;
  /** The nonce the page's form carries. */
  nonce: string;
}

/** The consent page the callback answers with: what it says, its form's nonce, and its cookie. */
async function consentOf(response: Response): Promise<Consent> {
  expect(response.status).toBe(200);
  expect(response.headers.get("cache-control")).toBe("no-store");
  expect(response.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
  expect(response.headers.get("referrer-policy")).toBe("no-referrer");
  const cookie = response.headers
    .getSetCookie()
    .map((value) => value.split(";")[0] ?? "")
    .find((value) => value.startsWith("__Host-sluice-oauth-consent=") && value.length > "__Host-sluice-oauth-consent=".length);
  expect(cookie).toBeDefined();
  const page = await response.text();
  const nonce = /name="nonce" value="([^"]+)"/.exec(page)?.[1] ?? "";
  expect(nonce).not.toBe("");
  return { page, cookie: cookie ?? "", nonce };
}

/**
 * The person's click on the consent page: its form, posted as a browser posts it from a no-referrer page of the
 * gateway's own: `Origin: null`, the fetch metadata saying same-origin (what Chromium sends for such a form).
 */
async function answerConsent(
  consent: Pick<Consent, "cookie" | "nonce">,
  decision: "allow" | "deny",
  headers: Record<string, string> = { origin: "null", "sec-fetch-site": "same-origin" },
): Promise<Response> {
  const { response } = await call("/oauth/consent", {
    method: "POST",
    headers: { cookie: consent.cookie, "content-type": "application/x-www-form-urlencoded", ...headers },
    body: new URLSearchParams({ nonce: consent.nonce, decision }).toString(),
  });
  return response;
}

/** An OAuth client provider that keeps everything in memory and lets the test play the browser. */
class MemoryProvider implements OAuthClientProvider {
  info: OAuthClientInformationMixed | undefined;
  saved: OAuthTokens | undefined;
  verifier = "";
  authorizationUrl: URL | undefined;
  readonly expectedState = uniqueId("state");
  get redirectUrl() {
    return REDIRECT;
  }
  get clientMetadata() {
    return { client_name: "sluice-test", redirect_uris: [REDIRECT], token_endpoint_auth_method: "none" };
  }
  state() {
    return this.expectedState;
  }
  clientInformation() {
    return this.info;
  }
  saveClientInformation(info: OAuthClientInformationMixed) {
    this.info = info;
  }
  tokens() {
    return this.saved;
  }
  saveTokens(tokens: OAuthTokens) {
    this.saved = tokens;
  }
  redirectToAuthorization(url: URL) {
    this.authorizationUrl = url;
  }
  saveCodeVerifier(verifier: string) {
    this.verifier = verifier;
  }
  codeVerifier() {
    return this.verifier;
  }
}

/** The mock's server `alpha` under a new name, registered through these bindings so that their catalog copy learns of it. */
async function alphaServer(): Promise<string> {
  const name = uniqueId("alpha").toLowerCase();
  const { response } = await call("/admin/mcp/servers", {
    method: "POST",
    headers: { authorization: `Bearer ${TEST_ADMIN_KEY}`, "content-type": "application/json" },
    body: JSON.stringify({ name, url: `${mockRoot}/mcp/alpha`, auth: { type: "bearer", token: MOCK_MCP_ALPHA_TOKEN } }),
  });
  expect(response.status).toBe(201);
  await response.arrayBuffer();
  return name;
}

const transportFor = (provider: MemoryProvider, pending: Promise<unknown>[], path = "/mcp") =>
  new StreamableHTTPClientTransport(new URL(`${BASE}${path}`), { authProvider: provider, fetch: workerFetch(pending, bindings) });

describe("Sluice's authorization server", () => {
  it("is off until MCP_AUTHORIZATION_SERVERS names `sluice`: its routes are 404 in OAuth's error shape", async () => {
    for (const [method, path] of [
      ["GET", "/.well-known/oauth-authorization-server"],
      ["POST", "/oauth/register"],
      ["GET", "/oauth/authorize"],
      ["POST", "/oauth/token"],
    ] as const) {
      const { response } = await call(path, { method }, env);
      expect(response.status, path).toBe(404);
      expect(await response.json()).toMatchObject({
        error: "invalid_request",
        error_description: expect.stringMatching(/sluice/),
      });
    }
  });

  it("describes itself (RFC 8414), and the resource metadata names it", async () => {
    const { response } = await call("/.well-known/oauth-authorization-server");
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      issuer: BASE,
      authorization_endpoint: `${BASE}/oauth/authorize`,
      token_endpoint: `${BASE}/oauth/token`,
      registration_endpoint: `${BASE}/oauth/register`,
      response_types_supported: ["code"],
      grant_types_supported: ["authorization_code", "refresh_token"],
      code_challenge_methods_supported: ["S256"],
      token_endpoint_auth_methods_supported: ["none"],
      authorization_response_iss_parameter_supported: true,
    });
    const resource = await call("/.well-known/oauth-protected-resource/mcp");
    expect(await resource.response.json()).toMatchObject({ resource: `${BASE}/mcp`, authorization_servers: [BASE] });
  });

  it("registers public clients with HTTPS or loopback redirect URIs only", async () => {
    const register = (body: unknown) =>
      call("/oauth/register", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    const ok = await register({ redirect_uris: ["https://app.example/cb", "http://localhost:8123/cb"], client_name: "IDE" });
    expect(ok.response.status).toBe(201);
    expect(await ok.response.json()).toMatchObject({
      redirect_uris: ["https://app.example/cb", "http://localhost:8123/cb"],
      client_name: "IDE",
      token_endpoint_auth_method: "none",
      grant_types: ["authorization_code", "refresh_token"],
    });
    for (const uri of ["http://app.example/cb", "https://app.example/cb#x", "javascript:alert(1)"]) {
      const refused = await register({ redirect_uris: [uri] });
      expect(refused.response.status, uri).toBe(400);
      expect(await refused.response.json()).toMatchObject({ error: "invalid_redirect_uri" });
    }
    const empty = await register({ redirect_uris: [] });
    expect(await empty.response.json()).toMatchObject({ error: "invalid_client_metadata" });
  });
});

describe("the official MCP client signing its user in at Sluice", () => {
  it("goes from a 401 through registration, sign-in and the code exchange to listing the tools", async () => {
    const alpha = await alphaServer();
    const { hint, sub } = await person("mcp-user@example.com");
    const provider = new MemoryProvider();
    const pending: Promise<unknown>[] = [];

    const first = new Client({ name: "sluice-test", version: "1.0.0" });
    await expect(first.connect(transportFor(provider, pending))).rejects.toBeInstanceOf(UnauthorizedError);
    // The client registered itself and was sent to Sluice's authorization endpoint, for the /mcp resource.
    const clientId = String(provider.info?.client_id);
    const authorizationUrl = provider.authorizationUrl ?? new URL("about:blank");
    expect(`${authorizationUrl.origin}${authorizationUrl.pathname}`).toBe(`${BASE}/oauth/authorize`);
    expect(authorizationUrl.searchParams.get("resource")).toBe(`${BASE}/mcp`);
    expect(authorizationUrl.searchParams.get("code_challenge_method")).toBe("S256");

    const back = await followSignIn(authorizationUrl, hint);
    expect(`${back.origin}${back.pathname}`).toBe(REDIRECT);
    expect(back.searchParams.get("state")).toBe(provider.expectedState);
    expect(back.searchParams.get("iss")).toBe(BASE);
    const code = back.searchParams.get("code") ?? "";

    const transport = transportFor(provider, pending);
    await transport.finishAuth(code);
    expect(provider.saved?.token_type).toBe("Bearer");
    expect(provider.saved?.refresh_token).toMatch(/^sluice_rt_/);
    const client = new Client({ name: "sluice-test", version: "1.0.0" });
    await client.connect(transport);
    const tools = (await client.listTools()).tools.map((tool) => tool.name);
    expect(tools).toContain(`${alpha}__echo`);
    const echoed = await client.callTool({ name: `${alpha}__echo`, arguments: { text: "signed in" } });
    expect(echoed.isError).toBeFalsy();
    await client.close();
    await Promise.all(pending);

    // The person became a Sluice user on first sight, under the provider's issuer (it is not the JWT issuer here).
    const user = await admin("GET", `/admin/users/${encodeURIComponent(`${oidc}|${sub}`)}`);
    expect(user.status).toBe(200);
    expect(user.body).toMatchObject({ email: "mcp-user@example.com" });
    expect(clientId.split(".")).toHaveLength(5);

    // The SDK refreshes with the rotating refresh token; the spent one is refused after.
    const spent = provider.saved?.refresh_token;
    expect(await auth(provider, { serverUrl: `${BASE}/mcp`, fetchFn: workerFetch(pending, bindings) })).toBe("AUTHORIZED");
    expect(provider.saved?.refresh_token).not.toBe(spent);
    const replay = await token({ grant_type: "refresh_token", refresh_token: String(spent), client_id: clientId });
    expect(replay.status).toBe(400);
    expect(await replay.json()).toMatchObject({ error: "invalid_grant" });
  });
});

function authorizeUrl(clientId: string, challenge: string, options: { resource?: string; redirect?: string }): URL {
  const url = new URL(`${BASE}/oauth/authorize`);
  const params = {
    response_type: "code",
    client_id: clientId,
    redirect_uri: options.redirect ?? REDIRECT,
    code_challenge: challenge,
    code_challenge_method: "S256",
    state: "s1",
    resource: options.resource ?? `${BASE}/mcp`,
  };
  for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value);
  return url;
}

/** A client registered, and a code for a signed-in person, by hand: what the token endpoint's refusals are tested with. */
async function codeFor(options: { resource?: string; redirect?: string } = {}) {
  const registered = await call("/oauth/register", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ redirect_uris: [REDIRECT], client_name: "by hand" }),
  });
  expect(registered.response.status).toBe(201);
  const { client_id: clientId } = (await registered.response.json()) as { client_id: string };
  const verifier = `${crypto.randomUUID()}${crypto.randomUUID()}`;
  const challenge = btoa(
    String.fromCharCode(...new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)))),
  )
    .replaceAll("+", "-")
    .replaceAll("/", "_")
    .replace(/=+$/, "");
  const url = authorizeUrl(clientId, challenge, options);
  const { hint } = await person(`${uniqueId("p")}@example.com`);
  const back = await followSignIn(url, hint);
  return { clientId, verifier, code: back.searchParams.get("code") ?? "", back };
}

const token = async (form: Record<string, string>) =>
  (
    await call("/oauth/token", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(form),
    })
  ).response;

const exchange = (grant: Awaited<ReturnType<typeof codeFor>>, extra: Record<string, string> = {}) =>
  token({
    grant_type: "authorization_code",
    code: grant.code,
    code_verifier: grant.verifier,
    redirect_uri: REDIRECT,
    client_id: grant.clientId,
    ...extra,
  });

const initializeWith = (accessToken: string, path = "/mcp", on: object = bindings) =>
  call(
    path,
    {
      method: "POST",
      headers: {
        authorization: `Bearer ${accessToken}`,
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
      },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "initialize",
        params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "t", version: "1" } },
      }),
    },
    on,
  );

interface Tokens {
  access_token: string;
  refresh_token: string;
  token_type: string;
  expires_in: number;
}

describe("the token endpoint", () => {
  it("asks the person before a client gets a code: who asks, where the code goes; deny, another site's form and no cookie get none", async () => {
    const registered = await call("/oauth/register", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ redirect_uris: ["https://stranger.example/cb"], client_name: "Stranger <b>tools</b>" }),
    });
    const { client_id: clientId } = (await registered.response.json()) as { client_id: string };
    const email = `${uniqueId("p")}@example.com`;
    const { hint } = await person(email);
    const signIn = async () => {
      const url = new URL(authorizeUrl(clientId, "A".repeat(43), { redirect: "https://stranger.example/cb" }));
      url.searchParams.set("login_hint", hint);
      const { response: start } = await call(url.toString());
      const cookie = (start.headers.getSetCookie()[0] ?? "").split(";")[0] ?? "";
      const approved = await fetch(new URL(start.headers.get("location") ?? ""), { redirect: "manual" });
      const { response: back } = await call(approved.headers.get("location") ?? "", { headers: { cookie } });
      return consentOf(back);
    };
    const asked = await signIn();
    // The page names the client as it registered (escaped), where its code would go, and who signed in; no code in it.
    expect(asked.page).toContain("“Stranger &lt;b&gt;tools&lt;/b&gt;”");
    expect(asked.page).toContain("<code>https://stranger.example</code>");
    expect(asked.page).toContain(`<strong>${email}</strong>`);
    expect(asked.page).not.toMatch(/code=/);

    // A client that names the gateway's origin itself is this gateway's page too.
    const denied = await answerConsent(asked, "deny", { origin: BASE });
    expect(denied.status).toBe(303);
    const deniedAt = new URL(denied.headers.get("location") ?? "");
    expect(deniedAt.origin).toBe("https://stranger.example");
    expect(deniedAt.searchParams.get("error")).toBe("access_denied");
    expect(deniedAt.searchParams.get("code")).toBeNull();

    const again = await signIn();
    const forged = await answerConsent(again, "allow", { origin: "https://stranger.example" });
    expect(forged.status).toBe(403);
    expect(await forged.json()).toMatchObject({ error: "access_denied" });
    const crossSite = await answerConsent(again, "allow", { origin: "null", "sec-fetch-site": "cross-site" });
    expect(crossSite.status).toBe(403);
    const cookieless = await answerConsent({ cookie: "", nonce: again.nonce }, "allow");
    expect(cookieless.status).toBe(400);
    expect(await cookieless.json()).toMatchObject({ error: "invalid_request" });
    // A later sign-in in the same browser replaces the cookie: the earlier page's answer counts for nothing.
    const later = await signIn();
    const stale = await answerConsent({ cookie: later.cookie, nonce: again.nonce }, "allow");
    expect(stale.status).toBe(400);
    const allowed = await answerConsent(later, "allow");
    expect(allowed.status).toBe(303);
    expect(new URL(allowed.headers.get("location") ?? "").searchParams.get("code")).toMatch(/.{20,}/);
  });

  it("refuses a wrong PKCE verifier, and the code is spent by the attempt", async () => {
    const grant = await codeFor();
    const wrong = await exchange(grant, { code_verifier: `${grant.verifier.slice(0, -4)}aaaa` });
    expect(wrong.status).toBe(400);
    expect(wrong.headers.get("cache-control")).toBe("no-store");
    expect(await wrong.json()).toEqual({
      error: "invalid_grant",
      error_description: "The PKCE `code_verifier` does not match the challenge.",
    });
    const right = await exchange(grant);
    expect(right.status).toBe(400);
    expect(await right.json()).toMatchObject({ error: "invalid_grant" });
  });

  it("takes a code once: a replay is refused", async () => {
    const grant = await codeFor();
    const first = await exchange(grant);
    expect(first.status).toBe(200);
    const tokens = (await first.json()) as Tokens;
    expect(tokens).toMatchObject({ token_type: "Bearer", expires_in: 900 });
    const again = await exchange(grant);
    expect(again.status).toBe(400);
    expect(await again.json()).toEqual({
      error: "invalid_grant",
      error_description: "The authorization code is unknown, expired or already used.",
    });
    const { response } = await initializeWith(tokens.access_token);
    expect(response.status).toBe(200);
    expect(response.headers.get("mcp-session-id")).toBeTruthy();
    await response.arrayBuffer();
    // The replay revoked what the code was traded for: its refresh token is refused.
    const refresh = await token({ grant_type: "refresh_token", refresh_token: tokens.refresh_token, client_id: grant.clientId });
    expect(refresh.status).toBe(400);
    expect(await refresh.json()).toMatchObject({ error: "invalid_grant" });
  });

  it("rotates refresh tokens: each is used once, and the new access token works", async () => {
    const grant = await codeFor();
    const first = (await (await exchange(grant)).json()) as Tokens;
    const refreshed = await token({ grant_type: "refresh_token", refresh_token: first.refresh_token, client_id: grant.clientId });
    expect(refreshed.status).toBe(200);
    const second = (await refreshed.json()) as Tokens;
    expect(second.refresh_token).not.toBe(first.refresh_token);
    expect(second.access_token).not.toBe(first.access_token);
    const { response } = await initializeWith(second.access_token);
    expect(response.status).toBe(200);
    await response.arrayBuffer();
    // Another client cannot use a refresh token it was not issued.
    const other = await codeFor();
    const otherTokens = (await (await exchange(other)).json()) as Tokens;
    const stolen = await token({
      grant_type: "refresh_token",
      refresh_token: otherTokens.refresh_token,
      client_id: grant.clientId,
    });
    expect(stolen.status).toBe(400);
    expect(await stolen.json()).toMatchObject({ error: "invalid_grant" });
    // A spent refresh token that comes back is refused, and revokes the one that replaced it.
    const replay = await token({ grant_type: "refresh_token", refresh_token: first.refresh_token, client_id: grant.clientId });
    expect(replay.status).toBe(400);
    expect(await replay.json()).toEqual({
      error: "invalid_grant",
      error_description: "The refresh token is unknown, expired, already used or revoked.",
    });
    const revoked = await token({ grant_type: "refresh_token", refresh_token: second.refresh_token, client_id: grant.clientId });
    expect(revoked.status).toBe(400);
    expect(await revoked.json()).toMatchObject({ error: "invalid_grant" });
  });

  it("refuses a redirect URI the client did not register, at the authorization and the token endpoint", async () => {
    const grant = await codeFor();
    const elsewhere = authorizeUrl(grant.clientId, "a".repeat(43), { redirect: "https://attacker.example/callback" });
    const { response } = await call(elsewhere.toString());
    // Never redirected to the unregistered URI: an error for the person at the browser.
    expect(response.status).toBe(400);
    expect(response.headers.get("location")).toBeNull();
    expect(await response.json()).toMatchObject({ error: "invalid_request" });
    const mismatch = await exchange(grant, { redirect_uri: "http://127.0.0.1:33418/other" });
    expect(mismatch.status).toBe(400);
    expect(await mismatch.json()).toMatchObject({ error: "invalid_grant" });
  });

  it("binds tokens to their resource: one for a single server is refused on /mcp and on the model routes", async () => {
    const alpha = await alphaServer();
    const grant = await codeFor({ resource: `${BASE}/mcp/${alpha}` });
    const tokens = (await (await exchange(grant)).json()) as Tokens;
    const own = await initializeWith(tokens.access_token, `/mcp/${alpha}`);
    expect(own.response.status).toBe(200);
    await own.response.arrayBuffer();
    const wider = await initializeWith(tokens.access_token, "/mcp");
    expect(wider.response.status).toBe(401);
    expect(wider.response.headers.get("www-authenticate")).toBe(
      `Bearer resource_metadata="${BASE}/.well-known/oauth-protected-resource/mcp"`,
    );
    expect(((await wider.response.json()) as { error: { message: string } }).error.message).toMatch(/another resource/);
    const models = await call("/v1/models", { headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect(models.response.status).toBe(401);
    await models.response.arrayBuffer();
    // A resource that is not this gateway's MCP endpoint is refused back at the client, before any sign-in.
    const other = authorizeUrl(grant.clientId, "a".repeat(43), { resource: "https://other.example/mcp" });
    const refused = await call(other.toString());
    expect(refused.response.status).toBe(302);
    const location = new URL(refused.response.headers.get("location") ?? "");
    expect(`${location.origin}${location.pathname}`).toBe(REDIRECT);
    expect(location.searchParams.get("error")).toBe("invalid_target");
    expect(location.searchParams.get("state")).toBe("s1");
  });
});
