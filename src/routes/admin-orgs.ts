// `/admin/me`, `/admin/members`, `/admin/tokens` and `/admin/audit`: who is
// calling and what their role allows, the organization's members and their
// roles, admin tokens for automation, and the audit log. Mounted under
// `/admin`, behind its authentication and audit.
import { Hono } from "hono";
import { DESCRIBE } from "#describe";
import type { GatewayEnv } from "../context.ts";
import { validQuery } from "../http/page-query.ts";
import { parseJsonBody } from "../http/validate.ts";
import { doc } from "../openapi/doc.ts";
import { AUDIT_COLUMNS, auditQuery, listAudit } from "../orgs/audit.ts";
import { getMember, listMembers, memberSchema, memberView, orgOf, putMember, removeMember, whoAmI } from "../orgs/members.ts";
import { createToken, createTokenSchema, getToken, listTokens, revokeToken, tokenView } from "../orgs/tokens.ts";
import { toCsv } from "../usage/query.ts";
import { permits } from "./endpoint.ts";

export const adminOrgRoutes = new Hono<GatewayEnv>();

adminOrgRoutes.get(
  "/me",
  permits(),
  doc(DESCRIBE && { summary: "Who is calling: their organization, roles and permissions" }),
  (c) => c.json(whoAmI(c.get("principal"))),
);

adminOrgRoutes.get(
  "/members",
  permits("members:read"),
  doc(DESCRIBE && { summary: "The organization's members and their roles" }),
  async (c) => c.json({ data: await listMembers(c.get("services"), c.get("principal")) }),
);
// A subject is the identity provider's issuer and subject, which may hold slashes.
adminOrgRoutes.get(
  "/members/:subject{.+}",
  permits("members:read"),
  doc(DESCRIBE && { summary: "A member and their roles" }),
  async (c) => c.json(memberView(await getMember(c.get("services"), c.get("principal"), c.req.param("subject")))),
);
adminOrgRoutes.put(
  "/members/:subject{.+}",
  permits("members:write"),
  doc(DESCRIBE && { summary: "Adds a member ahead of their sign-in, or changes their roles", body: memberSchema }),
  async (c) =>
    c.json(await putMember(c.get("services"), c.get("principal"), c.req.param("subject"), await parseJsonBody(c, memberSchema))),
);
adminOrgRoutes.delete(
  "/members/:subject{.+}",
  permits("members:write"),
  doc(DESCRIBE && { summary: "Removes a member's roles" }),
  async (c) => c.json(await removeMember(c.get("services"), c.get("principal"), c.req.param("subject"))),
);

adminOrgRoutes.get("/tokens", permits("tokens:read"), doc(DESCRIBE && { summary: "Admin tokens, never a secret" }), async (c) =>
  c.json({ data: await listTokens(c.get("services"), c.get("principal")) }),
);
adminOrgRoutes.post(
  "/tokens",
  permits("tokens:write"),
  doc(
    DESCRIBE && { summary: "Mints an admin token: named, scoped, expiring (the secret is shown once)", body: createTokenSchema },
  ),
  async (c) => c.json(await createToken(c.get("services"), c.get("principal"), await parseJsonBody(c, createTokenSchema)), 201),
);
adminOrgRoutes.get(
  "/tokens/:id",
  permits("tokens:read"),
  doc(DESCRIBE && { summary: "An admin token, never its secret" }),
  async (c) => c.json(tokenView(await getToken(c.get("services"), c.get("principal"), c.req.param("id")))),
);
adminOrgRoutes.delete("/tokens/:id", permits("tokens:write"), doc(DESCRIBE && { summary: "Revokes an admin token" }), async (c) =>
  c.json(await revokeToken(c.get("services"), c.get("principal"), c.req.param("id"))),
);
adminOrgRoutes.post(
  "/tokens/:id/revoke",
  permits("tokens:write"),
  doc(DESCRIBE && { summary: "Revokes an admin token" }),
  async (c) => c.json(await revokeToken(c.get("services"), c.get("principal"), c.req.param("id"))),
);

adminOrgRoutes.get(
  "/audit",
  permits("audit:read"),
  doc(
    DESCRIBE && {
      summary: "The audit log: every change through the admin API, newest first, filtered; JSON or CSV",
      query: auditQuery,
      response: { description: "{data, next_cursor}, or CSV", csv: true },
    },
  ),
  validQuery(auditQuery),
  async (c) => {
    const query = c.req.valid("query");
    const principal = c.get("principal");
    const result = await listAudit(c.get("services"), query, principal.type === "operator" ? orgOf(principal) : null);
    if (query.format !== "csv") return c.json(result);
    return c.body(toCsv(result.data as unknown as Record<string, unknown>[], AUDIT_COLUMNS), 200, {
      "content-type": "text/csv; charset=utf-8",
      "content-disposition": `attachment; filename="sluice-audit.csv"`,
      ...(result.next_cursor ? { "x-next-cursor": result.next_cursor } : {}),
    });
  },
);
