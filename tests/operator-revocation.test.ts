// A change to an operator's roles reaches the sessions they already hold:
// removed, demoted, or their team roles changed, their old cookie is refused
// as signed out (so it cannot restore its own roles or mint an owner's
// token), and signing in again brings the new roles. A session sealed in the
// same millisecond as a change is refused; one sealed before `iat_ms` counts
// from the start of its second. With Redis down, no change is made.

import { env } from "cloudflare:test";
import { Redis } from "@upstash/redis/cloudflare";
import { describe, expect, it } from "vitest";
import { MOCK_OIDC_CLIENT_ID, MOCK_OIDC_CLIENT_SECRET, MOCK_OIDC_PATH } from "../dev/mock-upstream/credentials.ts";
import { memberChangedKey } from "../src/auth/deny-list.ts";
import { seal } from "../src/auth/sealed.ts";
import { parseConfig } from "../src/config/index.ts";
import { openSession, sealSession } from "../src/sso/session.ts";
import { BASE, callWorker, TEST_ADMIN_KEY } from "./helpers.ts";
import { errorOf, uniqueId } from "./identity.ts";

const oidc = `${String(env.MOCK_BASE_URL).replace(/\/v1$/, "")}${MOCK_OIDC_PATH}`;
const bindings = {
  ...env,
  SSO_DISCOVERY_URL: oidc,
  SSO_CLIENT_ID: MOCK_OIDC_CLIENT_ID,
  SSO_CLIENT_SECRET: MOCK_OIDC_CLIENT_SECRET,
  SSO_ROLE_MAP: JSON.stringify({ "all-staff": "org:viewer" }),
  SSO_ALLOWED_DOMAINS: "example.com",
};
const redis = () => new Redis({ url: env.UPSTASH_REDIS_REST_URL, token: env.UPSTASH_REDIS_REST_TOKEN });
const ORIGIN = { origin: BASE };
const SIGNED_OUT = { status: 401, type: "authentication_error", code: "session_signed_out" };
const SIGNED_OUT_BODY = { ...SIGNED_OUT, message: "This session was signed out: sign in again.", param: null };

const call = (path: string, init: RequestInit = {}, on: object = bindings) =>
  callWorker(new Request(path.startsWith("http") ? path : `${BASE}${path}`, { redirect: "manual", ...init }), on);
const cookiePair = (line: string | undefined) => (line ?? "").split(";")[0] ?? "";

/** Someone the mock provider signs in, in the `all-staff` group (a viewer by the role map alone). */
function newPerson() {
  const sub = uniqueId("sub");
  return { sub, subject: `${oidc}|${sub}`, path: `/admin/members/${encodeURIComponent(`${oidc}|${sub}`)}` };
}

/** A whole sign-in through the mock provider: the session cookie, `name=value`. */
async function signIn(sub: string): Promise<string> {
  const hint = uniqueId("hint");
  const registered = await fetch(`${oidc}/users`, {
    method: "POST",
    body: JSON.stringify({ login_hint: hint, sub, email: `${sub}@example.com`, email_verified: true, groups: ["all-staff"] }),
  });
  expect(registered.status).toBe(200);
  const { response: start } = await call(`/auth/sso/login?login_hint=${hint}`);
  const signInCookie = cookiePair(start.headers.getSetCookie()[0]);
  const approved = await fetch(start.headers.get("location") ?? "", { redirect: "manual" });
  const { response } = await call(approved.headers.get("location") ?? "", { headers: { cookie: signInCookie } });
  expect(response.status).toBe(302);
  const line = response.headers.getSetCookie().find((l) => l.startsWith("__Host-sluice-session="));
  return cookiePair(line);
}

