// The audit log: a row for every change made through the admin API (who,
// what, when, from which network, with which user agent, the object before
// and after, the request id), and the reading of it. Rows are only ever
// inserted: no route updates or deletes one, and Postgres refuses to.
import { and, desc, eq, gte, lt, lte, type SQL } from "drizzle-orm";
import type { MiddlewareHandler } from "hono";
import { networkHash } from "../apps/network.ts";
import type { GatewayContext, GatewayEnv } from "../context.ts";
import { auditLog } from "../db/schema.ts";
import { logDetail } from "../log.ts";
import type { Services } from "../services.ts";
import { type ExportRecord, logExporterFor } from "../telemetry/log-export.ts";
import { VERSION } from "../version.ts";
import * as z from "../zod.ts";

/** Fields whose values never reach the log: secrets shown once, sealed credentials. */
const SECRET_FIELDS = /^(key|secret|token|api_key|apiKey|password|client_secret|publishable_key|credential)$/i;
const REDACTED = "[redacted]";

export function redact(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redact);
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>).map(([name, inner]) => [
      name,
      SECRET_FIELDS.test(name) && inner !== null && typeof inner !== "object" ? REDACTED : redact(inner),
    ]),
  );
}

export interface AuditEntry {
  orgId: string;
  actorType: string;
  actorId: string;
  actorEmail: string | null;
  action: string;
  method: string;
  path: string;
  targetType: string | null;
  targetId: string | null;
  status: number;
  ipHash: string | null;
  userAgent: string | null;
  requestId: string;
  before: unknown;
  after: unknown;
}

/**
 * Writes the row; with the log export on, the same row (secrets redacted)
 * goes to the operator's sink too, as a record of type `audit`, after the
 * response.
 */
export async function appendAudit(c: GatewayContext, entry: AuditEntry): Promise<void> {
  const row = { ...entry, before: redact(entry.before), after: redact(entry.after) };
  await c.get("services").db.insert(auditLog).values(row);
  const logExport = c.get("config").observability.logExport;
  if (logExport) {
    const { orgId, actorType, actorId, actorEmail, targetType, targetId, ipHash, userAgent, requestId, ...rest } = row;
    const record: ExportRecord = {
      type: "audit",
      timestamp: new Date().toISOString(),
      request_id: requestId,
      org_id: orgId,
      actor_type: actorType,
      actor_id: actorId,
      actor_email: actorEmail,
      target_type: targetType,
      target_id: targetId,
      ip_hash: ipHash,
      user_agent: userAgent,
      ...rest,
    };
    c.executionCtx.waitUntil(logExporterFor(logExport, VERSION).export(record));
  }
}

async function jsonOf(response: Response): Promise<unknown> {
  if (!response.headers.get("content-type")?.includes("application/json")) return null;
  try {
    return await response.clone().json();
  } catch {
    return null;
  }
}

/** `/admin/keys/:id/revoke` → `keys`; `/admin/mcp/servers/:name` → `mcp/servers`. */
function targetTypeOf(pattern: string): string | null {
  const parts = pattern.replace(/^\/admin\/?/, "").split("/");
  const named = parts.filter((part) => part && !part.startsWith(":"));
  if (named[0] === "mcp" || named[0] === "billing") return named.slice(0, 2).join("/");
  return named[0] ?? null;
}

/**
 * The admin API's writes, each recorded once it succeeded: the object as it
 * was (read through `readBefore` first, for changes to something named in
 * the path) and as the response shows it, secrets redacted. Reads, and
 * writes that only read (a route whose permission is a `:read` one, such as
 * explaining a route), write nothing. A write whose row cannot be stored
 * still answers: the failure is logged, the change already made.
 */
