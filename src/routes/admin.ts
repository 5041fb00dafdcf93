// `/admin/*`: keys, apps, users, teams, quotas, the model catalog and provider credentials. The admin key only.
import { and, desc, eq } from "drizzle-orm";
import { Hono, type MiddlewareHandler } from "hono";
import { DESCRIBE } from "#describe";
import {
  createModel,
  createProvider,
  deleteModel,
  deleteProvider,
  getModel,
  getProvider,
  listModels as listCatalogModels,
  listProviders,
  updateModel,
  updateProvider,
} from "../admin/catalog.ts";
import {
  createCredential,
  credentialView,
  deleteCredential,
  getCredential,
  listCredentials,
  rewrapCredentials,
  updateCredential,
} from "../admin/credentials.ts";
import { createGuardrail, deleteGuardrail, getGuardrail, listGuardrails, updateGuardrail } from "../admin/guardrails.ts";
import { budgetSpend, createKey, creatorOf, getKey, keyView, revokeKey, rotateKey, updateKey } from "../admin/keys.ts";
import {
  createMcpServer,
  createMcpServerSchema,
  deleteMcpServer,
  getMcpServer,
  listMcpServers,
  mcpServerView,
  updateMcpServer,
  updateMcpServerSchema,
} from "../admin/mcp-servers.ts";
import {
  getTeam,
  getUser,
  policyView,
  quotaAndSettings,
  readPolicy,
  teamView,
  upsertTeam,
  upsertUser,
  userView,
  writePolicy,
} from "../admin/people.ts";
import { createRoute, deleteRoute, explainRoute, explainSchema, getRoute, listRoutes, updateRoute } from "../admin/routes.ts";
import {
  createCredentialSchema,
  createKeySchema,
  globalSettingsSchema,
  modelSchema,
  providerSchema,
  quotaSchema,
  teamSchema,
  updateCredentialSchema,
  updateKeySchema,
  userSchema,
} from "../admin/schemas.ts";
import { readSettings, readSettingsOf, writeSettings } from "../admin/settings.ts";
import { forgetAllCallers } from "../auth/index.ts";
import { can } from "../auth/roles.ts";
import type { GatewayContext, GatewayEnv } from "../context.ts";
import { teams, users, virtualKeys } from "../db/schema.ts";
import { createGuardrailSchema, updateGuardrailSchema } from "../guardrails/definitions.ts";
import { badRequest, GatewayError } from "../http/errors.ts";
import { pageQuery, pageSchema } from "../http/page-query.ts";
import { parseJsonBody } from "../http/validate.ts";
import { doc } from "../openapi/doc.ts";
import { auditWrites } from "../orgs/audit.ts";
import { assertKeyReach, keyChangeFor, keyInputFor, keyListScope } from "../orgs/scope.ts";
import { routeSchema } from "../routing/rules/schema.ts";
import { adminAppRoutes } from "./admin-apps.ts";
import { adminLedgerRoutes } from "./admin-ledger.ts";
import { adminOrgRoutes } from "./admin-orgs.ts";
import { endpoint, permits } from "./endpoint.ts";

export const adminRoutes = new Hono<GatewayEnv>();

// Each route declares the permission it needs (`permits`); every write that succeeds leaves an audit row.
adminRoutes.use(
  endpoint({ errors: "openai", gated: false, permission: "per-route" }),
  auditWrites((c, path) => readAsAdmin(c, path)),
);

/** The object at an admin path as the admin key reads it: the audit row's `before`. */
async function readAsAdmin(c: GatewayContext, path: string): Promise<unknown> {
  const url = new URL(c.req.url);
  url.pathname = path;
  url.search = "";
  const request = new Request(url, { headers: { authorization: `Bearer ${c.get("config").adminKey}` } });
  outerContexts.set(request, c);
  // Mounted on first use: `route()` copies the routes there are, and every admin route is declared by then.
  if (innerAdmin.routes.length === 0) {
    innerAdmin.use(passOuter).route("/admin", adminRoutes);
    // Nothing there (or not readable) is simply no `before`.
    innerAdmin.onError((error) => new Response(null, { status: error instanceof GatewayError ? error.status : 500 }));
  }
  const response = await innerAdmin.fetch(request, c.env, c.executionCtx);
  return response.ok ? await response.json() : null;
}

