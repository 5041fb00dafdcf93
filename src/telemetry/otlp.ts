// A small OTLP/HTTP exporter (JSON encoding) of our own: the OpenTelemetry
// JS SDK's exporters assume Node or a browser (timers that outlive the
// request, XHR, process globals) and would cost the bundle more than the
// ~100 lines the protocol needs. Spans of an isolate's requests are posted
// together (one request's deferred work carries the batch), after the
// responses; a collector that is slow, down or refusing costs a request
// nothing, and the spans it did not take are counted as dropped.
import type { TracingConfig } from "../config/index.ts";
import { IsolateBatch } from "../isolate-batch.ts";
import { reason } from "../log.ts";
import type { Attributes, AttributeValue, Span } from "./spans.ts";

/** Spans an isolate holds for export at most; more are dropped, and counted. */
export const MAX_QUEUED_SPANS = 2048;
/** How long an export waits for other requests' spans to join it. */
const GATHER_MS = 25;

type OtlpValue =
  | { stringValue: string }
  | { intValue: string }
  | { doubleValue: number }
  | { boolValue: boolean }
  | { arrayValue: { values: OtlpValue[] } };

function otlpValue(value: AttributeValue): OtlpValue {
  if (Array.isArray(value)) return { arrayValue: { values: value.map((item) => ({ stringValue: item })) } };
  if (typeof value === "boolean") return { boolValue: value };
  if (typeof value === "number") return Number.isInteger(value) ? { intValue: String(value) } : { doubleValue: value };
  return { stringValue: value };
}

const otlpAttributes = (attributes: Attributes) =>
  Object.entries(attributes)
    .filter((entry): entry is [string, AttributeValue] => entry[1] !== undefined)
    .map(([key, value]) => ({ key, value: otlpValue(value) }));

/** Milliseconds since the epoch as OTLP's nanoseconds, a decimal string. */
export const nanos = (ms: number) => `${BigInt(Math.round(ms * 1000)) * 1000n}`;

const SPAN_KIND = { server: 2, client: 3 } as const;
const STATUS_ERROR = 2;

/** The body of one `POST /v1/traces`: OTLP's ExportTraceServiceRequest in its JSON mapping. */
export function encodeSpans(spans: Span[], serviceName: string, scopeVersion: string): unknown {
  return {
    resourceSpans: [
      {
        resource: { attributes: otlpAttributes({ "service.name": serviceName, "telemetry.sdk.language": "js" }) },
        scopeSpans: [
          {
            scope: { name: "sluice", version: scopeVersion },
            spans: spans.map((span) => ({
              traceId: span.traceId,
              spanId: span.spanId,
              ...(span.parentSpanId && { parentSpanId: span.parentSpanId }),
              name: span.name,
              kind: SPAN_KIND[span.kind],
              startTimeUnixNano: nanos(span.startMs),
              endTimeUnixNano: nanos(span.endMs ?? span.startMs),
              attributes: otlpAttributes(span.attributes),
              events: span.events.map((event) => ({
                name: event.name,
                timeUnixNano: nanos(event.timeMs),
                attributes: otlpAttributes(event.attributes),
              })),
              status: span.error === undefined ? {} : { code: STATUS_ERROR, message: span.error },
            })),
          },
        ],
      },
    ],
  };
}

export class OtlpExporter {
  private queued = 0;
  private dropped = 0;
  private readonly batch: IsolateBatch<Span[]>;

  constructor(
    private readonly config: TracingConfig,
    private readonly version: string,
  ) {
    this.batch = new IsolateBatch((items) => this.post(items.flat()), { gatherMs: GATHER_MS, waitForFlush: false });
  }

  /** Hands a request's spans over; resolves once they are posted (for the request that owns the batch). */
  async export(spans: Span[]): Promise<void> {
    if (this.queued + spans.length > MAX_QUEUED_SPANS) {
      this.drop(spans.length, "the export queue is full");
      return;
    }
    this.queued += spans.length;
    await this.batch.add(spans);
  }

  /** Spans dropped since the last call: counted once, by whoever reports them. */
  takeDropped(): number {
    const dropped = this.dropped;
    this.dropped = 0;
    return dropped;
  }

  private drop(count: number, why: string): void {
    this.dropped += count;
    console.warn(`sluice: ${count} spans dropped: ${why}`);
  }

  private async post(spans: Span[]): Promise<void> {
    this.queued -= spans.length;
    try {
      const response = await fetch(this.config.url, {
        method: "POST",
        headers: { ...this.config.headers, "content-type": "application/json" },
        body: JSON.stringify(encodeSpans(spans, this.config.serviceName, this.version)),
        signal: AbortSignal.timeout(this.config.timeoutMs),
      });
      await response.body?.cancel();
      if (!response.ok) this.drop(spans.length, `the collector answered ${response.status}`);
    } catch (error) {
      this.drop(spans.length, `the collector could not be reached (${reason(error)})`);
    }
  }
}

const exporters = new WeakMap<TracingConfig, OtlpExporter>();

/** The isolate's exporter for a configuration (built once per Config, like the other clients). */
export function exporterFor(config: TracingConfig, version: string): OtlpExporter {
  let exporter = exporters.get(config);
  if (!exporter) {
    exporter = new OtlpExporter(config, version);
    exporters.set(config, exporter);
  }
  return exporter;
}
