// Request logs: what a caller asked and what it was answered, kept in object
// storage (an R2 bucket bound as REQUEST_LOGS) for callers whose settings
// turn `request_logs` on, and never for a caller under `zero_retention`,
// whatever a wider level says. Each side is redacted, then cut to a size cap
// and marked when cut; a streamed answer is stored assembled, with its
// events. The ledger row says where the log is (`metadata.request_log`).
import { type Principal, principalPolicy } from "../auth/principal.ts";
import type { GatewayContext } from "../context.ts";
import type { UsageMeter } from "../usage/meter.ts";
import { redactForStorage, storedSecrets } from "./redact.ts";

/** The most of each side (prompt, answer) a log keeps; the rest is cut and marked. */
export const REQUEST_LOG_MAX_BYTES = 256 * 1024;

/** The object storage a log is written to and read from (an R2 bucket binding). */
export interface RequestLogBucket {
  put(key: string, value: string, options?: { httpMetadata?: { contentType?: string } }): Promise<unknown>;
  get(key: string): Promise<{ text(): Promise<string> } | null>;
  list(options: { prefix: string; delimiter?: string; cursor?: string; limit?: number }): Promise<{
    objects: { key: string }[];
    delimitedPrefixes: string[];
    truncated: boolean;
    cursor?: string;
  }>;
  delete(keys: string[]): Promise<void>;
}

export interface StoredSide {
  body: unknown;
  truncated: boolean;
}

export interface RequestLog {
  request_id: string;
  created_at: string;
  request: StoredSide;
  response: StoredSide & { status: number; content_type: string | null; events?: unknown[] };
}

const LOG_PREFIX = "requests/";
/** The most logs one cron run deletes; the next run goes on where it stopped. */
const DELETES_PER_RUN = 10_000;

/** Kept under the day it was made (UTC), so that retention deletes whole days. */
export const requestLogKey = (requestId: string, at = Date.now()) =>
  `${LOG_PREFIX}${new Date(at).toISOString().slice(0, 10)}/${requestId}.json`;

/**
 * The cron's share: the logs of days past the retention period deleted, a
 * bounded number per run (the next run goes on where this one stopped).
 * Returns how many were deleted.
 */
export async function deleteExpiredLogs(bucket: RequestLogBucket, retentionDays: number, now = Date.now()): Promise<number> {
  const cutoff = new Date(now - retentionDays * 86_400_000).toISOString().slice(0, 10);
  const days = await bucket.list({ prefix: LOG_PREFIX, delimiter: "/" });
  let deleted = 0;
  for (const day of days.delimitedPrefixes.sort()) {
    if (day.slice(LOG_PREFIX.length, -1) >= cutoff || deleted >= DELETES_PER_RUN) break;
    // A day of half a million logs is deleted over several runs, not in one.
    while (deleted < DELETES_PER_RUN) {
      const page = await bucket.list({ prefix: day, limit: Math.min(1000, DELETES_PER_RUN - deleted) });
      if (page.objects.length === 0) break;
      await bucket.delete(page.objects.map((object) => object.key));
      deleted += page.objects.length;
      if (!page.truncated) break;
    }
  }
  return deleted;
}

/** Whether a caller's calls are logged: opted in at some level, and not under zero retention. */
export function logsRequests(principal: Principal): boolean {
  const policy = principalPolicy(principal);
  return policy?.request_logs === true && policy.zero_retention !== true;
}

/**
 * Where a call's record is opened: a caller that opted in, with a bucket
 * bound, has its call marked for the log (the ledger row points at it).
 */
export function markForLog(c: GatewayContext, meter: UsageMeter): void {
  if (!c.env.REQUEST_LOGS || !logsRequests(c.get("principal"))) return;
  const key = requestLogKey(c.get("requestId"), Date.now());
  meter.flags.request_log = key;
  c.set("requestLog", key);
}

function cut(text: string): StoredSide & { text: string } {
  const bytes = new TextEncoder().encode(text);
  if (bytes.byteLength <= REQUEST_LOG_MAX_BYTES) return { text, body: text, truncated: false };
  const kept = new TextDecoder().decode(bytes.slice(0, REQUEST_LOG_MAX_BYTES)).replace(/\uFFFD$/, "");
  return { text: kept, body: kept, truncated: true };
}

/**
 * A side redacted and stored. Redaction reads twice the cap at most (it can
 * shorten what it reads; megabytes of prompt are not scanned whole), and a
 * side cut before redaction is marked cut, whatever redaction made of the rest.
 */
