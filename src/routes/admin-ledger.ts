// `/admin/usage/undelivered`, `/admin/billing/outbox` and `/admin/requests/{id}`:
// what has not reached the ledger or the billing webhook yet, sending outbox
// rows again, and one request with what was asked and answered. Mounted
// under `/admin`, behind its authentication and audit.
import { and, eq, sql } from "drizzle-orm";
import { Hono } from "hono";
import { DESCRIBE } from "#describe";
import { can, canOrgWide, type Permission } from "../auth/roles.ts";
import type { GatewayContext, GatewayEnv } from "../context.ts";
import { usageEvents } from "../db/schema.ts";
import { badRequest, GatewayError } from "../http/errors.ts";
import { validQuery } from "../http/page-query.ts";
import { parseJsonBody } from "../http/validate.ts";
import { doc } from "../openapi/doc.ts";
import { usageScope } from "../orgs/scope.ts";
import { deliverBilling } from "../usage/billing-wake.ts";
import { rowView } from "../usage/query.ts";
import type { UsageRecord } from "../usage/record.ts";
import { DEAD_USAGE_KEY, PARKED_USAGE_KEY } from "../usage/writer.ts";
import * as z from "../zod.ts";
import { permits } from "./endpoint.ts";

export const adminLedgerRoutes = new Hono<GatewayEnv>();

/**
 * 403 unless the caller's organization role reaches every team: what the
 * route shows is every team's, rows a team's reader may not see.
 */
function assertOrgWide(c: GatewayContext, permission: Permission, message: string): void {
  if (canOrgWide(c.get("principal"), permission)) return;
  throw new GatewayError(403, "permission", message, { code: "permission_denied" });
}

/**
 * Usage records not in the ledger yet: parked (Postgres was unreachable; the
 * cron drains them) and dead (Postgres refused them; kept for an operator).
 */
adminLedgerRoutes.get(
  "/usage/undelivered",
  permits("usage:read"),
  doc(DESCRIBE && { summary: "Usage records parked or dead on the way to the ledger" }),
  async (c) => {
    assertOrgWide(c, "usage:read", "Undelivered usage records are every team's: a team role does not reach them.");
    const { redis } = c.get("services");
    const [parked, dead, deadRecords] = await Promise.all([
      redis.llen(PARKED_USAGE_KEY),
      redis.llen(DEAD_USAGE_KEY),
      redis.lrange<UsageRecord>(DEAD_USAGE_KEY, 0, 99),
    ]);
    return c.json({ parked, dead, dead_records: deadRecords });
  },
);

const outboxQuery = z.object({
  status: z._default(z.enum(["pending", "dead", "sent"], { message: "must be pending, dead or sent" }), "pending"),
  limit: z._default(z.coerce.number().check(z.int(), z.gte(1), z.lte(500)), 100),
});

const OUTBOX_STATES = {
  pending: sql`sent_at is null and dead_at is null`,
  dead: sql`dead_at is not null`,
  sent: sql`sent_at is not null`,
};

/** The billing outbox: what waits for the webhook, what ran out of attempts, what was delivered. */
adminLedgerRoutes.get(
  "/billing/outbox",
  permits("billing:read"),
  doc(DESCRIBE && { summary: "The billing webhook's backlog, dead and sent rows, with counts", query: outboxQuery }),
  validQuery(outboxQuery),
  async (c) => {
    assertOrgWide(c, "billing:read", "The billing outbox holds every team's rows: a team role does not reach it.");
    const { status, limit } = c.req.valid("query");
    const { db } = c.get("services");
    const [counts, rows] = await Promise.all([
      db.execute(sql`select
        count(*) filter (where sent_at is null and dead_at is null)::int as pending,
        count(*) filter (where dead_at is not null)::int as dead,
        count(*) filter (where sent_at is not null)::int as sent
      from billing_outbox`),
      db.execute(sql`select request_id, attempts, created_at, next_attempt_at, sent_at, dead_at, last_error, payload
      from billing_outbox where ${OUTBOX_STATES[status]} order by id desc limit ${limit}`),
    ]);
    return c.json({ counts: counts.rows[0], status, data: rows.rows });
  },
);

const replaySchema = z.object({ request_ids: z.optional(z.array(z.string().check(z.minLength(1))).check(z.maxLength(1000))) });

/** Sends rows again: the ones named (sent or dead), or every dead one; delivery starts at once. */
adminLedgerRoutes.post(
  "/billing/outbox/replay",
  permits("billing:write"),
  doc(DESCRIBE && { summary: "Sends dead (or named) outbox rows again", body: replaySchema }),
  async (c) => {
    const { request_ids: ids } = await parseJsonBody(c, replaySchema);
    const services = c.get("services");
    const { db, webhooks } = services;
    if (!webhooks.billing) {
      throw badRequest("BILLING_WEBHOOK_URL is not set: there is nowhere to replay to.", undefined, "billing_webhook_unset");
    }
    const which = ids?.length
      ? sql`request_id in (${sql.join(
          ids.map((id) => sql`${id}`),
          sql`, `,
        )})`
      : sql`dead_at is not null`;
    const result = await db.execute(sql`update billing_outbox
    set sent_at = null, dead_at = null, attempts = 0, next_attempt_at = now(), claimed_until = null, last_error = null
    where ${which} returning request_id`);
    const replayed = result.rows.map((row) => (row as { request_id: string }).request_id);
    // Just these go now; anything else due waits for its own turn.
    c.executionCtx.waitUntil(deliverBilling(services, { requestIds: replayed }));
    return c.json({ replayed: replayed.length, request_ids: replayed });
  },
);

adminLedgerRoutes.get(
  "/requests/:id",
  permits("usage:read"),
  doc(
    DESCRIBE && { summary: "One request: its ledger row and, where the caller's calls are logged, what was asked and answered" },
  ),
  async (c) => {
    const requestId = c.req.param("id");
    // A team's reader finds its teams' requests only; another team's is not found, as if it did not exist.
    const [row] = await c
      .get("services")
      .db.select()
      .from(usageEvents)
      .where(and(eq(usageEvents.requestId, requestId), usageScope(c.get("principal"))));
    if (!row)
      throw new GatewayError(404, "not_found", `No request \`${requestId}\` in the ledger.`, { code: "request_not_found" });
    const view = rowView(row);
    const key = view.metadata.request_log;
    // What was asked and answered is read with `logs:read`, in the row's team or the organization: spend is not prompts.
    if (typeof key === "string" && !can(c.get("principal"), "logs:read", row.teamId)) {
      return c.json({ ...view, log: null, log_withheld: "logs:read" });
    }
    const bucket = c.env.REQUEST_LOGS;
    const stored = typeof key === "string" && bucket ? await bucket.get(key) : null;
    return c.json({ ...view, log: stored ? (JSON.parse(await stored.text()) as unknown) : null });
  },
);
