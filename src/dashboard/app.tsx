// The dashboard: a single page over the gateway's own JSON routes (usage,
// admin). Signed in with the admin key it shows everything and can change
// keys, users and teams; signed in with any other credential it shows that
// caller's own usage and limits, read-only. Every action is checked by the
// server; what the page hides is only for clarity.
import { type ComponentChildren, render } from "preact";
import { useEffect, useMemo, useState } from "preact/hooks";
import { ApiError, api, count, credential, type Group, type SsoSession, ssoSession, type UsageRow, usd } from "./api.ts";
import { Apps } from "./apps.tsx";
import { Audit } from "./audit.tsx";
import { Chart } from "./chart.tsx";
import { Guardrails } from "./guardrails.tsx";
import { McpServers } from "./mcp.tsx";
import { Routes } from "./routes.tsx";
import { Table, useLoad } from "./ui.tsx";
import "uplot/dist/uPlot.min.css";
import "./styles.css";

type Range = "hour" | "day" | "month";
const RANGES: Record<Range, { label: string; ms: number; bucket: "minute" | "hour" | "day" }> = {
  hour: { label: "Last hour", ms: 3_600_000, bucket: "minute" },
  day: { label: "Last day", ms: 86_400_000, bucket: "hour" },
  month: { label: "Last 30 days", ms: 30 * 86_400_000, bucket: "day" },
};

const since = (range: Range) => new Date(Date.now() - RANGES[range].ms).toISOString();

function Stat(props: { label: string; value: string; hint?: string }) {
  return (
    <div class="stat">
      <span class="label">{props.label}</span>
      <strong data-stat={props.label}>{props.value}</strong>
      {props.hint && <span class="hint">{props.hint}</span>}
    </div>
  );
}

const bucketTime = (g: Group) => Date.parse(g.minute ?? g.hour ?? (g.day ? `${g.day}T00:00:00Z` : "")) / 1000;
const BUCKET_SECONDS = { minute: 60, hour: 3600, day: 86_400 } as const;

/** Every bucket of the window, in seconds, so empty stretches show as zero rather than vanish. */
function bucketsOf(from: string, bucket: keyof typeof BUCKET_SECONDS): number[] {
  const step = BUCKET_SECONDS[bucket];
  const first = Math.floor(Date.parse(from) / 1000 / step) * step;
  const last = Math.floor(Date.now() / 1000 / step) * step;
  const out: number[] = [];
  for (let t = first; t <= last; t += step) out.push(t);
  return out;
}

/** What an empty table says: still loading, why it failed, or nothing there. */
const loadingOr = (load: { data?: unknown; error?: string }) =>
  load.error ? `Could not load: ${load.error}` : load.data === undefined ? "Loading…" : undefined;

