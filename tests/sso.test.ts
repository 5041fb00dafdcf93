// Single sign-on with an OpenID Connect provider (the mock's): the whole
// flow, the session cookie's flags, roles from groups, allowed domains, the
// ID token's checks (nonce, audience, signature, expiry), state's one use,
// CSRF on cookie-authenticated writes, the model routes refusing a
// signed-in person, and signing out.
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { MOCK_OIDC_CLIENT_ID, MOCK_OIDC_CLIENT_SECRET, MOCK_OIDC_PATH } from "../dev/mock-upstream/credentials.ts";
import { parseConfig } from "../src/config/index.ts";
import { sealSession } from "../src/sso/session.ts";
import { BASE, callWorker, TEST_ADMIN_KEY } from "./helpers.ts";
import { errorOf, uniqueId } from "./identity.ts";

const mockRoot = String(env.MOCK_BASE_URL).replace(/\/v1$/, "");
const oidc = `${mockRoot}${MOCK_OIDC_PATH}`;
const ROLE_MAP = {
  "platform-admins": "org:admin",
  "team-a-leads": "team:team-a:admin",
  finance: "org:billing",
  "all-staff": "org:viewer",
};
const bindings = {
  ...env,
  SSO_DISCOVERY_URL: oidc,
  SSO_CLIENT_ID: MOCK_OIDC_CLIENT_ID,
  SSO_CLIENT_SECRET: MOCK_OIDC_CLIENT_SECRET,
  SSO_ROLES_CLAIM: "groups",
  SSO_ROLE_MAP: JSON.stringify(ROLE_MAP),
  SSO_ALLOWED_DOMAINS: "example.com",
  SSO_PROVIDER_NAME: "Mock IdP",
};

interface Person {
  email: string;
  groups?: string[];
  email_verified?: boolean;
  name?: string;
}

/** Tells the mock provider who signs in with this login hint. */
async function person(p: Person): Promise<string> {
  const hint = uniqueId("hint");
  const response = await fetch(`${oidc}/users`, {
    method: "POST",
    body: JSON.stringify({ login_hint: hint, sub: uniqueId("sub"), email_verified: true, name: "Test Person", ...p }),
  });
  expect(response.status).toBe(200);
  return hint;
}

const bend = (how: Record<string, unknown>) => fetch(`${oidc}/next`, { method: "POST", body: JSON.stringify(how) });

/** Every cookie a response sets, by name, with its attributes. */
function setCookies(response: Response): Map<string, string> {
  const found = new Map<string, string>();
  for (const line of response.headers.getSetCookie()) found.set(line.slice(0, line.indexOf("=")), line);
  return found;
}
const cookiePair = (line: string | undefined) => (line ?? "").split(";")[0] ?? "";

const call = (path: string, init: RequestInit = {}, env: object = bindings) =>
  callWorker(new Request(path.startsWith("http") ? path : `${BASE}${path}`, { redirect: "manual", ...init }), env);

/** Up to the provider's redirect back: the callback URL and the browser's sign-in cookie. */
async function toCallback(hint: string, returnTo = "/dashboard/", base = BASE): Promise<{ back: string; cookie: string }> {
  const { response: start } = await call(`${base}/auth/sso/login?login_hint=${hint}&return_to=${encodeURIComponent(returnTo)}`);
  expect(start.status).toBe(302);
  const cookie = cookiePair([...setCookies(start).values()][0]);
  const authorize = new URL(start.headers.get("location") ?? "");
  expect(`${authorize.origin}${authorize.pathname}`).toBe(`${oidc}/authorize`);
  const approved = await fetch(authorize, { redirect: "manual" });
  expect(approved.status).toBe(302);
  return { back: approved.headers.get("location") ?? "", cookie };
}

/** A whole sign-in: the session cookie (`name=value`) and the callback's response. */
async function signIn(p: Person, returnTo?: string): Promise<{ session: string; response: Response }> {
  const { back, cookie } = await toCallback(await person(p), returnTo);
  const { response } = await call(back, { headers: { cookie } });
  return { session: cookiePair(setCookies(response).get("__Host-sluice-session")), response };
}

const asOperator = (session: string, path: string, init: RequestInit = {}) =>
  call(path, { ...init, headers: { cookie: session, ...(init.headers ?? {}) } });
const ORIGIN = { origin: BASE };
const newKey = (session: string, headers: Record<string, string> = ORIGIN) =>
  asOperator(session, "/admin/keys", {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ name: uniqueId("sso-key") }),
  });

