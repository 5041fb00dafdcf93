// Every authenticated route declares itself with `endpoint()`: the error shape
// its callers read, and whether it is gated — whether its one Redis round trip
// (the limits check) also reads the deny markers. The middleware
// authenticates the caller and, for routes that are not gated, checks the
// deny markers itself, so a revoked key or a blocked user or team is refused
// everywhere within a second.
import type { MiddlewareHandler } from "hono";
import { checkMarkers } from "../auth/deny-list.ts";
import { authenticate, reauthenticate } from "../auth/index.ts";
import type { GatewayEnv } from "../context.ts";
import type { ErrorShape } from "../formats/types.ts";
import { admit } from "../limits/index.ts";

/** Marks the middleware, so a test can show that no route skips it. */
export const ENDPOINT = Symbol("sluice endpoint");

export interface EndpointOptions {
  /** The caller's error shape. */
  errors: ErrorShape;
  /** The route admits its calls through the limits check, which reads the deny markers too. */
  gated: boolean;
}

export function endpoint(options: EndpointOptions): MiddlewareHandler<GatewayEnv> {
  const middleware: MiddlewareHandler<GatewayEnv> = async (c, next) => {
    c.set("format", options.errors);
    c.set("principal", await authenticate(c));
    // Gated routes read the markers in their limits check; the others read them here.
    if (!options.gated && (await checkMarkers(c.get("services").redis, c.get("principal"))) === "stale") {
      await reauthenticate(c);
    }
    await next();
  };
  return Object.assign(middleware, { [ENDPOINT]: options });
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