function Overview(props: { admin: boolean }) {
  const [range, setRange] = useState<Range>("day");
  const base = props.admin ? "/admin/usage" : "/api/ai/usage";
  // A caller's own usage groups by day at the finest.
  const bucket = props.admin ? RANGES[range].bucket : "day";
  const from = useMemo(() => since(range), [range]);
  const q = (group: string) => api<{ data: Group[] }>("GET", `${base}?from=${encodeURIComponent(from)}&group_by=${group}`);
  const totals = useLoad(() => q("total"), [range]);
  const timeline = useLoad(() => q(bucket), [range]);
  const byModel = useLoad(() => q("model"), [range]);
  const byProvider = useLoad(() => q("provider"), [range]);
  const byTeam = useLoad(() => (props.admin ? q("team") : Promise.resolve({ data: [] })), [range]);
  const byUser = useLoad(() => (props.admin ? q("user") : Promise.resolve({ data: [] })), [range]);
  const byKey = useLoad(() => (props.admin ? q("key") : Promise.resolve({ data: [] })), [range]);
  const total = totals.data?.data[0];
  const points = timeline.data?.data ?? [];
  const times = useMemo(() => bucketsOf(from, bucket), [points]);
  const series = useMemo(() => {
    const at = new Map(points.map((g) => [bucketTime(g), g]));
    const line = (pick: (g: Group) => number | null, empty: number | null) =>
      times.map((t) => {
        const g = at.get(t);
        return g ? pick(g) : empty;
      });
    return {
      requests: [
        { label: "requests", values: line((g) => g.requests, 0), color: "#1f6feb" },
        { label: "errors", values: line((g) => g.errors, 0), color: "#cf222e" },
      ],
      spend: [{ label: "spend (USD)", values: line((g) => g.cost_usd, 0), color: "#1a7f37" }],
      tokens: [{ label: "tokens", values: line((g) => g.total_tokens, 0), color: "#8250df" }],
      latency: [
        { label: "p50 latency", values: line((g) => g.p50_latency_ms, null), color: "#1f6feb" },
        { label: "p95 latency", values: line((g) => g.p95_latency_ms, null), color: "#9a6700" },
        { label: "p50 first byte", values: line((g) => g.p50_ttfb_ms, null), color: "#1a7f37" },
        { label: "p95 first byte", values: line((g) => g.p95_ttfb_ms, null), color: "#cf222e" },
      ],
    };
  }, [times]);
  const top = (rows: Group[] | undefined) => [...(rows ?? [])].sort((a, b) => b.cost_usd - a.cost_usd).slice(0, 10);
  const spendColumns = (
    name: string,
    pick: (g: Group) => string | null | undefined,
  ): [string, (g: Group) => ComponentChildren][] => [
    [name, (g) => pick(g) ?? "(none)"],
    ["requests", (g) => count(g.requests)],
    ["tokens", (g) => count(g.total_tokens)],
    ["spend", (g) => usd(g.cost_usd)],
    ["errors", (g) => g.errors],
  ];
  const error = totals.error ?? timeline.error;
  return (
    <section>
      <div class="toolbar">
        <h2>Overview</h2>
        <fieldset class="segmented" aria-label="Time range">
          {(Object.keys(RANGES) as Range[]).map((r) => (
            <button type="button" key={r} class={r === range ? "on" : ""} onClick={() => setRange(r)}>
              {RANGES[r].label}
            </button>
          ))}
        </fieldset>
      </div>
      {error && <p class="error">{error}</p>}
      <div class="stats">
        <Stat label="Requests" value={total ? count(total.requests) : "…"} />
        <Stat label="Tokens" value={total ? count(total.total_tokens) : "…"} />
        <Stat label="Spend" value={total ? usd(total.cost_usd) : "…"} />
        <Stat
          label="Error rate"
          value={total ? (total.requests ? `${((100 * total.errors) / total.requests).toFixed(1)} %` : "0 %") : "…"}
        />
        <Stat
          label="Latency p50 / p95"
          value={total ? `${total.p50_latency_ms ?? "—"} / ${total.p95_latency_ms ?? "—"} ms` : "…"}
        />
        <Stat label="First byte p50 / p95" value={total ? `${total.p50_ttfb_ms ?? "—"} / ${total.p95_ttfb_ms ?? "—"} ms` : "…"} />
      </div>
      {points.length > 0 && (
        <div class="charts">
          <Chart title="Requests and errors" times={times} series={series.requests} />
          <Chart title="Spend" times={times} series={series.spend} format={(v) => (v === 0 ? "$0" : usd(v))} />
          <Chart title="Tokens" times={times} series={series.tokens} format={(v) => count(v)} />
          <Chart title="Latency and time to first byte (ms)" times={times} series={series.latency} />
        </div>
      )}
      <div class="grid">
        <div>
          <h3>Spend by model</h3>
          <Table rows={top(byModel.data?.data)} empty={loadingOr(byModel)} columns={spendColumns("model", (g) => g.model)} />
        </div>
        <div>
          <h3>Spend by provider</h3>
          <Table
            rows={top(byProvider.data?.data)}
            empty={loadingOr(byProvider)}
            columns={spendColumns("provider", (g) => g.provider)}
          />
        </div>
        {props.admin && (
          <>
            <div>
              <h3>Spend by team</h3>
              <Table rows={top(byTeam.data?.data)} empty={loadingOr(byTeam)} columns={spendColumns("team", (g) => g.team_id)} />
            </div>
            <div>
              <h3>Top users</h3>
              <Table rows={top(byUser.data?.data)} empty={loadingOr(byUser)} columns={spendColumns("user", (g) => g.user_id)} />
            </div>
            <div>
              <h3>Top keys</h3>
              <Table rows={top(byKey.data?.data)} empty={loadingOr(byKey)} columns={spendColumns("key", (g) => g.key_id)} />
            </div>
          </>
        )}
      </div>
    </section>
  );
}

