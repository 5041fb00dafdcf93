// MCP servers behind `/mcp`: listed with how the gateway signs in to each
// (never the secret, only its last characters), added and removed here.
import { useState } from "preact/hooks";
import { api, usd } from "./api.ts";
import { Field, numberOrNull, Outcome, Table, useLoad, useOutcome } from "./ui.tsx";

interface McpServer {
  name: string;
  url: string;
  description: string | null;
  auth_type: "none" | "bearer" | "header" | "user_oauth" | "client_credentials";
  auth_header: string | null;
  secret_display: string | null;
  timeout_ms: number;
  price_per_call_usd: number | null;
  disabled: boolean;
}

const EMPTY = {
  name: "",
  url: "",
  description: "",
  token: "",
  header: "",
  value: "",
  token_url: "",
  client_id: "",
  client_secret: "",
  scopes: "",
  timeout_ms: "",
  price_per_call_usd: "",
};

/** The credential the form describes, as the admin API takes it. */
function credentialOf(auth: McpServer["auth_type"], form: typeof EMPTY) {
  if (auth === "bearer") return { type: "bearer", token: form.token };
  if (auth === "header") return { type: "header", name: form.header, value: form.value };
  if (auth === "client_credentials") {
    return {
      type: "client_credentials",
      token_url: form.token_url.trim(),
      client_id: form.client_id.trim(),
      client_secret: form.client_secret,
      ...(form.scopes.trim() && { scopes: form.scopes.trim() }),
    };
  }
  return { type: "none" };
}

/** How the list names each kind of credential; a static header is named by its header. */
const CREDENTIAL_LABELS: Partial<Record<McpServer["auth_type"], string>> = {
  bearer: "bearer",
  user_oauth: "users' own OAuth",
  client_credentials: "OAuth client",
};

function AddServer(props: { onAdded: (message: string) => void; onCancel: () => void }) {
  const [form, setForm] = useState(EMPTY);
  const [auth, setAuth] = useState<McpServer["auth_type"]>("none");
  const [outcome, run] = useOutcome();
  const add = (event: Event) => {
    event.preventDefault();
    const credential = credentialOf(auth, form);
    const timeout = numberOrNull(form.timeout_ms);
    const body = {
      name: form.name.trim(),
      url: form.url.trim(),
      description: form.description.trim() || null,
      auth: credential,
      ...(timeout === null ? {} : { timeout_ms: timeout }),
      price_per_call_usd: numberOrNull(form.price_per_call_usd),
    };
    run(async () => {
      await api("POST", "/admin/mcp/servers", body);
      props.onAdded(`MCP server ${body.name} added: its tools are ${body.name}__<tool> on /mcp.`);
    }, "");
  };
  const field = (name: keyof typeof EMPTY, label: string, placeholder = "", type: "text" | "password" = "text") => (
    <Field name={name} label={label} values={form} set={setForm} placeholder={placeholder} type={type} />
  );
  return (
    <form class="card" onSubmit={add}>
      <strong>Add an MCP server</strong>
      <div class="form">
        {field("name", "Name (tool prefix)", "github")}
        {field("url", "URL (Streamable HTTP)", "https://mcp.example/mcp")}
        {field("description", "Description", "optional")}
        <label>
          Credential
          <select name="auth" value={auth} onChange={(e) => setAuth((e.target as HTMLSelectElement).value as typeof auth)}>
            <option value="none">none</option>
            <option value="bearer">bearer token</option>
            <option value="header">static header</option>
            <option value="client_credentials">OAuth client credentials</option>
          </select>
        </label>
        {auth === "bearer" && field("token", "Token", "sealed when saved", "password")}
        {auth === "header" && field("header", "Header", "x-api-key")}
        {auth === "header" && field("value", "Value", "sealed when saved", "password")}
        {auth === "client_credentials" && field("token_url", "Token URL", "https://auth.example/oauth/token")}
        {auth === "client_credentials" && field("client_id", "Client ID")}
        {auth === "client_credentials" && field("client_secret", "Client secret", "sealed when saved", "password")}
        {auth === "client_credentials" && field("scopes", "Scopes", "optional, space-separated")}
        {field("timeout_ms", "Timeout (ms)", "default")}
        {field("price_per_call_usd", "Price per call (USD)", "free")}
      </div>
      <div class="actions">
        <button type="submit">Add server</button>
        <button type="button" onClick={props.onCancel}>
          Cancel
        </button>
      </div>
      <Outcome value={outcome?.failed ? outcome : undefined} />
    </form>
  );
}

export function McpServers() {
  const servers = useLoad(() => api<{ data: McpServer[] }>("GET", "/admin/mcp/servers"), []);
  const [adding, setAdding] = useState(false);
  const [outcome, run] = useOutcome();
  const act = (work: () => Promise<unknown>, done: string) => run(() => work().then(servers.reload), done);
  return (
    <section>
      <div class="toolbar">
        <h2>MCP servers</h2>
        <button type="button" onClick={() => setAdding(true)}>
          Add server
        </button>
      </div>
      <p class="notice">
        Clients reach every server's tools at <code>/mcp</code>, or one server's at <code>/mcp/&lt;name&gt;</code>, with their own
        key or token; the credential below is the gateway's, never shown again.
      </p>
      {adding && (
        <AddServer
          onAdded={(message) => {
            setAdding(false);
            act(async () => undefined, message);
          }}
          onCancel={() => setAdding(false)}
        />
      )}
      <Outcome value={outcome} />
      {servers.error && <p class="error">{servers.error}</p>}
      <Table
        rows={servers.data?.data ?? []}
        empty="No MCP servers: /mcp is off."
        columns={[
          ["server", (s) => s.name],
          ["url", (s) => s.url],
          [
            "credential",
            (s) =>
              s.auth_type === "none"
                ? "none"
                : `${CREDENTIAL_LABELS[s.auth_type] ?? s.auth_header} ${s.secret_display ?? ""}`.trim(),
          ],
          ["timeout", (s) => `${s.timeout_ms} ms`],
          ["price / call", (s) => (s.price_per_call_usd ? usd(s.price_per_call_usd) : "free")],
          ["state", (s) => (s.disabled ? "disabled" : "active")],
          ["about", (s) => s.description],
          [
            "",
            (s) => (
              <span class="actions">
                <button
                  type="button"
                  onClick={() =>
                    act(
                      () => api("PATCH", `/admin/mcp/servers/${s.name}`, { disabled: !s.disabled }),
                      s.disabled ? "Server enabled." : "Server disabled: its tools leave /mcp.",
                    )
                  }
                >
                  {s.disabled ? "Enable" : "Disable"}
                </button>
                <button
                  type="button"
                  class="danger"
                  onClick={() =>
                    confirm(`Remove the MCP server ${s.name}?`) &&
                    act(() => api("DELETE", `/admin/mcp/servers/${s.name}`), "Server removed.")
                  }
                >
                  Remove
                </button>
              </span>
            ),
          ],
        ]}
      />
    </section>
  );
}