describe("signing in", () => {
  it("takes an admin through the provider to the dashboard, with a session cookie that is HttpOnly, Secure and SameSite=Lax", async () => {
    const { back, cookie } = await toCallback(await person({ email: "Ada@Example.com", groups: ["platform-admins", "x"] }));
    expect(cookie).toMatch(/^__Host-sluice-sso=/);
    const callback = new URL(back);
    expect(callback.pathname).toBe("/auth/sso/callback");
    expect(callback.searchParams.get("code")).toBeTruthy();

    const { response } = await call(back, { headers: { cookie } });
    expect(response.status).toBe(302);
    expect(response.headers.get("location")).toBe("/dashboard/");
    expect(response.headers.get("cache-control")).toBe("no-store");
    const cookies = setCookies(response);
    // The sign-in cookie is spent; the session's is set for 12 hours, for the whole gateway and no script.
    expect(cookies.get("__Host-sluice-sso")).toMatch(/^__Host-sluice-sso=; Path=\/; Max-Age=0;/);
    const line = cookies.get("__Host-sluice-session") ?? "";
    expect(line).toMatch(/^__Host-sluice-session=[\w.-]+; Path=\/; Max-Age=43200; HttpOnly; SameSite=Lax; Secure$/);
    // Encrypted: a JWE whose only readable part is its header; nothing of the person is in it.
    const parts = cookiePair(line).split("=")[1]?.split(".") ?? [];
    expect(parts).toHaveLength(5);
    expect(JSON.parse(atob((parts[0] ?? "").replaceAll("-", "+").replaceAll("_", "/")))).toEqual({ alg: "dir", enc: "A256GCM" });
    const decoded = parts.map((part) => {
      try {
        return atob(part.replaceAll("-", "+").replaceAll("_", "/"));
      } catch {
        return "";
      }
    });
    expect(decoded.join(" ")).not.toMatch(/ada@example\.com|platform-admins/);

    const session = cookiePair(line);
    const { response: who } = await asOperator(session, "/auth/sso/session");
    const body = (await who.json()) as Record<string, unknown> & { operator: Record<string, unknown>; expires_at: string };
    expect(body).toMatchObject({
      enabled: true,
      signed_in: true,
      provider: "Mock IdP",
      login_url: "/auth/sso/login",
      operator: { email: "ada@example.com", name: "Test Person", org_id: "default", org_role: "admin", team_roles: {} },
    });
    expect(String(body.operator.subject)).toMatch(new RegExp(`^${oidc}\\|sub-`));
    expect(Date.parse(body.expires_at) - Date.now()).toBeGreaterThan(43_000_000);
  });

  it("lets an organization admin use the admin API with the cookie alone, and refuses a write from another origin", async () => {
    const { session } = await signIn({ email: "grace@example.com", groups: ["platform-admins"] });
    const { response: list } = await asOperator(session, "/admin/keys?limit=1");
    expect(list.status).toBe(200);
    expect(await list.json()).toHaveProperty("data");

    const { response: created } = await newKey(session);
    expect(created.status).toBe(201);
    expect((await created.json()) as { key: string }).toMatchObject({ key: expect.stringMatching(/^sk-/) });

    // No Origin on a write: another site's form could have sent it.
    const { response: bare } = await newKey(session, {});
    expect(await errorOf(bare)).toMatchObject({ status: 403, code: "csrf_origin_mismatch" });
    // The browser's own word that the page is this gateway's stands in for a missing Origin.
    const { response: fetchMeta } = await newKey(session, { "sec-fetch-site": "same-origin" });
    expect(fetchMeta.status).toBe(201);
    const { response: evil } = await newKey(session, { origin: "https://evil.example" });
    expect(await errorOf(evil)).toMatchObject({ status: 403, code: "csrf_origin_mismatch" });
    // Even a read is refused from another origin's script (a listed CORS origin included).
    const { response: corsRead } = await asOperator(session, "/admin/keys?limit=1", {
      headers: { origin: "https://app.example.com" },
    });
    expect(await errorOf(corsRead)).toMatchObject({ status: 403, code: "csrf_origin_mismatch" });
  });

  it("maps groups to organization and team roles, the highest one winning, and the roles decide what the admin API allows", async () => {
    const { session } = await signIn({ email: "lin@example.com", groups: ["finance", "all-staff", "team-a-leads"] });
    const { response: who } = await asOperator(session, "/auth/sso/session");
    expect(((await who.json()) as { operator: unknown }).operator).toMatchObject({
      org_role: "viewer",
      team_roles: { "team-a": "admin" },
    });
    // The sign-in itself is on the audit log, with the roles it granted.
    const { response: audit } = await call("/admin/audit?action=sign-in&limit=50", {
      headers: { authorization: `Bearer ${TEST_ADMIN_KEY}` },
    });
    const rows = ((await audit.json()) as { data: { actor_email: string; actor_type: string; after: unknown }[] }).data;
    expect(rows.find((row) => row.actor_email === "lin@example.com")).toMatchObject({
      actor_type: "session",
      after: { org_role: "viewer", team_roles: { "team-a": "admin" } },
    });
    // A viewer reads; a write the organization holds (a team) is refused, naming the permission.
    const { response: list } = await asOperator(session, "/admin/keys");
    expect(list.status).toBe(200);
    const { response: team } = await asOperator(session, "/admin/teams", {
      method: "POST",
      headers: { ...ORIGIN, "content-type": "application/json" },
      body: JSON.stringify({ id: uniqueId("sso-team") }),
    });
    expect(await errorOf(team)).toMatchObject({ status: 403, code: "permission_denied" });
    // As team-a's admin, a key for team-a is theirs to make; one for another team is not.
    const { response: made } = await call("/admin/teams", {
      method: "POST",
      headers: { authorization: `Bearer ${TEST_ADMIN_KEY}`, "content-type": "application/json" },
      body: JSON.stringify({ id: "team-a", name: "Team A" }),
    });
    expect([201, 409]).toContain(made.status);
    const { response: theirs } = await asOperator(session, "/admin/keys", {
      method: "POST",
      headers: { ...ORIGIN, "content-type": "application/json" },
      body: JSON.stringify({ name: uniqueId("sso-key"), team_id: "team-a" }),
    });
    expect(theirs.status).toBe(201);
    const { response: other } = await asOperator(session, "/admin/keys", {
      method: "POST",
      headers: { ...ORIGIN, "content-type": "application/json" },
      body: JSON.stringify({ name: uniqueId("sso-key"), team_id: "team-b" }),
    });
    expect(other.status).toBe(403);
  });

  it("refuses a signed-in person on the model routes, in each route's own format", async () => {
    const { session } = await signIn({ email: "ops@example.com", groups: ["platform-admins"] });
    const { response: chat } = await asOperator(session, "/v1/chat/completions", {
      method: "POST",
      headers: { ...ORIGIN, "content-type": "application/json" },
      body: JSON.stringify({ model: "mock-echo", messages: [{ role: "user", content: "hi" }] }),
    });
    expect(await errorOf(chat)).toMatchObject({ status: 403, type: "permission_error", code: "operator_not_allowed" });
    const { response: messages } = await asOperator(session, "/v1/messages", {
      method: "POST",
      headers: { ...ORIGIN, "content-type": "application/json" },
      body: JSON.stringify({ model: "mock-echo", max_tokens: 5, messages: [{ role: "user", content: "hi" }] }),
    });
    expect(messages.status).toBe(403);
    expect(await messages.json()).toMatchObject({ type: "error", error: { type: "permission_error" } });
    const { response: gemini } = await asOperator(session, "/v1beta/models/mock-echo:generateContent", {
      method: "POST",
      headers: { ...ORIGIN, "content-type": "application/json" },
      body: JSON.stringify({ contents: [{ role: "user", parts: [{ text: "hi" }] }] }),
    });
    expect(await gemini.json()).toMatchObject({ error: { code: 403, status: "PERMISSION_DENIED" } });
    // A key in the header is the caller whatever cookie the browser also holds.
    const { response: keyed } = await asOperator(session, "/admin/keys?limit=1", {
      headers: { authorization: `Bearer ${TEST_ADMIN_KEY}` },
    });
    expect(keyed.status).toBe(200);
  });

  it("returns only to a path on this gateway", async () => {
    const { response: inside } = await signIn({ email: "ret@example.com", groups: ["all-staff"] }, "/dashboard/?tab=keys");
    expect(inside.headers.get("location")).toBe("/dashboard/?tab=keys");
    for (const away of ["//evil.example/x", "https://evil.example/", "/\\evil.example"]) {
      const { response } = await signIn({ email: "ret@example.com", groups: ["all-staff"] }, away);
      expect(response.headers.get("location")).toBe("/dashboard/");
    }
  });
});

