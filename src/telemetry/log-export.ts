// Log export: each model call's record (the ledger's fields, and its
// prompt and answer where request logging is on) shipped to an operator's
// HTTP sink — Loki, Datadog, Vector, an OpenTelemetry Collector, a data
// lake's ingest — as JSON lines or as OTLP logs. Records of an isolate's
// requests are posted together in one request's deferred work, after the
// responses; a sink that is slow, down or refusing costs a request nothing.
// At most MAX_QUEUED_RECORDS wait in an isolate; a batch the sink did not
// take (timeout, connection, 408, 429, 5xx) rides along with the next batch,
// up to MAX_ATTEMPTS tries; what is given up is counted as dropped.
import type { LogExportConfig } from "../config/index.ts";
import { IsolateBatch } from "../isolate-batch.ts";
import { reason } from "../log.ts";
import { signatureHeader } from "../usage/webhooks.ts";
import { nanos } from "./otlp.ts";

/** Records an isolate holds for export at most (waiting and to be tried again); more are dropped, and counted. */
export const MAX_QUEUED_RECORDS = 1000;
/** Tries of one record before it is given up. */
export const MAX_ATTEMPTS = 3;
/** How long an export waits for other requests' records to join it. */
const GATHER_MS = 25;

/** One exported record: flat JSON, `type` first (`request`; other kinds may follow). */
export type ExportRecord = { type: string; timestamp: string; request_id?: string } & Record<string, unknown>;

interface Queued {
  record: ExportRecord;
  attempts: number;
}

type AnyValue =
  | { stringValue: string }
  | { intValue: string }
  | { doubleValue: number }
  | { boolValue: boolean }
  | { arrayValue: { values: AnyValue[] } }
  | { kvlistValue: { values: { key: string; value: AnyValue }[] } }
  | Record<string, never>;

/** Any JSON value as OTLP's AnyValue. */
export function anyValue(value: unknown): AnyValue {
  if (value === null || value === undefined) return {};
  if (typeof value === "string") return { stringValue: value };
  if (typeof value === "boolean") return { boolValue: value };
  if (typeof value === "number") return Number.isInteger(value) ? { intValue: String(value) } : { doubleValue: value };
  if (Array.isArray(value)) return { arrayValue: { values: value.map(anyValue) } };
  if (typeof value === "object") return { kvlistValue: { values: keyValues(value as Record<string, unknown>) } };
  return { stringValue: String(value) };
}

const keyValues = (object: Record<string, unknown>) =>
  Object.entries(object)
    .filter(([, value]) => value !== undefined && value !== null)
    .map(([key, value]) => ({ key, value: anyValue(value) }));

/** OTLP's severity for a record: INFO, WARN for a 4xx, ERROR for a 5xx. */
function severity(status: unknown): { severityNumber: number; severityText: string } {
  const code = typeof status === "number" ? status : 0;
  if (code >= 500) return { severityNumber: 17, severityText: "ERROR" };
  if (code >= 400) return { severityNumber: 13, severityText: "WARN" };
  return { severityNumber: 9, severityText: "INFO" };
}

/** The body of one `POST` to an OTLP logs endpoint: ExportLogsServiceRequest in its JSON mapping. */
export function encodeLogs(records: ExportRecord[], serviceName: string, scopeVersion: string, nowMs = Date.now()): unknown {
  return {
    resourceLogs: [
      {
        resource: { attributes: keyValues({ "service.name": serviceName, "telemetry.sdk.language": "js" }) },
        scopeLogs: [
          {
            scope: { name: "sluice", version: scopeVersion },
            logRecords: records.map((record) => ({
              timeUnixNano: nanos(Date.parse(record.timestamp)),
              observedTimeUnixNano: nanos(nowMs),
              ...severity(record.status),
              body: anyValue(record),
              attributes: keyValues({
                "event.name": `sluice.${record.type}`,
                "sluice.request_id": record.request_id,
                "gen_ai.request.model": record.model,
                "sluice.provider": record.provider,
                "http.response.status_code": record.status,
              }),
              ...(typeof record.trace_id === "string" && { traceId: record.trace_id }),
              ...(typeof record.span_id === "string" && { spanId: record.span_id }),
            })),
          },
        ],
      },
    ],
  };
}

const retryable = (status: number) => status === 408 || status === 429 || status >= 500;

export class LogExporter {
  /** Records handed over and not yet posted, and those waiting to be tried again. */
  private held = 0;
  private dropped = 0;
  private retry: Queued[] = [];
  private readonly batch: IsolateBatch<Queued>;

  constructor(
    private readonly config: LogExportConfig,
    private readonly version: string,
  ) {
    this.batch = new IsolateBatch((items) => this.post(items), { gatherMs: GATHER_MS, waitForFlush: false });
  }

  /** Hands a record over; resolves once its batch is posted (for the request that owns the batch). */
  async export(record: ExportRecord): Promise<void> {
    if (this.held >= MAX_QUEUED_RECORDS) {
      this.drop(1, "the export queue is full");
      return;
    }
    this.held++;
    await this.batch.add({ record, attempts: 0 });
  }

  /** Records dropped since the last call: counted once, by whoever reports them. */
  takeDropped(): number {
    const dropped = this.dropped;
    this.dropped = 0;
    return dropped;
  }

  private drop(count: number, why: string): void {
    if (count === 0) return;
    this.dropped += count;
    console.warn(`sluice: ${count} exported log records dropped: ${why}`);
  }

  private body(records: ExportRecord[]): { text: string; contentType: string } {
    if (this.config.format === "otlp") {
      return {
        text: JSON.stringify(encodeLogs(records, this.config.serviceName, this.version)),
        contentType: "application/json",
      };
    }
    return { text: `${records.map((record) => JSON.stringify(record)).join("\n")}\n`, contentType: "application/x-ndjson" };
  }

  private async post(fresh: Queued[]): Promise<void> {
    // Those waiting to be tried again go first, in the order they came.
    const items = [...this.retry, ...fresh];
    this.retry = [];
    const { text, contentType } = this.body(items.map((item) => item.record));
    const headers: Record<string, string> = { ...this.config.headers, "content-type": contentType, "user-agent": "sluice-logs" };
    if (this.config.secret)
      headers["x-sluice-signature"] = await signatureHeader(this.config.secret, text, Math.floor(Date.now() / 1000));
    let failure: string | undefined;
    let again = true;
    try {
      const response = await fetch(this.config.url, {
        method: "POST",
        headers,
        body: text,
        signal: AbortSignal.timeout(this.config.timeoutMs),
      });
      await response.body?.cancel();
      if (!response.ok) {
        failure = `the sink answered ${response.status}`;
        again = retryable(response.status);
      }
    } catch (error) {
      failure = `the sink could not be reached (${reason(error)})`;
    }
    if (failure === undefined) {
      this.held -= items.length;
      return;
    }
    const kept = again ? items.filter((item) => ++item.attempts < MAX_ATTEMPTS) : [];
    this.retry = kept;
    this.held -= items.length - kept.length;
    this.drop(items.length - kept.length, failure);
  }
}

const exporters = new WeakMap<LogExportConfig, LogExporter>();

/** The isolate's exporter for a configuration (built once per Config, like the other clients). */
export function logExporterFor(config: LogExportConfig, version: string): LogExporter {
  let exporter = exporters.get(config);
  if (!exporter) {
    exporter = new LogExporter(config, version);
    exporters.set(config, exporter);
  }
  return exporter;
}