/** The admin routes called from inside a request, with that request's config and services. */
const outerContexts = new WeakMap<Request, GatewayContext>();
const innerAdmin = new Hono<GatewayEnv>();
const passOuter: MiddlewareHandler<GatewayEnv> = async (c, next) => {
  const outer = outerContexts.get(c.req.raw);
  if (!outer) throw new Error("an inner admin read without its request");
  c.set("requestId", outer.get("requestId"));
  c.set("format", "openai");
  c.set("config", outer.get("config"));
  c.set("services", outer.get("services"));
  await next();
};

adminRoutes.route("/", adminOrgRoutes);

adminRoutes.route("/apps", adminAppRoutes);

adminRoutes.route("/", adminLedgerRoutes);

/** The key in the path, if the caller's role reaches it (its team's writer, or its owner). */
async function reachKey(c: GatewayContext) {
  const row = await getKey(c.get("services"), c.req.param("id") ?? "");
  assertKeyReach(c.get("principal"), row, "keys:write");
  return row;
}

adminRoutes.post(
  "/keys",
  permits("keys:write", "keys:self"),
  doc(DESCRIBE && { summary: "Creates a virtual key (the secret is shown once)", body: createKeySchema }),
  async (c) => {
    const principal = c.get("principal");
    const input = await keyInputFor(c.get("services"), principal, await parseJsonBody(c, createKeySchema));
    return c.json(await createKey(c.get("services"), input, creatorOf(principal)), 201);
  },
);

adminRoutes.get(
  "/keys",
  permits("keys:read", "keys:self"),
  doc(DESCRIBE && { summary: "Lists keys", query: pageSchema }),
  pageQuery,
  async (c) => {
    const { limit, offset, user_id: userId, team_id: teamId } = c.req.valid("query");
    const asked = userId ? eq(virtualKeys.userId, userId) : teamId ? eq(virtualKeys.teamId, teamId) : undefined;
    const where = and(asked, keyListScope(c.get("principal")));
    const rows = await c
      .get("services")
      .db.select()
      .from(virtualKeys)
      .where(where)
      .orderBy(desc(virtualKeys.createdAt))
      .limit(limit)
      .offset(offset);
    const spend = await budgetSpend(c.get("services").db, rows, c.get("config").limits.timeZone);
    const settings = await readSettingsOf(
      c.get("services"),
      "key",
      rows.map((row) => row.id),
    );
    return c.json({
      data: rows.map((row) => ({
        ...keyView(row, settings.get(row.id) ?? {}),
        budget_spend: spend.get(row.id) ?? (row.maxBudgetUsd === null ? null : 0),
      })),
    });
  },
);

adminRoutes.get(
  "/keys/:id",
  permits("keys:read", "keys:self"),
  doc(DESCRIBE && { summary: "A key, with its settings" }),
  async (c) => {
    const row = await getKey(c.get("services"), c.req.param("id"));
    assertKeyReach(c.get("principal"), row, "keys:read");
    return c.json(keyView(row, await readSettings(c.get("services"), "key", row.id)));
  },
);
adminRoutes.patch(
  "/keys/:id",
  permits("keys:write"),
  doc(DESCRIBE && { summary: "Changes a key's limits, budget, allowlist or metadata", body: updateKeySchema }),
  async (c) => {
    const input = await parseJsonBody(c, updateKeySchema);
    const row = await getKey(c.get("services"), c.req.param("id"));
    await keyChangeFor(c.get("services"), c.get("principal"), row, input);
    return c.json(await updateKey(c.get("services"), row.id, input));
  },
);
adminRoutes.delete("/keys/:id", permits("keys:write", "keys:self"), doc(DESCRIBE && { summary: "Deletes a key" }), async (c) =>
  c.json(await revokeKey(c.get("services"), (await reachKey(c)).id)),
);
adminRoutes.post(
  "/keys/:id/revoke",
  permits("keys:write", "keys:self"),
  doc(DESCRIBE && { summary: "Revokes a key, everywhere within a second" }),
  async (c) => c.json(await revokeKey(c.get("services"), (await reachKey(c)).id)),
);
adminRoutes.post(
  "/keys/:id/rotate",
  permits("keys:write", "keys:self"),
  doc(DESCRIBE && { summary: "A new secret for a key; the old one stops working" }),
  async (c) => c.json(await rotateKey(c.get("services"), (await reachKey(c)).id, creatorOf(c.get("principal"))), 201),
);

