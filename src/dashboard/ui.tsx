// Pieces the dashboard's screens share: loading a resource, a table, a text
// field, and running an action with its outcome shown.
import type { ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";

export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): { data?: T; error?: string; reload: () => void } {
  const [state, setState] = useState<{ data?: T; error?: string }>({});
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    load().then(
      (data) => live && setState({ data }),
      (error: unknown) => live && setState({ error: messageOf(error) }),
    );
    return () => {
      live = false;
    };
  }, [...deps, tick]);
  return { ...state, reload: () => setTick((t) => t + 1) };
}

export const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** A message after an action: what was done, or why it was not. */
export function useOutcome(): [
  { text: string; failed: boolean } | undefined,
  (work: () => Promise<unknown>, done: string) => Promise<boolean>,
] {
  const [outcome, setOutcome] = useState<{ text: string; failed: boolean } | undefined>();
  const run = async (work: () => Promise<unknown>, done: string) => {
    try {
      await work();
      setOutcome({ text: done, failed: false });
      return true;
    } catch (error) {
      setOutcome({ text: messageOf(error), failed: true });
      return false;
    }
  };
  return [outcome, run];
}

export function Outcome(props: { value: { text: string; failed: boolean } | undefined }) {
  if (!props.value) return null;
  return (
    <p class={props.value.failed ? "error" : "notice"} role="status">
      {props.value.text}
    </p>
  );
}

export function Table<T>(props: { rows: T[]; columns: [string, (row: T) => ComponentChildren][]; empty?: string }) {
  if (props.rows.length === 0) return <p class="empty">{props.empty ?? "Nothing yet."}</p>;
  return (
    <div class="scroll">
      <table>
        <thead>
          <tr>
            {props.columns.map(([name]) => (
              <th key={name}>{name}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {props.rows.map((row, i) => (
            <tr key={i}>
              {props.columns.map(([name, cell]) => (
                <td key={name}>{cell(row) ?? "—"}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** A labelled text input over one string in a record of them. */
export function Field<V extends Record<string, string>>(props: {
  name: keyof V & string;
  label: string;
  values: V;
  set: (values: V) => void;
  placeholder?: string;
  type?: "text" | "password";
}) {
  const common = {
    name: props.name,
    autocomplete: "off",
    value: props.values[props.name],
    placeholder: props.placeholder,
    onInput: (e: Event) => props.set({ ...props.values, [props.name]: (e.target as HTMLInputElement).value }),
  };
  return (
    <label>
      {props.label}
      {/* Preact types `type` per kind of input; both kinds here take the same attributes. */}
      <input type={(props.type ?? "text") as "text"} {...common} />
    </label>
  );
}

/** `a, b , c` → `["a", "b", "c"]`; empty text → `[]`. */
export const listOf = (text: string) =>
  text
    .split(/[,\n]/)
    .map((item) => item.trim())
    .filter(Boolean);
/** Empty text → null (no limit); otherwise the number it says. */
export const numberOrNull = (text: string) => (text.trim() === "" ? null : Number(text));
export const textOf = (value: number | string | null | undefined) => (value === null || value === undefined ? "" : String(value));
