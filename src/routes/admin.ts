// `/admin/*`: keys, users, teams and quotas. The admin key only.
import { desc, eq } from "drizzle-orm";
import { Hono } from "hono";
import { createKey, getKey, keyView, revokeKey, rotateKey, updateKey } from "../admin/keys.ts";
import {
  getTeam,
  getUser,
  policyView,
  readPolicy,
  teamView,
  upsertTeam,
  upsertUser,
  userView,
  writePolicy,
} from "../admin/people.ts";
import { createKeySchema, quotaSchema, teamSchema, updateKeySchema, userSchema } from "../admin/schemas.ts";
import { requireAdmin } from "../auth/index.ts";
import type { GatewayEnv } from "../context.ts";
import { teams, users, virtualKeys } from "../db/schema.ts";
import { badRequest } from "../http/errors.ts";
import { pageQuery } from "../http/page-query.ts";
import { parseJsonBody } from "../http/validate.ts";

export const adminRoutes = new Hono<GatewayEnv>();

adminRoutes.use(async (c, next) => {
  requireAdmin(c.var.principal);
  await next();
});

adminRoutes.post("/keys", async (c) => c.json(await createKey(c.var.services, await parseJsonBody(c, createKeySchema)), 201));

adminRoutes.get("/keys", pageQuery, async (c) => {
  const { limit, offset, user_id: userId, team_id: teamId } = c.req.valid("query");
  const where = userId ? eq(virtualKeys.userId, userId) : teamId ? eq(virtualKeys.teamId, teamId) : undefined;
  const rows = await c.var.services.db
    .select()
    .from(virtualKeys)
    .where(where)
    .orderBy(desc(virtualKeys.createdAt))
    .limit(limit)
    .offset(offset);
  return c.json({ data: rows.map(keyView) });
});

adminRoutes.get("/keys/:id", async (c) => c.json(keyView(await getKey(c.var.services, c.req.param("id")))));
adminRoutes.patch("/keys/:id", async (c) =>
  c.json(await updateKey(c.var.services, c.req.param("id"), await parseJsonBody(c, updateKeySchema))),
);
adminRoutes.delete("/keys/:id", async (c) => c.json(await revokeKey(c.var.services, c.req.param("id"))));
adminRoutes.post("/keys/:id/revoke", async (c) => c.json(await revokeKey(c.var.services, c.req.param("id"))));
adminRoutes.post("/keys/:id/rotate", async (c) => c.json(await rotateKey(c.var.services, c.req.param("id")), 201));

adminRoutes.get("/users", pageQuery, async (c) => {
  const { limit, offset } = c.req.valid("query");
  const rows = await c.var.services.db.select().from(users).orderBy(desc(users.createdAt)).limit(limit).offset(offset);
  return c.json({ data: rows.map(userView) });
});

adminRoutes.post("/users", async (c) => {
  const input = await parseJsonBody(c, userSchema);
  if (!input.id) throw badRequest("Invalid `id`: a user needs an id (the JWT subject).", "id");
  const row = await upsertUser(c.var.services, input.id, input);
  return c.json({ ...userView(row), quota: policyView(await readPolicy(c.var.services, "user", row.id)) }, 201);
});

adminRoutes.get("/users/:id", async (c) => {
  const row = await getUser(c.var.services, c.req.param("id"));
  return c.json({ ...userView(row), quota: policyView(await readPolicy(c.var.services, "user", row.id)) });
});

adminRoutes.patch("/users/:id", async (c) => {
  await getUser(c.var.services, c.req.param("id"));
  const row = await upsertUser(c.var.services, c.req.param("id"), await parseJsonBody(c, userSchema));
  return c.json({ ...userView(row), quota: policyView(await readPolicy(c.var.services, "user", row.id)) });
});

adminRoutes.post("/users/:id/block", async (c) =>
  c.json(userView(await upsertUser(c.var.services, (await getUser(c.var.services, c.req.param("id"))).id, { blocked: true }))),
);
adminRoutes.post("/users/:id/unblock", async (c) =>
  c.json(userView(await upsertUser(c.var.services, (await getUser(c.var.services, c.req.param("id"))).id, { blocked: false }))),
);

adminRoutes.get("/teams", pageQuery, async (c) => {
  const { limit, offset } = c.req.valid("query");
  const rows = await c.var.services.db.select().from(teams).orderBy(desc(teams.createdAt)).limit(limit).offset(offset);
  return c.json({ data: rows.map(teamView) });
});

adminRoutes.post("/teams", async (c) => {
  const input = await parseJsonBody(c, teamSchema);
  const id = input.id ?? `team_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
  const row = await upsertTeam(c.var.services, id, input);
  return c.json({ ...teamView(row), quota: policyView(await readPolicy(c.var.services, "team", id)) }, 201);
});

adminRoutes.get("/teams/:id", async (c) => {
  const row = await getTeam(c.var.services, c.req.param("id"));
  return c.json({ ...teamView(row), quota: policyView(await readPolicy(c.var.services, "team", row.id)) });
});

adminRoutes.patch("/teams/:id", async (c) => {
  await getTeam(c.var.services, c.req.param("id"));
  const row = await upsertTeam(c.var.services, c.req.param("id"), await parseJsonBody(c, teamSchema));
  return c.json({ ...teamView(row), quota: policyView(await readPolicy(c.var.services, "team", row.id)) });
});

adminRoutes.get("/quota/default", async (c) => c.json(policyView(await readPolicy(c.var.services, "default", ""))));
adminRoutes.patch("/quota/default", async (c) => {
  await writePolicy(c.var.services, "default", "", await parseJsonBody(c, quotaSchema));
  return c.json(policyView(await readPolicy(c.var.services, "default", "")));
});