function redactedSide(text: string, secrets: (string | undefined)[]): StoredSide & { text: string } {
  const readable = REQUEST_LOG_MAX_BYTES * 2;
  if (text.length <= readable) return stored(redactForStorage(text, secrets));
  return { ...stored(redactForStorage(text.slice(0, readable), secrets)), truncated: true };
}

/** A side as stored: its JSON when whole and JSON, its text otherwise. */
function stored(text: string): StoredSide & { text: string } {
  const side = cut(text);
  if (side.truncated) return side;
  try {
    return { ...side, body: JSON.parse(side.text) };
  } catch {
    return side;
  }
}

const withoutText = ({ text: _text, ...side }: StoredSide & { text: string }): StoredSide => side;

/** A stream's events: each `data:` payload, parsed where it is JSON. */
function streamEvents(text: string): unknown[] {
  return text
    .split(/\r?\n\r?\n/)
    .map((event) =>
      event
        .split(/\r?\n/)
        .filter((line) => line.startsWith("data:"))
        .map((line) => line.slice(5).trimStart())
        .join("\n"),
    )
    .filter((data) => data.length > 0)
    .map((data) => {
      try {
        return JSON.parse(data);
      } catch {
        return data;
      }
    });
}

/**
 * Reads the whole body as it goes by the caller, up to the cap, and says
 * whether there was more. A stream the caller leaves, or that fails on the
 * way, resolves with what went by, marked as more: the log is of what
 * happened, never waited on forever.
 */
export function tee(response: Response): { response: Response; text: Promise<{ text: string; more: boolean }> } {
  const chunks: Uint8Array[] = [];
  let size = 0;
  let done: (value: { text: string; more: boolean }) => void = () => undefined;
  const text = new Promise<{ text: string; more: boolean }>((resolve) => {
    done = resolve;
  });
  const decoder = new TextDecoder();
  const finish = (cut: boolean) =>
    done({
      text: chunks.map((chunk) => decoder.decode(chunk, { stream: true })).join(""),
      more: cut || size > REQUEST_LOG_MAX_BYTES * 2,
    });
  if (!response.body) {
    finish(false);
    return { response, text };
  }
  const gather = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      // Twice the cap is kept raw (of one large chunk too): the stored side is cut after redaction, which can shorten it.
      if (size < REQUEST_LOG_MAX_BYTES * 2) chunks.push(chunk.subarray(0, REQUEST_LOG_MAX_BYTES * 2 - size));
      size += chunk.byteLength;
      controller.enqueue(chunk);
    },
    flush: () => finish(false),
    // The caller left: what went by is the log.
    cancel: () => finish(true),
  } as Transformer<Uint8Array, Uint8Array>);
  // A body that fails on the way fails the pipe, which cancels the transformer: what went by is the log.
  return { response: new Response(response.body.pipeThrough(gather), response), text };
}

/**
 * After the route: for a call marked for the log, the answer is read as it
 * goes by (nothing held back from the caller), and both sides are stored in
 * the request's deferred work once the answer is whole. Resolves to the
 * log as stored (for the log export), or undefined when it could not be.
 */
export function captureRequestLog(c: GatewayContext, bucket: RequestLogBucket, key: string): Promise<RequestLog | undefined> {
  const teed = tee(c.res);
  const status = c.res.status;
  const contentType = c.res.headers.get("content-type");
  c.res = teed.response;
  const secrets = storedSecrets(c);
  const prompt = JSON.stringify(c.get("requestBody") ?? null);
  const write = teed.text.then(async ({ text, more }) => {
    const answer = stored(redactForStorage(text, secrets));
    const streamed = contentType?.startsWith("text/event-stream") ?? false;
    const log: RequestLog = {
      request_id: c.get("requestId"),
      created_at: new Date().toISOString(),
      request: withoutText(redactedSide(prompt, secrets)),
      response: {
        status,
        content_type: contentType,
        body: streamed ? answer.text : answer.body,
        truncated: answer.truncated || more,
        ...(streamed && { events: streamEvents(answer.text) }),
      },
    };
    await bucket.put(key, JSON.stringify(log), { httpMetadata: { contentType: "application/json" } });
    return log;
  });
  const done = write.catch((error: unknown) => {
    console.error(`sluice: ${c.get("requestId")} request log not stored: ${String(error)}`);
    return undefined;
  });
  c.executionCtx.waitUntil(done);
  return done;
}
