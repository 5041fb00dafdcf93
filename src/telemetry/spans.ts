// One request's spans, kept in memory while it runs: the server span, a
// client span per upstream attempt, and the events of the decisions taken.
// Plain data, turned into OTLP only once the request is done.
import { formatTraceparent, randomHex, type SpanContext } from "./trace-context.ts";

export type AttributeValue = string | number | boolean | string[];
export type Attributes = Record<string, AttributeValue | undefined>;

export interface SpanEvent {
  name: string;
  timeMs: number;
  attributes: Attributes;
}

export interface Span {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: "server" | "client";
  startMs: number;
  endMs?: number;
  attributes: Attributes;
  events: SpanEvent[];
  /** Set when the span failed; OTLP's unset status otherwise. */
  error?: string;
}

export class RequestTrace {
  readonly server: Span;
  readonly attempts: Span[] = [];

  constructor(traceId: string, parent: SpanContext | undefined, startMs: number) {
    this.server = {
      traceId,
      spanId: randomHex(8),
      parentSpanId: parent?.spanId,
      name: "request",
      kind: "server",
      startMs,
      attributes: {},
      events: [],
    };
  }

  /** A client span for one upstream attempt, a child of the server span. */
  startAttempt(name: string, attributes: Attributes): Span {
    // An attempt after one that failed: the call fails over, from that target to this one.
    const previous = this.attempts.at(-1);
    if (previous?.error !== undefined) {
      this.event("sluice.failover", {
        "sluice.from.provider": previous.attributes["sluice.provider"],
        "sluice.from.model": previous.attributes["gen_ai.request.model"],
        "sluice.to.provider": attributes["sluice.provider"],
        "sluice.to.model": attributes["gen_ai.request.model"],
        "error.type": previous.attributes["error.type"],
      });
    }
    const span: Span = {
      traceId: this.server.traceId,
      spanId: randomHex(8),
      parentSpanId: this.server.spanId,
      name,
      kind: "client",
      startMs: Date.now(),
      attributes,
      events: [],
    };
    this.attempts.push(span);
    return span;
  }

  /** The attempt that answered: the last one, still open. */
  get answering(): Span | undefined {
    const last = this.attempts.at(-1);
    return last && last.endMs === undefined ? last : undefined;
  }

  event(name: string, attributes: Attributes = {}, timeMs = Date.now()): void {
    this.server.events.push({ name, timeMs, attributes });
  }

  /** The header the upstream call carries, naming a span as its parent. */
  static traceparentOf(span: Span): string {
    return formatTraceparent({ traceId: span.traceId, spanId: span.spanId, sampled: true });
  }

  spans(): Span[] {
    return [this.server, ...this.attempts];
  }
}
