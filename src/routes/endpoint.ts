// Every authenticated route declares itself with `endpoint()`: the error shape
// its callers read, and whether it is gated — whether its one Redis round trip
// (the limits check) also reads the deny markers. The middleware
// authenticates the caller and, for routes that are not gated, checks the
// deny markers itself, so a revoked key or a blocked user or team is refused
// everywhere within a second.
import type { Context, MiddlewareHandler } from "hono";
import { checkMarkers } from "../auth/deny-list.ts";
import { authenticate, reauthenticate } from "../auth/index.ts";
import type { Principal } from "../auth/principal.ts";
import { ANY_TEAM, can, type Permission } from "../auth/roles.ts";
import type { GatewayEnv } from "../context.ts";
import { hasControl } from "../formats/fields.ts";
import type { ErrorShape } from "../formats/types.ts";
import { badRequest, GatewayError } from "../http/errors.ts";
import { admit } from "../limits/index.ts";
import { prefetchCatalog } from "../routing/catalog.ts";

/** Marks the middleware, so a test can show that no route skips it. */
export const ENDPOINT = Symbol("sluice endpoint");
/** Marks `permits()`, so a test can read each admin route's permission from the route table. */
export const PERMISSION = Symbol("sluice permission");

export interface EndpointOptions {
  /** The caller's error shape. */
  errors: ErrorShape;
  /** The route admits its calls through the limits check, which reads the deny markers too. */
  gated: boolean;
  /** What the route's path carries, named in a refusal of it (`model` on Gemini's routes); `path` otherwise. */
  pathParam?: string;
  /** The route takes the caller's key in `?key=`, as Gemini's REST clients send it; no other route does. */
  queryCredential?: boolean;
  /** The route takes the caller's credential in a WebSocket subprotocol, as browsers' realtime clients send it. */
  protocolCredential?: boolean;
  /**
   * What an operator (a signed-in person or an admin token) needs to call the
   * route: any one of these permissions; `[]` lets any operator in. `per-route`
   * on a prefix: each route under it declares its own with `permits()`.
   * Unset: not an operator's route (the model calls); operators are refused.
   */
  permission?: readonly Permission[] | "per-route";
}

export function endpoint(options: EndpointOptions): MiddlewareHandler<GatewayEnv> {
  const middleware: MiddlewareHandler<GatewayEnv> = async (c, next) => {
    c.set("format", options.errors);
    if (options.queryCredential) c.set("queryCredential", true);
    if (options.protocolCredential) c.set("protocolCredential", true);
    checkRequestNames(c, options.pathParam ?? "path");
    // A model call on a cold isolate reads the catalog beside the caller, not after.
    if (options.gated) prefetchCatalog(c);
    c.set("principal", await authenticate(c));
    if (options.permission === undefined) refuseOperator(c.get("principal"));
    else if (options.permission !== "per-route") requirePermission(c, options.permission);
    // Gated routes read the markers in their limits check; the others read them here.
    if (!options.gated && (await checkMarkers(c.get("services").redis, c.get("principal"))) === "stale") {
      await reauthenticate(c);
    }
    await next();
  };
  return Object.assign(middleware, { [ENDPOINT]: options });
}

/** Operators act on the admin API only: a model call (or a caller's own route) needs a key or a user's token. */
function refuseOperator(principal: Principal): void {
  if (principal.type !== "operator") return;
  throw new GatewayError(
    403,
    "permission",
    "An admin token or a dashboard session acts on the admin API only: call models with a virtual key.",
    { code: "operator_not_allowed" },
  );
}

/**
 * 403 unless the caller holds one of the permissions somewhere (in the
 * organization, or in a team for the permissions a team role grants); the
 * route narrows to the teams it touches. The admin key holds them all; a
 * key or a user holds none.
 */
export function requirePermission(c: Context<GatewayEnv>, permissions: readonly Permission[]): void {
  const principal = c.get("principal");
  c.set("permission", permissions);
  if (principal.type === "admin") return;
  if (principal.type !== "operator") {
    throw new GatewayError(403, "permission", "This route needs the admin key.", { code: "admin_only" });
  }
  if (permissions.length === 0 || permissions.some((permission) => can(principal, permission, ANY_TEAM))) return;
  throw new GatewayError(
    403,
    "permission",
    `This route needs the ${permissions.map((p) => `\`${p}\``).join(" or ")} permission, which your role or token does not grant.`,
    { code: "permission_denied" },
  );
}

/** A route's permission, under a prefix whose `endpoint()` says `per-route`: any one of these; none lets any operator in. */
export function permits(...permissions: Permission[]): MiddlewareHandler<GatewayEnv> {
  const middleware: MiddlewareHandler<GatewayEnv> = async (c, next) => {
    requirePermission(c, permissions);
    await next();
  };
  return Object.assign(middleware, { [PERMISSION]: permissions });
}

/**
 * Ids in the path (`/admin/keys/{id}`) and values in the query reach
 * Postgres and headers as they are: ones with control characters (a NUL
 * Postgres refuses) are the caller's 400, before anything reads them.
 */
function checkRequestNames(c: Context<GatewayEnv>, pathParam: string): void {
  if (hasControl(c.req.path)) throw badRequest(`Invalid \`${pathParam}\`: must not contain control characters`, pathParam);
  // Most model calls carry no query: nothing to parse then.
  if (!c.req.url.includes("?")) return;
  for (const [name, values] of Object.entries(c.req.queries())) {
    if (hasControl(name) || values.some(hasControl)) {
      throw badRequest(`Invalid \`${name}\`: must not contain control characters`, name);
    }
  }
}

/** Marks `errorsIn()`, so the route table can say which shape a public route's errors take. */
export const ERROR_SHAPE = Symbol("sluice error shape");

/** Errors of a path family in its own shape: for requests no route matches, and public routes of their own shape. */
export function errorsIn(errors: ErrorShape): MiddlewareHandler<GatewayEnv> {
  const middleware: MiddlewareHandler<GatewayEnv> = async (c, next) => {
    c.set("format", errors);
    await next();
  };
  return Object.assign(middleware, { [ERROR_SHAPE]: errors });
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
