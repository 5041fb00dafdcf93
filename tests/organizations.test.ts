// Organizations, roles, admin tokens and the audit log. The permission
// matrix and the audit rows are generated from the app's own route table:
// a new admin or usage route that declares no permission fails here.
import { env } from "cloudflare:test";
import { sql } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { type Permission, ROLE_PERMISSIONS, ROLES, type Role } from "../src/auth/roles.ts";
import { BASE, callWorker, db, mockProviderBindings, TEST_ADMIN_KEY } from "./helpers.ts";
import { admin, chatAs, errorOf, uniqueId } from "./identity.ts";

interface Route {
  method: string;
  path: string;
  permission: readonly Permission[] | undefined;
}

/** Every admin and usage route, with the permission it declares (per route, or on its `endpoint()`). */
async function operatorRoutes(): Promise<Route[]> {
  const { createApp } = await import("../src/app.ts");
  const { ENDPOINT, PERMISSION } = await import("../src/routes/endpoint.ts");
  const found = new Map<string, Route>();
  for (const route of createApp().routes) {
    if (route.method === "ALL") continue;
    if (!/^\/(admin|spend|global)\//.test(route.path)) continue;
    const key = `${route.method} ${route.path}`;
    const entry = found.get(key) ?? { method: route.method, path: route.path, permission: undefined };
    const handler = route.handler as unknown as Record<symbol, unknown>;
    const perRoute = handler[PERMISSION] as Permission[] | undefined;
    const declared = (handler[ENDPOINT] as { permission?: readonly Permission[] | "per-route" } | undefined)?.permission;
    if (perRoute) entry.permission = perRoute;
    else if (Array.isArray(declared)) entry.permission = declared;
    found.set(key, entry);
  }
  return [...found.values()];
}

const concrete = (path: string) => path.replace(/:(\w+)(\{[^}]*\})?/g, "nonexistent-$1");

