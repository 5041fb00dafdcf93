// The dashboard's audit view: the newest changes made through the admin API,
// filtered by actor, target or action, each row opened to show the object
// before and after. Reads GET /admin/audit; shown to whoever may read it.
import { useEffect, useState } from "preact/hooks";
import { api, credential } from "./api.ts";

interface AuditRow {
  id: number;
  at: string;
  actor_type: string;
  actor_id: string;
  actor_email: string | null;
  action: string;
  target_type: string | null;
  target_id: string | null;
  status: number;
  request_id: string;
  before: unknown;
  after: unknown;
}

const FILTERS = [
  ["actor", "Actor"],
  ["target_type", "Target type"],
  ["target_id", "Target id"],
  ["action", "Action"],
] as const;
type Filters = Record<(typeof FILTERS)[number][0], string>;

const queryOf = (filters: Filters) =>
  new URLSearchParams(Object.entries(filters).filter(([, v]) => v !== "") as [string, string][]).toString();

export function Audit() {
  const empty: Filters = { actor: "", target_type: "", target_id: "", action: "" };
  const [filters, setFilters] = useState(empty);
  const [applied, setApplied] = useState(empty);
  const [rows, setRows] = useState<AuditRow[]>([]);
  const [error, setError] = useState<string | undefined>();
  const [open, setOpen] = useState<number | undefined>();
  useEffect(() => {
    api<{ data: AuditRow[] }>("GET", `/admin/audit?limit=100&${queryOf(applied)}`).then(
      (page) => {
        setRows(page.data);
        setError(undefined);
      },
      (e: unknown) => setError(e instanceof Error ? e.message : String(e)),
    );
  }, [queryOf(applied)]);
  const download = async () => {
    const response = await fetch(`/admin/audit?format=csv&limit=1000&${queryOf(applied)}`, {
      headers: { authorization: `Bearer ${credential.get()}` },
    });
    const url = URL.createObjectURL(await response.blob());
    const link = document.createElement("a");
    link.href = url;
    link.download = "sluice-audit.csv";
    link.click();
    URL.revokeObjectURL(url);
  };
  return (
    <section>
      <h2>Audit log</h2>
      <form
        class="card form"
        onSubmit={(e) => {
          e.preventDefault();
          setApplied(filters);
        }}
      >
        {FILTERS.map(([name, label]) => (
          <label key={name}>
            {label}
            <input
              value={filters[name]}
              onInput={(e) => setFilters({ ...filters, [name]: (e.target as HTMLInputElement).value })}
            />
          </label>
        ))}
        <button type="submit">Filter</button>
        <button type="button" onClick={download}>
          CSV
        </button>
      </form>
      {error && <p class="error">{error}</p>}
      {rows.length === 0 ? (
        <p class="empty">No changes recorded.</p>
      ) : (
        <div class="scroll">
          <table>
            <thead>
              <tr>
                <th>when</th>
                <th>who</th>
                <th>what</th>
                <th>target</th>
                <th>change</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((row) => (
                <tr key={row.id} data-audit={row.id}>
                  <td>{new Date(row.at).toLocaleString()}</td>
                  <td>{row.actor_email ?? `${row.actor_type} ${row.actor_id}`}</td>
                  <td>{row.action}</td>
                  <td>{row.target_id ? `${row.target_type} ${row.target_id}` : (row.target_type ?? "")}</td>
                  <td>
                    <button type="button" class="link" onClick={() => setOpen(open === row.id ? undefined : row.id)}>
                      {open === row.id ? "hide" : "before / after"}
                    </button>
                    {open === row.id && (
                      <pre>{JSON.stringify({ before: row.before, after: row.after, request_id: row.request_id }, null, 2)}</pre>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
