// The pure parts of traces and metrics: W3C traceparent, the sampler, the
// OpenTelemetry variables, OTLP's JSON encoding, and the Prometheus text
// format (checked by Prometheus's own promtool where it is installed).
import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/index.ts";
import { renderExposition } from "../../src/metrics/exposition.ts";
import { histogram, seriesName } from "../../src/metrics/families.ts";
import { encodeSpans } from "../../src/telemetry/otlp.ts";
import { RequestTrace } from "../../src/telemetry/spans.ts";
import { formatTraceparent, isSampled, parseTraceparent } from "../../src/telemetry/trace-context.ts";

const TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const SPAN = "00f067aa0ba902b7";
const REQUIRED = {
  DATABASE_URL: "postgres://localhost/sluice",
  UPSTASH_REDIS_REST_URL: "http://127.0.0.1:1",
  UPSTASH_REDIS_REST_TOKEN: "token",
  ADMIN_KEY: "sk-admin-0123456789abcdef",
};

describe("traceparent", () => {
  it("is read as the W3C specification says, and written back", () => {
    expect(parseTraceparent(`00-${TRACE}-${SPAN}-01`)).toEqual({ traceId: TRACE, spanId: SPAN, sampled: true });
    expect(parseTraceparent(`00-${TRACE}-${SPAN}-00`)?.sampled).toBe(false);
    // A later version may carry more; version ff and all-zero ids are invalid; upper case is not hex here.
    expect(parseTraceparent(`01-${TRACE}-${SPAN}-01-extra`)?.traceId).toBe(TRACE);
    for (const bad of [
      `ff-${TRACE}-${SPAN}-01`,
      `00-${"0".repeat(32)}-${SPAN}-01`,
      `00-${TRACE}-${"0".repeat(16)}-01`,
      `00-${TRACE.toUpperCase()}-${SPAN}-01`,
      `00-${TRACE}-${SPAN}-01-extra`,
      "not a traceparent",
      undefined,
    ]) {
      expect(parseTraceparent(bad)).toBeUndefined();
    }
    expect(formatTraceparent({ traceId: TRACE, spanId: SPAN, sampled: true })).toBe(`00-${TRACE}-${SPAN}-01`);
  });

  it("is followed by a parent-based sampler, and a ratio keeps about its share of new traces", () => {
    const parent = { traceId: TRACE, spanId: SPAN, sampled: false };
    expect(isSampled({ parentBased: true, ratio: 1 }, TRACE, parent)).toBe(false);
    expect(isSampled({ parentBased: false, ratio: 1 }, TRACE, parent)).toBe(true);
    const ids = Array.from({ length: 4000 }, () => crypto.randomUUID().replaceAll("-", ""));
    const kept = ids.filter((id) => isSampled({ parentBased: true, ratio: 0.25 }, id, undefined)).length;
    expect(kept / ids.length).toBeGreaterThan(0.2);
    expect(kept / ids.length).toBeLessThan(0.3);
  });
});