interface Key {
  id: string;
  name: string | null;
  key_display: string;
  user_id: string | null;
  team_id: string | null;
  models: string[] | null;
  rpm_limit: number | null;
  tpm_limit: number | null;
  max_budget: number | null;
  budget_duration: string | null;
  budget_spend?: number | null;
  expires_at: string | null;
  revoked_at: string | null;
}

/** A key's limits, budget and allowlist, changed in place; an emptied field removes the limit. */
function KeyEditor(props: { value: Key; onSave: (changes: Record<string, unknown>) => void; onCancel: () => void }) {
  const start = props.value;
  const [fields, setFields] = useState({
    rpm_limit: start.rpm_limit?.toString() ?? "",
    tpm_limit: start.tpm_limit?.toString() ?? "",
    max_budget: start.max_budget?.toString() ?? "",
    models: start.models?.join(", ") ?? "",
  });
  const number = (text: string) => (text.trim() === "" ? null : Number(text));
  const input = (name: keyof typeof fields, label: string) => (
    <label>
      {label}
      <input
        name={`edit-${name}`}
        value={fields[name]}
        onInput={(e) => setFields({ ...fields, [name]: (e.target as HTMLInputElement).value })}
      />
    </label>
  );
  return (
    <form
      class="card form"
      onSubmit={(event) => {
        event.preventDefault();
        props.onSave({
          rpm_limit: number(fields.rpm_limit),
          tpm_limit: number(fields.tpm_limit),
          max_budget: number(fields.max_budget),
          models: fields.models.trim() ? fields.models.split(",").map((m) => m.trim()) : null,
        });
      }}
    >
      <strong>Edit {start.name ?? start.id}</strong>
      {input("rpm_limit", "Requests / minute")}
      {input("tpm_limit", "Tokens / minute")}
      {input("max_budget", "Budget (USD)")}
      {input("models", "Models")}
      <button type="submit">Save</button>
      <button type="button" onClick={props.onCancel}>
        Cancel
      </button>
    </form>
  );
}

