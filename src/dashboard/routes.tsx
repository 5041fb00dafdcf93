// Routes: names clients ask for as their model, each served by a rule tree.
// The tree is edited as JSON; the server checks it whole when it is saved
// (weights, fields, models, reachability) and its answer names the part that
// is wrong, which is shown by the editor. Explain runs a sample request and
// caller through the stored route, step by step.
import { useState } from "preact/hooks";
import { ApiError, api } from "./api.ts";
import { Outcome, Table, useLoad, useOutcome } from "./ui.tsx";

interface Route {
  name: string;
  description: string | null;
  rule: unknown;
  fallbacks: string[];
  enabled: boolean;
  updated_at: string;
}

interface Explained {
  route: string;
  enabled: boolean;
  arm: string;
  model: string;
  fallbacks: string[];
  steps: { node: string; arm: string; reason: string }[];
}

const NEW_ROUTE = {
  name: "chat-default",
  description: "A canary of the new model on 5% of users",
  rule: {
    type: "split",
    by: "user",
    arms: [
      { name: "stable", weight: 95, route: { type: "model", model: "gpt-4o-mini" } },
      { name: "canary", weight: 5, route: { type: "model", model: "gpt-4.1-mini" } },
    ],
  },
  fallbacks: [],
  enabled: true,
};

const SAMPLE = {
  caller: { principal: "user", user: "user-1", team: null, tier: "pro", claims: {}, used_share: 0.2 },
  request: { stream: true, tools: false, input_tokens: 800, headers: {}, country: "DE", continent: "EU" },
};

const pretty = (value: unknown) => JSON.stringify(value, null, 2);

/** The JSON text, parsed; or where it stops being JSON. */
function parseJson(text: string): { value: unknown } | { error: string } {
  try {
    return { value: JSON.parse(text) };
  } catch (error) {
    return { error: `Not JSON: ${error instanceof Error ? error.message : String(error)}` };
  }
}

