// Guardrails before anything is admitted: a request a guardrail blocks spends
// no budget and reaches no provider, and leaves a ledger row that says which
// guardrail blocked it (never what it found). A caller without guardrails
// never enters this stage.

import { principalPolicy } from "../auth/principal.ts";
import type { GatewayContext } from "../context.ts";
import type { Verdict } from "../guardrails/input.ts";
import { askJudge } from "../guardrails/judge.ts";
import { callerGuardrails, type GuardedRequest, guardRequest } from "../guardrails/stage.ts";
import { GatewayError } from "../http/errors.ts";
import { UsageMeter } from "../usage/meter.ts";
import { writeUsage } from "../usage/writer.ts";
import { callOnBehalfOf } from "./behalf.ts";
import { type Catalog, catalogNaming, EMPTY_CATALOG } from "./catalog.ts";
import type { Target } from "./resolve.ts";

/** What the stage hands back to routing: the verdicts for the call's ledger row. */
export interface GuardStageResult {
  verdicts: Verdict[];
  /** Verdicts still being asked for beside the upstream call: the answer is held until it resolves. */
  pending?: Promise<void>;
}

type Guarded = { verdicts: Verdict[]; blocked?: GatewayError; pending?: Promise<void> };

/**
 * The stage as a route supplies it: it runs the caller's guardrails over its
 * own body (throwing `guardrailsUnreadable()` when it needs the catalog's
 * policies and the catalog is EMPTY_CATALOG).
 */
export type GuardRun = (catalog: Catalog) => Guarded | undefined | Promise<Guarded | undefined>;

/** The refusal of a request whose guardrails this isolate could not read. */
export const guardrailsUnreadable = () =>
  new GatewayError(503, "unavailable", "The guardrails that apply to this caller could not be read; try again shortly.", {
    code: "guardrails_unavailable",
    headers: { "retry-after": "5" },
  });

/** The policy ids the caller's settings name; undefined when they name none, all a caller without guardrails pays. */
function namedGuardrails(c: GatewayContext): readonly string[] | undefined {
  const ids = principalPolicy(c.get("principal"))?.guardrails;
  return ids && ids.length > 0 ? ids : undefined;
}

/**
 * The run of the caller's guardrails over a body a route sends on, or
 * undefined when their settings name none: the policies they name, read
 * afresh when the isolate's copy of the catalog lacks one, check the body's
 * texts (and ask webhooks and judges); `passed` gets the outcome, its body
 * with what a guardrail redacted taken out.
 */
export function guardrailsOver<Body extends Record<string, unknown>>(
  c: GatewayContext,
  input: { body: Body; model: string },
  passed: (guarded: GuardedRequest<Body>) => GuardedRequest<Body>,
): GuardRun | undefined {
  const ids = namedGuardrails(c);
  if (!ids) return undefined;
  const run = (catalog: Catalog) => {
    // Policies that cannot be read are not policies passed: the caller waits rather than going unchecked.
    if (catalog === EMPTY_CATALOG) throw guardrailsUnreadable();
    const guardrails = callerGuardrails(ids, catalog.guardrails);
    if (guardrails.length === 0) return undefined;
    const config = c.get("config");
    const checked = guardRequest(input.body, guardrails, {
      requestId: c.get("requestId"),
      model: input.model,
      secret: config.guardrailWebhookSecret,
      judge: (check, texts, phase) =>
        askJudge(
          {
            url: c.req.url,
            adminKey: config.adminKey,
            env: c.env,
            ctx: c.executionCtx,
            prepare: (request) => callOnBehalfOf(request, c.get("principal")),
          },
          check,
          texts,
          phase,
        ),
    });
    return checked instanceof Promise ? checked.then(passed) : passed(checked);
  };
  return (catalog) => {
    const known = catalogNaming(c, catalog, ids);
    return known instanceof Promise ? known.then(run) : run(known);
  };
}

/**
 * Refuses a caller whose guardrails apply to a call they cannot read (a
 * realtime session's audio and events, relayed as they come): a caller's
 * policies are never passed over unchecked. Names of policies that no
 * longer apply (disabled or deleted) refuse nothing.
 */
export async function refuseUnguardable(c: GatewayContext, what: string, catalog: Catalog) {
  const ids = namedGuardrails(c);
  if (!ids) return;
  if (catalog === EMPTY_CATALOG) throw guardrailsUnreadable();
  const known = await catalogNaming(c, catalog, ids);
  if (known === EMPTY_CATALOG) throw guardrailsUnreadable();
  const applying = callerGuardrails(ids, known.guardrails);
  if (applying.length === 0) return;
  throw new GatewayError(
    403,
    "permission",
    `The guardrails that apply to this caller (${applying.map((g) => `\`${g.name}\``).join(", ")}) cannot check ${what}; call with a key whose settings name none.`,
    { code: "guardrails_unsupported" },
  );
}

export async function guardStage(
  c: GatewayContext,
  input: { run: GuardRun; catalog: Catalog; first: Target; model: string; streamed: boolean },
): Promise<GuardStageResult | undefined> {
  const guarded = await input.run(input.catalog);
  if (!guarded) return undefined;
  if (guarded.blocked) {
    const meter = new UsageMeter({
      requestId: c.get("requestId"),
      principal: c.get("principal"),
      provider: input.first.provider,
      model: input.model,
      upstreamModel: input.first.upstreamModel,
      clientFormat: c.get("format"),
      streamed: input.streamed,
      startedAt: c.get("startedAt"),
      price: input.first.price,
      estimatedPromptTokens: 0,
    });
    meter.flags.guardrails = guarded.verdicts;
    meter.attempts = 0;
    const usage = meter.finish({ status: guarded.blocked.status, error: guarded.blocked.message });
    c.executionCtx.waitUntil(writeUsage(c.get("services"), usage));
    throw guarded.blocked;
  }
  return { verdicts: guarded.verdicts, pending: guarded.pending };
}