adminRoutes.get(
  "/users",
  permits("people:read"),
  doc(DESCRIBE && { summary: "Lists users", query: pageSchema }),
  pageQuery,
  async (c) => {
    const { limit, offset } = c.req.valid("query");
    const rows = await c.get("services").db.select().from(users).orderBy(desc(users.createdAt)).limit(limit).offset(offset);
    return c.json({ data: rows.map(userView) });
  },
);

adminRoutes.post(
  "/users",
  permits("people:write"),
  doc(DESCRIBE && { summary: "Creates or updates a user, with their quota", body: userSchema }),
  async (c) => {
    const input = await parseJsonBody(c, userSchema);
    if (!input.id) throw badRequest("Invalid `id`: a user needs an id (the JWT subject).", "id");
    const row = await upsertUser(c.get("services"), input.id, input);
    return c.json({ ...userView(row), ...(await quotaAndSettings(c.get("services"), "user", row.id)) }, 201);
  },
);

adminRoutes.get("/users/:id", permits("people:read"), doc(DESCRIBE && { summary: "A user and their quota" }), async (c) => {
  const row = await getUser(c.get("services"), c.req.param("id"));
  return c.json({ ...userView(row), ...(await quotaAndSettings(c.get("services"), "user", row.id)) });
});

adminRoutes.patch(
  "/users/:id",
  permits("people:write"),
  doc(DESCRIBE && { summary: "Changes a user or their quota", body: userSchema }),
  async (c) => {
    await getUser(c.get("services"), c.req.param("id"));
    const row = await upsertUser(c.get("services"), c.req.param("id"), await parseJsonBody(c, userSchema));
    return c.json({ ...userView(row), ...(await quotaAndSettings(c.get("services"), "user", row.id)) });
  },
);

adminRoutes.post(
  "/users/:id/block",
  permits("people:write"),
  doc(DESCRIBE && { summary: "Blocks a user and their keys" }),
  async (c) =>
    c.json(
      userView(await upsertUser(c.get("services"), (await getUser(c.get("services"), c.req.param("id"))).id, { blocked: true })),
    ),
);
adminRoutes.post("/users/:id/unblock", permits("people:write"), doc(DESCRIBE && { summary: "Unblocks a user" }), async (c) =>
  c.json(
    userView(await upsertUser(c.get("services"), (await getUser(c.get("services"), c.req.param("id"))).id, { blocked: false })),
  ),
);

adminRoutes.get(
  "/teams",
  permits("people:read"),
  doc(DESCRIBE && { summary: "Lists teams", query: pageSchema }),
  pageQuery,
  async (c) => {
    const { limit, offset } = c.req.valid("query");
    const rows = await c.get("services").db.select().from(teams).orderBy(desc(teams.createdAt)).limit(limit).offset(offset);
    return c.json({ data: rows.map(teamView) });
  },
);

