// What the guardrails did: blocks, redactions, flags and unavailable checks
// per hour over the last seven days, and per policy, from the verdicts the
// ledger records (`/admin/usage` grouped by hour and by verdict). A row
// counts once for each verdict it carries; input and output are added up.
import { useMemo } from "preact/hooks";
import { api, count, type Group } from "./api.ts";
import { Chart } from "./chart.tsx";
import { Table, useLoad } from "./ui.tsx";

const HOUR = 3600;
const WINDOW_HOURS = 7 * 24;
const OUTCOMES = [
  ["blocked", "#cf222e"],
  ["redacted", "#8250df"],
  ["flagged", "#9a6700"],
  ["unavailable", "#57606a"],
] as const;
type Outcome = (typeof OUTCOMES)[number][0] | "passed";

type VerdictGroup = Group & { guardrail?: string | null; guardrail_verdict?: string | null };

/** `input:blocked` → `blocked`. */
const outcomeOf = (g: VerdictGroup) => (g.guardrail_verdict ?? "").split(":")[1] as Outcome | undefined;

export function GuardrailActivity() {
  const from = useMemo(() => new Date((Math.floor(Date.now() / 1000 / HOUR) - WINDOW_HOURS + 1) * HOUR * 1000), []);
  const query = (groups: string) =>
    api<{ data: VerdictGroup[] }>("GET", `/admin/usage?from=${encodeURIComponent(from.toISOString())}&group_by=${groups}`);
  const timeline = useLoad(() => query("hour,guardrail_verdict"), []);
  const byPolicy = useLoad(() => query("guardrail,guardrail_verdict"), []);

  const hours = useMemo(() => Array.from({ length: WINDOW_HOURS }, (_, i) => from.getTime() / 1000 + i * HOUR), [from]);
  const series = useMemo(() => {
    const at = new Map<string, number>();
    for (const g of timeline.data?.data ?? []) {
      const key = `${Date.parse(g.hour ?? "") / 1000}|${outcomeOf(g)}`;
      at.set(key, (at.get(key) ?? 0) + g.requests);
    }
    return OUTCOMES.map(([outcome, color]) => ({
      label: outcome,
      values: hours.map((t) => at.get(`${t}|${outcome}`) ?? 0),
      color,
    }));
  }, [timeline.data, hours]);
  const acted = series.some((s) => s.values.some((v) => v > 0));

  const policies = useMemo(() => {
    const rows = new Map<string, Record<Outcome, number>>();
    for (const g of byPolicy.data?.data ?? []) {
      const outcome = outcomeOf(g);
      if (!g.guardrail || !outcome) continue;
      const row = rows.get(g.guardrail) ?? { passed: 0, blocked: 0, redacted: 0, flagged: 0, unavailable: 0 };
      row[outcome] += g.requests;
      rows.set(g.guardrail, row);
    }
    return [...rows].map(([guardrail, counts]) => ({ guardrail, ...counts })).sort((a, b) => b.blocked - a.blocked);
  }, [byPolicy.data]);

  return (
    <div data-guardrail-activity>
      <h3>Blocks and flags, last seven days</h3>
      {(timeline.error ?? byPolicy.error) && <p class="error">{timeline.error ?? byPolicy.error}</p>}
      {acted ? (
        <Chart title="Verdicts per hour" times={hours} series={series} format={(v) => count(v)} />
      ) : (
        <p class="empty">No guardrail has blocked, redacted or flagged anything in this window.</p>
      )}
      <Table
        rows={policies}
        empty="No request has been checked by a guardrail in this window."
        columns={[
          ["guardrail", (p) => p.guardrail],
          ["blocked", (p) => count(p.blocked)],
          ["redacted", (p) => count(p.redacted)],
          ["flagged", (p) => count(p.flagged)],
          ["unavailable", (p) => count(p.unavailable)],
          ["passed", (p) => count(p.passed)],
        ]}
      />
    </div>
  );
}
