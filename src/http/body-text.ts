// A request body's text, kept beside its parsed form, so a body forwarded
// with a few top-level fields changed goes up as the client's own bytes with
// only those members rewritten, instead of serialized again whole (a coding
// agent's conversation is megabytes of JSON; serializing it costs several
// times what parsing it did).

/** The text a parsed body came from: held as long as the body is, and no longer. */
const texts = new WeakMap<object, string>();

export interface BodySource {
  /** The body as the route parsed it: its members' values are the ones the text holds. */
  parsed: Record<string, unknown>;
  text: string;
}

export function rememberBodyText(parsed: unknown, text: string): void {
  if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)) texts.set(parsed, text);
}

export function bodySource(parsed: Record<string, unknown>): BodySource | undefined {
  const text = texts.get(parsed);
  return text === undefined ? undefined : { parsed, text };
}

const PRIMITIVE = /[^\s,}\]]*/y;
const SPACE = /\s*/y;

interface Member {
  key: string;
  /** The member's text, key and value: `"key": value`. */
  start: number;
  end: number;
}

const skipSpace = (text: string, at: number) => {
  SPACE.lastIndex = at;
  SPACE.exec(text);
  return SPACE.lastIndex;
};

/** The index just past the string whose opening quote is at `at`; -1 when it does not close. */
function skipString(text: string, at: number): number {
  let quote = text.indexOf('"', at + 1);
  while (quote !== -1) {
    // A quote after an odd run of backslashes is escaped.
    let slashes = 0;
    while (text.charCodeAt(quote - 1 - slashes) === 92) slashes += 1;
    if (slashes % 2 === 0) return quote + 1;
    quote = text.indexOf('"', quote + 1);
  }
  return -1;
}

/**
 * The index just past the JSON value starting at `at`; -1 when the text is
 * not what it should be. Strings are jumped over with `indexOf` (the bulk of
 * a prompt is in them); only the few characters between them are looked at.
 */
function skipValue(text: string, at: number): number {
  const first = text.charCodeAt(at);
  if (first === 34) return skipString(text, at);
  if (first !== 123 && first !== 91) {
    PRIMITIVE.lastIndex = at;
    PRIMITIVE.exec(text);
    return PRIMITIVE.lastIndex > at ? PRIMITIVE.lastIndex : -1;
  }
  let depth = 0;
  let from = at;
  for (;;) {
    const quote = text.indexOf('"', from);
    const until = quote === -1 ? text.length : quote;
    for (let i = from; i < until; i++) {
      const char = text.charCodeAt(i);
      if (char === 123 || char === 91) depth += 1;
      else if (char === 125 || char === 93) {
        depth -= 1;
        if (depth === 0) return i + 1;
      }
    }
    if (quote === -1) return -1;
    from = skipString(text, quote);
    if (from < 0) return -1;
  }
}

/** The top-level members of a JSON object's text, in order; undefined when it is not one object with each key once. */
export function topLevelMembers(text: string): Member[] | undefined {
  let at = skipSpace(text, 0);
  if (text[at] !== "{") return undefined;
  at = skipSpace(text, at + 1);
  const members: Member[] = [];
  const seen = new Set<string>();
  if (text[at] === "}") return skipSpace(text, at + 1) === text.length ? members : undefined;
  for (;;) {
    const start = at;
    const keyEnd = skipString(text, at);
    if (keyEnd < 0) return undefined;
    const key = JSON.parse(text.slice(at, keyEnd)) as string;
    // A repeated key means whatever the last one says; rather than reason about it, such a body is serialized again.
    if (seen.has(key)) return undefined;
    seen.add(key);
    at = skipSpace(text, keyEnd);
    if (text[at] !== ":") return undefined;
    const end = skipValue(text, skipSpace(text, at + 1));
    if (end < 0) return undefined;
    members.push({ key, start, end });
    at = skipSpace(text, end);
    if (text[at] === ",") {
      at = skipSpace(text, at + 1);
      continue;
    }
    if (text[at] === "}" && skipSpace(text, at + 1) === text.length) return members;
    return undefined;
  }
}

/**
 * `body` as JSON: the source's text with only the members whose values are
 * not the very ones parsed from it rewritten (a member removed, changed or
 * added), or serialized whole when there is no source text to start from.
 * Means the same as `JSON.stringify(body)`; the unchanged members keep the
 * client's bytes.
 */
export function bodyJson(body: Record<string, unknown>, source: BodySource | undefined): string {
  if (!source) return JSON.stringify(body);
  const members = topLevelMembers(source.text);
  if (!members) return JSON.stringify(body);
  const parts: string[] = [];
  const written = new Set<string>();
  for (const member of members) {
    written.add(member.key);
    const value = body[member.key];
    if (!Object.hasOwn(body, member.key) || value === undefined) continue;
    if (value === source.parsed[member.key]) parts.push(source.text.slice(member.start, member.end));
    else parts.push(`${JSON.stringify(member.key)}:${JSON.stringify(value)}`);
  }
  for (const [key, value] of Object.entries(body)) {
    if (written.has(key) || value === undefined) continue;
    const json = JSON.stringify(value);
    if (json !== undefined) parts.push(`${JSON.stringify(key)}:${json}`);
  }
  return `{${parts.join(",")}}`;
}