function Keys() {
  const keys = useLoad(() => api<{ data: Key[] }>("GET", "/admin/keys?limit=200"), []);
  const [created, setCreated] = useState<{ id: string; key: string } | undefined>();
  const [message, setMessage] = useState("");
  const [editing, setEditing] = useState<Key | undefined>();
  const [form, setForm] = useState({ name: "", user_id: "", team_id: "", max_budget: "", rpm_limit: "", models: "" });
  const act = async (work: () => Promise<unknown>, done: string) => {
    try {
      await work();
      setMessage(done);
      keys.reload();
    } catch (error) {
      setMessage(error instanceof Error ? error.message : String(error));
    }
  };
  const create = (event: Event) => {
    event.preventDefault();
    const number = (text: string) => (text.trim() === "" ? undefined : Number(text));
    const body = {
      name: form.name || undefined,
      user_id: form.user_id || undefined,
      team_id: form.team_id || undefined,
      max_budget: number(form.max_budget),
      rpm_limit: number(form.rpm_limit),
      models: form.models.trim() ? form.models.split(",").map((m) => m.trim()) : undefined,
    };
    act(async () => setCreated(await api<{ id: string; key: string }>("POST", "/admin/keys", body)), "Key created.");
  };
  const field = (name: keyof typeof form, label: string, placeholder = "") => (
    <label>
      {label}
      <input
        name={name}
        value={form[name]}
        placeholder={placeholder}
        onInput={(e) => setForm({ ...form, [name]: (e.target as HTMLInputElement).value })}
      />
    </label>
  );
  return (
    <section>
      <h2>Keys</h2>
      <form class="card form" onSubmit={create}>
        {field("name", "Name", "ci-runner")}
        {field("user_id", "User", "optional")}
        {field("team_id", "Team", "optional")}
        {field("max_budget", "Budget (USD)", "optional")}
        {field("rpm_limit", "Requests / minute", "optional")}
        {field("models", "Models", "gpt-4o-mini, claude-*")}
        <button type="submit">Create key</button>
      </form>
      {created && (
        <div class="card secret" role="status">
          <p>
            The new key, shown only now: <code data-secret>{created.key}</code>
          </p>
          <button type="button" onClick={() => navigator.clipboard.writeText(created.key).then(() => setMessage("Copied."))}>
            Copy
          </button>
          <button type="button" onClick={() => setCreated(undefined)}>
            Done
          </button>
        </div>
      )}
      {editing && (
        <KeyEditor
          key={editing.id}
          value={editing}
          onSave={(changes) =>
            act(async () => {
              await api("PATCH", `/admin/keys/${editing.id}`, changes);
              setEditing(undefined);
            }, "Key updated.")
          }
          onCancel={() => setEditing(undefined)}
        />
      )}
      {message && <p class="notice">{message}</p>}
      {keys.error && <p class="error">{keys.error}</p>}
      <Table
        rows={keys.data?.data ?? []}
        empty="No keys yet."
        columns={[
          ["key", (k) => `${k.name ?? k.id} (${k.key_display})`],
          ["owner", (k) => [k.user_id, k.team_id].filter(Boolean).join(" / ") || null],
          ["models", (k) => k.models?.join(", ") ?? "all"],
          ["rpm", (k) => k.rpm_limit],
          [
            "budget",
            (k) => (k.max_budget === null ? null : `${usd(k.max_budget)}${k.budget_duration ? ` / ${k.budget_duration}` : ""}`),
          ],
          ["used", (k) => (k.budget_spend === undefined || k.budget_spend === null ? null : usd(k.budget_spend))],
          [
            "state",
            (k) => (k.revoked_at ? "revoked" : k.expires_at && Date.parse(k.expires_at) < Date.now() ? "expired" : "active"),
          ],
          [
            "",
            (k) =>
              k.revoked_at ? (
                ""
              ) : (
                <span class="actions">
                  <button type="button" onClick={() => setEditing(k)}>
                    Edit
                  </button>
                  <button
                    type="button"
                    onClick={() =>
                      confirm(`Rotate ${k.name ?? k.id}? The old secret stops working now.`) &&
                      act(
                        async () => setCreated(await api<{ id: string; key: string }>("POST", `/admin/keys/${k.id}/rotate`)),
                        "Rotated: the old secret no longer works; the new one is shown once, above.",
                      )
                    }
                  >
                    Rotate
                  </button>
                  <button
                    type="button"
                    class="danger"
                    data-revoke={k.id}
                    onClick={() =>
                      confirm(`Revoke ${k.name ?? k.id}?`) && act(() => api("POST", `/admin/keys/${k.id}/revoke`), "Key revoked.")
                    }
                  >
                    Revoke
                  </button>
                </span>
              ),
          ],
        ]}
      />
    </section>
  );
}

interface Person {
  id: string;
  email?: string | null;
  name?: string | null;
  team_id?: string | null;
  blocked?: boolean;
}

const QUOTA_FIELDS = [
  ["rpm_limit", "Requests / minute"],
  ["tpm_limit", "Tokens / minute"],
  ["tokens_per_day", "Tokens / day"],
  ["tokens_per_month", "Tokens / month"],
  ["usd_per_day", "USD / day"],
  ["usd_per_month", "USD / month"],
] as const;

