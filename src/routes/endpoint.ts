// Every authenticated route declares itself with `endpoint()`: the error shape
// its callers read, and whether it is gated — whether its one Redis round trip
// (the limits check) also reads the deny markers. The middleware
// authenticates the caller and, for routes that are not gated, checks the
// deny markers itself, so a revoked key or a blocked user or team is refused
// everywhere within a second.
import type { Context, MiddlewareHandler } from "hono";
import { checkMarkers } from "../auth/deny-list.ts";
import { authenticate, reauthenticate } from "../auth/index.ts";
import type { GatewayEnv } from "../context.ts";
import { hasControl } from "../formats/fields.ts";
import type { ErrorShape } from "../formats/types.ts";
import { badRequest, GatewayError } from "../http/errors.ts";
import { admit } from "../limits/index.ts";

/** Marks the middleware, so a test can show that no route skips it. */
export const ENDPOINT = Symbol("sluice endpoint");

export interface EndpointOptions {
  /** The caller's error shape. */
  errors: ErrorShape;
  /** The route admits its calls through the limits check, which reads the deny markers too. */
  gated: boolean;
  /** What the route's path carries, named in a refusal of it (`model` on Gemini's routes); `path` otherwise. */
  pathParam?: string;
  /** The route takes the caller's key in `?key=`, as Gemini's REST clients send it; no other route does. */
  queryCredential?: boolean;
  /** The route takes a signed-in person (the dashboard's session): the admin API does; the model routes do not. */
  operators?: boolean;
  /** The route takes the caller's credential in a WebSocket subprotocol, as browsers' realtime clients send it. */
  protocolCredential?: boolean;
}

const operatorRefused = () =>
  new GatewayError(
    403,
    "permission",
    "A dashboard sign-in does not call this route: use a virtual key (`Authorization: Bearer sk-…`).",
    { code: "operator_not_allowed" },
  );

export function endpoint(options: EndpointOptions): MiddlewareHandler<GatewayEnv> {
  const middleware: MiddlewareHandler<GatewayEnv> = async (c, next) => {
    c.set("format", options.errors);
    if (options.queryCredential) c.set("queryCredential", true);
    if (options.protocolCredential) c.set("protocolCredential", true);
    checkRequestNames(c, options.pathParam ?? "path");
    const principal = await authenticate(c);
    if (principal.type === "operator" && !options.operators) throw operatorRefused();
    c.set("principal", principal);
    // Gated routes read the markers in their limits check; the others read them here.
    if (!options.gated && (await checkMarkers(c.get("services").redis, c.get("principal"))) === "stale") {
      await reauthenticate(c);
    }
    await next();
  };
  return Object.assign(middleware, { [ENDPOINT]: options });
}

/**
 * Ids in the path (`/admin/keys/{id}`) and values in the query reach
 * Postgres and headers as they are: ones with control characters (a NUL
 * Postgres refuses) are the caller's 400, before anything reads them.
 */
function checkRequestNames(c: Context<GatewayEnv>, pathParam: string): void {
  if (hasControl(c.req.path)) throw badRequest(`Invalid \`${pathParam}\`: must not contain control characters`, pathParam);
  for (const [name, values] of Object.entries(c.req.queries())) {
    if (hasControl(name) || values.some(hasControl)) {
      throw badRequest(`Invalid \`${name}\`: must not contain control characters`, name);
    }
  }
}

/** Errors of a path family in its own shape, for requests no route matches. */
export function errorsIn(errors: ErrorShape): MiddlewareHandler<GatewayEnv> {
  return async (c, next) => {
    c.set("format", errors);
    await next();
  };
}

const NO_TOKENS = { inputTokens: 0, outputTokens: 0 };

/**
 * For routes that spend no tokens but must not be called without bound
 * (minting keys and tokens, storing provider keys): each call counts as one
 * request against the caller's per-minute limits, and a caller over them gets
 * the usual 429 with its headers.
 */
export const countsAsRequest: MiddlewareHandler<GatewayEnv> = async (c, next) => {
  const defer = (work: Promise<unknown>) => c.executionCtx.waitUntil(work);
  const admission = admit({
    config: c.get("config"),
    services: c.get("services"),
    principal: c.get("principal"),
    estimate: NO_TOKENS,
    price: undefined,
    defer,
    refresh: () => reauthenticate(c),
  });
  const headers = await admission.ready;
  defer(admission.settle({ tokens: 0, usd: 0 }));
  await next();
  for (const [name, value] of Object.entries(headers)) c.res.headers.set(name, value);
};