const asAdmin = (method: string, path: string, body?: unknown, on: object = bindings) =>
  call(
    path,
    {
      method,
      headers: { authorization: `Bearer ${TEST_ADMIN_KEY}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    },
    on,
  );
const asSession = (session: string, method: string, path: string, body?: unknown) =>
  call(path, {
    method,
    headers: { cookie: session, ...ORIGIN, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
/** What an old owner's cookie tries: making itself owner again, and minting an owner's token. */
const reinstate = (session: string, path: string) =>
  Promise.all([
    asSession(session, "PUT", path, { role: "owner" }).then(({ response }) => errorOf(response)),
    asSession(session, "POST", "/admin/tokens", { name: uniqueId("comeback"), role: "owner" }).then(({ response }) =>
      errorOf(response),
    ),
  ]);
async function whoIs(session: string) {
  const { response } = await asSession(session, "GET", "/auth/sso/session");
  return (await response.json()) as { signed_in: boolean; operator?: { org_role: string | null; team_roles: object } };
}

describe("a change to an operator's roles", () => {
  it("ends a removed owner's session: the old cookie cannot reinstate them, and signing in again brings only what is left", async () => {
    const a = newPerson();
    const b = newPerson();
    for (const person of [a, b]) expect((await asAdmin("PUT", person.path, { role: "owner" })).response.status).toBe(200);
    const aSession = await signIn(a.sub);
    const bSession = await signIn(b.sub);
    expect(await whoIs(aSession)).toMatchObject({ signed_in: true, operator: { org_role: "owner" } });

    // Owner B removes owner A.
    const { response: removed } = await asSession(bSession, "DELETE", a.path);
    expect(removed.status).toBe(200);
    expect(await removed.json()).toMatchObject({ subject: a.subject, role: "owner", deleted: true });

    const [put, token] = await reinstate(aSession, a.path);
    expect(put).toEqual(SIGNED_OUT_BODY);
    expect(token).toEqual(SIGNED_OUT_BODY);
    expect(await whoIs(aSession)).toMatchObject({ signed_in: false });
    expect((await asAdmin("GET", a.path)).response.status).toBe(404);
    const { response: tokens } = await asAdmin("GET", "/admin/tokens");
    const names = ((await tokens.json()) as { data: { name: string; created_by: string | null }[] }).data;
    expect(names.filter((row) => row.created_by === a.subject)).toEqual([]);
    // B's own session, untouched, still works.
    expect((await asSession(bSession, "GET", "/admin/members")).response.status).toBe(200);

    // Signing in again right away: accepted, with only the provider's role left, which mints no token.
    const again = await signIn(a.sub);
    expect(await whoIs(again)).toMatchObject({ signed_in: true, operator: { org_role: "viewer" } });
    const [putAgain, tokenAgain] = await reinstate(again, a.path);
    expect(putAgain).toMatchObject({ status: 403, code: "permission_denied" });
    expect(tokenAgain).toMatchObject({ status: 403, code: "permission_denied" });
  });

  it("ends a demoted owner's session, the demotion by the admin key", async () => {
    const a = newPerson();
    await asAdmin("PUT", a.path, { role: "owner" });
    const aSession = await signIn(a.sub);
    expect((await asSession(aSession, "GET", "/admin/tokens")).response.status).toBe(200);

    expect((await asAdmin("PUT", a.path, { role: "viewer" })).response.status).toBe(200);
    const [put, token] = await reinstate(aSession, a.path);
    expect(put).toMatchObject(SIGNED_OUT);
    expect(token).toMatchObject(SIGNED_OUT);
    const { response: member } = await asAdmin("GET", a.path);
    expect(await member.json()).toMatchObject({ role: "viewer" });

    const again = await signIn(a.sub);
    expect(await whoIs(again)).toMatchObject({ signed_in: true, operator: { org_role: "viewer" } });
    expect(await errorOf((await asSession(again, "GET", "/admin/tokens")).response)).toMatchObject({ status: 403 });
  });

  it("ends the session when only the team roles change, and not when only the name does", async () => {
    const a = newPerson();
    const team = uniqueId("team");
    await asAdmin("PUT", a.path, { team_roles: { [team]: "admin" } });
    const aSession = await signIn(a.sub);
    expect(await whoIs(aSession)).toMatchObject({ operator: { org_role: "viewer", team_roles: { [team]: "admin" } } });

    // Neither roles nor removal: the session holds.
    await asAdmin("PUT", a.path, { name: "Renamed" });
    expect((await asSession(aSession, "GET", "/admin/keys?limit=1")).response.status).toBe(200);

    await asAdmin("PUT", a.path, { team_roles: { [team]: "viewer" } });
    expect(await errorOf((await asSession(aSession, "GET", "/admin/keys?limit=1")).response)).toMatchObject(SIGNED_OUT);
    expect(await whoIs(await signIn(a.sub))).toMatchObject({ operator: { team_roles: { [team]: "viewer" } } });
  });
});

describe("the member-change marker", () => {
  const config = parseConfig(bindings as unknown as Record<string, unknown>);
  const identity = (subject: string) => ({
    orgId: "default",
    subject,
    email: null,
    name: null,
    orgRole: "admin" as const,
    teamRoles: {},
    scopes: null,
  });
  const keysWith = async (value: string) =>
    (await call("/admin/keys?limit=1", { headers: { cookie: `__Host-sluice-session=${value}` } })).response;

  it("refuses a session sealed in the very millisecond of the change, and takes one sealed a millisecond after", async () => {
    const subject = uniqueId("edge");
    const { value, session } = await sealSession(config, identity(subject), 600);
    await redis().set(memberChangedKey(subject), String(session.issuedAt));
    expect(await errorOf(await keysWith(value))).toMatchObject(SIGNED_OUT);
    await redis().set(memberChangedKey(subject), String(session.issuedAt - 1));
    expect((await keysWith(value)).status).toBe(200);
  });

  it("counts a session sealed before `iat_ms` from the start of its second", async () => {
    const subject = uniqueId("legacy");
    const { scopes: _scopes, ...op } = identity(subject);
    const value = await seal(TEST_ADMIN_KEY, "sluice sso session v1", { sid: crypto.randomUUID(), op }, 600);
    const { issuedAt } = await openSession(config, value);
    expect(issuedAt % 1000).toBe(0);
    await redis().set(memberChangedKey(subject), String(issuedAt + 999));
    expect(await errorOf(await keysWith(value))).toMatchObject(SIGNED_OUT);
  });

  it("makes no change while Redis cannot record it, and takes no session it cannot check", async () => {
    const a = newPerson();
    await asAdmin("PUT", a.path, { role: "owner" });
    const aSession = await signIn(a.sub);
    const redisDown = { ...bindings, UPSTASH_REDIS_REST_URL: "http://127.0.0.1:9" };

    const { response: removal } = await asAdmin("DELETE", a.path, undefined, redisDown);
    expect(removal.status).toBe(500);
    const { response: demotion } = await asAdmin("PUT", a.path, { role: "viewer" }, redisDown);
    expect(demotion.status).toBe(500);
    const { response: member } = await asAdmin("GET", a.path);
    expect(await member.json()).toMatchObject({ role: "owner" });

    const { response: unchecked } = await call("/admin/keys?limit=1", { headers: { cookie: aSession } }, redisDown);
    expect(await errorOf(unchecked)).toMatchObject({ status: 503, code: "sessions_unavailable" });
  });
});