type Quota = Record<(typeof QUOTA_FIELDS)[number][0], number | null>;

/** A user's or team's own quota, read and changed in place; an emptied field removes that limit. */
function QuotaEditor(props: { kind: "users" | "teams"; id: string; onDone: (message: string) => void }) {
  const path = `/admin/${props.kind}/${encodeURIComponent(props.id)}`;
  const current = useLoad(() => api<{ quota: Quota }>("GET", path), [path]);
  const [fields, setFields] = useState<Record<string, string> | undefined>();
  const values = fields ?? Object.fromEntries(QUOTA_FIELDS.map(([name]) => [name, current.data?.quota[name]?.toString() ?? ""]));
  if (!current.data) return <p class="notice">{current.error ?? "Loading the quota…"}</p>;
  return (
    <form
      class="card form"
      onSubmit={(event) => {
        event.preventDefault();
        const body = Object.fromEntries(QUOTA_FIELDS.map(([name]) => [name, values[name]?.trim() ? Number(values[name]) : null]));
        api("PATCH", path, body).then(
          () => props.onDone(`Quota of ${props.id} saved.`),
          (error: unknown) => props.onDone(error instanceof Error ? error.message : String(error)),
        );
      }}
    >
      <strong>Quota of {props.id}</strong>
      {QUOTA_FIELDS.map(([name, label]) => (
        <label key={name}>
          {label}
          <input
            name={`quota-${name}`}
            value={values[name]}
            placeholder="no limit"
            onInput={(e) => setFields({ ...values, [name]: (e.target as HTMLInputElement).value })}
          />
        </label>
      ))}
      <button type="submit">Save</button>
      <button type="button" onClick={() => props.onDone("")}>
        Cancel
      </button>
    </form>
  );
}

function People() {
  const users = useLoad(() => api<{ data: Person[] }>("GET", "/admin/users?limit=200"), []);
  const teams = useLoad(() => api<{ data: Person[] }>("GET", "/admin/teams?limit=200"), []);
  const [editing, setEditing] = useState<{ kind: "users" | "teams"; id: string } | undefined>();
  const [message, setMessage] = useState("");
  const block = (kind: "users" | "teams", person: Person) =>
    api("POST", `/admin/${kind}/${encodeURIComponent(person.id)}/${person.blocked ? "unblock" : "block"}`).then(() =>
      kind === "users" ? users.reload() : teams.reload(),
    );
  const columns = (kind: "users" | "teams"): [string, (p: Person) => ComponentChildren][] => [
    ["id", (p) => p.id],
    ["name", (p) => p.name ?? p.email ?? null],
    ...(kind === "users" ? ([["team", (p: Person) => p.team_id ?? null]] as [string, (p: Person) => ComponentChildren][]) : []),
    ["state", (p) => (p.blocked ? "blocked" : "active")],
    [
      "",
      (p) => (
        <span class="actions">
          <button type="button" onClick={() => setEditing({ kind, id: p.id })}>
            Quota
          </button>
          <button type="button" class={p.blocked ? "" : "danger"} onClick={() => block(kind, p)}>
            {p.blocked ? "Unblock" : "Block"}
          </button>
        </span>
      ),
    ],
  ];
  return (
    <section>
      {editing && (
        <QuotaEditor
          key={`${editing.kind}/${editing.id}`}
          kind={editing.kind}
          id={editing.id}
          onDone={(text) => {
            setMessage(text);
            setEditing(undefined);
          }}
        />
      )}
      {message && <p class="notice">{message}</p>}
      <h2>Users</h2>
      {users.error && <p class="error">{users.error}</p>}
      <Table rows={users.data?.data ?? []} columns={columns("users")} />
      <h2>Teams</h2>
      {teams.error && <p class="error">{teams.error}</p>}
      <Table rows={teams.data?.data ?? []} columns={columns("teams")} />
    </section>
  );
}

