// The metric families Sluice exposes, and how one series is named: its
// name and labels written exactly as the Prometheus text format writes
// them, which is also its field in the Redis hash every isolate adds to.

export type Labels = Record<string, string | number | undefined>;

interface Family {
  type: "counter" | "histogram" | "gauge";
  help: string;
}

/** Upper bounds, in seconds, of the latency and time-to-first-byte histograms. */
export const SECONDS_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

export const FAMILIES = {
  sluice_http_requests_total: { type: "counter", help: "HTTP requests answered, by method, route and status." },
  sluice_requests_total: { type: "counter", help: "Model calls, by provider, model, status and team." },
  sluice_request_errors_total: { type: "counter", help: "Model calls that ended in an error, by provider, model and status." },
  sluice_tokens_total: { type: "counter", help: "Tokens, by provider, model, team and type (input, output, cached)." },
  sluice_cost_usd_total: { type: "counter", help: "Cost in US dollars, by provider, model and team." },
  sluice_request_duration_seconds: { type: "histogram", help: "Model calls' latency, until the answer was whole." },
  sluice_time_to_first_byte_seconds: { type: "histogram", help: "Model calls' time to the first byte of the answer." },
  sluice_cache_hits_total: {
    type: "counter",
    help: "Model calls the response cache answered, by model (against sluice_requests_total: the hit ratio).",
  },
  sluice_limit_refusals_total: { type: "counter", help: "Requests refused by a limit, by its code." },
  sluice_failovers_total: { type: "counter", help: "Upstream attempts that failed or were skipped, by provider and outcome." },
  sluice_otlp_spans_dropped_total: { type: "counter", help: "Spans the OTLP exporter could not deliver." },
  sluice_log_export_dropped_total: {
    type: "counter",
    help: "Exported log records the sink did not take, or the full queue refused.",
  },
  sluice_usage_parked: { type: "gauge", help: "Usage records parked in Redis while Postgres was unreachable." },
  sluice_billing_outbox_pending: { type: "gauge", help: "Usage records the billing webhook has yet to take." },
} satisfies Record<string, Family>;

export type FamilyName = keyof typeof FAMILIES;

const escapeLabel = (value: string) => value.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");

/** `name{a="1",b="2"}`, labels sorted, so that every isolate writes the same series alike. */
export function seriesName(name: string, labels: Labels = {}): string {
  const pairs = Object.entries(labels)
    .filter((entry): entry is [string, string | number] => entry[1] !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([label, value]) => `${label}="${escapeLabel(String(value))}"`);
  return pairs.length > 0 ? `${name}{${pairs.join(",")}}` : name;
}

/** The family a series belongs to: its name, less a histogram's `_bucket`, `_sum` or `_count`. */
export function familyOf(series: string): string {
  const name = series.split("{", 1)[0] ?? series;
  const base = name.replace(/_(bucket|sum|count)$/, "");
  return base !== name && base in FAMILIES ? base : name;
}

/** One observation of a histogram: the buckets it falls in (cumulative), its sum and its count. */
export function histogram(name: FamilyName, labels: Labels, seconds: number): [string, number][] {
  return [
    ...SECONDS_BUCKETS.filter((bound) => seconds <= bound).map((bound): [string, number] => [
      seriesName(`${name}_bucket`, { ...labels, le: bound }),
      1,
    ]),
    [seriesName(`${name}_bucket`, { ...labels, le: "+Inf" }), 1],
    [seriesName(`${name}_sum`, labels), seconds],
    [seriesName(`${name}_count`, labels), 1],
  ];
}
