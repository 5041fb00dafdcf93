// Traces and metrics as an operator's stack receives them: spans posted in
// OTLP/JSON to a collector (the mock's), the caller's trace continued and
// carried upstream, the decisions as events, a failing collector costing a
// request nothing; and `/metrics` in Prometheus text format after traffic.
import { createExecutionContext, createScheduledController, env, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../src/index.ts";
import { signatureHeader } from "../src/usage/webhooks.ts";
import { BASE, callWorker, chat, jsonRequest, TEST_ADMIN_KEY, upstreamRequest, usageRow } from "./helpers.ts";
import { admin, chatAs, uniqueId } from "./identity.ts";

const mockRoot = String(env.MOCK_BASE_URL).replace(/\/v1$/, "");

interface OtlpAttribute {
  key: string;
  value: { stringValue?: string; intValue?: string; doubleValue?: number; boolValue?: boolean; arrayValue?: unknown };
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: OtlpAttribute[];
  events: { name: string; timeUnixNano: string; attributes: OtlpAttribute[] }[];
  status: { code?: number; message?: string };
}
interface OtlpExport {
  headers: Record<string, string>;
  body: {
    resourceSpans: { resource: { attributes: OtlpAttribute[] }; scopeSpans: { scope: { name: string }; spans: OtlpSpan[] }[] }[];
  };
  status: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A collector of its own at the mock, and the bindings that send traces to it. */
function collector(extra: Record<string, string> = {}) {
  const name = uniqueId("otlp");
  const url = `${mockRoot}/__mock/otlp/${name}`;
  const received = async () => (await (await fetch(url)).json()) as OtlpExport[];
  return {
    bindings: { ...env, OTEL_EXPORTER_OTLP_ENDPOINT: url, OTEL_SERVICE_NAME: "sluice-under-test", ...extra },
    behave: (query: string) => fetch(`${url}/behave?${query}`, { method: "POST" }),
    received,
    /** Every span received, once those of `traceId` number at least `count` (spans of joining requests may come a moment later). */
    async spans(traceId: string, count: number, waitMs = 5000): Promise<OtlpSpan[]> {
      const deadline = Date.now() + waitMs;
      for (;;) {
        const spans = (await received()).flatMap((e) =>
          e.body.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans)),
        );
        const mine = spans.filter((span) => span.traceId === traceId);
        if (mine.length >= count || Date.now() >= deadline) return mine;
        await sleep(25);
      }
    },
  };
}

const attribute = (span: OtlpSpan | { attributes: OtlpAttribute[] } | undefined, key: string) => {
  const value = span?.attributes.find((a) => a.key === key)?.value;
  if (!value) return undefined;
  if (value.intValue !== undefined) return Number(value.intValue);
  return value.stringValue ?? value.doubleValue ?? value.boolValue ?? value.arrayValue;
};

const CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN = "00f067aa0ba902b7";

