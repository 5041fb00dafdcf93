// The planning stage for routes: when the model a client asks for is a
// route's name, its rule tree picks the model that serves the call, and the
// call says so (a response header, the ledger row). A model that is not a
// route costs one lookup in an empty map.
import { isRouteAllowed } from "../../auth/index.ts";
import { type Principal, principalTeamId, principalUserId } from "../../auth/principal.ts";
import type { GatewayContext } from "../../context.ts";
import { badRequest, GatewayError, headerValue } from "../../http/errors.ts";
import { budgetUsedShare } from "../../limits/index.ts";
import type { GatewayMetadataName } from "../../usage/record.ts";
import type { Catalog } from "../catalog.ts";
import { evaluateRoute, type RouteDecision, type RouteFacts } from "./evaluate.ts";
import { modelLatency } from "./latency.ts";

const NO_CLAIMS: Readonly<Record<string, unknown>> = Object.freeze({});

export interface RoutedRequest {
  model: string;
  providerOverride?: string;
  providerParam?: string;
  streamed: boolean;
  /** Whether the request offers tools, and its estimated input tokens: read only when a condition asks. */
  requestFacts?: () => { tools: boolean; inputTokens: number };
}

/** The caller's side of the facts: who it is, as a condition names it. */
export function callerFacts(principal: Principal) {
  return {
    principal: principal.type,
    user: principalUserId(principal),
    team: principalTeamId(principal),
    key: principal.type === "key" ? principal.keyId : null,
    tier: principal.type === "user" ? principal.tier : principal.type === "key" ? principal.ownerTier : null,
    keyMetadata: principal.type === "key" ? principal.metadata : {},
    claims: principal.type === "user" ? principal.claims : NO_CLAIMS,
  };
}

function requestRouteFacts(c: GatewayContext, catalog: Catalog, input: RoutedRequest): RouteFacts {
  const principal = c.get("principal");
  const cf = (c.req.raw as { cf?: { country?: unknown; continent?: unknown } }).cf;
  let measured: { tools: boolean; inputTokens: number } | undefined;
  const measure = () => {
    measured ??= input.requestFacts?.() ?? { tools: false, inputTokens: 0 };
    return measured;
  };
  return {
    requestId: c.get("requestId"),
    ...callerFacts(principal),
    header: (name) => c.req.header(name),
    stream: input.streamed,
    get tools() {
      return measure().tools;
    },
    get inputTokens() {
      return measure().inputTokens;
    },
    country: typeof cf?.country === "string" ? cf.country : null,
    continent: typeof cf?.continent === "string" ? cf.continent : null,
    hour: new Date().getUTCHours(),
    get usedShare() {
      return budgetUsedShare(c.get("config"), principal);
    },
    providerSpend: (provider) => catalog.providerSpend.get(provider),
  };
}

/** The way the call goes when its model is a route's name; undefined when it is not one. */
export function decideRoute(c: GatewayContext, catalog: Catalog, input: RoutedRequest): RouteDecision | undefined {
  const route = catalog.routes.get(input.model);
  if (!route) return undefined;
  if (input.providerOverride) {
    const param = input.providerParam ?? "provider";
    throw badRequest(`\`${route.name}\` is a route: its rules pick the provider, so it takes no \`${param}\`.`, param);
  }
  if (!isRouteAllowed(c.get("principal"), route.name)) {
    const who = c.get("principal").type === "guest" ? "app" : "key";
    throw new GatewayError(403, "permission", `This ${who} may not use the route \`${route.name}\`.`, {
      code: "model_not_allowed",
      param: "model",
    });
  }
  return evaluateRoute(route, requestRouteFacts(c, catalog, input), {
    health: (model) => modelLatency.health(model),
    random: Math.random,
  });
}

/**
 * `x-sluice-route: chat-default/canary`, and, for a caller who may read the
 * routes themselves (`catalog:read`), why, step by step: the reasons quote
 * conditions' values and the organization's spend, which are not a caller's to see.
 */
export function routeHeaders(decision: RouteDecision, withReason: boolean): Record<string, string> {
  return {
    "x-sluice-route": decision.arm ? `${decision.route}/${decision.arm}` : decision.route,
    ...(withReason && { "x-sluice-route-reason": headerValue(decision.steps.map((step) => step.reason).join("; ")) }),
  };
}

/** What the call's ledger row keeps of the decision. */
export function routeFlags(decision: RouteDecision): Partial<Record<GatewayMetadataName, unknown>> {
  return {
    route_name: decision.route,
    route_arm: decision.arm,
    route_reason: decision.steps.map((step) => `${step.arm}: ${step.reason}`).join("; "),
  };
}

/** What a routed call's attempts teach the isolate about its models' latency and errors. */
export function noteAttempt(model: string, outcome: { ok: true; ms: number } | { ok: false }): void {
  if (outcome.ok) modelLatency.recordSuccess(model, outcome.ms);
  else modelLatency.recordFailure(model);
}
