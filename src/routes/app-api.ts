// The app API for signed-in users: minting their own keys, storing their own provider keys, and their quota.
import { Hono } from "hono";
import { DESCRIBE } from "#describe";
import { deleteCredential, listCredentials, putOwnKey } from "../admin/credentials.ts";
import { createKey, creatorOf } from "../admin/keys.ts";
import { providerKeySchema, selfServiceKeySchema } from "../admin/schemas.ts";
import { limitsView } from "../auth/policies.ts";
import type { Principal } from "../auth/principal.ts";
import { parseDuration } from "../config/index.ts";
import type { GatewayEnv } from "../context.ts";
import { GatewayError } from "../http/errors.ts";
import { parseJsonBody } from "../http/validate.ts";
import { doc } from "../openapi/doc.ts";
import { catalogFor } from "../routing/catalog.ts";
import { usageTotals } from "../usage/totals.ts";
import { countsAsRequest, endpoint } from "./endpoint.ts";

export const appApiRoutes = new Hono<GatewayEnv>();

/** Per route: `/api/ai/generate` and `/api/ai/completion`, gated, live under the same prefix. */
const caller = endpoint({ errors: "openai", gated: false });

function aboveOwn(field: string, requested: number | null | undefined, own: number | null): void {
  if (own === null || requested === undefined) return;
  if (requested === null || requested > own) {
    throw new GatewayError(403, "permission", `\`${field}\` ${requested ?? "unlimited"} is above your own limit of ${own}.`, {
      code: "above_own_limit",
      param: field,
    });
  }
}

appApiRoutes.post(
  "/keys",
  caller,
  countsAsRequest,
  doc(DESCRIBE && { summary: "A signed-in user mints a key for themself", body: selfServiceKeySchema }),
  async (c) => {
    const principal = c.get("principal");
    if (principal.type !== "user") {
      throw new GatewayError(403, "permission", "Only a signed-in user (JWT) can mint keys here.", { code: "user_required" });
    }
    const input = await parseJsonBody(c, selfServiceKeySchema);
    const own = principal.limits;
    aboveOwn("rpm_limit", input.rpm_limit, own.requestsPerMinute);
    aboveOwn("tpm_limit", input.tpm_limit, own.tokensPerMinute);
    const daily = (parseDuration(input.budget_duration ?? "") ?? Number.POSITIVE_INFINITY) <= 86_400;
    aboveOwn("max_budget", input.max_budget, daily ? (own.usdPerDay ?? own.usdPerMonth) : own.usdPerMonth);
    const created = await createKey(
      c.get("services"),
      { ...input, user_id: principal.userId, team_id: principal.teamId },
      creatorOf(principal),
    );
    return c.json(created, 201);
  },
);

function signedInUser(principal: Principal): string {
  if (principal.type !== "user") {
    throw new GatewayError(403, "permission", "Only a signed-in user (JWT) can manage their provider keys.", {
      code: "user_required",
    });
  }
  return principal.userId;
}

/** A user's own key for a provider: stored encrypted, used for their requests only, never shown again. */
appApiRoutes.put(
  "/provider-keys",
  caller,
  countsAsRequest,
  doc(DESCRIBE && { summary: "A signed-in user stores their own key for a provider", body: providerKeySchema }),
  async (c) => {
    const userId = signedInUser(c.get("principal"));
    const input = await parseJsonBody(c, providerKeySchema);
    // Only for a provider this gateway serves: a user's key must not switch on one the operator left off.
    const catalog = await catalogFor(c);
    if (!catalog.providers.has(input.provider) && !c.get("config").providers[input.provider]) {
      throw new GatewayError(
        400,
        "invalid_request",
        `Invalid \`provider\`: \`${input.provider}\` is not enabled on this gateway.`,
        {
          code: "provider_not_enabled",
          param: "provider",
        },
      );
    }
    const { created, credential } = await putOwnKey(c.get("services"), c.get("config"), {
      userId,
      provider: input.provider,
      apiKey: input.api_key,
      name: input.name,
    });
    return c.json(credential, created ? 201 : 200);
  },
);

appApiRoutes.get(
  "/provider-keys",
  caller,
  countsAsRequest,
  doc(DESCRIBE && { summary: "A signed-in user's own provider keys, never the secrets" }),
  async (c) => {
    const userId = signedInUser(c.get("principal"));
    return c.json({ data: await listCredentials(c.get("services"), { ownerType: "user", ownerId: userId }) });
  },
);

appApiRoutes.delete(
  "/provider-keys/:provider",
  caller,
  countsAsRequest,
  doc(DESCRIBE && { summary: "Deletes a signed-in user's own key for a provider" }),
  async (c) => {
    const userId = signedInUser(c.get("principal"));
    const own = await listCredentials(c.get("services"), {
      ownerType: "user",
      ownerId: userId,
      provider: c.req.param("provider"),
    });
    for (const credential of own) await deleteCredential(c.get("services"), credential.id);
    return c.json({ provider: c.req.param("provider"), deleted: own.length });
  },
);

function principalLimits(principal: Principal) {
  if (principal.type === "user")
    return { user: limitsView(principal.limits), team: principal.teamLimits && limitsView(principal.teamLimits) };
  if (principal.type === "key") {
    return {
      key: {
        ...limitsView(principal.limits),
        max_budget: principal.budget?.maxUsd ?? null,
        budget_duration: principal.budget?.duration ?? null,
      },
      user: principal.userLimits && limitsView(principal.userLimits),
      team: principal.teamLimits && limitsView(principal.teamLimits),
    };
  }
  if (principal.type === "guest") {
    return {
      device: limitsView(principal.limits),
      network: limitsView(principal.ipLimits),
      app: { usd_per_day: principal.appLimits.usdPerDay },
    };
  }
  return {};
}

appApiRoutes.get(
  "/ai/quota",
  caller,
  doc(DESCRIBE && { summary: "The caller's limits and what they have used today and this month" }),
  async (c) => {
    const principal = c.get("principal");
    const used = await usageTotals(c.get("services").db, principal, c.get("config").limits.timeZone);
    return c.json({
      principal: { type: principal.type, id: principal.id },
      limits: principalLimits(principal),
      used: {
        tokens_today: used.tokensToday,
        tokens_this_month: used.tokensThisMonth,
        usd_today: used.usdToday,
        usd_this_month: used.usdThisMonth,
      },
    });
  },
);