async function call(credential: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const { response } = await callWorker(
    new Request(`${BASE}${path}`, {
      method,
      headers: { authorization: `Bearer ${credential}`, "content-type": "application/json", ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    }),
  );
  return response;
}

async function mintToken(input: Record<string, unknown>, credential = TEST_ADMIN_KEY): Promise<string> {
  const response = await call(credential, "POST", "/admin/tokens", { name: uniqueId("token"), ...input });
  const body = (await response.json()) as { token: string };
  expect(response.status, JSON.stringify(body)).toBe(201);
  expect(body.token).toMatch(/^sat_[0-9a-f]{48}$/);
  return body.token;
}

const isWrite = (route: Route) =>
  route.method !== "GET" && !(route.permission?.length && route.permission.every((p) => p.endsWith(":read")));

describe("the permission matrix, from the route table", () => {
  const tokens = {} as Record<Role, string>;
  beforeAll(async () => {
    for (const role of ROLES) tokens[role] = await mintToken({ role });
  });

  it("every admin and usage route declares the permission it needs", async () => {
    const routes = await operatorRoutes();
    expect(routes.length).toBeGreaterThan(60);
    expect(routes.filter((r) => r.permission === undefined).map((r) => `${r.method} ${r.path}`)).toEqual([]);
    // No route changes or removes audit rows.
    expect(routes.filter((r) => r.path.startsWith("/admin/audit") && r.method !== "GET")).toEqual([]);
  });

  it("every route against every role: allowed, or 403 in the route's format", async () => {
    const routes = await operatorRoutes();
    const wrong: string[] = [];
    for (const route of routes) {
      for (const role of ROLES) {
        const permission = route.permission ?? [];
        const allowed = permission.length === 0 || permission.some((p) => ROLE_PERMISSIONS[role].includes(p));
        const response = await call(tokens[role], route.method, concrete(route.path), route.method === "GET" ? undefined : {});
        const text = await response.text();
        const refused = response.status === 403 && text.includes('"permission_denied"');
        if (allowed && refused) wrong.push(`${role} ${route.method} ${route.path}: refused`);
        if (!allowed) {
          const body = JSON.parse(text) as { error?: { type?: string; code?: string; message?: string } };
          const ok =
            response.status === 403 &&
            body.error?.type === "permission_error" &&
            body.error.code === "permission_denied" &&
            permission.every((p) => body.error?.message?.includes(`\`${p}\``));
          if (!ok) wrong.push(`${role} ${route.method} ${route.path}: ${response.status} ${text.slice(0, 120)}`);
        }
      }
    }
    expect(wrong).toEqual([]);
  }, 120_000);

  it("a token's scopes narrow its role; revoked and expired tokens are refused", async () => {
    const token = await mintToken({ role: "admin", scopes: ["usage:read"] });
    expect((await call(token, "GET", "/admin/usage")).status).toBe(200);
    const refused = await call(token, "GET", "/admin/keys");
    expect(await errorOf(refused)).toMatchObject({ status: 403, code: "permission_denied" });
    const listed = await admin("GET", "/admin/tokens");
    const row = (listed.body.data as { id: string; token_display: string; scopes: string[] }[]).find((t) =>
      token.endsWith(t.token_display.slice(-4)),
    );
    expect(row?.scopes).toEqual(["usage:read"]);
    expect(JSON.stringify(listed.body)).not.toContain(token);
    expect((await admin("POST", `/admin/tokens/${row?.id}/revoke`)).status).toBe(200);
    expect(await errorOf(await call(token, "GET", "/admin/usage"))).toMatchObject({
      status: 401,
      message: "This admin token has been revoked.",
    });
  });

  it("an operator makes no model calls: 403 in the route's own format", async () => {
    const response = await call(tokens.owner, "POST", "/v1/messages", { model: "mock-echo", max_tokens: 5, messages: [] });
    expect(response.status).toBe(403);
    expect(await response.json()).toMatchObject({ type: "error", error: { type: "permission_error" } });
    const openai = await errorOf(await call(tokens.owner, "POST", "/v1/chat/completions", { model: "mock-echo", messages: [] }));
    expect(openai).toMatchObject({ status: 403, code: "operator_not_allowed" });
  });

  it("a catalog-only token cannot point a provider or an MCP server, and the credentials they carry, somewhere else", async () => {
    const catalogOnly = await mintToken({ role: "admin", scopes: ["catalog:read", "catalog:write"] });
    const name = uniqueId("tools").toLowerCase();
    expect(
      (
        await admin("POST", "/admin/mcp/servers", {
          name,
          url: "https://tools.example/mcp",
          auth: { type: "bearer", token: "t0ken-xyz" },
        })
      ).status,
    ).toBe(201);
    expect(
      await errorOf(await call(catalogOnly, "PATCH", `/admin/mcp/servers/${name}`, { url: "https://evil.example/mcp" })),
    ).toMatchObject({
      status: 403,
      code: "permission_denied",
      message:
        "An MCP server's `url` or `auth` decides where stored credentials are sent: it needs the `credentials:write` permission too.",
    });
    expect((await call(catalogOnly, "PATCH", `/admin/mcp/servers/${name}`, { description: "our tools" })).status).toBe(200);
    const provider = uniqueId("prov").toLowerCase();
    expect(
      await errorOf(
        await call(catalogOnly, "POST", "/admin/providers", {
          id: provider,
          kind: "openai",
          base_url: "https://evil.example/v1",
        }),
      ),
    ).toMatchObject({ status: 403, code: "permission_denied" });
    expect(
      await errorOf(await call(catalogOnly, "PATCH", "/admin/providers/openai", { base_url: "https://evil.example/v1" })),
    ).toMatchObject({ status: 403, code: "permission_denied" });
    // With the credentials' permission too, it may.
    const both = await mintToken({ role: "admin", scopes: ["catalog:read", "catalog:write", "credentials:write"] });
    expect((await call(both, "PATCH", `/admin/mcp/servers/${name}`, { url: "https://tools.example/v2/mcp" })).status).toBe(200);
  });

  it("GET /admin/me says what the caller's role allows", async () => {
    const response = await call(tokens.billing, "GET", "/admin/me");
    expect(await response.json()).toMatchObject({
      type: "admin_token",
      role: "billing",
      permissions: ["usage:read", "billing:read"],
    });
  });
});

describe("teams: their admins, their members", () => {
  it("a team admin manages their team's keys within its limits, and reaches no other team's", async () => {
    const mine = uniqueId("team");
    const theirs = uniqueId("team");
    expect((await admin("POST", "/admin/teams", { id: mine, name: mine, rpm_limit: 100 })).status).toBe(201);
    expect((await admin("POST", "/admin/teams", { id: theirs, name: theirs })).status).toBe(201);
    const other = await admin("POST", "/admin/keys", { team_id: theirs });
    const lead = await mintToken({ role: null, team_roles: { [mine]: "admin" } });

    const created = await call(lead, "POST", "/admin/keys", { team_id: mine, rpm_limit: 50 });
    expect(created.status).toBe(201);
    const key = (await created.json()) as { id: string; team_id: string };
    expect(key.team_id).toBe(mine);
    expect(await errorOf(await call(lead, "POST", "/admin/keys", { team_id: mine, rpm_limit: 500 }))).toMatchObject({
      status: 403,
      code: "permission_denied",
      message: "`rpm_limit` may not exceed the team's own (100).",
    });
    // Not their own team's limits, nor another team's keys.
    expect(await errorOf(await call(lead, "PATCH", `/admin/teams/${mine}`, { rpm_limit: 1000 }))).toMatchObject({
      status: 403,
      code: "permission_denied",
    });
    expect(await errorOf(await call(lead, "POST", "/admin/keys", { team_id: theirs }))).toMatchObject({ status: 403 });
    expect(await errorOf(await call(lead, "GET", `/admin/keys/${other.body.id}`))).toMatchObject({ status: 403 });
    expect(await errorOf(await call(lead, "POST", `/admin/keys/${other.body.id}/revoke`))).toMatchObject({ status: 403 });
    expect(await errorOf(await call(lead, "PATCH", `/admin/keys/${key.id}`, { team_id: theirs }))).toMatchObject({ status: 403 });
    const listed = (await (await call(lead, "GET", "/admin/keys")).json()) as { data: { team_id: string }[] };
    expect(listed.data.length).toBeGreaterThan(0);
    expect(listed.data.every((k) => k.team_id === mine)).toBe(true);
  });

  it("a team admin reaches no team through one named `any`, and gives keys only to their team's users", async () => {
    const mine = uniqueId("team");
    expect((await admin("POST", "/admin/teams", { id: mine, name: mine, rpm_limit: 100 })).status).toBe(201);
    expect((await admin("POST", "/admin/teams", { id: "any", name: "any" })).status).toBeLessThan(500);
    const lead = await mintToken({ role: null, team_roles: { [mine]: "admin" } });
    expect(await errorOf(await call(lead, "POST", "/admin/keys", { team_id: "any", rpm_limit: 100_000 }))).toMatchObject({
      status: 403,
      code: "permission_denied",
    });
    const created = (await (await call(lead, "POST", "/admin/keys", { team_id: mine })).json()) as { id: string };
    expect(await errorOf(await call(lead, "PATCH", `/admin/keys/${created.id}`, { team_id: "any" }))).toMatchObject({
      status: 403,
      message: "A key may move only to a team you administer.",
    });
    // Someone else's user pays for what a key spends: only the team's own users may be given one.
    const stranger = uniqueId("user");
    expect(await errorOf(await call(lead, "POST", "/admin/keys", { team_id: mine, user_id: stranger }))).toMatchObject({
      status: 403,
      message: "A key may go only to a user of its team.",
    });
    expect((await db().execute(sql`select 1 from users where id = ${stranger}`)).rows).toEqual([]);
    const teammate = uniqueId("user");
    expect((await admin("POST", "/admin/users", { id: teammate, team_id: mine })).status).toBe(201);
    const given = await call(lead, "POST", "/admin/keys", { team_id: mine, user_id: teammate });
    expect(given.status).toBe(201);
    expect(await given.json()).toMatchObject({ team_id: mine, user_id: teammate });
  });

  it("a team's readers see their teams' requests only, and neither the billing outbox nor undelivered records", async () => {
    const mine = uniqueId("team");
    const theirs = uniqueId("team");
    for (const team of [mine, theirs]) expect((await admin("POST", "/admin/teams", { id: team, name: team })).status).toBe(201);
    const requestIn = async (team: string) => {
      const key = String((await admin("POST", "/admin/keys", { team_id: team })).body.key);
      const done = await callWorker(chatAs(key), mockProviderBindings);
      expect(done.response.status).toBe(200);
      await done.landed();
      return done.response.headers.get("x-request-id") ?? "";
    };
    const ours = await requestIn(mine);
    const other = await requestIn(theirs);
    for (const role of ["viewer", "billing", "admin"] as const) {
      const reader = await mintToken({ role: null, team_roles: { [mine]: role } });
      const own = await call(reader, "GET", `/admin/requests/${ours}`);
      expect(own.status).toBe(200);
      expect(await own.json()).toMatchObject({ request_id: ours, team_id: mine });
      expect(await errorOf(await call(reader, "GET", `/admin/requests/${other}`))).toMatchObject({
        status: 404,
        code: "request_not_found",
      });
      expect(await errorOf(await call(reader, "GET", "/admin/billing/outbox?status=sent"))).toMatchObject({
        status: 403,
        code: "permission_denied",
        message: "The billing outbox holds every team's rows: a team role does not reach it.",
      });
      expect(await errorOf(await call(reader, "GET", "/admin/usage/undelivered"))).toMatchObject({
        status: 403,
        code: "permission_denied",
      });
    }
    // The organization's readers see every team's.
    const orgViewer = await mintToken({ role: "viewer" });
    expect((await call(orgViewer, "GET", `/admin/requests/${other}`)).status).toBe(200);
    expect((await call(orgViewer, "GET", "/admin/billing/outbox")).status).toBe(200);
    expect((await call(orgViewer, "GET", "/admin/usage/undelivered")).status).toBe(200);
  });

  it("a logged request's prompt and answer are read with logs:read: not by a viewer, a billing reader or a usage-scoped token", async () => {
    const team = uniqueId("team");
    expect((await admin("POST", "/admin/teams", { id: team, name: team })).status).toBe(201);
    const key = String((await admin("POST", "/admin/keys", { team_id: team, settings: { request_logs: true } })).body.key);
    const done = await callWorker(chatAs(key, { messages: [{ role: "user", content: "a private question" }] }));
    expect(done.response.status).toBe(200);
    await done.response.text();
    await done.landed();
    const id = done.response.headers.get("x-request-id") ?? "";
    const read = async (token: string) =>
      (await call(token, "GET", `/admin/requests/${id}`)).json() as Promise<Record<string, unknown>>;
    const withheld = [
      await mintToken({ role: "viewer" }),
      await mintToken({ role: "billing" }),
      await mintToken({ role: null, team_roles: { [team]: "viewer" } }),
      await mintToken({ role: null, team_roles: { [team]: "billing" } }),
      await mintToken({ role: "admin", scopes: ["usage:read"] }),
    ];
    for (const token of withheld) {
      const body = await read(token);
      expect(body).toMatchObject({ request_id: id, team_id: team, log: null, log_withheld: "logs:read" });
      expect(JSON.stringify(body)).not.toContain("a private question");
    }
    for (const token of [await mintToken({ role: "admin" }), await mintToken({ role: null, team_roles: { [team]: "admin" } })]) {
      const body = await read(token);
      expect(body).not.toHaveProperty("log_withheld");
      expect(JSON.stringify(body.log)).toContain("a private question");
    }
  });

  it("a member mints keys only for themself", async () => {
    const member = await mintToken({ role: "member" });
    const mine = await call(member, "POST", "/admin/keys", { name: "laptop" });
    expect(mine.status).toBe(201);
    const key = (await mine.json()) as { id: string; user_id: string; key: string };
    expect(key.user_id).toMatch(/^tok_/);
    expect(await errorOf(await call(member, "POST", "/admin/keys", { user_id: "someone-else" }))).toMatchObject({
      status: 403,
      message: "A member mints keys only for themself.",
    });
    // In a team, only where their role there holds keys: a team's viewer or billing reader does not.
    const [holds, reads] = [uniqueId("team"), uniqueId("team")];
    const teamMember = await mintToken({ role: null, team_roles: { [holds]: "member", [reads]: "viewer" } });
    expect((await call(teamMember, "POST", "/admin/keys", { team_id: holds })).status).toBe(201);
    expect(await errorOf(await call(teamMember, "POST", "/admin/keys", { team_id: reads }))).toMatchObject({
      status: 403,
      message: "You may mint a key only in a team where your role holds keys.",
    });
    // Administering another team lets them change keys, but their own key in this team stays a member's.
    const [membered, led] = [uniqueId("team"), uniqueId("team")];
    const both = await mintToken({ role: null, team_roles: { [membered]: "member", [led]: "admin" } });
    const own = (await (await call(both, "POST", "/admin/keys", { team_id: membered })).json()) as { id: string };
    expect(await errorOf(await call(both, "PATCH", `/admin/keys/${own.id}`, { cache_scope: "team" }))).toMatchObject({
      status: 403,
      message: "A member's key may not share its team's cached answers.",
    });
    const ledKey = (await (await call(both, "POST", "/admin/keys", { team_id: led })).json()) as { id: string };
    expect((await call(both, "PATCH", `/admin/keys/${ledKey.id}`, { cache_scope: "team" })).status).toBe(200);
    // Metadata is an administrator's word about a key (routing rules and the ledger read it): never its holder's.
    const metadataRefused = { status: 403, message: "A member's key carries no metadata: an administrator of its team sets it." };
    expect(await errorOf(await call(member, "POST", "/admin/keys", { metadata: { plan: "enterprise" } }))).toMatchObject(
      metadataRefused,
    );
    expect(await errorOf(await call(both, "PATCH", `/admin/keys/${own.id}`, { metadata: { plan: "enterprise" } }))).toMatchObject(
      metadataRefused,
    );
    expect((await call(both, "PATCH", `/admin/keys/${ledKey.id}`, { metadata: { plan: "team" } })).status).toBe(200);
    const listed = (await (await call(member, "GET", "/admin/keys")).json()) as { data: { id: string }[] };
    expect(listed.data.map((k) => k.id)).toEqual([key.id]);
    expect((await call(member, "POST", `/admin/keys/${key.id}/revoke`)).status).toBe(200);
  });

  it("only an owner makes an owner", async () => {
    const adminToken = await mintToken({ role: "admin" });
    expect(await errorOf(await call(adminToken, "PUT", "/admin/members/idp|alice", { role: "owner" }))).toMatchObject({
      status: 403,
    });
    const put = await call(adminToken, "PUT", "/admin/members/https://idp.example/|bob", {
      role: "viewer",
      team_roles: { t1: "admin" },
    });
    expect(await put.json()).toMatchObject({ subject: "https://idp.example/|bob", role: "viewer", team_roles: { t1: "admin" } });
  });
});

describe("resolveOperator, which sign-in calls", () => {
  it("creates the member at first sight and combines stored roles with mapped ones, the higher winning", async () => {
    const { configFor } = await import("../src/config/index.ts");
    const { servicesFor } = await import("../src/services.ts");
    const { resolveOperator } = await import("../src/auth/operators.ts");
    const services = servicesFor(configFor(env), env);
    const subject = `https://idp.example/|${uniqueId("carol")}`;
    const claims = { orgId: "default", subject, email: "carol@example.com", name: "Carol" };
    const first = await resolveOperator(services, { ...claims, orgRole: "viewer", teamRoles: { search: "member" } });
    expect(first).toEqual({ ...claims, orgRole: "viewer", teamRoles: { search: "member" }, scopes: null });
    const stored = await admin("PUT", `/admin/members/${encodeURIComponent(subject)}`, {
      role: "admin",
      team_roles: { search: "viewer", ads: "admin" },
    });
    expect(stored.body).toMatchObject({ subject, email: "carol@example.com", role: "admin" });
    const again = await resolveOperator(services, { ...claims, email: null, orgRole: "viewer", teamRoles: { search: "member" } });
    expect(again).toMatchObject({
      email: "carol@example.com",
      orgRole: "admin",
      teamRoles: { search: "member", ads: "admin" },
    });
  });
});

describe("the audit log", () => {
  it("writes a row for every write through the admin API that succeeds, generated from the route table", async () => {
    const routes = (await operatorRoutes()).filter(isWrite);
    expect(routes.length).toBeGreaterThan(30);
    const missing: string[] = [];
    for (const route of routes) {
      const response = await call(TEST_ADMIN_KEY, route.method, concrete(route.path), {});
      const requestId = response.headers.get("x-request-id") ?? "";
      const rows = (await (await call(TEST_ADMIN_KEY, "GET", `/admin/audit?request_id=${requestId}`)).json()) as {
        data: { action: string }[];
      };
      const expected = response.status < 400 ? [`${route.method} ${route.path}`] : [];
      if (JSON.stringify(rows.data.map((r) => r.action)) !== JSON.stringify(expected)) {
        missing.push(`${route.method} ${route.path} (${response.status}): ${JSON.stringify(rows.data)}`);
      }
    }
    expect(missing).toEqual([]);
  }, 120_000);

  it("records who, what, before and after, never a secret; CSV too; rows cannot be changed", async () => {
    const token = await mintToken({ role: "admin" });
    const created = await call(token, "POST", "/admin/keys", { name: "audited" }, { "user-agent": "audit-test/1.0" });
    const key = (await created.json()) as { id: string; key: string };
    const changed = await call(token, "PATCH", `/admin/keys/${key.id}`, { rpm_limit: 7 });
    expect(changed.status).toBe(200);
    const page = (await (await call(TEST_ADMIN_KEY, "GET", `/admin/audit?target_type=keys&target_id=${key.id}`)).json()) as {
      data: Record<string, unknown>[];
    };
    expect(page.data.map((r) => r.action)).toEqual(["PATCH /admin/keys/:id", "POST /admin/keys"]);
    const [patch, post] = page.data;
    expect(post).toMatchObject({ actor_type: "admin_token", user_agent: "audit-test/1.0", before: null, status: 201 });
    expect(post?.request_id).toBe(created.headers.get("x-request-id"));
    expect(post?.ip_hash).toMatch(/^[0-9a-f]{24}$/);
    expect(JSON.stringify(page)).not.toContain(key.key);
    expect(post?.after).toMatchObject({ key: "[redacted]" });
    expect(patch).toMatchObject({ before: { rpm_limit: null }, after: { rpm_limit: 7 } });

    const csv = await call(TEST_ADMIN_KEY, "GET", `/admin/audit?target_id=${key.id}&format=csv`);
    expect(csv.headers.get("content-type")).toContain("text/csv");
    const lines = (await csv.text()).trim().split("\r\n");
    expect(lines[0]).toMatch(/^id,at,org_id,actor_type,actor_id/);
    expect(lines).toHaveLength(3);

    await expect(db().execute(sql`update audit_log set action = 'x'`)).rejects.toThrow();
    await expect(db().execute(sql`delete from audit_log`)).rejects.toThrow();
  });
});