describe("the OpenTelemetry variables", () => {
  it("leave tracing and metrics off when unset, or when the sampler keeps nothing", () => {
    expect(parseConfig(REQUIRED).observability).toEqual({
      tracing: undefined,
      metrics: undefined,
      logExport: undefined,
      consoleLog: false,
    });
    const never = { ...REQUIRED, OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318", OTEL_TRACES_SAMPLER: "always_off" };
    expect(parseConfig(never).observability.tracing).toBeUndefined();
  });

  it("name the traces URL, the headers, the service and the sampler", () => {
    const tracing = parseConfig({
      ...REQUIRED,
      OTEL_EXPORTER_OTLP_ENDPOINT: "https://collector.example.com:4318/",
      OTEL_EXPORTER_OTLP_HEADERS: "authorization=Bearer%20abc, x-team = ops",
      OTEL_SERVICE_NAME: "edge-gateway",
      OTEL_TRACES_SAMPLER: "parentbased_traceidratio",
      OTEL_TRACES_SAMPLER_ARG: "0.1",
    }).observability.tracing;
    expect(tracing).toEqual({
      url: "https://collector.example.com:4318/v1/traces",
      headers: { authorization: "Bearer abc", "x-team": "ops" },
      timeoutMs: 10_000,
      serviceName: "edge-gateway",
      sampler: { parentBased: true, ratio: 0.1 },
      captureContent: false,
    });
    const own = parseConfig({
      ...REQUIRED,
      OTEL_EXPORTER_OTLP_ENDPOINT: "https://collector.example.com",
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "https://traces.example.com/in",
    }).observability.tracing;
    expect(own?.url).toBe("https://traces.example.com/in");
    expect(() => parseConfig({ ...REQUIRED, OTEL_EXPORTER_OTLP_ENDPOINT: "x", OTEL_TRACES_SAMPLER_ARG: "2" })).toThrow(
      /OTEL_TRACES_SAMPLER_ARG must be a ratio/,
    );
  });
});

describe("OTLP JSON", () => {
  it("writes ids in hex, times in nanoseconds as strings, kinds and typed attributes", () => {
    const trace = new RequestTrace(TRACE, { traceId: TRACE, spanId: SPAN, sampled: true }, 1_700_000_000_123.5);
    trace.server.name = "POST /v1/chat/completions";
    trace.server.endMs = 1_700_000_000_200;
    trace.server.attributes = { "http.response.status_code": 200, "sluice.cost_usd": 0.25, ok: true, no: undefined };
    const client = trace.startAttempt("chat gpt", { "gen_ai.response.finish_reasons": ["stop"] });
    client.error = "upstream 503";
    const [resource] = (encodeSpans(trace.spans(), "sluice", "1.0.0") as { resourceSpans: unknown[] }).resourceSpans as {
      scopeSpans: { spans: Record<string, unknown>[] }[];
    }[];
    const [server, attempt] = resource?.scopeSpans[0]?.spans ?? [];
    expect(server).toMatchObject({
      traceId: TRACE,
      parentSpanId: SPAN,
      kind: 2,
      startTimeUnixNano: "1700000000123500000",
      endTimeUnixNano: "1700000000200000000",
      attributes: [
        { key: "http.response.status_code", value: { intValue: "200" } },
        { key: "sluice.cost_usd", value: { doubleValue: 0.25 } },
        { key: "ok", value: { boolValue: true } },
      ],
      status: {},
    });
    expect(attempt).toMatchObject({
      parentSpanId: server?.spanId,
      kind: 3,
      attributes: [{ key: "gen_ai.response.finish_reasons", value: { arrayValue: { values: [{ stringValue: "stop" }] } } }],
      status: { code: 2, message: "upstream 503" },
    });
  });
});

describe("the Prometheus text format", () => {
  const values = new Map<string, number>();
  const add = (pairs: [string, number][]) => {
    for (const [series, amount] of pairs) values.set(series, (values.get(series) ?? 0) + amount);
  };
  add([[seriesName("sluice_requests_total", { status: 200, model: 'odd"name\\x', provider: "mock" }), 4]]);
  add(histogram("sluice_request_duration_seconds", { provider: "mock", model: "m" }, 0.3));
  add(histogram("sluice_request_duration_seconds", { provider: "mock", model: "m" }, 7));
  add([[seriesName("sluice_otlp_spans_dropped_total"), 2]]);
  const text = renderExposition(values);

  it("escapes label values, sorts labels, and completes a histogram's buckets in order", () => {
    expect(text).toContain('sluice_requests_total{model="odd\\"name\\\\x",provider="mock",status="200"} 4\n');
    const buckets = text.split("\n").filter((line) => line.startsWith("sluice_request_duration_seconds_bucket"));
    expect(buckets.map((line) => line.split(" ")[1])).toEqual(["0", "0", "0", "1", "1", "1", "1", "2", "2", "2", "2", "2", "2"]);
    expect(buckets.at(-1)).toBe('sluice_request_duration_seconds_bucket{le="+Inf",model="m",provider="mock"} 2');
    expect(text).toContain('sluice_request_duration_seconds_sum{model="m",provider="mock"} 7.3\n');
    expect(text).toContain("# TYPE sluice_request_duration_seconds histogram\n");
  });

  it("is what Prometheus's promtool accepts", ({ skip }) => {
    let promtool = "";
    try {
      promtool = execFileSync("which", ["promtool"], { encoding: "utf8" }).trim();
    } catch {
      skip("promtool is not installed (Debian's prometheus package has it)");
    }
    expect(execFileSync(promtool, ["check", "metrics"], { input: text, encoding: "utf8" })).toBe("");
  });
});