describe("who may sign in", () => {
  const page = async (response: Response) => ({ status: response.status, text: await response.text() });

  it("refuses an email outside the allowed domains, and an unverified one", async () => {
    const { response } = await signIn({ email: "eve@example.org", groups: ["platform-admins"] });
    const shown = await page(response);
    expect(shown.status).toBe(403);
    expect(shown.text).toContain("open to @example.com addresses only");
    expect(setCookies(response).has("__Host-sluice-session")).toBe(false);
    const { response: unverified } = await signIn({
      email: "eve@example.com",
      email_verified: false,
      groups: ["platform-admins"],
    });
    expect((await page(unverified)).status).toBe(403);
  });

  it("refuses a person none of whose groups has a role, unless a default role is set", async () => {
    const { response } = await signIn({ email: "nobody@example.com", groups: ["unmapped"] });
    const shown = await page(response);
    expect(shown.status).toBe(403);
    expect(shown.text).toContain("nobody@example.com has no role here");
    expect(response.headers.get("content-security-policy")).toContain("default-src 'none'");

    const withDefault = { ...bindings, SSO_DEFAULT_ROLE: "viewer" };
    const { back, cookie } = await toCallback(await person({ email: "nobody@example.com", groups: ["unmapped"] }));
    const { response: allowed } = await call(back, { headers: { cookie } }, withDefault);
    expect(allowed.status).toBe(302);
  });

  it("maps a person by their verified email, for providers that send no groups", async () => {
    const byEmail = { ...bindings, SSO_ROLE_MAP: JSON.stringify({ "boss@example.com": "org:owner" }) };
    const { back, cookie } = await toCallback(await person({ email: "boss@example.com" }));
    const { response } = await call(back, { headers: { cookie } }, byEmail);
    const session = cookiePair(setCookies(response).get("__Host-sluice-session"));
    const { response: who } = await call("/auth/sso/session", { headers: { cookie: session } }, byEmail);
    expect(((await who.json()) as { operator: unknown }).operator).toMatchObject({ org_role: "owner" });
  });

  it("writes nothing sent to the callback back as markup", async () => {
    const { cookie } = await toCallback(await person({ email: "x@example.com", groups: ["all-staff"] }));
    const hostile = "<script>alert(1)</script>";
    const { response } = await call(`/auth/sso/callback?error=${encodeURIComponent(hostile)}`, { headers: { cookie } });
    const text = await response.text();
    expect(response.status).toBe(403);
    expect(text).not.toContain("<script>");
    expect(text).toContain("&lt;script&gt;");
    const { response: odd } = await call(`/auth/sso/callback?code=${"c".repeat(5000)}&state=%00%01`, { headers: { cookie } });
    expect(odd.status).toBe(400);
  });

  it("says so when the person refuses at the provider", async () => {
    const { back, cookie } = await toCallback("deny");
    expect(new URL(back).searchParams.get("error")).toBe("access_denied");
    const { response } = await call(back, { headers: { cookie } });
    expect(await page(response)).toMatchObject({ status: 403, text: expect.stringContaining("access_denied") });
  });
});

