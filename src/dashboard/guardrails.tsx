// Guardrails: policies that look at prompts (input), answers (output) or
// both, for built-in kinds (emails, cards, secrets…), patterns of the
// policy's own and listed words; and block, redact or flag what they find.
import { useState } from "preact/hooks";
import { api } from "./api.ts";
import { GuardrailActivity } from "./guardrail-activity.tsx";
import { Field, listOf, Outcome, Table, useLoad, useOutcome } from "./ui.tsx";

const KINDS = ["email", "phone", "card", "iban", "ssn", "ip", "secret"] as const;
const PHASES = ["input", "output", "both"] as const;
const MODES = ["block", "redact", "flag"] as const;

interface Pattern {
  name: string;
  regex: string;
  flags?: string;
}

interface Guardrail {
  id: string;
  name: string;
  phase: (typeof PHASES)[number];
  mode: (typeof MODES)[number];
  kinds: string[];
  options: { patterns?: Pattern[]; words?: string[] };
  enabled: boolean;
}

/** Patterns as text, one a line: `name: regex` or `name: /regex/flags`. */
const patternsText = (patterns: Pattern[] = []) =>
  patterns.map((p) => (p.flags ? `${p.name}: /${p.regex}/${p.flags}` : `${p.name}: ${p.regex}`)).join("\n");

function patternsOf(text: string): Pattern[] {
  return text
    .split("\n")
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => {
      const at = line.indexOf(":");
      const name = at < 0 ? line : line.slice(0, at).trim();
      const source = at < 0 ? "" : line.slice(at + 1).trim();
      const slashed = /^\/(.*)\/([a-z]*)$/.exec(source);
      return slashed ? { name, regex: slashed[1] ?? "", ...(slashed[2] ? { flags: slashed[2] } : {}) } : { name, regex: source };
    });
}

function Choice<T extends string>(props: { name: string; label: string; options: readonly T[]; value: T; set: (v: T) => void }) {
  return (
    <label>
      {props.label}
      <select name={props.name} value={props.value} onChange={(e) => props.set((e.target as HTMLSelectElement).value as T)}>
        {props.options.map((option) => (
          <option key={option} value={option}>
            {option}
          </option>
        ))}
      </select>
    </label>
  );
}

function GuardrailEditor(props: { value?: Guardrail; onSaved: (message: string) => void; onCancel: () => void }) {
  const start = props.value;
  const [text, setText] = useState({
    id: start?.id ?? "",
    name: start?.name ?? "",
    words: start?.options.words?.join(", ") ?? "",
  });
  const [phase, setPhase] = useState<Guardrail["phase"]>(start?.phase ?? "input");
  const [mode, setMode] = useState<Guardrail["mode"]>(start?.mode ?? "redact");
  const [kinds, setKinds] = useState(() => new Set(start?.kinds ?? []));
  const [patterns, setPatterns] = useState(patternsText(start?.options.patterns));
  const [outcome, run] = useOutcome();
  const save = (event: Event) => {
    event.preventDefault();
    const options = {
      ...(patterns.trim() ? { patterns: patternsOf(patterns) } : {}),
      ...(text.words.trim() ? { words: listOf(text.words) } : {}),
    };
    const body = { name: text.name, phase, mode, kinds: [...kinds], options };
    run(async () => {
      if (start) await api("PATCH", `/admin/guardrails/${encodeURIComponent(start.id)}`, body);
      else await api("POST", "/admin/guardrails", { id: text.id, ...body });
      props.onSaved(start ? `Guardrail ${start.id} saved.` : `Guardrail ${text.id} added.`);
    }, "");
  };
  return (
    <form class="card" onSubmit={save}>
      <strong>{start ? `Edit ${start.id}` : "New guardrail"}</strong>
      <div class="form">
        {!start && <Field name="id" label="Id" values={text} set={setText} placeholder="pii-redact" />}
        <Field name="name" label="Name" values={text} set={setText} placeholder="Redact personal data" />
        <Choice name="phase" label="Looks at" options={PHASES} value={phase} set={setPhase} />
        <Choice name="mode" label="Then" options={MODES} value={mode} set={setMode} />
      </div>
      <fieldset class="kinds">
        <legend>Built-in kinds</legend>
        {KINDS.map((kind) => (
          <label class="check" key={kind}>
            <input
              type="checkbox"
              name={`kind-${kind}`}
              checked={kinds.has(kind)}
              onChange={(e) => {
                const next = new Set(kinds);
                if ((e.target as HTMLInputElement).checked) next.add(kind);
                else next.delete(kind);
                setKinds(next);
              }}
            />
            {kind}
          </label>
        ))}
      </fieldset>
      <label>
        Patterns, one a line (<code>name: regex</code> or <code>name: /regex/i</code>)
        <textarea
          name="patterns"
          rows={3}
          spellcheck={false}
          value={patterns}
          placeholder="ticket: TICKET-\d+"
          onInput={(e) => setPatterns((e.target as HTMLTextAreaElement).value)}
        />
      </label>
      <Field name="words" label="Words and phrases" values={text} set={setText} placeholder="project falcon, codename" />
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

export function Guardrails() {
  const guardrails = useLoad(() => api<{ data: Guardrail[] }>("GET", "/admin/guardrails"), []);
  const [editing, setEditing] = useState<{ value?: Guardrail } | undefined>();
  const [outcome, run] = useOutcome();
  const act = (work: () => Promise<unknown>, done: string) => run(() => work().then(guardrails.reload), done);
  return (
    <section>
      <div class="toolbar">
        <h2>Guardrails</h2>
        <button type="button" onClick={() => setEditing({})}>
          New guardrail
        </button>
      </div>
      <p class="notice">Policies apply to callers through settings (global, team, key); a policy here is what they can name.</p>
      {editing && (
        <GuardrailEditor
          key={editing.value?.id ?? "new"}
          value={editing.value}
          onSaved={(message) => {
            setEditing(undefined);
            act(async () => undefined, message);
          }}
          onCancel={() => setEditing(undefined)}
        />
      )}
      <Outcome value={outcome} />
      {guardrails.error && <p class="error">{guardrails.error}</p>}
      <Table
        rows={guardrails.data?.data ?? []}
        empty="No guardrail policies."
        columns={[
          ["guardrail", (g) => `${g.name} (${g.id})`],
          ["looks at", (g) => g.phase],
          ["then", (g) => g.mode],
          [
            "finds",
            (g) =>
              [
                ...g.kinds,
                ...(g.options.patterns ?? []).map((p) => p.name),
                ...(g.options.words?.length ? [`${g.options.words.length} words`] : []),
              ].join(", "),
          ],
          ["state", (g) => (g.enabled ? "enabled" : "disabled")],
          [
            "",
            (g) => (
              <span class="actions">
                <button type="button" onClick={() => setEditing({ value: g })}>
                  Edit
                </button>
                <button
                  type="button"
                  onClick={() =>
                    act(
                      () => api("PATCH", `/admin/guardrails/${encodeURIComponent(g.id)}`, { enabled: !g.enabled }),
                      g.enabled ? "Guardrail disabled." : "Guardrail enabled.",
                    )
                  }
                >
                  {g.enabled ? "Disable" : "Enable"}
                </button>
                <button
                  type="button"
                  class="danger"
                  onClick={() =>
                    confirm(`Remove the guardrail ${g.id}?`) &&
                    act(() => api("DELETE", `/admin/guardrails/${encodeURIComponent(g.id)}`), "Guardrail removed.")
                  }
                >
                  Remove
                </button>
              </span>
            ),
          ],
        ]}
      />
      <GuardrailActivity />
    </section>
  );
}
