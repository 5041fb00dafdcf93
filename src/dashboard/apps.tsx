// Apps: browser and mobile apps without a backend, each with a publishable
// key. Created and edited here: allowed origins, iOS bundle ids, Android
// packages, models, the proofs required at the exchange, guest limits per
// device and per IP, and the day's budget for all the app's guests.
import { useState } from "preact/hooks";
import { api, count, usd } from "./api.ts";
import { Field, listOf, numberOrNull, Outcome, Table, textOf, useLoad, useOutcome } from "./ui.tsx";

interface GuestLimits {
  rpm_limit?: number | null;
  tpm_limit?: number | null;
  tokens_per_day?: number | null;
  usd_per_day?: number | null;
}

interface App {
  id: string;
  name: string;
  publishable_key: string;
  allowed_origins: string[];
  ios_bundle_ids: string[];
  android_packages: string[];
  models: string[] | null;
  proofs: ("turnstile" | "app_check")[];
  app_check_project: string | null;
  app_check_app_ids: string[];
  device_limits: GuestLimits;
  ip_limits: GuestLimits;
  guest_usd_per_day: number | null;
  disabled: boolean;
}

const LIMITS = [
  ["rpm_limit", "requests / min"],
  ["tpm_limit", "tokens / min"],
  ["tokens_per_day", "tokens / day"],
  ["usd_per_day", "USD / day"],
] as const;

type FormKey =
  | "id"
  | "name"
  | "allowed_origins"
  | "ios_bundle_ids"
  | "android_packages"
  | "models"
  | "app_check_project"
  | "app_check_app_ids"
  | "guest_usd_per_day"
  | `device_${(typeof LIMITS)[number][0]}`
  | `ip_${(typeof LIMITS)[number][0]}`;

function formOf(app?: App): Record<FormKey, string> {
  const limits = (prefix: "device" | "ip", value?: GuestLimits) =>
    Object.fromEntries(LIMITS.map(([name]) => [`${prefix}_${name}`, textOf(value?.[name])]));
  return {
    id: app?.id ?? "",
    name: app?.name ?? "",
    allowed_origins: app?.allowed_origins.join(", ") ?? "",
    ios_bundle_ids: app?.ios_bundle_ids.join(", ") ?? "",
    android_packages: app?.android_packages.join(", ") ?? "",
    models: app?.models?.join(", ") ?? "",
    app_check_project: app?.app_check_project ?? "",
    app_check_app_ids: app?.app_check_app_ids.join(", ") ?? "",
    guest_usd_per_day: textOf(app?.guest_usd_per_day),
    ...limits("device", app?.device_limits),
    ...limits("ip", app?.ip_limits),
  } as Record<FormKey, string>;
}

/** The body the admin API takes; an emptied limit is no limit, an emptied model list allows every model. */
function bodyOf(form: Record<FormKey, string>, proofs: Set<string>, creating: boolean) {
  // A new app's empty limit takes the default; an edited app's empty limit is removed.
  const limits = (prefix: "device" | "ip") =>
    Object.fromEntries(
      LIMITS.filter(([name]) => !creating || form[`${prefix}_${name}`].trim() !== "").map(([name]) => [
        name,
        numberOrNull(form[`${prefix}_${name}`]),
      ]),
    );
  return {
    ...(creating && form.id.trim() ? { id: form.id.trim() } : {}),
    name: form.name.trim(),
    allowed_origins: listOf(form.allowed_origins),
    ios_bundle_ids: listOf(form.ios_bundle_ids),
    android_packages: listOf(form.android_packages),
    models: form.models.trim() ? listOf(form.models) : null,
    proofs: [...proofs],
    app_check_project: form.app_check_project.trim() || null,
    app_check_app_ids: listOf(form.app_check_app_ids),
    device_limits: limits("device"),
    ip_limits: limits("ip"),
    // Left empty, a new app takes the default cap; an edited one has none.
    ...(form.guest_usd_per_day.trim() || !creating ? { guest_usd_per_day: numberOrNull(form.guest_usd_per_day) } : {}),
  };
}

function AppEditor(props: { app?: App; onSaved: (message: string, app: App) => void; onCancel: () => void }) {
  const creating = !props.app;
  const [form, setForm] = useState(() => formOf(props.app));
  const [proofs, setProofs] = useState(() => new Set<string>(props.app?.proofs ?? []));
  const [outcome, run] = useOutcome();
  const field = (name: FormKey, label: string, placeholder = "") => (
    <Field name={name} label={label} values={form} set={setForm} placeholder={placeholder} />
  );
  const save = (event: Event) => {
    event.preventDefault();
    const body = bodyOf(form, proofs, creating);
    run(async () => {
      const saved = creating
        ? await api<App>("POST", "/admin/apps", body)
        : await api<App>("PATCH", `/admin/apps/${encodeURIComponent(props.app?.id ?? "")}`, body);
      props.onSaved(creating ? `App ${saved.name} added.` : `App ${saved.name} saved.`, saved);
    }, "");
  };
  const proof = (name: string, label: string) => (
    <label class="check">
      <input
        type="checkbox"
        name={`proof-${name}`}
        checked={proofs.has(name)}
        onChange={(e) => {
          const next = new Set(proofs);
          if ((e.target as HTMLInputElement).checked) next.add(name);
          else next.delete(name);
          setProofs(next);
        }}
      />
      {label}
    </label>
  );
  return (
    <form class="card" onSubmit={save}>
      <strong>{creating ? "New app" : `Edit ${props.app?.name}`}</strong>
      <div class="form">
        {creating && field("id", "Id", "generated if empty")}
        {field("name", "Name", "Landing page demo")}
        {field("allowed_origins", "Web origins", "https://app.example")}
        {field("ios_bundle_ids", "iOS bundle ids", "com.example.app")}
        {field("android_packages", "Android packages", "com.example.app")}
        {field("models", "Models", "all when empty")}
      </div>
      <h3>Proof of the app</h3>
      <div class="form">
        {proof("turnstile", "Turnstile (web)")}
        {proof("app_check", "Firebase App Check")}
        {field("app_check_project", "App Check project number", "123456789012")}
        {field("app_check_app_ids", "App Check app ids", "1:123:web:abc")}
      </div>
      <h3>Guest limits</h3>
      <div class="form">
        {LIMITS.map(([name, label]) => (
          <span key={`device-${name}`}>{field(`device_${name}`, `Per device: ${label}`, creating ? "default" : "no limit")}</span>
        ))}
        {LIMITS.map(([name, label]) => (
          <span key={`ip-${name}`}>{field(`ip_${name}`, `Per IP: ${label}`, creating ? "default" : "no limit")}</span>
        ))}
        {field("guest_usd_per_day", "All guests: USD / day", creating ? "default" : "")}
      </div>
      <div class="actions">
        <button type="submit">Save</button>
        <button type="button" onClick={props.onCancel}>
          Cancel
        </button>
      </div>
      <Outcome value={outcome?.failed ? outcome : undefined} />
    </form>
  );
}