adminRoutes.post(
  "/teams",
  permits("people:write"),
  doc(DESCRIBE && { summary: "Creates or updates a team, with its quota", body: teamSchema }),
  async (c) => {
    const input = await parseJsonBody(c, teamSchema);
    const id = input.id ?? `team_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
    const row = await upsertTeam(c.get("services"), id, input);
    return c.json({ ...teamView(row), ...(await quotaAndSettings(c.get("services"), "team", id)) }, 201);
  },
);

adminRoutes.get("/teams/:id", permits("people:read"), doc(DESCRIBE && { summary: "A team and its quota" }), async (c) => {
  const row = await getTeam(c.get("services"), c.req.param("id"));
  return c.json({ ...teamView(row), ...(await quotaAndSettings(c.get("services"), "team", row.id)) });
});

adminRoutes.patch(
  "/teams/:id",
  permits("people:write"),
  doc(DESCRIBE && { summary: "Changes a team or its quota", body: teamSchema }),
  async (c) => {
    await getTeam(c.get("services"), c.req.param("id"));
    const row = await upsertTeam(c.get("services"), c.req.param("id"), await parseJsonBody(c, teamSchema));
    return c.json({ ...teamView(row), ...(await quotaAndSettings(c.get("services"), "team", row.id)) });
  },
);

adminRoutes.get(
  "/settings",
  permits("catalog:read"),
  doc(DESCRIBE && { summary: "The global settings for callers, which every team, user and key adds to" }),
  async (c) => c.json(await readSettings(c.get("services"), "default", "")),
);
adminRoutes.patch(
  "/settings",
  permits("limits:write"),
  doc(
    DESCRIBE && { summary: "Changes the global settings: each section named is set, null clears it", body: globalSettingsSchema },
  ),
  async (c) => {
    await writeSettings(c.get("services"), "default", "", await parseJsonBody(c, globalSettingsSchema));
    // Callers' copies elsewhere take the change when they are next read (within a minute).
    forgetAllCallers();
    return c.json(await readSettings(c.get("services"), "default", ""));
  },
);

adminRoutes.get(
  "/quota/default",
  permits("catalog:read"),
  doc(DESCRIBE && { summary: "The quota every new user starts with" }),
  async (c) => c.json(policyView(await readPolicy(c.get("services"), "default", ""))),
);
adminRoutes.patch(
  "/quota/default",
  permits("limits:write"),
  doc(DESCRIBE && { summary: "Changes the default quota", body: quotaSchema }),
  async (c) => {
    await writePolicy(c.get("services"), "default", "", await parseJsonBody(c, quotaSchema));
    return c.json(policyView(await readPolicy(c.get("services"), "default", "")));
  },
);

adminRoutes.get("/providers", permits("catalog:read"), doc(DESCRIBE && { summary: "Catalog providers" }), async (c) =>
  c.json({ data: await listProviders(c.get("services")) }),
);
/**
 * Where stored credentials are sent is the credentials' business: a
 * provider's base URL (its environment key and stored keys go there) or an
 * MCP server's URL and sign-in (its sealed secret and users' tokens go
 * there) is set with `credentials:write` beside the catalog's permission.
 */
function assertMayPointCredentials(c: GatewayContext, changes: boolean, what: string): void {
  if (!changes || can(c.get("principal"), "credentials:write")) return;
  throw new GatewayError(
    403,
    "permission",
    `${what} decides where stored credentials are sent: it needs the \`credentials:write\` permission too.`,
    { code: "permission_denied" },
  );
}

adminRoutes.post(
  "/providers",
  permits("catalog:write"),
  doc(DESCRIBE && { summary: "Adds a catalog provider", body: providerSchema }),
  async (c) => {
    const input = await parseJsonBody(c, providerSchema);
    assertMayPointCredentials(c, input.base_url !== undefined, "A provider's `base_url`");
    return c.json(await createProvider(c.get("services"), input), 201);
  },
);
adminRoutes.get("/providers/:id", permits("catalog:read"), doc(DESCRIBE && { summary: "A catalog provider" }), async (c) =>
  c.json(await getProvider(c.get("services"), c.req.param("id"))),
);
adminRoutes.patch(
  "/providers/:id",
  permits("catalog:write"),
  doc(DESCRIBE && { summary: "Changes a catalog provider", body: providerSchema }),
  async (c) => {
    const input = await parseJsonBody(c, providerSchema);
    assertMayPointCredentials(c, input.base_url !== undefined, "A provider's `base_url`");
    return c.json(await updateProvider(c.get("services"), c.req.param("id"), input));
  },
);
adminRoutes.delete(
  "/providers/:id",
  permits("catalog:write"),
  doc(DESCRIBE && { summary: "Removes a catalog provider" }),
  async (c) => c.json(await deleteProvider(c.get("services"), c.req.param("id"))),
);

