// The Prometheus text exposition format (version 0.0.4): each family's HELP
// and TYPE, then its series, a family's lines together; a histogram's
// buckets complete (the ones no observation reached, at 0) and in order.
import { FAMILIES, type FamilyName, familyOf, SECONDS_BUCKETS, seriesName } from "./families.ts";

export const EXPOSITION_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

const LE = /,?le="([^"]*)"/;

/** The labels of a `_bucket` series without its `le`, as `{…}` text (empty when none). */
const bucketSeries = (series: string) => series.replace(LE, "").replace("{,", "{").replace("{}", "");

const LABEL = /(\w+)="((?:[^"\\]|\\.)*)"/g;
const unescapeLabel = (value: string) => value.replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));

function labelsOf(series: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const [, name = "", value = ""] of series.matchAll(LABEL)) labels[name] = unescapeLabel(value);
  return labels;
}

function completeBuckets(values: Map<string, number>): Map<string, number> {
  const complete = new Map(values);
  for (const series of values.keys()) {
    if (!series.includes("_bucket{")) continue;
    const name = series.split("{", 1)[0] ?? "";
    const { le: _le, ...labels } = labelsOf(series);
    for (const bound of [...SECONDS_BUCKETS, "+Inf"]) {
      const key = seriesName(name, { ...labels, le: bound });
      if (!complete.has(key)) complete.set(key, 0);
    }
  }
  return complete;
}

/** Sorts a family's series: by their labels, a histogram's buckets by bound, then its sum and count. */
function seriesOrder(a: string, b: string): number {
  const key = (series: string) => {
    const le = LE.exec(series)?.[1];
    const bound = le === undefined ? Number.POSITIVE_INFINITY : le === "+Inf" ? Number.MAX_VALUE : Number(le);
    const suffix = series.includes("_bucket") ? 0 : series.includes("_sum") ? 1 : 2;
    return { labels: bucketSeries(series.replace(/^[^{]*/, "")), suffix, bound };
  };
  const ka = key(a);
  const kb = key(b);
  if (ka.labels !== kb.labels) return ka.labels < kb.labels ? -1 : 1;
  return ka.suffix - kb.suffix || ka.bound - kb.bound;
}

const formatValue = (value: number) =>
  Number.isFinite(value) ? String(value) : Number.isNaN(value) ? "NaN" : value > 0 ? "+Inf" : "-Inf";

export function renderExposition(values: Map<string, number>): string {
  const byFamily = new Map<string, string[]>();
  const all = completeBuckets(values);
  for (const series of all.keys()) {
    const family = familyOf(series);
    byFamily.set(family, [...(byFamily.get(family) ?? []), series]);
  }
  const lines: string[] = [];
  for (const family of [...byFamily.keys()].sort()) {
    const known = FAMILIES[family as FamilyName];
    if (known) lines.push(`# HELP ${family} ${known.help}`, `# TYPE ${family} ${known.type}`);
    for (const series of (byFamily.get(family) ?? []).sort(seriesOrder)) {
      lines.push(`${series} ${formatValue(all.get(series) ?? 0)}`);
    }
  }
  return `${lines.join("\n")}\n`;
}