describe("traces over OTLP", () => {
  it("continue the caller's trace: a server span, a client span per attempt, and the context carried upstream", async () => {
    const otlp = collector({ OTEL_EXPORTER_OTLP_HEADERS: "x-collector-token=s3cret%20value" });
    const traceId = CALLER_TRACE.replace(/^..../, crypto.randomUUID().slice(0, 4));
    const call = await callWorker(
      jsonRequest("/v1/chat/completions", chat("hello traces"), {
        traceparent: `00-${traceId}-${CALLER_SPAN}-01`,
        "user-agent": "trace-test/1.0",
      }),
      otlp.bindings,
    );
    expect(call.response.status).toBe(200);
    expect(call.response.headers.get("x-sluice-trace-id")).toBe(traceId);
    const requestId = call.response.headers.get("x-request-id") ?? "";
    const { usage } = (await call.response.json()) as { usage: { prompt_tokens: number; completion_tokens: number } };
    await call.settled();

    const spans = await otlp.spans(traceId, 2);
    expect(spans).toHaveLength(2);
    const server = spans.find((span) => span.kind === 2) as OtlpSpan;
    const client = spans.find((span) => span.kind === 3) as OtlpSpan;
    expect(server.parentSpanId).toBe(CALLER_SPAN);
    expect(server.name).toBe("POST /v1/chat/completions");
    expect(client.parentSpanId).toBe(server.spanId);
    expect(client.name).toBe("chat mock-echo");
    expect(attribute(server, "http.request.method")).toBe("POST");
    expect(attribute(server, "http.route")).toBe("/v1/chat/completions");
    expect(attribute(server, "http.response.status_code")).toBe(200);
    expect(attribute(server, "sluice.request_id")).toBe(requestId);
    expect(attribute(server, "sluice.principal.type")).toBe("admin");
    expect(attribute(server, "user_agent.original")).toBe("trace-test/1.0");
    expect(attribute(client, "gen_ai.operation.name")).toBe("chat");
    expect(attribute(client, "gen_ai.provider.name")).toBe("mock");
    expect(attribute(client, "gen_ai.request.model")).toBe("mock-echo");
    expect(attribute(client, "gen_ai.response.model")).toBe("mock-echo");
    expect(attribute(client, "gen_ai.usage.input_tokens")).toBe(usage.prompt_tokens);
    expect(attribute(client, "gen_ai.usage.output_tokens")).toBe(usage.completion_tokens);
    expect(usage.completion_tokens).toBeGreaterThan(0);
    expect(attribute(client, "gen_ai.response.finish_reasons")).toEqual({ values: [{ stringValue: "stop" }] });
    expect(attribute(client, "http.response.status_code")).toBe(200);
    expect(client.status.code).toBeUndefined();
    // The client span lies within the server span.
    expect(BigInt(client.startTimeUnixNano)).toBeGreaterThanOrEqual(BigInt(server.startTimeUnixNano));
    expect(BigInt(client.endTimeUnixNano)).toBeLessThanOrEqual(BigInt(server.endTimeUnixNano));

    // The upstream saw the trace carried on, its parent the client span.
    const upstream = await upstreamRequest(requestId);
    expect(upstream.headers.traceparent).toBe(`00-${traceId}-${client.spanId}-01`);

    const exported = (await otlp.received()).find((e) => JSON.stringify(e.body).includes(traceId)) as OtlpExport;
    expect(exported.headers["content-type"]).toBe("application/json");
    expect(exported.headers["x-collector-token"]).toBe("s3cret value");
    expect(attribute(exported.body.resourceSpans[0]?.resource, "service.name")).toBe("sluice-under-test");
  });

  it("carry the prompt and the answer, redacted, only when content capture is switched on", async () => {
    for (const capture of [true, false]) {
      const otlp = collector(capture ? { OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: "true" } : {});
      const call = await callWorker(jsonRequest("/v1/chat/completions", chat("content for ann@example.com")), otlp.bindings);
      const traceId = call.response.headers.get("x-sluice-trace-id") ?? "";
      const answered = await call.response.text();
      expect(answered).toContain("ann@example.com");
      await call.settled();
      const client = (await otlp.spans(traceId, 2)).find((span) => span.kind === 3);
      const input = attribute(client, "gen_ai.input.messages");
      const output = attribute(client, "gen_ai.output.messages");
      if (!capture) {
        expect(input).toBeUndefined();
        expect(output).toBeUndefined();
        continue;
      }
      expect(JSON.parse(String(input))).toMatchObject({
        model: "mock-echo",
        messages: [{ role: "user", content: "content for [REDACTED:email]" }],
      });
      expect(JSON.parse(String(output))).toMatchObject({
        choices: [{ message: { content: "content for [REDACTED:email]" } }],
      });
      expect(String(output)).not.toContain("ann@example.com");
    }
  });

  it("carry no prompt or answer of a caller under zero retention, even with content capture on", async () => {
    const otlp = collector({ OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: "true" });
    const team = uniqueId("clinic");
    expect((await admin("POST", "/admin/teams", { id: team, name: team, settings: { zero_retention: true } })).status).toBe(201);
    const key = String((await admin("POST", "/admin/keys", { team_id: team })).body.key);
    const call = await callWorker(
      jsonRequest("/v1/chat/completions", chat("a patient's note"), { authorization: `Bearer ${key}` }),
      otlp.bindings,
    );
    const traceId = call.response.headers.get("x-sluice-trace-id") ?? "";
    expect(await call.response.text()).toContain("a patient's note");
    await call.settled();
    const client = (await otlp.spans(traceId, 2)).find((span) => span.kind === 3);
    // The span itself is there, with its usage; only the words are not.
    expect(attribute(client, "gen_ai.usage.output_tokens")).toBeGreaterThan(0);
    expect(attribute(client, "gen_ai.input.messages")).toBeUndefined();
    expect(attribute(client, "gen_ai.output.messages")).toBeUndefined();
  });

  it("start a trace of their own without a traceparent, and mark a stream's time to first token", async () => {
    const otlp = collector();
    const call = await callWorker(jsonRequest("/v1/chat/completions", chat("streamed trace", { stream: true })), otlp.bindings);
    const traceId = call.response.headers.get("x-sluice-trace-id") ?? "";
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    await call.response.text();
    await call.settled();
    const spans = await otlp.spans(traceId, 2);
    const server = spans.find((span) => span.kind === 2) as OtlpSpan;
    const client = spans.find((span) => span.kind === 3) as OtlpSpan;
    expect(server.parentSpanId).toBeUndefined();
    expect(attribute(client, "gen_ai.usage.output_tokens")).toBeGreaterThan(0);
    expect(attribute(client, "gen_ai.response.finish_reasons")).toEqual({ values: [{ stringValue: "stop" }] });
    expect(attribute(client, "sluice.time_to_first_token_ms")).toBeGreaterThanOrEqual(0);
    expect(client.events.map((event) => event.name)).toContain("sluice.first_token");
  });

  it("record a failed attempt as a failed client span, and the failover as an event", async () => {
    const otlp = collector();
    const call = await callWorker(
      jsonRequest("/v1/chat/completions", chat("fail once"), {
        "x-mock-fail": "503",
        "x-mock-fail-times": "1",
        "x-mock-fail-key": uniqueId("traced-failover"),
      }),
      { ...otlp.bindings, RETRY_BACKOFF: "1ms" },
    );
    expect(call.response.status).toBe(200);
    const traceId = call.response.headers.get("x-sluice-trace-id") ?? "";
    await call.response.json();
    await call.settled();
    const spans = await otlp.spans(traceId, 3);
    const server = spans.find((span) => span.kind === 2) as OtlpSpan;
    const [failed, served] = spans
      .filter((span) => span.kind === 3)
      .sort((a, b) => (a.startTimeUnixNano < b.startTimeUnixNano ? -1 : 1));
    expect(failed?.status.code).toBe(2);
    expect(attribute(failed, "error.type")).toBe("503");
    expect(attribute(served, "gen_ai.usage.output_tokens")).toBeGreaterThan(0);
    expect(attribute(server, "sluice.attempts")).toBe(2);
    const failover = server.events.find((event) => event.name === "sluice.failover");
    expect(failover && attribute(failover, "error.type")).toBe("503");
  });

  it("mark a refusal by a limit as an event, with no client span", async () => {
    const otlp = collector();
    const { body } = await admin("POST", "/admin/keys", { rpm_limit: 1 });
    const key = String(body.key);
    expect((await callWorker(chatAs(key), otlp.bindings)).response.status).toBe(200);
    const refused = await callWorker(chatAs(key), otlp.bindings);
    expect(refused.response.status).toBe(429);
    const traceId = refused.response.headers.get("x-sluice-trace-id") ?? "";
    await refused.settled();
    const [server, ...others] = await otlp.spans(traceId, 1);
    expect(others).toEqual([]);
    expect(attribute(server, "http.response.status_code")).toBe(429);
    expect(attribute(server, "error.type")).toBe("rate_limit_exceeded");
    expect(attribute(server, "sluice.principal.type")).toBe("key");
    const event = server?.events.find((e) => e.name === "sluice.limit.refused");
    expect(event && attribute(event, "sluice.limit.code")).toBe("rate_limit_exceeded");
  });

  it("are neither made nor sent when the sampler keeps none, and when no endpoint is set", async () => {
    const otlp = collector({ OTEL_TRACES_SAMPLER: "traceidratio", OTEL_TRACES_SAMPLER_ARG: "0" });
    const sampledOut = await callWorker(jsonRequest("/v1/chat/completions", chat("not sampled")), otlp.bindings);
    expect(sampledOut.response.status).toBe(200);
    expect(sampledOut.response.headers.get("x-sluice-trace-id")).toBeNull();
    await sampledOut.settled();
    const off = await callWorker(
      jsonRequest("/v1/chat/completions", chat("tracing off"), { traceparent: `00-${CALLER_TRACE}-${CALLER_SPAN}-01` }),
    );
    expect(off.response.headers.get("x-sluice-trace-id")).toBeNull();
    const requestId = off.response.headers.get("x-request-id") ?? "";
    await off.settled();
    // With tracing off the gateway neither continues nor invents a context for the upstream.
    expect((await upstreamRequest(requestId)).headers.traceparent).toBeUndefined();
    await sleep(100);
    expect(await otlp.received()).toEqual([]);
  });

  it("follow a caller's unsampled flag with the parent-based sampler", async () => {
    const otlp = collector();
    const call = await callWorker(
      jsonRequest("/v1/chat/completions", chat("parent says no"), { traceparent: `00-${CALLER_TRACE}-${CALLER_SPAN}-00` }),
      otlp.bindings,
    );
    expect(call.response.status).toBe(200);
    expect(call.response.headers.get("x-sluice-trace-id")).toBeNull();
  });

  it("cost a request nothing when the collector hangs or fails, and what was dropped is counted", async () => {
    for (const behaviour of ["delay_ms=3000", "status=500"]) {
      const otlp = collector({ OTEL_EXPORTER_OTLP_TIMEOUT: "300ms", METRICS: "on" });
      await otlp.behave(behaviour);
      const started = Date.now();
      const call = await callWorker(jsonRequest("/v1/chat/completions", chat(`collector ${behaviour}`)), otlp.bindings);
      expect(call.response.status).toBe(200);
      expect(await call.response.json()).toMatchObject({ choices: [{ message: { content: expect.any(String) } }] });
      // The response is whole long before the collector would have answered.
      expect(Date.now() - started).toBeLessThan(1500);
      await call.settled();
    }
    // Dropped spans are reported with a later request's metrics.
    const bindings = { ...collector({ METRICS: "on" }).bindings };
    await (await callWorker(new Request(`${BASE}/health`), bindings)).settled();
    const metrics = await scrape(TEST_ADMIN_KEY, { ...env, METRICS: "on" });
    expect(Number(/^sluice_otlp_spans_dropped_total (\d+)$/m.exec(metrics.body)?.[1] ?? 0)).toBeGreaterThan(0);
  });
});

