// Signed webhooks, and the billing outbox's delivery through them.
//
// Signing follows Stripe's scheme: `x-sluice-signature: t=<unix seconds>,
// v1=<hex HMAC-SHA256 of "<t>.<raw body>">`. A receiver recomputes the HMAC
// over the raw body and refuses a mismatch or an old `t`.
//
// The outbox is delivered at least once: rows are claimed by one statement
// (FOR UPDATE SKIP LOCKED, held for a minute), posted in batches of up to 100,
// and marked sent only on a 2xx. A failed batch waits (BILLING_RETRY_BASE,
// 15 s by default, doubling to 110 s) and is tried again; a row is dead,
// listed for an operator who may replay it, only once it has been tried eight
// times and is a day old. Each record carries its request id, which is the
// receiver's key for dropping a repeat. What runs the next pass after a
// failure is in billing-wake.ts.
import { sql } from "drizzle-orm";
import type { WebhookTarget } from "../config/index.ts";
import type { Database } from "../db/client.ts";

export const OUTBOX_BATCH = 100;
/** A row is dead after this many attempts, and only once it is OUTBOX_DEAD_AFTER_HOURS old. */
export const OUTBOX_MAX_ATTEMPTS = 8;
export const OUTBOX_DEAD_AFTER_HOURS = 24;
/** The longest wait between two attempts: a receiver that comes back is tried again within it. */
export const RETRY_CAP_SECONDS = 110;
export const DEFAULT_RETRY_BASE_SECONDS = 15;
const CLAIM_SECONDS = 60;
const POST_TIMEOUT_MS = 15_000;
/** Batches one delivery run sends at most, so a backlog drains over several runs rather than one long one. */
const BATCHES_PER_RUN = 20;

const hex = (bytes: ArrayBuffer) => [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, "0")).join("");

async function hmac(secret: string, text: string): Promise<string> {
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
  return hex(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(text)));
}

/** The `x-sluice-signature` header for a body sent at `t` (unix seconds). */
export async function signatureHeader(secret: string, body: string, t: number): Promise<string> {
  return `t=${t},v1=${await hmac(secret, `${t}.${body}`)}`;
}

export interface Delivery {
  ok: boolean;
  status?: number;
  error?: string;
}

/** POSTs a JSON body, signed; never throws. */
export async function postSigned(target: WebhookTarget, body: string, idempotencyKey: string): Promise<Delivery> {
  const t = Math.floor(Date.now() / 1000);
  try {
    const response = await fetch(target.url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "user-agent": "sluice-webhooks",
        "idempotency-key": idempotencyKey,
        "x-sluice-signature": await signatureHeader(target.secret, body, t),
      },
      body,
      signal: AbortSignal.timeout(POST_TIMEOUT_MS),
    });
    // The receiver's answer is not read beyond its status; the body is drained so the connection is freed.
    await response.body?.cancel();
    return response.ok
      ? { ok: true, status: response.status }
      : { ok: false, status: response.status, error: `HTTP ${response.status}` };
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error.message : String(error) };
  }
}

/** Seconds a batch waits after its n-th failed attempt: base, doubling, at most the cap (or the base, if larger). */
export function retryDelaySeconds(attempts: number, baseSeconds = DEFAULT_RETRY_BASE_SECONDS): number {
  const doublings = Math.min(Math.max(0, attempts - 1), 30);
  return Math.min(Math.max(RETRY_CAP_SECONDS, baseSeconds), baseSeconds * 2 ** doublings);
}

/** The same rows make the same key, so a receiver that saw a batch can tell a retry of it. */
async function batchKey(requestIds: string[]): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode([...requestIds].sort().join("\n")));
  return `usage_${hex(digest).slice(0, 32)}`;
}

interface Claimed {
  id: number;
  request_id: string;
  payload: Record<string, unknown>;
  attempts: number;
}

const inList = (values: string[]) =>
  sql.join(
    values.map((value) => sql`${value}`),
    sql`, `,
  );

/** Takes up to a batch of due rows for this run (of those named, when some are); rows another run holds are skipped. */
async function claim(db: Database, requestIds?: string[]): Promise<Claimed[]> {
  const only = requestIds ? sql`and request_id in (${inList(requestIds)})` : sql``;
  const result = await db.execute(sql`
    update billing_outbox set claimed_until = now() + make_interval(secs => ${CLAIM_SECONDS}), attempts = attempts + 1
    where id in (
      select id from billing_outbox
      where sent_at is null and dead_at is null and next_attempt_at <= now()
        and (claimed_until is null or claimed_until < now()) ${only}
      order by next_attempt_at, id
      limit ${OUTBOX_BATCH}
      for update skip locked
    )
    returning id, request_id, payload, attempts`);
  return (result.rows as unknown as Claimed[]).sort((a, b) => a.id - b.id);
}

export interface OutboxRun {
  sent: number;
  failed: number;
  /** A batch failed: when (ms since the epoch) the first of its rows is due again. */
  retryAt?: number;
  /** The run stopped at its share with due rows perhaps left. */
  more?: boolean;
}

/** A row's wait after a failed attempt, as SQL: each attempt count in the batch mapped to its delay. */
function retryDelaySql(rows: Claimed[], baseSeconds: number) {
  const counts = [...new Set(rows.map((row) => Number(row.attempts)))];
  const arms = counts.map((n) => sql`when ${n}::int then ${retryDelaySeconds(n, baseSeconds)}::double precision`);
  return sql`case attempts ${sql.join(arms, sql` `)} end`;
}

/** Delivers due outbox rows (only those named, when some are) until none are due, a batch fails, or the run's share is done. */
export async function deliverOutbox(
  db: Database,
  target: WebhookTarget & { retryBaseSeconds?: number },
  requestIds?: string[],
): Promise<OutboxRun> {
  const run: OutboxRun = { sent: 0, failed: 0 };
  if (requestIds?.length === 0) return run;
  const baseSeconds = target.retryBaseSeconds ?? DEFAULT_RETRY_BASE_SECONDS;
  for (let batch = 0; batch < BATCHES_PER_RUN; batch++) {
    const rows = await claim(db, requestIds);
    if (rows.length === 0) return run;
    const ids = rows.map((row) => row.id);
    const body = JSON.stringify({ type: "usage.batch", data: rows.map((row) => row.payload) });
    const delivery = await postSigned(target, body, await batchKey(rows.map((row) => row.request_id)));
    const idList = sql.join(
      ids.map((id) => sql`${id}`),
      sql`, `,
    );
    if (delivery.ok) {
      await db.execute(
        sql`update billing_outbox set sent_at = now(), claimed_until = null, last_error = null where id in (${idList})`,
      );
      run.sent += rows.length;
      continue;
    }
    await db.execute(sql`
      update billing_outbox set
        claimed_until = null,
        last_error = ${delivery.error ?? "failed"},
        next_attempt_at = now() + make_interval(secs => ${retryDelaySql(rows, baseSeconds)}),
        dead_at = case
          when attempts >= ${OUTBOX_MAX_ATTEMPTS}
            and created_at <= now() - make_interval(hours => ${OUTBOX_DEAD_AFTER_HOURS}) then now()
        end
      where id in (${idList})`);
    run.failed += rows.length;
    run.retryAt = Date.now() + 1000 * Math.min(...rows.map((row) => retryDelaySeconds(Number(row.attempts), baseSeconds)));
    // The receiver is failing: the rest waits for the next run rather than adding to its load.
    return run;
  }
  run.more = true;
  return run;
}