// Model names may hold slashes (`team/model`), so the id takes the rest of the path.
adminRoutes.get("/models", permits("catalog:read"), doc(DESCRIBE && { summary: "The model catalog" }), async (c) =>
  c.json({ data: await listCatalogModels(c.get("services")) }),
);
adminRoutes.post(
  "/models",
  permits("catalog:write"),
  doc(DESCRIBE && { summary: "Adds a model: its targets, fallbacks and prices", body: modelSchema }),
  async (c) => c.json(await createModel(c.get("services"), await parseJsonBody(c, modelSchema)), 201),
);
adminRoutes.get("/models/:id{.+}", permits("catalog:read"), doc(DESCRIBE && { summary: "A catalog model" }), async (c) =>
  c.json(await getModel(c.get("services"), c.req.param("id"))),
);
adminRoutes.patch(
  "/models/:id{.+}",
  permits("catalog:write"),
  doc(DESCRIBE && { summary: "Changes a catalog model", body: modelSchema }),
  async (c) => c.json(await updateModel(c.get("services"), c.req.param("id"), await parseJsonBody(c, modelSchema))),
);
adminRoutes.delete(
  "/models/:id{.+}",
  permits("catalog:write"),
  doc(DESCRIBE && { summary: "Removes a catalog model" }),
  async (c) => c.json(await deleteModel(c.get("services"), c.req.param("id"))),
);

adminRoutes.get("/guardrails", permits("catalog:read"), doc(DESCRIBE && { summary: "Guardrail policies" }), async (c) =>
  c.json({ data: await listGuardrails(c.get("services")) }),
);
adminRoutes.post(
  "/guardrails",
  permits("catalog:write"),
  doc(
    DESCRIBE && {
      summary: "Adds a guardrail policy: what it looks for, on input or output, and whether it blocks, redacts or flags",
      body: createGuardrailSchema,
    },
  ),
  async (c) => c.json(await createGuardrail(c.get("services"), await parseJsonBody(c, createGuardrailSchema)), 201),
);
adminRoutes.get("/guardrails/:id", permits("catalog:read"), doc(DESCRIBE && { summary: "A guardrail policy" }), async (c) =>
  c.json(await getGuardrail(c.get("services"), c.req.param("id"))),
);
adminRoutes.patch(
  "/guardrails/:id",
  permits("catalog:write"),
  doc(DESCRIBE && { summary: "Changes a guardrail policy", body: updateGuardrailSchema }),
  async (c) => c.json(await updateGuardrail(c.get("services"), c.req.param("id"), await parseJsonBody(c, updateGuardrailSchema))),
);
adminRoutes.delete(
  "/guardrails/:id",
  permits("catalog:write"),
  doc(DESCRIBE && { summary: "Removes a guardrail policy" }),
  async (c) => c.json(await deleteGuardrail(c.get("services"), c.req.param("id"))),
);
adminRoutes.get(
  "/routes",
  permits("catalog:read"),
  doc(DESCRIBE && { summary: "Routes: names clients ask for, served by rule trees" }),
  async (c) => c.json({ data: await listRoutes(c.get("services")) }),
);
adminRoutes.post(
  "/routes",
  permits("catalog:write"),
  doc(DESCRIBE && { summary: "Adds a route, checked whole", body: routeSchema }),
  async (c) => c.json(await createRoute(c.get("services"), c.get("config"), await parseJsonBody(c, routeSchema)), 201),
);
adminRoutes.get("/routes/:name", permits("catalog:read"), doc(DESCRIBE && { summary: "A route" }), async (c) =>
  c.json(await getRoute(c.get("services"), c.req.param("name"))),
);
adminRoutes.patch(
  "/routes/:name",
  permits("catalog:write"),
  doc(DESCRIBE && { summary: "Changes a route, checked whole", body: routeSchema }),
  async (c) =>
    c.json(await updateRoute(c.get("services"), c.get("config"), c.req.param("name"), await parseJsonBody(c, routeSchema))),
);
adminRoutes.delete("/routes/:name", permits("catalog:write"), doc(DESCRIBE && { summary: "Removes a route" }), async (c) =>
  c.json(await deleteRoute(c.get("services"), c.req.param("name"))),
);
adminRoutes.post(
  "/routes/:name/explain",
  permits("catalog:read"),
  doc(DESCRIBE && { summary: "Which arm would serve a sample request and caller, and why, step by step", body: explainSchema }),
  async (c) => c.json(await explainRoute(c.get("services"), c.req.param("name"), await parseJsonBody(c, explainSchema))),
);