const SHORT = { rpm_limit: "rpm", tpm_limit: "tpm", tokens_per_day: "tokens/day", usd_per_day: "/day" } as const;
/** `6 rpm, 20K tpm, 50K tokens/day, $0.050/day`. */
const limitsText = (limits: GuestLimits) =>
  LIMITS.flatMap(([name]) => {
    const value = limits[name];
    if (value === null || value === undefined) return [];
    return [name === "usd_per_day" ? `${usd(value)}${SHORT[name]}` : `${count(value)} ${SHORT[name]}`];
  }).join(", ") || "no limits";

/** Long lists wrap in their cell rather than widen the table. */
const wrap = (text: string) => (text ? <span class="wrap">{text}</span> : undefined);

export function Apps() {
  const apps = useLoad(() => api<{ data: App[] }>("GET", "/admin/apps?limit=200"), []);
  const [editing, setEditing] = useState<{ app?: App } | undefined>();
  const [shown, setShown] = useState<App | undefined>();
  const [outcome, run] = useOutcome();
  const act = (work: () => Promise<unknown>, done: string) => run(() => work().then(apps.reload), done);
  return (
    <section>
      <div class="toolbar">
        <h2>Apps</h2>
        <button type="button" onClick={() => setEditing({})}>
          New app
        </button>
      </div>
      <p class="notice">
        An app's publishable key is safe to ship in a page or an app: it works only from the app's origins and bundles, with the
        proofs it requires, for its models and within its guest limits.
      </p>
      {editing && (
        <AppEditor
          key={editing.app?.id ?? "new"}
          app={editing.app}
          onSaved={(message, app) => {
            setEditing(undefined);
            setShown(app);
            act(async () => undefined, message);
          }}
          onCancel={() => setEditing(undefined)}
        />
      )}
      {shown && (
        <div class="card secret" role="status">
          <p>
            Publishable key of {shown.name}: <code data-publishable>{shown.publishable_key}</code>
          </p>
          <button type="button" onClick={() => navigator.clipboard.writeText(shown.publishable_key)}>
            Copy
          </button>
          <button type="button" onClick={() => setShown(undefined)}>
            Done
          </button>
        </div>
      )}
      <Outcome value={outcome} />
      {apps.error && <p class="error">{apps.error}</p>}
      <Table
        rows={apps.data?.data ?? []}
        empty="No apps: publishable keys and guests are off."
        columns={[
          ["app", (a) => `${a.name} (${a.id})`],
          ["where", (a) => wrap([...a.allowed_origins, ...a.ios_bundle_ids, ...a.android_packages].join(", ")) ?? null],
          ["models", (a) => a.models?.join(", ") ?? "all"],
          ["proofs", (a) => a.proofs.join(", ") || "none"],
          ["per device", (a) => wrap(limitsText(a.device_limits))],
          ["per IP", (a) => wrap(limitsText(a.ip_limits))],
          ["guests / day", (a) => (a.guest_usd_per_day === null ? "no cap" : usd(a.guest_usd_per_day))],
          ["state", (a) => (a.disabled ? "disabled" : "active")],
          [
            "",
            (a) => (
              <span class="actions">
                <button type="button" onClick={() => setEditing({ app: a })}>
                  Edit
                </button>
                <button type="button" onClick={() => setShown(a)}>
                  Key
                </button>
                <button
                  type="button"
                  onClick={() =>
                    confirm(`New publishable key for ${a.name}? The old one stops being exchanged.`) &&
                    act(async () => setShown(await api<App>("POST", `/admin/apps/${a.id}/rotate`)), "Publishable key rotated.")
                  }
                >
                  Rotate
                </button>
                <button
                  type="button"
                  class={a.disabled ? "" : "danger"}
                  onClick={() =>
                    act(
                      () => api("PATCH", `/admin/apps/${a.id}`, { disabled: !a.disabled }),
                      a.disabled ? "App enabled." : "App disabled: its exchanges and guests are refused.",
                    )
                  }
                >
                  {a.disabled ? "Enable" : "Disable"}
                </button>
              </span>
            ),
          ],
        ]}
      />
    </section>
  );
}