export function auditWrites(readBefore: (c: GatewayContext, path: string) => Promise<unknown>): MiddlewareHandler<GatewayEnv> {
  return async (c, next) => {
    const method = c.req.method;
    if (method === "GET" || method === "HEAD" || method === "OPTIONS") return next();
    const path = c.req.path;
    const matched = c.req.matchedRoutes.filter((route) => route.method !== "ALL").at(-1)?.path ?? path;
    // A change or removal reads the object at its own path; an action on one (`/admin/keys/{id}/rotate`), the object
    // it acts on. A POST that creates, or acts on no one object, has no `before`.
    const segments = path.split("/").filter(Boolean);
    const resource =
      method !== "POST" ? path : matched.includes("/:") && segments.length >= 4 ? `/${segments.slice(0, -1).join("/")}` : null;
    const before = resource ? await readBefore(c, resource).catch(() => null) : null;
    await next();
    const permission = c.get("permission");
    if (c.res.status >= 400 || !permission || (permission.length > 0 && permission.every((p) => p.endsWith(":read")))) return;
    const principal = c.get("principal");
    const after = await jsonOf(c.res);
    const afterId = after && typeof after === "object" && "id" in after ? String((after as { id: unknown }).id) : null;
    const params = c.req.param() as Record<string, string | undefined>;
    try {
      await appendAudit(c, {
        orgId: principal.type === "operator" ? principal.orgId : "default",
        actorType: principal.type === "operator" ? principal.via : "admin",
        actorId: principal.type === "operator" ? principal.subject : "admin",
        actorEmail: principal.type === "operator" ? principal.email : null,
        action: `${method} ${matched}`,
        method,
        path,
        targetType: targetTypeOf(matched),
        targetId: params.id ?? params.name ?? params.subject ?? afterId,
        status: c.res.status,
        ipHash: await networkHash(c.req.raw, c.get("config").apps.ipHashSalt),
        userAgent: c.req.header("user-agent")?.slice(0, 512) ?? null,
        requestId: c.get("requestId"),
        before,
        after,
      });
    } catch (error) {
      console.error(`sluice: ${c.get("requestId")} audit row not written: ${logDetail(error)}`);
    }
  };
}

export const auditQuery = z.strictObject({
  actor: z.optional(z.string().check(z.maxLength(300))),
  action: z.optional(z.string().check(z.maxLength(300))),
  target_type: z.optional(z.string().check(z.maxLength(100))),
  target_id: z.optional(z.string().check(z.maxLength(300))),
  request_id: z.optional(z.string().check(z.maxLength(100))),
  from: z.optional(z.iso.datetime({ offset: true })),
  to: z.optional(z.iso.datetime({ offset: true })),
  limit: z._default(z.coerce.number().check(z.int(), z.gte(1), z.lte(1000)), 100),
  /** The id of the last row of the previous page: rows older than it. */
  cursor: z.optional(z.coerce.number().check(z.int(), z.gte(1))),
  format: z._default(z.enum(["json", "csv"]), "json"),
});
export type AuditQuery = z.infer<typeof auditQuery>;

export const AUDIT_COLUMNS = [
  "id",
  "at",
  "org_id",
  "actor_type",
  "actor_id",
  "actor_email",
  "action",
  "method",
  "path",
  "target_type",
  "target_id",
  "status",
  "ip_hash",
  "user_agent",
  "request_id",
  "before",
  "after",
];

type AuditRow = typeof auditLog.$inferSelect;

export function auditView(row: AuditRow) {
  return {
    id: row.id,
    at: row.at.toISOString(),
    org_id: row.orgId,
    actor_type: row.actorType,
    actor_id: row.actorId,
    actor_email: row.actorEmail,
    action: row.action,
    method: row.method,
    path: row.path,
    target_type: row.targetType,
    target_id: row.targetId,
    status: row.status,
    ip_hash: row.ipHash,
    user_agent: row.userAgent,
    request_id: row.requestId,
    before: row.before,
    after: row.after,
  };
}

/** The newest rows first, filtered; an operator sees their own organization's. */
export async function listAudit(services: Services, query: AuditQuery, orgId: string | null) {
  const where: SQL[] = [];
  if (orgId) where.push(eq(auditLog.orgId, orgId));
  if (query.actor) where.push(eq(auditLog.actorId, query.actor));
  if (query.action) where.push(eq(auditLog.action, query.action));
  if (query.target_type) where.push(eq(auditLog.targetType, query.target_type));
  if (query.target_id) where.push(eq(auditLog.targetId, query.target_id));
  if (query.request_id) where.push(eq(auditLog.requestId, query.request_id));
  if (query.from) where.push(gte(auditLog.at, new Date(query.from)));
  if (query.to) where.push(lte(auditLog.at, new Date(query.to)));
  if (query.cursor) where.push(lt(auditLog.id, query.cursor));
  const rows = await services.db
    .select()
    .from(auditLog)
    .where(and(...where))
    .orderBy(desc(auditLog.id))
    .limit(query.limit + 1);
  const page = rows.slice(0, query.limit).map(auditView);
  const last = page.at(-1);
  return { data: page, next_cursor: rows.length > query.limit && last ? String(last.id) : null };
}