interface CatalogModel {
  id: string;
  targets?: { provider: string; model: string }[];
  fallbacks?: string[];
  input_price?: number | null;
  output_price?: number | null;
}

function Catalog() {
  const models = useLoad(() => api<{ data: CatalogModel[] }>("GET", "/admin/models"), []);
  const credentials = useLoad(
    () =>
      api<{ data: { id: string; provider: string; name: string | null; hint: string; disabled_at: string | null }[] }>(
        "GET",
        "/admin/credentials",
      ),
    [],
  );
  return (
    <section>
      <h2>Models</h2>
      {models.error && <p class="error">{models.error}</p>}
      <Table
        rows={models.data?.data ?? []}
        empty="No catalog entries: models route by their names."
        columns={[
          ["model", (m) => m.id],
          ["targets", (m) => m.targets?.map((t) => `${t.provider}/${t.model}`).join(", ") ?? null],
          ["fallbacks", (m) => m.fallbacks?.join(", ") || null],
          [
            "input / output per 1M",
            (m) => (m.input_price == null ? null : `${usd(m.input_price)} / ${usd(m.output_price ?? 0)}`),
          ],
        ]}
      />
      <h2>Credentials</h2>
      {credentials.error && <p class="error">{credentials.error}</p>}
      <Table
        rows={credentials.data?.data ?? []}
        empty="No stored credentials: providers use the Worker's own settings."
        columns={[
          ["provider", (c) => c.provider],
          ["name", (c) => c.name],
          ["key", (c) => c.hint],
          ["state", (c) => (c.disabled_at ? "disabled" : "active")],
        ]}
      />
    </section>
  );
}

function Requests(props: { admin: boolean }) {
  const [filters, setFilters] = useState({ user_id: "", key_id: "", model: "", status: "" });
  const [applied, setApplied] = useState(filters);
  const query = new URLSearchParams(
    Object.entries(props.admin ? applied : { model: applied.model }).filter(([, v]) => v !== "") as [string, string][],
  );
  const rows = useLoad(
    () => api<{ data: UsageRow[] }>("GET", `${props.admin ? "/admin/usage" : "/api/ai/usage"}?limit=100&${query}`),
    [JSON.stringify(applied)],
  );
  const [open, setOpen] = useState<string | undefined>();
  const field = (name: keyof typeof filters, label: string) => (
    <label>
      {label}
      <input value={filters[name]} onInput={(e) => setFilters({ ...filters, [name]: (e.target as HTMLInputElement).value })} />
    </label>
  );
  return (
    <section>
      <h2>Requests</h2>
      <form
        class="card form"
        onSubmit={(e) => {
          e.preventDefault();
          setApplied(filters);
        }}
      >
        {props.admin && field("user_id", "User")}
        {props.admin && field("key_id", "Key")}
        {field("model", "Model")}
        {props.admin && field("status", "Status")}
        <button type="submit">Filter</button>
      </form>
      {rows.error && <p class="error">{rows.error}</p>}
      <Table
        rows={rows.data?.data ?? []}
        empty="No requests in the last 30 days."
        columns={[
          ["when", (r) => new Date(r.created_at).toLocaleString()],
          [
            "model",
            (r) =>
              r.upstream_model && r.upstream_model !== r.model
                ? `${r.model} → ${r.provider}/${r.upstream_model}`
                : `${r.model} (${r.provider})`,
          ],
          ["status", (r) => r.status],
          ["tokens", (r) => `${r.prompt_tokens} + ${r.completion_tokens}`],
          ["cost", (r) => usd(r.cost_usd)],
          ["latency", (r) => `${r.latency_ms} ms${r.ttfb_ms === null ? "" : ` (first byte ${r.ttfb_ms})`}`],
          [
            "route",
            (r) => (
              <button type="button" class="link" onClick={() => setOpen(open === r.request_id ? undefined : r.request_id)}>
                {r.attempts} attempt{r.attempts === 1 ? "" : "s"}
                {open === r.request_id &&
                  (r.metadata.route ?? []).map((step, i) => (
                    <span key={i} class="step">
                      {step.provider}/{step.model}: {step.outcome}, {step.ms} ms
                    </span>
                  ))}
              </button>
            ),
          ],
        ]}
      />
    </section>
  );
}

