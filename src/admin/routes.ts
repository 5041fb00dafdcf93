// Routes through the admin API: a name clients ask for as their model, and the
// rule tree that picks what serves it. A route is checked whole when saved
// (its shape by the schema, its models against the catalog here), so nothing
// is found wrong at request time. Every change drops this isolate's catalog;
// other isolates re-read within CATALOG_REFRESH.
import { asc, eq } from "drizzle-orm";
import type { Config } from "../config/index.ts";
import { routes } from "../db/schema.ts";
import { badRequest, GatewayError } from "../http/errors.ts";
import { PROVIDERS } from "../providers/index.ts";
import { forgetCatalog, loadCatalog } from "../routing/catalog.ts";
import { resolveTarget } from "../routing/resolve.ts";
import { evaluateRoute, type RouteFacts } from "../routing/rules/evaluate.ts";
import { modelLatency } from "../routing/rules/latency.ts";
import { providerSpendThisMonth, watchedProviders } from "../routing/rules/provider-spend.ts";
import { modelsOf, type RouteInput, type RuleNode, ruleSchema } from "../routing/rules/schema.ts";
import type { Services } from "../services.ts";
import * as z from "../zod.ts";

type RouteRow = typeof routes.$inferSelect;

export function routeView(row: RouteRow) {
  return {
    name: row.name,
    description: row.description,
    rule: row.rule,
    fallbacks: row.fallbacks,
    enabled: row.enabled,
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  };
}

const notFound = (name: string) => new GatewayError(404, "not_found", `No route \`${name}\`.`, { code: "route_not_found" });

/** Every model the route can lead to serves here, and none is a route itself; the name is no catalog model's. */
async function assertServable(services: Services, config: Config, name: string, rule: RuleNode, fallbacks: string[]) {
  const catalog = await loadCatalog(services.db);
  // A route named like a model would take that model's traffic from everyone who asks for it.
  if (catalog.models.has(name) || PROVIDERS.some((provider) => provider.models?.test(name))) {
    throw badRequest(`Invalid \`name\`: \`${name}\` is a model's name; a route needs a name of its own.`, "name");
  }
  const check = (model: string, param: string) => {
    if (catalog.routes.has(model) && model !== name) {
      throw badRequest(`Invalid \`${param}\`: \`${model}\` is a route; a route leads to models, not to other routes.`, param);
    }
    if (model === name) throw badRequest(`Invalid \`${param}\`: the route \`${name}\` cannot lead to itself.`, param);
    try {
      resolveTarget(config, catalog, model);
    } catch {
      throw badRequest(`Invalid \`${param}\`: no provider configured here serves the model \`${model}\`.`, param);
    }
  };
  for (const { model, path } of modelsOf(rule)) check(model, path);
  for (const provider of watchedProviders(rule)) {
    if (!catalog.providers.has(provider) && !PROVIDERS.some((known) => known.kind === provider)) {
      throw badRequest(
        `Invalid \`rule\`: \`provider_spend\` watches \`${provider}\`, which is no provider here (a built-in kind or one added through /admin/providers).`,
        "rule",
      );
    }
  }
  for (const [i, model] of fallbacks.entries()) check(model, `fallbacks.${i}`);
}

export async function listRoutes(services: Services) {
  return (await services.db.select().from(routes).orderBy(asc(routes.name))).map(routeView);
}

async function routeRow(services: Services, name: string): Promise<RouteRow> {
  const [row] = await services.db.select().from(routes).where(eq(routes.name, name));
  if (!row) throw notFound(name);
  return row;
}

export async function getRoute(services: Services, name: string) {
  return routeView(await routeRow(services, name));
}

export async function createRoute(services: Services, config: Config, input: RouteInput) {
  if (!input.name) throw badRequest("Invalid `name`: a route needs the name clients send as their model.", "name");
  if (!input.rule) throw badRequest("Invalid `rule`: a route needs a rule tree.", "rule");
  await assertServable(services, config, input.name, input.rule, input.fallbacks ?? []);
  const [row] = await services.db
    .insert(routes)
    .values({
      name: input.name,
      description: input.description ?? null,
      rule: input.rule as unknown as Record<string, unknown>,
      fallbacks: input.fallbacks ?? [],
      enabled: input.enabled ?? true,
    })
    .onConflictDoNothing()
    .returning();
  if (!row) throw new GatewayError(409, "invalid_request", `Route \`${input.name}\` exists.`, { code: "route_exists" });
  forgetCatalog(services);
  return routeView(row);
}