async function scrape(credential: string | undefined, bindings: object) {
  const headers: Record<string, string> = credential ? { authorization: `Bearer ${credential}` } : {};
  const { response } = await callWorker(new Request(`${BASE}/metrics`, { headers }), bindings);
  return { status: response.status, type: response.headers.get("content-type"), body: await response.text() };
}

const seriesValue = (body: string, series: string) => {
  const line = body.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
};

describe("GET /metrics", () => {
  it("is not there unless METRICS is on, and takes only the admin key or METRICS_TOKEN", async () => {
    expect((await scrape(TEST_ADMIN_KEY, env)).status).toBe(404);
    const on = { ...env, METRICS: "on", METRICS_TOKEN: "scrape-token-0123456789" };
    expect((await scrape(undefined, on)).status).toBe(401);
    expect((await scrape("sk-not-the-token", on)).status).toBe(401);
    expect((await scrape("scrape-token-0123456789", on)).status).toBe(200);
    expect((await scrape(TEST_ADMIN_KEY, on)).status).toBe(200);
  });

  it("counts requests, tokens, latency and refusals of every isolate, in Prometheus text format", async () => {
    const model = "mock-echo";
    const labels = `model="${model}",provider="mock",status="200"`;
    const before = await scrape(TEST_ADMIN_KEY, { ...env, METRICS: "on" });
    // Two configurations, as two isolates would have: each counts into the same shared counters.
    const isolates = [
      { ...env, METRICS: "on" },
      { ...env, METRICS: "on" },
    ];
    for (const bindings of isolates) {
      for (const stream of [false, true]) {
        const call = await callWorker(jsonRequest("/v1/chat/completions", chat("count me", { stream })), bindings);
        expect(call.response.status).toBe(200);
        await call.response.text();
        await call.settled();
      }
    }
    const { body: refusedKey } = await admin("POST", "/admin/keys", { rpm_limit: 1 });
    for (let i = 0; i < 2; i++) await (await callWorker(chatAs(String(refusedKey.key)), isolates[0])).settled();

    const after = await scrape(TEST_ADMIN_KEY, { ...env, METRICS: "on" });
    expect(after.status).toBe(200);
    expect(after.type).toBe("text/plain; version=0.0.4; charset=utf-8");
    const body = after.body;
    expect(body).toContain("# TYPE sluice_requests_total counter");
    expect(body).toContain("# TYPE sluice_request_duration_seconds histogram");
    const grew = (series: string) => seriesValue(body, series) - seriesValue(before.body, series);
    expect(grew(`sluice_requests_total{${labels}}`)).toBeGreaterThanOrEqual(4);
    expect(grew(`sluice_tokens_total{model="${model}",provider="mock",type="output"}`)).toBeGreaterThanOrEqual(4);
    expect(grew(`sluice_request_duration_seconds_count{model="${model}",provider="mock"}`)).toBeGreaterThanOrEqual(4);
    expect(grew(`sluice_request_duration_seconds_bucket{le="+Inf",model="${model}",provider="mock"}`)).toBeGreaterThanOrEqual(4);
    expect(grew(`sluice_time_to_first_byte_seconds_count{model="${model}",provider="mock"}`)).toBeGreaterThanOrEqual(4);
    expect(grew('sluice_http_requests_total{method="POST",route="/v1/chat/completions",status="200"}')).toBeGreaterThanOrEqual(5);
    expect(grew('sluice_limit_refusals_total{code="rate_limit_exceeded"}')).toBeGreaterThanOrEqual(1);
    expect(body).toMatch(/^sluice_usage_parked \d+$/m);
    expect(body).toMatch(/^sluice_billing_outbox_pending \d+$/m);
    // A histogram's buckets are all there, in order, and cumulative.
    const buckets = body
      .split("\n")
      .filter((l) => l.startsWith(`sluice_request_duration_seconds_bucket{`) && l.includes(`model="${model}",provider="mock"}`));
    expect(buckets).toHaveLength(13);
    const counts = buckets.map((l) => Number(l.split(" ")[1]));
    expect(counts).toEqual([...counts].sort((a, b) => a - b));
    // Every line is a comment or `series value`, each family's lines together.
    const families: string[] = [];
    for (const line of body.trimEnd().split("\n")) {
      expect(line).toMatch(/^(# (HELP|TYPE) \w+ .+|\w+(\{.*\})? [-+\d.eInfNa]+)$/);
      const family = line.startsWith("#") ? line.split(" ")[2] : undefined;
      if (family && !families.includes(family)) families.push(family);
    }
    expect(new Set(families).size).toBe(families.length);
  });
});

/** A log sink of its own at the mock (JSON lines at `/lines`, OTLP logs at `/v1/logs`), and the bindings that export to it. */
function logSink(path: "/lines" | "/v1/logs", extra: Record<string, string> = {}) {
  const name = uniqueId("logs");
  const url = `${mockRoot}/__mock/otlp/${name}`;
  interface Received {
    path: string;
    headers: Record<string, string>;
    text: string;
    body: unknown;
    status: number;
  }
  const received = async () => (await (await fetch(url)).json()) as Received[];
  return {
    bindings: { ...env, LOG_EXPORT_URL: `${url}${path}`, ...extra },
    behave: (query: string) => fetch(`${url}/behave?${query}`, { method: "POST" }),
    received,
    /** The exports received once they hold at least `count` records (JSON lines). */
    async lines(count: number, waitMs = 5000): Promise<{ exports: Received[]; records: Record<string, unknown>[] }> {
      const deadline = Date.now() + waitMs;
      for (;;) {
        const exports = (await received()).filter((e) => e.status === 200);
        const records = exports.flatMap((e) => e.body as Record<string, unknown>[]);
        if (records.length >= count || Date.now() >= deadline) return { exports, records };
        await sleep(25);
      }
    },
  };
}

describe("log export", () => {
  it("ships each model call's record as signed JSON lines after the response, its fields the ledger's", async () => {
    const sink = logSink("/lines", { LOG_EXPORT_SECRET: "log-signing-secret", LOG_EXPORT_HEADERS: "x-sink-token=abc%20def" });
    const ids: string[] = [];
    for (const stream of [false, true]) {
      const call = await callWorker(jsonRequest("/v1/chat/completions", chat("export me", { stream })), sink.bindings);
      expect(call.response.status).toBe(200);
      await call.response.text();
      await call.settled();
      ids.push(call.response.headers.get("x-request-id") ?? "");
    }
    const { exports, records } = await sink.lines(2);
    const mine = ids.map((id) => records.find((record) => record.request_id === id));
    for (const [i, record] of mine.entries()) {
      const row = await usageRow(ids[i] ?? "");
      expect(record).toMatchObject({
        type: "request",
        request_id: ids[i],
        method: "POST",
        route: "/v1/chat/completions",
        client_format: "openai",
        principal_type: "admin",
        model: "mock-echo",
        provider: "mock",
        upstream_model: "mock-echo",
        status: 200,
        error: null,
        streamed: i === 1,
        attempts: 1,
        prompt_tokens: row?.promptTokens,
        completion_tokens: row?.completionTokens,
        cost_usd: row?.costUsd,
        finish_reasons: ["stop"],
        cache_hit: false,
      });
      expect(Date.parse(String(record?.timestamp))).toBe(row?.createdAt.getTime());
      // No bodies for a caller whose calls are not logged, and no trace ids when tracing is off.
      expect(record).not.toHaveProperty("request");
      expect(record).not.toHaveProperty("trace_id");
    }
    const first = exports[0];
    expect(first?.path).toBe("/lines");
    expect(first?.headers["content-type"]).toBe("application/x-ndjson");
    expect(first?.headers["x-sink-token"]).toBe("abc def");
    const signature = first?.headers["x-sluice-signature"] ?? "";
    const t = Number(/^t=(\d+),/.exec(signature)?.[1]);
    expect(signature).toBe(await signatureHeader("log-signing-secret", first?.text ?? "", t));
    expect(first?.text.endsWith("\n")).toBe(true);
  });

  it("ships the audit log's rows too, as records of type audit, secrets redacted", async () => {
    const sink = logSink("/lines");
    const name = uniqueId("audited");
    const call = await callWorker(
      new Request(`${BASE}/admin/keys`, {
        method: "POST",
        headers: { authorization: `Bearer ${TEST_ADMIN_KEY}`, "content-type": "application/json" },
        body: JSON.stringify({ name }),
      }),
      sink.bindings,
    );
    expect(call.response.status).toBe(201);
    const created = (await call.response.json()) as { id: string; key: string };
    await call.settled();
    const requestId = call.response.headers.get("x-request-id");
    const { records } = await sink.lines(1);
    const audit = records.find((record) => record.type === "audit" && record.request_id === requestId);
    expect(audit).toMatchObject({
      actor_type: "admin",
      actor_id: "admin",
      action: "POST /admin/keys",
      target_type: "keys",
      target_id: created.id,
      status: 201,
      after: { name, key: "[redacted]" },
    });
    expect(JSON.stringify(audit)).not.toContain(created.key);
  });

  it("carries the prompt and the answer, redacted, for a caller whose calls are logged", async () => {
    const sink = logSink("/lines");
    const { body } = await admin("POST", "/admin/keys", { settings: { request_logs: true } });
    const call = await callWorker(
      chatAs(String(body.key), { messages: [{ role: "user", content: "mail me at jo@example.com" }] }),
      sink.bindings,
    );
    expect(call.response.status).toBe(200);
    await call.response.text();
    await call.settled();
    const id = call.response.headers.get("x-request-id");
    const { records } = await sink.lines(1);
    const record = records.find((r) => r.request_id === id) as Record<string, { body: unknown; status?: number }>;
    expect(record.principal_type).toBe("key");
    expect(record.request?.body).toMatchObject({ messages: [{ role: "user", content: "mail me at [REDACTED:email]" }] });
    expect(record.response?.status).toBe(200);
    expect(JSON.stringify(record)).not.toContain("jo@example.com");
  });

  it("speaks OTLP logs, with the trace's ids when the call is traced", async () => {
    const otlp = collector();
    const sink = logSink("/v1/logs", {
      LOG_EXPORT_FORMAT: "otlp",
      OTEL_EXPORTER_OTLP_ENDPOINT: otlp.bindings.OTEL_EXPORTER_OTLP_ENDPOINT,
    });
    const call = await callWorker(jsonRequest("/v1/chat/completions", chat("otlp logs")), sink.bindings);
    expect(call.response.status).toBe(200);
    await call.response.text();
    await call.settled();
    const traceId = call.response.headers.get("x-sluice-trace-id");
    const requestId = call.response.headers.get("x-request-id");
    let exports = await sink.received();
    for (let i = 0; i < 100 && exports.length === 0; i++) {
      await sleep(25);
      exports = await sink.received();
    }
    const exported = exports[0] as {
      headers: Record<string, string>;
      body: {
        resourceLogs: { resource: { attributes: OtlpAttribute[] }; scopeLogs: { logRecords: Record<string, unknown>[] }[] }[];
      };
    };
    expect(exported.headers["content-type"]).toBe("application/json");
    const log = exported.body.resourceLogs[0]?.scopeLogs[0]?.logRecords[0] as {
      traceId: string;
      spanId: string;
      severityText: string;
      attributes: OtlpAttribute[];
      body: { kvlistValue: { values: OtlpAttribute[] } };
    };
    expect(log.traceId).toBe(traceId);
    expect(log.spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(log.severityText).toBe("INFO");
    expect(attribute(log, "event.name")).toBe("sluice.request");
    expect(attribute(log, "sluice.request_id")).toBe(requestId);
    expect(attribute({ attributes: log.body.kvlistValue.values }, "model")).toBe("mock-echo");
    expect(attribute({ attributes: log.body.kvlistValue.values }, "trace_id")).toBe(traceId);
  });

  it("tries a batch the sink failed again with the next one", async () => {
    const sink = logSink("/lines");
    await sink.behave("status=503");
    const first = await callWorker(jsonRequest("/v1/chat/completions", chat("first, refused")), sink.bindings);
    await first.response.text();
    await first.settled();
    await sink.behave("status=200");
    const second = await callWorker(jsonRequest("/v1/chat/completions", chat("second, taken")), sink.bindings);
    await second.response.text();
    await second.settled();
    const { exports } = await sink.lines(2);
    const taken = exports.at(-1)?.body as { request_id: string }[];
    expect(taken.map((record) => record.request_id)).toEqual([
      first.response.headers.get("x-request-id"),
      second.response.headers.get("x-request-id"),
    ]);
  });

  it("costs a request nothing when the sink hangs or refuses, and what it drops is counted", async () => {
    for (const behaviour of ["delay_ms=3000", "status=400"]) {
      const sink = logSink("/lines", { LOG_EXPORT_TIMEOUT: "300ms", METRICS: "on" });
      await sink.behave(behaviour);
      const started = Date.now();
      const call = await callWorker(jsonRequest("/v1/chat/completions", chat(`sink ${behaviour}`)), sink.bindings);
      expect(call.response.status).toBe(200);
      expect(await call.response.json()).toMatchObject({ choices: [{ message: { content: expect.any(String) } }] });
      expect(Date.now() - started).toBeLessThan(1500);
      await call.settled();
    }
    const metrics = await scrape(TEST_ADMIN_KEY, { ...env, METRICS: "on" });
    expect(Number(/^sluice_log_export_dropped_total (\d+)$/m.exec(metrics.body)?.[1] ?? 0)).toBeGreaterThan(0);
  });
});

describe("console request lines", () => {
  it("are one JSON object a request with CONSOLE_REQUEST_LOG=json, and hold no secret or body", async () => {
    const lines: string[] = [];
    const original = console.log;
    console.log = (...args: unknown[]) => {
      lines.push(args.map(String).join(" "));
    };
    try {
      const call = await callWorker(jsonRequest("/v1/chat/completions", chat("console secret-ish words")), {
        ...env,
        CONSOLE_REQUEST_LOG: "json",
      });
      await call.response.text();
      await call.settled();
      const id = call.response.headers.get("x-request-id") ?? "";
      const line = lines.find((l) => l.includes(id)) ?? "";
      expect(JSON.parse(line)).toMatchObject({
        level: "info",
        message: "request",
        request_id: id,
        method: "POST",
        route: "/v1/chat/completions",
        status: 200,
        principal_type: "admin",
        model: "mock-echo",
        provider: "mock",
        attempts: 1,
      });
      expect(line).not.toContain("secret-ish");
      expect(line).not.toContain(TEST_ADMIN_KEY);
    } finally {
      console.log = original;
    }
  });
});

describe("OTLP metrics", () => {
  it("are the /metrics counters, pushed by the cron as cumulative sums and histograms", async () => {
    const otlp = collector();
    const endpoint = `${otlp.bindings.OTEL_EXPORTER_OTLP_ENDPOINT}/v1/metrics`;
    const bindings = { ...env, METRICS: "on", OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: endpoint };
    const call = await callWorker(jsonRequest("/v1/chat/completions", chat("push me")), bindings);
    await call.response.text();
    await call.settled();
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController(), bindings as typeof env, ctx);
    await waitOnExecutionContext(ctx);
    const pushed = (await otlp.received()) as unknown as {
      path: string;
      body: { resourceMetrics: { scopeMetrics: { metrics: Record<string, unknown>[] }[] }[] };
    }[];
    expect(pushed).toHaveLength(1);
    expect(pushed[0]?.path).toBe("/v1/metrics");
    const metrics = pushed[0]?.body.resourceMetrics[0]?.scopeMetrics[0]?.metrics ?? [];
    const requests = metrics.find((m) => m.name === "sluice_requests_total") as {
      sum: {
        aggregationTemporality: number;
        isMonotonic: boolean;
        dataPoints: { attributes: OtlpAttribute[]; asDouble: number }[];
      };
    };
    expect(requests.sum).toMatchObject({ aggregationTemporality: 2, isMonotonic: true });
    const echo = requests.sum.dataPoints.find(
      (point) => attribute(point, "model") === "mock-echo" && attribute(point, "status") === "200",
    );
    expect(echo?.asDouble).toBeGreaterThanOrEqual(1);
    const latency = metrics.find((m) => m.name === "sluice_request_duration_seconds") as {
      histogram: { dataPoints: { count: string; bucketCounts: string[]; explicitBounds: number[] }[] };
    };
    for (const point of latency.histogram.dataPoints) {
      expect(point.bucketCounts).toHaveLength(point.explicitBounds.length + 1);
      expect(point.bucketCounts.reduce((sum, n) => sum + Number(n), 0)).toBe(Number(point.count));
    }
  });
});