describe("the ID token and the state", () => {
  const finishWith = async (how: Record<string, unknown>) => {
    const { back, cookie } = await toCallback(await person({ email: "tok@example.com", groups: ["platform-admins"] }));
    await bend(how);
    const { response } = await call(back, { headers: { cookie } });
    return { status: response.status, text: await response.text(), session: setCookies(response).has("__Host-sluice-session") };
  };

  it.each([
    [{ nonce: "another-sign-in" }, "nonce"],
    [{ aud: "another-client" }, "`aud`"],
    [{ iss: "https://impostor.example" }, "`iss`"],
    [{ foreign_key: true }, "signature"],
    [{ expires_in: -600 }, "expired"],
  ])("refuses an ID token bent as %o", async (how, says) => {
    const result = await finishWith(how);
    expect(result.status).toBe(502);
    expect(result.text).toContain(says);
    expect(result.session).toBe(false);
  });

  it("finishes only in the browser that started, with its state, once", async () => {
    const { back, cookie } = await toCallback(await person({ email: "once@example.com", groups: ["all-staff"] }));
    const { response: noCookie } = await call(back);
    expect(noCookie.status).toBe(400);
    expect(await noCookie.text()).toContain("browser that started it");
    const forged = new URL(back);
    forged.searchParams.set("state", "forged");
    const { response: wrongState } = await call(forged.toString(), { headers: { cookie } });
    expect(await wrongState.text()).toContain("its state is not the one");
    const { response: first } = await call(back, { headers: { cookie } });
    expect(first.status).toBe(302);
    const { response: replay } = await call(back, { headers: { cookie } });
    expect(replay.status).toBe(400);
    expect(await replay.text()).toContain("already used");
  });
});

