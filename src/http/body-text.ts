// A request body's text, kept beside its parsed form, so a body forwarded
// with a few top-level fields changed goes up as the client's own bytes with
// only those members rewritten, instead of serialized again whole (a coding
// agent's conversation is megabytes of JSON; serializing it costs several
// times what parsing it did).
//
// The source is the request's own (the context's `bodySource`), not an
// isolate-wide WeakMap keyed by the parsed body: holding megabytes of text
// in a WeakMap's entries cost the runtime about 4 ms of collection per MiB
// of prompt (docs/performance.md), where a request's own variable costs
// nothing it would not free anyway.

export interface BodySource {
  /** The body as the route parsed it: its members' values are the ones the text holds. */
  parsed: Record<string, unknown>;
  text: string;
  /** The bytes the text was read from, when it is all ASCII: each character is then the byte at its index. */
  bytes?: Uint8Array<ArrayBuffer>;
  /** Its top-level members, once a reader asked for them (null: the text is not one object with each key once). */
  members?: Member[] | null;
}

/**
 * Whether every byte is ASCII, read four at a time: only then is the decoded
 * text's every character the byte at its index (a multi-byte sequence, a BOM
 * or an invalid byte, which decodes to U+FFFD, all have their high bit set).
 */
function isAscii(bytes: Uint8Array): boolean {
  const length = bytes.byteLength;
  // A view of words must start on a word's boundary: bytes that do not are read one by one.
  const whole = bytes.byteOffset % 4 === 0 ? length - (length % 4) : 0;
  if (whole > 0) {
    const words = new Uint32Array(bytes.buffer, bytes.byteOffset, whole / 4);
    for (let i = 0; i < words.length; i++) if (((words[i] as number) & 0x80808080) !== 0) return false;
  }
  for (let i = whole; i < length; i++) if (((bytes[i] as number) & 0x80) !== 0) return false;
  return true;
}

/** A parsed body with the text it came from, and its bytes when they are all ASCII; undefined for anything but an object. */
export function bodySourceOf(parsed: unknown, text: string, bytes?: Uint8Array<ArrayBuffer>): BodySource | undefined {
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return undefined;
  const body = parsed as Record<string, unknown>;
  return bytes && bytes.byteLength === text.length && isAscii(bytes) ? { parsed: body, text, bytes } : { parsed: body, text };
}

/** `source` when it is the text of this very body (by identity), else undefined. */
export const sourceFor = (body: Record<string, unknown>, source: BodySource | undefined): BodySource | undefined =>
  source?.parsed === body ? source : undefined;

const PRIMITIVE = /[^\s,}\]]*/y;
const SPACE = /\s*/y;

export interface Member {
  key: string;
  /** The member's text, key and value: `"key": value`. */
  start: number;
  /** Where its value's text starts. */
  valueStart: number;
  end: number;
}

/** The body's members, found once however many readers ask. */
function membersOf(source: BodySource): Member[] | undefined {
  if (source.members === undefined) source.members = topLevelMembers(source.text) ?? null;
  return source.members ?? undefined;
}

/**
 * The client's own JSON text of one of the body's top-level values (an
 * object or array, by identity): what the prompt's size is measured on,
 * instead of serializing megabytes again. It may differ from
 * `JSON.stringify(value)` in whitespace and escapes (`\u00e9`, `\/`), never in
 * meaning. Undefined when there is no such text.
 */
export function clientJson(source: BodySource | undefined, value: unknown): string | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const members = source && membersOf(source);
  const member = members?.find((m) => source?.parsed[m.key] === value);
  if (!source || !member) return undefined;
  return source.text.slice(member.valueStart, member.end);
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
    const valueStart = skipSpace(text, at + 1);
    const end = skipValue(text, valueStart);
    if (end < 0) return undefined;
    members.push({ key, start, valueStart, end });
    at = skipSpace(text, end);
    if (text[at] === ",") {
      at = skipSpace(text, at + 1);
      continue;
    }
    if (text[at] === "}" && skipSpace(text, at + 1) === text.length) return members;
    return undefined;
  }
}

/** A piece of the body to send: a range of the source's text, or JSON written again. */
type Piece = { start: number; end: number } | string;

/**
 * The body's members in order, as pieces: the source's own text for every
 * member whose value is the very one parsed from it, JSON for a member
 * changed or added; `changed` says whether any was. Undefined without a
 * source whose members could be read.
 */
function pieces(body: Record<string, unknown>, source: BodySource): { pieces: Piece[]; changed: boolean } | undefined {
  const members = membersOf(source);
  if (!members) return undefined;
  const out: Piece[] = [];
  const written = new Set<string>();
  let changed = false;
  for (const member of members) {
    written.add(member.key);
    const value = body[member.key];
    if (!Object.hasOwn(body, member.key) || value === undefined) changed = true;
    else if (value === source.parsed[member.key]) out.push({ start: member.start, end: member.end });
    else {
      changed = true;
      out.push(`${JSON.stringify(member.key)}:${JSON.stringify(value)}`);
    }
  }
  for (const [key, value] of Object.entries(body)) {
    if (written.has(key) || value === undefined) continue;
    const json = JSON.stringify(value);
    if (json === undefined) continue;
    changed = true;
    out.push(`${JSON.stringify(key)}:${json}`);
  }
  return { pieces: out, changed };
}

/**
 * `body` as JSON: the source's text with only the members whose values are
 * not the very ones parsed from it rewritten (a member removed, changed or
 * added), or serialized whole when there is no source text to start from.
 * Means the same as `JSON.stringify(body)`; the unchanged members keep the
 * client's bytes.
 */
export function bodyJson(body: Record<string, unknown>, source: BodySource | undefined): string {
  const plan = source && pieces(body, source);
  if (!source || !plan) return JSON.stringify(body);
  if (!plan.changed) return source.text;
  // Concatenated, not joined: Array#join copies megabytes of slices slowly, a concatenation is flattened once where it is sent.
  let json = "{";
  plan.pieces.forEach((piece, i) => {
    if (i > 0) json += ",";
    json += typeof piece === "string" ? piece : source.text.slice(piece.start, piece.end);
  });
  return `${json}}`;
}

/**
 * What `bodyJson` means, as what goes on the wire: where the client's bytes
 * are known, they themselves when nothing changed, else their unchanged
 * ranges copied around the rewritten members, so megabytes of prompt are
 * neither joined as a string nor encoded to UTF-8 again.
 */
export function bodyToSend(body: Record<string, unknown>, source: BodySource | undefined): string | Uint8Array<ArrayBuffer> {
  const bytes = source?.bytes;
  const plan = source && bytes && pieces(body, source);
  if (!bytes || !plan) return bodyJson(body, source);
  // The bytes themselves: fetch copies a buffer it is given as a body when the request is made, so every attempt sends them whole.
  if (!plan.changed) return bytes;
  const encoder = new TextEncoder();
  const encoded = plan.pieces.map((piece) => (typeof piece === "string" ? encoder.encode(piece) : piece));
  const size = encoded.reduce(
    (sum, p, i) => sum + (i > 0 ? 1 : 0) + (p instanceof Uint8Array ? p.byteLength : p.end - p.start),
    2,
  );
  const out = new Uint8Array(size);
  let at = 0;
  out[at++] = 123; // {
  encoded.forEach((piece, i) => {
    if (i > 0) out[at++] = 44; // ,
    const part = piece instanceof Uint8Array ? piece : bytes.subarray(piece.start, piece.end);
    out.set(part, at);
    at += part.byteLength;
  });
  out[at] = 125; // }
  return out;
}
