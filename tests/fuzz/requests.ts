// One generated request: a route, a credential, and how its body, path,
// query or headers are broken; and the Request that describes.
import fc from "fast-check";
import { BASE, TEST_ADMIN_KEY } from "../helpers.ts";
import {
  DELETE,
  hostileHeader,
  hostileSegment,
  hostileString,
  type Key,
  nested,
  pathsOf,
  QUERY_PARAMS,
  replacement,
  setAt,
  stringPathsOf,
} from "./inputs.ts";
import { type Auth, FUZZ_ID_FIELDS, type FuzzRoute, ROUTES, routeMethod } from "./routes.ts";

/** What the run made before it started, which requests are built from. */
export interface FuzzSetup {
  /** The bindings requests run with. */
  bindings: object;
  /** Each JWKS-signed token's bindings: its identity provider's key set URL. */
  jwksBindings: Record<string, object>;
  /** Ids made before the run, which routes' paths name as `{name}`. */
  fixtures: Record<string, string>;
  /** Each credential's secret, by its name. */
  secrets: Record<string, string>;
  /** Each route's body to break: its template, or, for a route `unchangedBy` a write, what stands now. */
  templates: Map<FuzzRoute, Record<string, unknown>>;
  /** MAX_BODY_BYTES. */
  bodyLimit: number;
}

export type Kind = keyof typeof KINDS;
/** How each request is broken, and how often. */
const KINDS = {
  valid: 8,
  replace: 14,
  unicode: 8,
  delete: 8,
  json: 4,
  truncate: 4,
  duplicate: 3,
  deep: 3,
  "content-type": 3,
  stream: 4,
  query: 5,
  path: 6,
  header: 8,
  oversized: 1,
};
const weighted = <T>(weights: Record<string, number>) =>
  fc.oneof(...Object.entries(weights).map(([value, weight]) => ({ arbitrary: fc.constant(value as T), weight })));

const AUTHS: Record<Auth | "own", number> = {
  own: 6,
  admin: 2,
  key: 1,
  token: 1,
  user: 1,
  rs256: 1,
  es256: 1,
  eddsa: 1,
  none: 1,
  garbage: 1,
  basic: 1,
  "empty-bearer": 1,
  "key-in-x-api-key": 1,
  "key-in-x-goog-api-key": 1,
  "jwt-in-x-api-key": 1,
  "jwks-in-x-goog-api-key": 1,
  "key-in-query": 1,
  "jwt-in-query": 1,
};

export const drawArbitrary = fc
  .record({
    route: fc.constantFrom(...ROUTES),
    /** `own`: the credential that reaches the route's handler. */
    auth: weighted<Auth | "own">(AUTHS),
    kind: weighted<Kind>(KINDS),
    value: replacement,
    text: hostileString,
    segment: hostileSegment,
    header: hostileHeader,
    pick: fc.nat(),
    cut: fc.nat(),
  })
  // What the request does not use is blanked, so a counterexample shows only what was sent.
  .map((draw) => ({
    ...draw,
    value: ["replace", "json", "query"].includes(draw.kind) ? draw.value : null,
    text: draw.kind === "unicode" || draw.route.hostileQuery ? draw.text : "",
    segment: draw.kind === "path" || draw.route.hostileQuery ? draw.segment : "",
    header: draw.kind === "header" ? draw.header : { name: "x-sluice-cache" as const, value: "" },
  }));
export type Draw = typeof drawArbitrary extends fc.Arbitrary<infer T> ? T : never;

/** Where a credential goes: a header, `?key=`, and the bindings that can check it. */
function credentialFor(auth: Auth, setup: FuzzSetup): { headers: Record<string, string>; query?: string; bindings: object } {
  const { bindings, secrets, jwksBindings } = setup;
  const bearer = (value: string) => ({ headers: { authorization: `Bearer ${value}` }, bindings });
  switch (auth) {
    case "admin":
      return bearer(TEST_ADMIN_KEY);
    case "key":
    case "token":
    case "user":
      return bearer(secrets[auth] ?? "");
    case "rs256":
    case "es256":
    case "eddsa":
      return { ...bearer(secrets[auth] ?? ""), bindings: jwksBindings[auth] ?? bindings };
    case "none":
      return { headers: {}, bindings };
    case "garbage":
      return bearer(`${"x".repeat(300)}.${"y".repeat(20)}.z`);
    case "basic":
      return { headers: { authorization: "Basic Zm9vOmJhcg==" }, bindings };
    case "empty-bearer":
      return { headers: { authorization: "Bearer " }, bindings };
    case "key-in-x-api-key":
      return { headers: { "x-api-key": secrets.key ?? "" }, bindings };
    case "key-in-x-goog-api-key":
      return { headers: { "x-goog-api-key": secrets.key ?? "" }, bindings };
    case "jwt-in-x-api-key":
      return { headers: { "x-api-key": secrets.user ?? "" }, bindings };
    case "jwks-in-x-goog-api-key":
      return { headers: { "x-goog-api-key": secrets.es256 ?? "" }, bindings: jwksBindings.es256 ?? bindings };
    case "key-in-query":
      return { headers: {}, query: `key=${encodeURIComponent(secrets.key ?? "")}`, bindings };
    case "jwt-in-query":
      return { headers: {}, query: `key=${encodeURIComponent(secrets.rs256 ?? "")}`, bindings: jwksBindings.rs256 ?? bindings };
  }
}