describe("the session", () => {
  it("signs out: the cookie is cleared, and the old one is refused", async () => {
    const { session } = await signIn({ email: "bye@example.com", groups: ["platform-admins"] });
    const { response: refused } = await asOperator(session, "/auth/sso/logout", { method: "POST" });
    expect(await errorOf(refused)).toMatchObject({ status: 403, code: "csrf_origin_mismatch" });

    const { response: out } = await asOperator(session, "/auth/sso/logout", { method: "POST", headers: ORIGIN });
    expect(out.status).toBe(200);
    expect(await out.json()).toEqual({ signed_out: true });
    expect(setCookies(out).get("__Host-sluice-session")).toMatch(/^__Host-sluice-session=; Path=\/; Max-Age=0;/);

    const { response: after } = await asOperator(session, "/admin/keys?limit=1");
    expect(await errorOf(after)).toMatchObject({ status: 401, code: "session_signed_out" });
    const { response: who } = await asOperator(session, "/auth/sso/session");
    expect(await who.json()).toMatchObject({ signed_in: false });
  });

  it("refuses an expired session and one the gateway did not seal", async () => {
    const config = parseConfig(bindings as unknown as Record<string, unknown>);
    const identity = {
      orgId: "default",
      subject: "x|y",
      email: null,
      name: null,
      orgRole: "admin" as const,
      teamRoles: {},
      scopes: null,
    };
    const { value } = await sealSession(config, identity, -120);
    const { response: expired } = await asOperator(`__Host-sluice-session=${value}`, "/admin/keys");
    expect(await errorOf(expired)).toMatchObject({ status: 401, code: "session_expired" });
    const { response: forged } = await asOperator(`__Host-sluice-session=${value.slice(0, -4)}AAAA`, "/admin/keys");
    expect(await errorOf(forged)).toMatchObject({ status: 401, code: "session_invalid" });
    // Sealed under another admin key: not this gateway's.
    const other = parseConfig({ ...bindings, ADMIN_KEY: "sk-admin-another-0123456789" } as unknown as Record<string, unknown>);
    const { value: foreign } = await sealSession(other, identity, 600);
    const { response: foreignResponse } = await asOperator(`__Host-sluice-session=${foreign}`, "/admin/keys");
    expect(await errorOf(foreignResponse)).toMatchObject({ status: 401, code: "session_invalid" });
  });

  it("uses plain cookie names without Secure on a local HTTP gateway, and refuses plain HTTP elsewhere", async () => {
    const local = "http://127.0.0.1:8787";
    const { response: start } = await call(`${local}/auth/sso/login`);
    expect(start.status).toBe(302);
    const line = start.headers.getSetCookie()[0] ?? "";
    expect(line).toMatch(/^sluice-sso=[\w.-]+; Path=\/; Max-Age=600; HttpOnly; SameSite=Lax$/);
    const { response: plain } = await call("http://gateway.example.com/auth/sso/login");
    expect(await errorOf(plain)).toMatchObject({ status: 400, code: "sso_needs_https" });
  });

  it("says so on a page when the provider's discovery document cannot be read", async () => {
    const broken = { ...bindings, SSO_DISCOVERY_URL: `${mockRoot}/__mock/oidc-nowhere` };
    const { response } = await call("/auth/sso/login", {}, broken);
    expect(response.status).toBe(502);
    expect(response.headers.get("content-type")).toContain("text/html");
    expect(await response.text()).toContain("discovery document answered HTTP 404");
  });

  it("is off, and reads no cookie, until configured", async () => {
    const { response } = await call("/auth/sso/login", {}, env);
    expect(await errorOf(response)).toMatchObject({ status: 404, code: "sso_disabled" });
    // The dashboard asks this first, whatever the configuration: no error while single sign-on is off.
    const { response: off } = await call("/auth/sso/session", {}, env);
    expect(await off.json()).toEqual({ enabled: false, signed_in: false });
    const { session } = await signIn({ email: "off@example.com", groups: ["platform-admins"] });
    const { response: ignored } = await call("/admin/keys", { headers: { cookie: session } }, env);
    expect(await errorOf(ignored)).toMatchObject({ status: 401, code: "invalid_api_key" });
  });

  it("refuses a role map that does not parse, naming the variable", async () => {
    const { response } = await call("/health", {}, { ...bindings, SSO_ROLE_MAP: JSON.stringify({ x: "org:superuser" }) });
    expect(response.status).toBe(500);
    expect(JSON.stringify(await response.json())).toContain("SSO_ROLE_MAP");
  });
});