function RouteEditor(props: { route?: Route; onSaved: (message: string) => void; onCancel: () => void }) {
  const existing = props.route;
  const [text, setText] = useState(() =>
    pretty(
      existing
        ? { description: existing.description, rule: existing.rule, fallbacks: existing.fallbacks, enabled: existing.enabled }
        : NEW_ROUTE,
    ),
  );
  const [problem, setProblem] = useState<{ message: string; param?: string } | undefined>();
  const save = async (event: Event) => {
    event.preventDefault();
    const parsed = parseJson(text);
    if ("error" in parsed) return setProblem({ message: parsed.error });
    try {
      if (existing) await api("PATCH", `/admin/routes/${encodeURIComponent(existing.name)}`, parsed.value);
      else await api("POST", "/admin/routes", parsed.value);
      setProblem(undefined);
      props.onSaved(existing ? `Route ${existing.name} saved.` : "Route added.");
    } catch (error) {
      setProblem({
        message: error instanceof Error ? error.message : String(error),
        param: error instanceof ApiError ? error.param : undefined,
      });
    }
  };
  return (
    <form class="card editor" onSubmit={save}>
      <strong>{existing ? `Edit ${existing.name}` : "New route"}</strong>
      <textarea
        name="route-json"
        spellcheck={false}
        rows={Math.min(30, text.split("\n").length + 2)}
        aria-invalid={problem ? "true" : "false"}
        value={text}
        onInput={(e) => setText((e.target as HTMLTextAreaElement).value)}
      />
      {problem && (
        <p class="error" data-route-error>
          {problem.message}
          {problem.param && <code class="param"> at {problem.param}</code>}
        </p>
      )}
      <div class="actions">
        <button type="submit">Save</button>
        <button type="button" onClick={props.onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

function Explain(props: { route: Route; onClose: () => void }) {
  const [text, setText] = useState(pretty(SAMPLE));
  const [answer, setAnswer] = useState<Explained | undefined>();
  const [error, setError] = useState("");
  const run = async (event: Event) => {
    event.preventDefault();
    const parsed = parseJson(text);
    if ("error" in parsed) return setError(parsed.error);
    try {
      setAnswer(await api<Explained>("POST", `/admin/routes/${encodeURIComponent(props.route.name)}/explain`, parsed.value));
      setError("");
    } catch (e) {
      setAnswer(undefined);
      setError(e instanceof Error ? e.message : String(e));
    }
  };
  return (
    <form class="card editor" onSubmit={run}>
      <strong>Explain {props.route.name}: a sample request and caller</strong>
      <textarea
        name="explain-json"
        spellcheck={false}
        rows={text.split("\n").length + 1}
        value={text}
        onInput={(e) => setText((e.target as HTMLTextAreaElement).value)}
      />
      <div class="actions">
        <button type="submit">Explain</button>
        <button type="button" onClick={props.onClose}>
          Close
        </button>
      </div>
      {error && <p class="error">{error}</p>}
      {answer && (
        <div data-explained>
          <p>
            Served by <code>{answer.model}</code>
            {answer.arm && (
              <>
                {" "}
                on the arm <code>{answer.arm}</code>
              </>
            )}
            {answer.fallbacks.length > 0 && <>, then {answer.fallbacks.join(", ")}</>}
            {!answer.enabled && " (the route is disabled: requests for it are refused)"}.
          </p>
          <Table
            rows={answer.steps}
            empty="The rule is a single model."
            columns={[
              ["step", (s) => s.node],
              ["took", (s) => s.arm],
              ["why", (s) => s.reason],
            ]}
          />
        </div>
      )}
    </form>
  );
}

/** The models a tree can lead to, for the list. */
function modelsIn(node: unknown): string[] {
  if (!node || typeof node !== "object") return [];
  const n = node as Record<string, unknown>;
  if (typeof n.model === "string") return [n.model];
  const children = [
    ...(Array.isArray(n.models) ? (n.models as string[]) : []),
    ...(Array.isArray(n.arms) ? n.arms.flatMap((a: { route?: unknown }) => modelsIn(a.route)) : []),
    ...(Array.isArray(n.cases) ? n.cases.flatMap((c: { route?: unknown }) => modelsIn(c.route)) : []),
    ...modelsIn(n.default),
    ...modelsIn(n.over),
    ...modelsIn(n.under),
  ];
  return [...new Set(children)];
}

export function Routes() {
  const routes = useLoad(() => api<{ data: Route[] }>("GET", "/admin/routes"), []);
  const [editing, setEditing] = useState<{ route?: Route } | undefined>();
  const [explaining, setExplaining] = useState<Route | undefined>();
  const [outcome, run] = useOutcome();
  const done = (message: string) => {
    setEditing(undefined);
    run(async () => routes.reload(), message);
  };
  return (
    <section>
      <div class="toolbar">
        <h2>Routes</h2>
        <button type="button" onClick={() => setEditing({})}>
          New route
        </button>
      </div>
      <p class="notice">
        A route is a name clients send as their model; its rules pick the model that serves each request. Saved routes reach every
        isolate within the catalog's refresh interval.
      </p>
      {editing && (
        <RouteEditor
          key={editing.route?.name ?? "new"}
          route={editing.route}
          onSaved={done}
          onCancel={() => setEditing(undefined)}
        />
      )}
      {explaining && <Explain key={explaining.name} route={explaining} onClose={() => setExplaining(undefined)} />}
      <Outcome value={outcome} />
      {routes.error && <p class="error">{routes.error}</p>}
      <Table
        rows={routes.data?.data ?? []}
        empty="No routes: every model name goes to its own provider."
        columns={[
          ["route", (r) => r.name],
          ["rule", (r) => (r.rule as { type?: string }).type ?? null],
          ["models", (r) => modelsIn(r.rule).join(", ")],
          ["fallbacks", (r) => r.fallbacks.join(", ") || null],
          ["state", (r) => (r.enabled ? "enabled" : "disabled")],
          ["about", (r) => r.description],
          [
            "",
            (r) => (
              <span class="actions">
                <button type="button" onClick={() => setEditing({ route: r })}>
                  Edit
                </button>
                <button type="button" onClick={() => setExplaining(r)}>
                  Explain
                </button>
                <button
                  type="button"
                  class="danger"
                  onClick={() =>
                    confirm(`Remove the route ${r.name}? Requests for it then fail as an unknown model.`) &&
                    run(() => api("DELETE", `/admin/routes/${encodeURIComponent(r.name)}`).then(routes.reload), "Route removed.")
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