export async function updateRoute(services: Services, config: Config, name: string, input: RouteInput) {
  if (input.name !== undefined && input.name !== name) throw badRequest("Invalid `name`: a route is not renamed.", "name");
  const current = await routeRow(services, name);
  if (input.rule !== undefined || input.fallbacks !== undefined) {
    const rule = input.rule ?? ruleSchema.parse(current.rule);
    await assertServable(services, config, name, rule, input.fallbacks ?? current.fallbacks);
  }
  const [row] = await services.db
    .update(routes)
    .set({
      ...(input.description !== undefined && { description: input.description }),
      ...(input.rule !== undefined && { rule: input.rule as unknown as Record<string, unknown> }),
      ...(input.fallbacks !== undefined && { fallbacks: input.fallbacks }),
      ...(input.enabled !== undefined && { enabled: input.enabled }),
      updatedAt: new Date(),
    })
    .where(eq(routes.name, name))
    .returning();
  if (!row) throw notFound(name);
  forgetCatalog(services);
  return routeView(row);
}

export async function deleteRoute(services: Services, name: string) {
  const [row] = await services.db.delete(routes).where(eq(routes.name, name)).returning();
  if (!row) throw notFound(name);
  forgetCatalog(services);
  return { name, deleted: true };
}

const label = z.string().check(z.maxLength(256));

/** A sample request and caller, as explain takes them. */
export const explainSchema = z.strictObject({
  request_id: z.optional(label),
  request: z.optional(
    z.strictObject({
      stream: z.optional(z.boolean()),
      tools: z.optional(z.boolean()),
      input_tokens: z.optional(z.number().check(z.int(), z.nonnegative())),
      headers: z.optional(z.record(z.string().check(z.maxLength(64)), label)),
      country: z.optional(label),
      continent: z.optional(label),
      hour: z.optional(z.number().check(z.int(), z.gte(0), z.lte(23))),
    }),
  ),
  caller: z.optional(
    z.strictObject({
      principal: z.optional(z.enum(["key", "user", "guest", "admin"])),
      user: z.optional(z.nullable(label)),
      team: z.optional(z.nullable(label)),
      key: z.optional(z.nullable(label)),
      tier: z.optional(z.nullable(label)),
      key_metadata: z.optional(z.record(z.string(), z.unknown())),
      /** The end user's JWT claims, as `claims.<path>` conditions read them. */
      claims: z.optional(z.record(z.string(), z.unknown())),
      /** The share of the caller's tightest budget or quota used, 0-1. */
      used_share: z.optional(z.number().check(z.gte(0), z.lte(1))),
    }),
  ),
  /** What providers have cost this month (USD), for `provider_spend` nodes; read from the ledger when left out. */
  provider_spend: z.optional(z.record(z.string().check(z.maxLength(100)), z.number().check(z.nonnegative()))),
});
export type ExplainInput = z.infer<typeof explainSchema>;

/** Which arm would serve a sample request, and why, step by step: the evaluator the gateway runs, on the stored route. */
export async function explainRoute(services: Services, name: string, input: ExplainInput) {
  const row = await routeRow(services, name);
  const rule = ruleSchema.parse(row.rule);
  const request = input.request ?? {};
  const caller = input.caller ?? {};
  const headers = new Map(Object.entries(request.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  const spend = input.provider_spend
    ? new Map(Object.entries(input.provider_spend))
    : await providerSpendThisMonth(services.db, watchedProviders(rule));
  const facts: RouteFacts = {
    requestId: input.request_id ?? crypto.randomUUID(),
    principal: caller.principal ?? "key",
    user: caller.user ?? null,
    team: caller.team ?? null,
    key: caller.key ?? null,
    tier: caller.tier ?? null,
    keyMetadata: caller.key_metadata ?? {},
    claims: caller.claims ?? {},
    header: (header) => headers.get(header),
    stream: request.stream ?? false,
    tools: request.tools ?? false,
    inputTokens: request.input_tokens ?? 0,
    country: request.country ?? null,
    continent: request.continent ?? null,
    hour: request.hour ?? new Date().getUTCHours(),
    usedShare: caller.used_share,
    providerSpend: (provider) => spend.get(provider),
  };
  const decision = evaluateRoute({ name: row.name, rule, fallbacks: row.fallbacks }, facts, {
    health: (model) => modelLatency.health(model),
    random: Math.random,
  });
  return {
    route: decision.route,
    enabled: row.enabled,
    arm: decision.arm,
    model: decision.model,
    fallbacks: decision.fallbacks,
    steps: decision.steps,
  };
}