/** The field a mutation broke: a 400 must name it, or what it sits in when it was deleted. */
export interface Mutation {
  path: Key[];
  deleted: boolean;
}

export interface Built {
  request: Request;
  bindings: object;
  what: string;
  mutation?: Mutation;
  /** The header a `header` draw set. */
  header?: string;
  /** A path mutation took the URL out of the route (`../..`): what answers is whatever serves it now. */
  escaped: boolean;
}

const fill = (text: string, fixtures: Record<string, string>) =>
  text.replace(/\{(\w+)\}/g, (_, name: string) => fixtures[name] ?? name);

/** An admin write names only what is the fuzz's own: a new id keeps the `fuzz-` prefix. */
const confined = (path: Key[], value: unknown) =>
  path.length === 1 && FUZZ_ID_FIELDS.has(String(path[0])) && typeof value === "string" ? `fuzz-${value}` : value;

/** A body just over the limit: the template with a string stretched. */
function oversized(template: Record<string, unknown>, limit: number, extra: number): string {
  const at = stringPathsOf(template)[0] ?? ["padding"];
  const base = JSON.stringify(setAt(template, at, "")).length;
  return JSON.stringify(setAt(template, at, "x".repeat(limit + 1 - base + extra)));
}

/** The request a draw describes, with what its answer must say. */
export function build(draw: Draw, setup: FuzzSetup): Built {
  const { route, kind, pick } = draw;
  const auth = draw.auth === "own" || kind === "oversized" ? route.auth : draw.auth;
  const { templates, fixtures } = setup;
  const template = templates.get(route) ?? {};
  const paths = pathsOf(template).filter((p) => p.length > 0);
  const at = paths[pick % Math.max(1, paths.length)];
  const strings = stringPathsOf(template);
  const stringAt = strings[pick % Math.max(1, strings.length)];
  const headers: Record<string, string> = { "content-type": "application/json", "x-mock-chunks": "2" };
  let body: string | undefined = JSON.stringify(template);
  let path = fill(route.path, fixtures);
  let mutation: Mutation | undefined;
  let header: string | undefined;
  if (kind === "replace" && at) {
    body = JSON.stringify(setAt(template, at, confined(at, draw.value)));
    mutation = { path: at, deleted: false };
  }
  if (kind === "unicode" && stringAt) {
    body = JSON.stringify(setAt(template, stringAt, confined(stringAt, draw.text)));
    mutation = { path: stringAt, deleted: false };
  }
  if (kind === "delete" && at) {
    body = JSON.stringify(setAt(template, at, DELETE));
    mutation = { path: at, deleted: true };
  }
  if (kind === "json") body = JSON.stringify(draw.value);
  if (kind === "truncate") body = body.slice(0, draw.cut % Math.max(1, body.length));
  if (kind === "duplicate") body = `{"model":5,${body.slice(1)}`;
  if (kind === "deep") body = JSON.stringify({ ...template, messages: JSON.parse(nested(64 + (pick % 400))) });
  if (kind === "content-type")
    headers["content-type"] = ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"][pick % 3] ?? "";
  if (kind === "stream") body = JSON.stringify({ ...template, stream: true });
  if (kind === "query") {
    const value = encodeURIComponent(JSON.stringify(draw.value).slice(0, 200));
    path += `${path.includes("?") ? "&" : "?"}${QUERY_PARAMS[pick % QUERY_PARAMS.length]}=${value}`;
  }
  const within = route.segment ? path.slice(0, path.indexOf(fill(route.segment, fixtures))) : "/";
  if (kind === "path" && route.segment) path = path.replace(fill(route.segment, fixtures), draw.segment);
  if (kind === "header") {
    header = draw.header.name;
    headers[header] = draw.header.value;
  }
  if (kind === "oversized" && templates.has(route)) body = oversized(template, setup.bodyLimit, draw.cut % 4096);
  for (const [i, name] of (route.hostileQuery ?? []).entries()) {
    if ((pick >> i) & 1) path += `${path.includes("?") ? "&" : "?"}${name}=${i === 0 ? draw.segment : draw.text}`;
  }
  if (route.unchangedBy && body !== undefined && kind !== "oversized") {
    // A body the schema takes would change what other suites see: the unchanged template goes instead.
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      parsed = undefined;
    }
    if (route.unchangedBy.safeParse(parsed).success) body = JSON.stringify(template);
  }
  const method = routeMethod(route);
  if (method === "GET") body = undefined;
  const credential = credentialFor(auth, setup);
  if (credential.query) path += `${path.includes("?") ? "&" : "?"}${credential.query}`;
  const request = new Request(`${BASE}${path}`, { method, headers: { ...headers, ...credential.headers }, body });
  const what = `${method} ${path.slice(0, 300)} as ${auth} (${kind}${header ? ` ${header}: ${JSON.stringify(headers[header])}` : ""}): ${body?.slice(0, 200)}`;
  const escaped = !new URL(request.url).pathname.startsWith(within);
  return { request, bindings: credential.bindings, what, mutation, header, escaped };
}
