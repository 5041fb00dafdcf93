// Reading the ledger: `GET /api/ai/usage` for any caller (their own rows),
// `GET /admin/usage` over everyone, and LiteLLM's names for the same
// (`/spend/logs`, `/global/spend/report`) for tools that speak them.
import { and, eq, type SQL } from "drizzle-orm";
import { Hono } from "hono";
import { DESCRIBE } from "#describe";
import type { Principal } from "../auth/principal.ts";
import type { GatewayContext, GatewayEnv } from "../context.ts";
import { usageEvents } from "../db/schema.ts";
import { badRequest } from "../http/errors.ts";
import { parseQuery, validQuery } from "../http/page-query.ts";
import { doc } from "../openapi/doc.ts";
import { usageScope } from "../orgs/scope.ts";
import { adminUsageQuery, type Group, groupUsage, listUsage, ownUsageQuery, toCsv, type UsageFilters } from "../usage/query.ts";
import { endpoint } from "./endpoint.ts";

export const usageRoutes = new Hono<GatewayEnv>();

const caller = endpoint({ errors: "openai", gated: false });

/** A user sees their rows and their keys' (which carry their id); a key its own; a guest its device's; the admin key its own calls. */
function ownScope(principal: Principal): SQL {
  if (principal.type === "key") return eq(usageEvents.keyId, principal.keyId);
  if (principal.type === "user") return eq(usageEvents.userId, principal.userId);
  if (principal.type === "guest") {
    return and(eq(usageEvents.appId, principal.appId), eq(usageEvents.deviceId, principal.deviceId)) as SQL;
  }
  return eq(usageEvents.principalType, "admin");
}

async function answer(
  c: GatewayContext,
  scope: SQL | undefined,
  filters: UsageFilters & { group_by?: Group[] },
  options: { withoutRouteReasons?: boolean } = {},
) {
  const { db } = c.get("services");
  const result = filters.group_by
    ? await groupUsage(db, scope, { ...filters, group_by: filters.group_by })
    : await listUsage(db, scope, filters);
  // A caller's own rows keep which route and arm served them, not why: the reasons quote rules' values and the organization's spend.
  if (options.withoutRouteReasons && !filters.group_by) {
    for (const row of (result as { data: { metadata?: Record<string, unknown> }[] }).data) delete row.metadata?.route_reason;
  }
  if (filters.format !== "csv") return c.json(result);
  const rows = result.data.map((row) => ({ ...row }) as Record<string, unknown>);
  return c.body(toCsv(rows), 200, {
    "content-type": "text/csv; charset=utf-8",
    "content-disposition": `attachment; filename="sluice-usage.csv"`,
    ...("next_cursor" in result && result.next_cursor ? { "x-next-cursor": result.next_cursor } : {}),
  });
}

/** `metadata.<field>=<value>` parameters: rows whose metadata holds that value. */
function metadataFilters(c: GatewayContext): Record<string, string> {
  const found: Record<string, string> = {};
  for (const [name, value] of Object.entries(c.req.query())) {
    if (!name.startsWith("metadata.")) continue;
    const field = name.slice("metadata.".length);
    if (!/^[\w.-]{1,64}$/.test(field)) throw badRequest(`Invalid query parameter \`${name}\`: not a metadata field name`, name);
    found[field] = value;
  }
  return found;
}

usageRoutes.get(
  "/api/ai/usage",
  caller,
  doc(
    DESCRIBE && {
      summary: "The caller's own usage rows, or totals",
      query: ownUsageQuery,
      response: { description: "{data, next_cursor}" },
    },
  ),
  validQuery(ownUsageQuery),
  async (c) => answer(c, ownScope(c.get("principal")), c.req.valid("query"), { withoutRouteReasons: true }),
);

/** Spend is read with `usage:read` or `billing:read`; a team's reader sees their teams' rows. */
const admin = endpoint({ errors: "openai", gated: false, permission: ["usage:read", "billing:read"] });

usageRoutes.get(
  "/admin/usage",
  admin,
  doc(
    DESCRIBE && {
      summary: "Everyone's usage, filtered and grouped (and `metadata.<field>=<value>`)",
      query: adminUsageQuery,
      response: { description: "{data, next_cursor}, or CSV", csv: true },
    },
  ),
  validQuery(adminUsageQuery),
  async (c) => answer(c, usageScope(c.get("principal")), { ...c.req.valid("query"), metadata: metadataFilters(c) }),
);

/** LiteLLM's names for Sluice's parameters, so a refusal names the one the caller sent. */
const LITELLM_NAMES = { from: "start_date", to: "end_date", key_id: "api_key" };

/** LiteLLM's spend logs: its parameters mapped onto Sluice's (`start_date`, `end_date`, `user_id`, `request_id`). */
usageRoutes.get(
  "/spend/logs",
  admin,
  doc(DESCRIBE && { summary: "LiteLLM's spend logs: start_date, end_date, user_id, api_key, request_id" }),
  async (c) => {
    const q = c.req.query();
    const filters = parseQuery(
      adminUsageQuery,
      {
        from: q.start_date,
        to: q.end_date,
        user_id: q.user_id,
        request_id: q.request_id,
        key_id: q.api_key,
        limit: q.limit,
        cursor: q.cursor,
      },
      LITELLM_NAMES,
    );
    const page = await listUsage(c.get("services").db, usageScope(c.get("principal")), filters);
    // LiteLLM's answer is the list alone: that there is more, and where it goes on, rides in a header (as the CSV's does).
    return c.json(page.data, 200, page.next_cursor ? { "x-next-cursor": page.next_cursor } : {});
  },
);

const REPORT_GROUPS: Record<string, Group> = { team: "team", customer: "user", user: "user", api_key: "key", model: "model" };

/** LiteLLM's global spend report: totals per day and per `group_by` (team, customer, api_key, model). */
usageRoutes.get(
  "/global/spend/report",
  admin,
  doc(DESCRIBE && { summary: "LiteLLM's global spend report: totals per day and group_by (team, customer, api_key, model)" }),
  async (c) => {
    const q = c.req.query();
    const by = REPORT_GROUPS[q.group_by ?? "team"];
    if (!by) throw badRequest("Invalid query parameter `group_by`: must be team, customer, api_key or model", "group_by");
    const filters = parseQuery(adminUsageQuery, { from: q.start_date, to: q.end_date }, LITELLM_NAMES);
    return c.json(
      (await groupUsage(c.get("services").db, usageScope(c.get("principal")), { ...filters, group_by: ["day", by] })).data,
    );
  },
);
