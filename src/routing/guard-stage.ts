// Guardrails before anything is admitted: a request a guardrail blocks spends
// no budget and reaches no provider, and leaves a ledger row that says which
// guardrail blocked it (never what it found). A caller without guardrails
// never enters this stage.

import type { GatewayContext } from "../context.ts";
import type { Verdict } from "../guardrails/input.ts";
import { GatewayError } from "../http/errors.ts";
import { UsageMeter } from "../usage/meter.ts";
import { writeUsage } from "../usage/writer.ts";
import type { Catalog } from "./catalog.ts";
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
