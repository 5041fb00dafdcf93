// What the fuzz sends: bodies made from a route's template and broken in one
// way each, hostile strings, path segments and headers.
import fc from "fast-check";

export type Key = string | number;

/** Every path to a value inside a template, as key lists, the root first. */
export function pathsOf(value: unknown, prefix: Key[] = []): Key[][] {
  if (Array.isArray(value)) return [prefix, ...value.flatMap((v, i) => pathsOf(v, [...prefix, i]))];
  if (value && typeof value === "object") {
    return [prefix, ...Object.entries(value).flatMap(([k, v]) => pathsOf(v, [...prefix, k]))];
  }
  return [prefix];
}

/** The paths to a template's strings. */
export function stringPathsOf(template: unknown): Key[][] {
  return pathsOf(template).filter((path) => typeof valueAt(template, path) === "string");
}

export function valueAt(value: unknown, path: Key[]): unknown {
  return path.reduce<unknown>((at, key) => (at as Record<Key, unknown> | undefined)?.[key], value);
}

export const DELETE = Symbol("delete");

export function setAt(value: unknown, path: Key[], replacement: unknown): unknown {
  if (path.length === 0) return replacement === DELETE ? undefined : replacement;
  const [head, ...rest] = path as [Key, ...Key[]];
  if (Array.isArray(value) && rest.length === 0 && replacement === DELETE) return value.filter((_, i) => i !== head);
  const copy = (Array.isArray(value) ? [...value] : { ...(value as object) }) as Record<Key, unknown>;
  if (rest.length === 0 && replacement === DELETE) delete copy[head];
  else copy[head] = setAt(copy[head], rest, replacement);
  return copy;
}

export const nested = (depth: number) => `${"[".repeat(depth)}1${"]".repeat(depth)}`;

/** Strings a careless parser trips on: every plane, lone surrogates, controls, direction overrides, markup, long runs. */
export const hostileString = fc.oneof(
  fc.string({ unit: "grapheme", maxLength: 40 }),
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.constantFrom(
    "\uD800",
    "\uDFFF",
    "a\uD83D",
    "\uDE00b",
    "\u0000",
    "nul\u0000inside",
    "\u001b[2J",
    "\u202Eevil",
    "\uFEFF",
    "zero\u200Bwidth",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 🧪",
    "e\u0301",
    "line\r\nbreak",
    "%00",
    "%zz",
    "../../etc/passwd",
    "<script>alert(1)</script>",
    "'; drop table users; --",
  ),
  fc.nat({ max: 5_000 }).map((n) => "long".repeat(1 + n)),
);

/** A JSON value, a hostile string, or a number at an edge. */
export const replacement = fc.oneof(
  { arbitrary: fc.jsonValue({ maxDepth: 3 }), weight: 3 },
  { arbitrary: hostileString, weight: 2 },
  { arbitrary: fc.constantFrom(-1, 0, 0.5, -0, 2 ** 31, 2 ** 53 + 2, 1e308, -1e308), weight: 1 },
);

/** A percent-encoding of anything, lone surrogates included (which encodeURIComponent refuses). */
function encodeAny(text: string): string {
  return [...text]
    .map((ch) => {
      try {
        return encodeURIComponent(ch);
      } catch {
        return "%ED%A0%80";
      }
    })
    .join("");
}

/** What replaces a path's own value (a Gemini model name, an id): bad percent-encoding, control characters, long names. */
export const hostileSegment = fc.oneof(
  fc.constantFrom(
    "%",
    "%zz",
    "%E0%A4%A",
    "%C0%AF",
    "%ED%A0%80",
    "%00",
    "mock%00echo",
    "mock%0Aecho",
    "%1B%5B31m",
    "%7F",
    "%2E%2E",
    "a%2Fb",
    "mock-echo%3AgenerateContent",
    "%F0%9F%A7%AA",
  ),
  fc.nat({ max: 20_000 }).map((n) => "m".repeat(257 + n)),
  hostileString.map(encodeAny),
  hostileString,
);

/** Printable ASCII and the control characters a header value may hold. */
const headerText = fc.string({
  unit: fc
    .oneof(fc.integer({ min: 0x20, max: 0x7e }), fc.integer({ min: 1, max: 8 }), fc.integer({ min: 0x0e, max: 0x1f }))
    .map((c) => String.fromCharCode(c)),
  maxLength: 60,
});

/** A header the gateway reads, set to something odd. */
export const hostileHeader = fc.oneof(
  fc.record({
    name: fc.constant("x-sluice-provider"),
    value: fc.oneof(
      fc.constantFrom("mock", "openai", "nope", "", "MOCK", "mock\u0001", "a".repeat(300), "../mock", "mock/x"),
      headerText,
    ),
  }),
  fc.record({
    name: fc.constant("anthropic-version"),
    value: fc.oneof(fc.constantFrom("2023-06-01", "", "9999-99-99", "2023-06-01, 2023-01-01"), headerText),
  }),
  fc.record({
    name: fc.constant("x-sluice-cache"),
    value: fc.oneof(
      fc.constantFrom(
        "ttl=60",
        "ttl=0",
        "ttl=-1",
        "ttl=abc",
        "ttl=1e309",
        "ttl=99999999999",
        "no-store",
        "refresh",
        "ttl=60, ttl=5",
        "",
      ),
      headerText,
    ),
  }),
  fc.record({
    name: fc.constant("content-type"),
    value: fc.oneof(
      fc.constantFrom(
        "application/json; charset=utf-16",
        "application/json;;",
        "APPLICATION/JSON",
        "",
        "text/json",
        'application/json; charset="utf-8"',
        "application/json; boundary=x",
      ),
      headerText,
    ),
  }),
);

/** Query parameters the routes read, and one they do not. */
export const QUERY_PARAMS = [
  "limit",
  "from",
  "to",
  "group_by",
  "cursor",
  "status",
  "format",
  "metadata.session_id",
  "offset",
  "alt",
  "start_date",
  "end_date",
  "api_key",
  "user_id",
  "request_id",
  "provider",
  "owner_type",
  "unknown",
];