function Quota() {
  const quota = useLoad(
    () => api<{ principal: { type: string; id: string }; limits: unknown; used: Record<string, number> }>("GET", "/api/ai/quota"),
    [],
  );
  return (
    <section>
      <h2>Your limits</h2>
      {quota.error && <p class="error">{quota.error}</p>}
      {quota.data && (
        <div class="stats">
          <Stat label="Tokens today" value={count(quota.data.used.tokens_today ?? 0)} />
          <Stat label="Tokens this month" value={count(quota.data.used.tokens_this_month ?? 0)} />
          <Stat label="Spend today" value={usd(quota.data.used.usd_today ?? 0)} />
          <Stat label="Spend this month" value={usd(quota.data.used.usd_this_month ?? 0)} />
        </div>
      )}
      {quota.data && <pre class="card">{JSON.stringify(quota.data.limits, null, 2)}</pre>}
    </section>
  );
}

/** A signed-in user's Google account for Gemini: connected from here, a POST with their credential in a header. */
function GoogleAccount() {
  const accounts = useLoad(
    () => api<{ data: { email: string | null; connected_at: string }[] }>("GET", "/api/provider-accounts"),
    [],
  );
  const [error, setError] = useState("");
  const connect = async () => {
    try {
      const started = await api<{ url: string }>("POST", "/api/provider-accounts/google/start");
      window.location.assign(started.url);
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  };
  const account = accounts.data?.data[0];
  return (
    <section>
      <h2>Google account</h2>
      {accounts.error && <p class="error">{accounts.error}</p>}
      {account ? (
        <p>
          {account.email ?? "Your Google account"} serves your Gemini requests (connected {account.connected_at.slice(0, 10)}).
        </p>
      ) : (
        accounts.data && (
          <p>
            Gemini requests can run on your own Google account.{" "}
            <button type="button" onClick={connect}>
              Connect Google account
            </button>
          </p>
        )
      )}
      {error && <p class="error">{error}</p>}
    </section>
  );
}

function SignIn(props: { onSignedIn: (admin: boolean) => void; sso?: SsoSession }) {
  const [value, setValue] = useState("");
  const [error, setError] = useState("");
  const submit = async (event: Event) => {
    event.preventDefault();
    credential.set(value.trim());
    try {
      await api("GET", "/api/ai/quota");
      const admin = await api("GET", "/admin/keys?limit=1").then(
        () => true,
        (e: unknown) => (e instanceof ApiError && e.status === 403 ? false : Promise.reject(e)),
      );
      props.onSignedIn(admin);
    } catch (e) {
      credential.clear();
      setError(e instanceof Error ? e.message : String(e));
    }
  };
  return (
    <form class="card signin" onSubmit={submit}>
      <h1>Sluice</h1>
      {props.sso && (
        <p>
          <a class="button" href={`${props.sso.login_url}?return_to=/dashboard/`}>
            Sign in with {props.sso.provider}
          </a>
        </p>
      )}
      <p>Sign in with the admin key, or with a key or token of your own to see your usage.</p>
      <label>
        Key or token
        <input
          type="password"
          name="credential"
          autocomplete="off"
          value={value}
          onInput={(e) => setValue((e.target as HTMLInputElement).value)}
        />
      </label>
      <button type="submit">Sign in</button>
      {error && <p class="error">{error}</p>}
    </form>
  );
}

type Tab =
  | "overview"
  | "keys"
  | "people"
  | "catalog"
  | "routes"
  | "apps"
  | "guardrails"
  | "mcp"
  | "requests"
  | "limits"
  | "audit";

/** A signed-in person whose role opens none of the screens here. */
function NoScreens(props: { who: string; role: string }) {
  return (
    <main>
      <section class="card">
        <h2>Signed in as {props.who}</h2>
        <p>Your role ({props.role}) does not open the admin screens. Ask an organization admin if you need them.</p>
      </section>
    </main>
  );
}

const ADMIN_ROLES = new Set(["owner", "admin"]);

function App() {
  const [session, setSession] = useState<{ admin: boolean; operator?: SsoSession["operator"] } | undefined>();
  const [sso, setSso] = useState<SsoSession | undefined>();
  const [tab, setTab] = useState<Tab>("overview");
  useEffect(() => {
    if (!credential.get()) {
      ssoSession().then(
        (found) => {
          setSso(found);
          const operator = found?.signed_in ? found.operator : undefined;
          if (operator) setSession({ admin: ADMIN_ROLES.has(operator.org_role ?? ""), operator });
        },
        () => undefined,
      );
      return;
    }
    api("GET", "/admin/keys?limit=1").then(
      () => setSession({ admin: true }),
      (e: unknown) => (e instanceof ApiError && e.status === 403 ? setSession({ admin: false }) : credential.clear()),
    );
  }, []);
  if (!session) return <SignIn sso={sso} onSignedIn={(admin) => setSession({ admin })} />;
  const operator = session.operator;
  const signOut = async () => {
    if (operator) await fetch("/auth/sso/logout", { method: "POST" });
    credential.clear();
    setSession(undefined);
  };
  const who = operator ? (operator.email ?? operator.name ?? "signed in") : undefined;
  const role = operator
    ? (operator.org_role ??
      Object.entries(operator.team_roles)
        .map(([team, r]) => `${r} of ${team}`)
        .join(", "))
    : "";
  if (operator && !session.admin) {
    return (
      <>
        <header class="top">
          <strong>Sluice</strong>
          <span class="who">{who}</span>
          <button type="button" onClick={signOut}>
            Sign out
          </button>
        </header>
        <NoScreens who={who ?? ""} role={role} />
      </>
    );
  }
  const tabs: [Tab, string][] = session.admin
    ? [
        ["overview", "Overview"],
        ["keys", "Keys"],
        ["people", "Users and teams"],
        ["catalog", "Models and credentials"],
        ["routes", "Routes"],
        ["apps", "Apps"],
        ["guardrails", "Guardrails"],
        ["mcp", "MCP servers"],
        ["requests", "Requests"],
        ["audit", "Audit log"],
      ]
    : [
        ["overview", "Overview"],
        ["limits", "Limits"],
        ["requests", "Requests"],
      ];
  return (
    <>
      <header class="top">
        <strong>Sluice</strong>
        <nav>
          {tabs.map(([id, label]) => (
            <button type="button" key={id} class={tab === id ? "on" : ""} onClick={() => setTab(id)}>
              {label}
            </button>
          ))}
        </nav>
        <span class="who" title={operator ? `${role}` : undefined}>
          {who ? `${who} (${role})` : session.admin ? "admin" : "read-only"}
        </span>
        <button type="button" onClick={signOut}>
          Sign out
        </button>
      </header>
      <main>
        {tab === "overview" && <Overview admin={session.admin} />}
        {tab === "keys" && session.admin && <Keys />}
        {tab === "people" && session.admin && <People />}
        {tab === "catalog" && session.admin && <Catalog />}
        {tab === "routes" && session.admin && <Routes />}
        {tab === "apps" && session.admin && <Apps />}
        {tab === "guardrails" && session.admin && <Guardrails />}
        {tab === "mcp" && session.admin && <McpServers />}
        {tab === "requests" && <Requests admin={session.admin} />}
        {tab === "limits" && <Quota />}
        {tab === "limits" && <GoogleAccount />}
        {tab === "audit" && session.admin && <Audit />}
      </main>
    </>
  );
}

const root = document.getElementById("app");
if (root) render(<App />, root);
