// OTLP metrics: the counters `/metrics` shows, pushed by the cron (every
// minute) to OTEL_EXPORTER_OTLP_METRICS_ENDPOINT, for a stack that takes
// OTLP rather than scraping. The figures are the shared Redis hash's, so
// they hold across isolates and never go backwards: cumulative sums,
// gauges and cumulative histograms (explicit bounds, per-bucket counts).
import { anyValue } from "../telemetry/log-export.ts";
import { nanos } from "../telemetry/otlp.ts";
import { FAMILIES, type FamilyName, familyOf, SECONDS_BUCKETS } from "./families.ts";

const LABEL = /(\w+)="((?:[^"\\]|\\.)*)"/g;
const unescapeLabel = (value: string) => value.replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));

function labelsOf(series: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const [, name = "", value = ""] of series.matchAll(LABEL)) labels[name] = unescapeLabel(value);
  return labels;
}

const attributes = (labels: Record<string, string>) =>
  Object.entries(labels)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([key, value]) => ({ key, value: anyValue(value) }));

const CUMULATIVE = 2;

/** The body of one `POST /v1/metrics`: ExportMetricsServiceRequest in its JSON mapping. */
export function encodeMetrics(values: Map<string, number>, serviceName: string, version: string, nowMs: number): unknown {
  const time = nanos(nowMs);
  const byFamily = new Map<string, [string, number][]>();
  for (const entry of values) {
    const family = familyOf(entry[0]);
    byFamily.set(family, [...(byFamily.get(family) ?? []), entry]);
  }
  const metrics: unknown[] = [];
  for (const [family, series] of [...byFamily].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const known = FAMILIES[family as FamilyName];
    if (!known) continue;
    if (known.type === "histogram") {
      const points = new Map<string, { labels: Record<string, string>; le: Map<string, number>; sum: number; count: number }>();
      for (const [name, value] of series) {
        const { le, ...labels } = labelsOf(name);
        const key = JSON.stringify(attributes(labels));
        const point = points.get(key) ?? { labels, le: new Map(), sum: 0, count: 0 };
        if (name.startsWith(`${family}_bucket`) && le !== undefined) point.le.set(le, value);
        else if (name.startsWith(`${family}_sum`)) point.sum = value;
        else if (name.startsWith(`${family}_count`)) point.count = value;
        points.set(key, point);
      }
      metrics.push({
        name: family,
        description: known.help,
        unit: "s",
        histogram: {
          aggregationTemporality: CUMULATIVE,
          dataPoints: [...points.values()].map((point) => {
            // Prometheus buckets are cumulative; OTLP's counts are each bucket's own.
            const cumulative = [...SECONDS_BUCKETS.map((bound) => point.le.get(String(bound)) ?? 0), point.count];
            return {
              attributes: attributes(point.labels),
              timeUnixNano: time,
              count: String(point.count),
              sum: point.sum,
              explicitBounds: SECONDS_BUCKETS,
              bucketCounts: cumulative.map((total, i) => String(Math.max(0, total - (i > 0 ? (cumulative[i - 1] ?? 0) : 0)))),
            };
          }),
        },
      });
      continue;
    }
    const dataPoints = series.map(([name, value]) => ({
      attributes: attributes(labelsOf(name)),
      timeUnixNano: time,
      asDouble: value,
    }));
    metrics.push(
      known.type === "counter"
        ? {
            name: family,
            description: known.help,
            sum: { aggregationTemporality: CUMULATIVE, isMonotonic: true, dataPoints },
          }
        : { name: family, description: known.help, gauge: { dataPoints } },
    );
  }
  return {
    resourceMetrics: [
      {
        resource: { attributes: attributes({ "service.name": serviceName, "telemetry.sdk.language": "js" }) },
        scopeMetrics: [{ scope: { name: "sluice", version }, metrics }],
      },
    ],
  };
}

/** Posts the metrics; never throws (a collector that is down misses one push, the next carries the same totals). */
export async function pushMetrics(
  target: { url: string; headers: Record<string, string>; timeoutMs: number; serviceName: string },
  values: Map<string, number>,
  version: string,
): Promise<boolean> {
  try {
    const response = await fetch(target.url, {
      method: "POST",
      headers: { ...target.headers, "content-type": "application/json" },
      body: JSON.stringify(encodeMetrics(values, target.serviceName, version, Date.now())),
      signal: AbortSignal.timeout(target.timeoutMs),
    });
    await response.body?.cancel();
    if (!response.ok) console.warn(`sluice: metrics not pushed: the collector answered ${response.status}`);
    return response.ok;
  } catch (error) {
    console.warn(`sluice: metrics not pushed: ${error instanceof Error ? error.message : String(error)}`);
    return false;
  }
}