adminRoutes.get(
  "/credentials",
  permits("credentials:read"),
  doc(DESCRIBE && { summary: "Provider credentials, never a secret" }),
  async (c) =>
    c.json({
      data: await listCredentials(c.get("services"), {
        provider: c.req.query("provider"),
        ownerType: c.req.query("owner_type"),
        ownerId: c.req.query("owner_id"),
      }),
    }),
);
adminRoutes.post(
  "/credentials",
  permits("credentials:write"),
  doc(DESCRIBE && { summary: "Stores a provider credential, sealed", body: createCredentialSchema }),
  async (c) =>
    c.json(await createCredential(c.get("services"), c.get("config"), await parseJsonBody(c, createCredentialSchema)), 201),
);
/** Rewraps stored keys under the current ENCRYPTION_KEY, after a rotation to a new one. */
adminRoutes.post(
  "/credentials/rotate",
  permits("credentials:write"),
  doc(DESCRIBE && { summary: "Rewraps every stored credential under the current key-encryption key" }),
  async (c) => c.json(await rewrapCredentials(c.get("services"), c.get("config"))),
);
adminRoutes.get(
  "/credentials/:id",
  permits("credentials:read"),
  doc(DESCRIBE && { summary: "A credential, never its secret" }),
  async (c) => c.json(credentialView(await getCredential(c.get("services"), c.req.param("id")))),
);
adminRoutes.patch(
  "/credentials/:id",
  permits("credentials:write"),
  doc(DESCRIBE && { summary: "Changes a credential", body: updateCredentialSchema }),
  async (c) =>
    c.json(
      await updateCredential(
        c.get("services"),
        c.get("config"),
        c.req.param("id"),
        await parseJsonBody(c, updateCredentialSchema),
      ),
    ),
);
adminRoutes.delete(
  "/credentials/:id",
  permits("credentials:write"),
  doc(DESCRIBE && { summary: "Removes a credential" }),
  async (c) => c.json(await deleteCredential(c.get("services"), c.req.param("id"))),
);

adminRoutes.get(
  "/mcp/servers",
  permits("catalog:read"),
  doc(DESCRIBE && { summary: "MCP servers behind /mcp, never a secret" }),
  async (c) => c.json({ data: await listMcpServers(c.get("services")) }),
);
adminRoutes.post(
  "/mcp/servers",
  permits("catalog:write"),
  doc(DESCRIBE && { summary: "Registers an MCP server, its credential sealed", body: createMcpServerSchema }),
  async (c) =>
    c.json(await createMcpServer(c.get("services"), c.get("config"), await parseJsonBody(c, createMcpServerSchema)), 201),
);
adminRoutes.get(
  "/mcp/servers/:name",
  permits("catalog:read"),
  doc(DESCRIBE && { summary: "An MCP server, never its secret" }),
  async (c) => c.json(mcpServerView(await getMcpServer(c.get("services"), c.req.param("name")))),
);
adminRoutes.patch(
  "/mcp/servers/:name",
  permits("catalog:write"),
  doc(DESCRIBE && { summary: "Changes an MCP server: its URL, credential, timeout, price", body: updateMcpServerSchema }),
  async (c) => {
    const input = await parseJsonBody(c, updateMcpServerSchema);
    assertMayPointCredentials(c, input.url !== undefined || input.auth !== undefined, "An MCP server's `url` or `auth`");
    return c.json(await updateMcpServer(c.get("services"), c.get("config"), c.req.param("name"), input));
  },
);
adminRoutes.delete(
  "/mcp/servers/:name",
  permits("catalog:write"),
  doc(DESCRIBE && { summary: "Removes an MCP server" }),
  async (c) => c.json(await deleteMcpServer(c.get("services"), c.req.param("name"))),
);
