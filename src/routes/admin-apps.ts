// `/admin/apps`: apps whose users have no account, and their publishable keys. Mounted under `/admin`, behind its admin check.
import { Hono } from "hono";
import { DESCRIBE } from "#describe";
import {
  createAppSchema,
  deleteApp,
  getApp,
  listApps,
  registerApp,
  rotatePublishableKey,
  updateApp,
  updateAppSchema,
} from "../admin/apps.ts";
import type { GatewayEnv } from "../context.ts";
import { pageQuery, pageSchema } from "../http/page-query.ts";
import { parseJsonBody } from "../http/validate.ts";
import { doc } from "../openapi/doc.ts";
import { permits } from "./endpoint.ts";

export const adminAppRoutes = new Hono<GatewayEnv>();

adminAppRoutes.post(
  "/",
  permits("apps:write"),
  doc(
    DESCRIBE && { summary: "Registers an app: its origins, bundle ids, models, guest limits and proofs", body: createAppSchema },
  ),
  async (c) => c.json(await registerApp(c.get("services"), await parseJsonBody(c, createAppSchema)), 201),
);
adminAppRoutes.get(
  "/",
  permits("apps:read"),
  doc(DESCRIBE && { summary: "Lists apps", query: pageSchema }),
  pageQuery,
  async (c) => {
    const { limit, offset } = c.req.valid("query");
    return c.json({ data: await listApps(c.get("services"), { limit, offset }) });
  },
);
adminAppRoutes.get("/:id", permits("apps:read"), doc(DESCRIBE && { summary: "An app, with its publishable key" }), async (c) =>
  c.json(await getApp(c.get("services"), c.req.param("id"))),
);
adminAppRoutes.patch(
  "/:id",
  permits("apps:write"),
  doc(
    DESCRIBE && {
      summary: "Changes an app; `disabled: true` refuses its guests everywhere within a second",
      body: updateAppSchema,
    },
  ),
  async (c) => c.json(await updateApp(c.get("services"), c.req.param("id"), await parseJsonBody(c, updateAppSchema))),
);
adminAppRoutes.delete(
  "/:id",
  permits("apps:write"),
  doc(DESCRIBE && { summary: "Deletes an app; its guests are refused" }),
  async (c) => c.json(await deleteApp(c.get("services"), c.req.param("id"))),
);
adminAppRoutes.post(
  "/:id/rotate",
  permits("apps:write"),
  doc(DESCRIBE && { summary: "A new publishable key for an app; the old one stops being exchanged" }),
  async (c) => c.json(await rotatePublishableKey(c.get("services"), c.req.param("id")), 201),
);
