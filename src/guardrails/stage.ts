// The guardrails stage of a gateway call, as routing sees it: the caller's
// policies looked up in the isolate's catalog, the request checked (and
// perhaps redacted), and what the answer must go through on its way back.
import type { GatewayError } from "../http/errors.ts";
import { asksRemotely, checksInput, checksOutput, type Guardrail, runsAlongside } from "./definitions.ts";
import { guardInput, type Verdict } from "./input.ts";
import { AnswerGuard } from "./output.ts";
import { answerReview, checkPromptAlongside, checkPromptInTurn, type RemoteContext } from "./remote.ts";

export interface GuardedRequest<Body> {
  body: Body;
  /** Every guardrail's verdict, input then output (the output ones filled in as the answer passes). */
  verdicts: Verdict[];
  blocked?: GatewayError;
  /** What the answer goes through; undefined when it needs nothing (no output guardrails, nothing to put back). */
  answer?: AnswerGuard;
  /** Verdicts asked for beside the upstream call: the answer waits for it, and a refusal rejects it. */
  pending?: Promise<void>;
}

/** The policies a caller's settings name, in order, as this isolate knows them; a name no policy has any more is passed over. */
export function callerGuardrails(ids: readonly string[], known: ReadonlyMap<string, Guardrail>): Guardrail[] {
  return ids.flatMap((id) => {
    const guardrail = known.get(id);
    return guardrail ? [guardrail] : [];
  });
}

/**
 * Runs the built-in guardrails, then the remote ones (webhooks, judges)
 * over what the built-in ones left: synchronous unless some remote one
 * must be waited for before the upstream call.
 */
export function guardRequest<Body extends Record<string, unknown>>(
  body: Body,
  guardrails: readonly Guardrail[],
  remote?: RemoteContext,
): GuardedRequest<Body> | Promise<GuardedRequest<Body>> {
  // Without a context to call from (a bench), remote guardrails have nothing to ask and detect nothing.
  const asked = remote && guardrails.some(asksRemotely) ? guardrails.filter(asksRemotely) : [];
  const local = asked.length > 0 ? guardrails.filter((g) => !asksRemotely(g)) : guardrails;
  const input = guardInput(body, local.filter(checksInput));
  if (input.blocked) return { body, verdicts: input.verdicts, blocked: input.blocked };
  const verdicts = input.verdicts;
  const onAnswers = asked.filter(checksOutput);
  const review = remote && onAnswers.length > 0 ? answerReview(onAnswers, remote, verdicts) : undefined;
  const guard = new AnswerGuard(local.filter(checksOutput), input.placeholders, verdicts, review);
  const answer = guard.active ? guard : undefined;
  const onPrompts = asked.filter(checksInput);
  if (!remote || onPrompts.length === 0) return { body: input.body, verdicts, answer };
  const alongside = onPrompts.filter(runsAlongside);
  const before = onPrompts.filter((g) => !runsAlongside(g));
  // Those that run alongside see the prompt as it goes upstream: after the built-in ones and those before.
  const start = (sent: Body): GuardedRequest<Body> => ({
    body: sent,
    verdicts,
    answer,
    ...(alongside.length > 0 && { pending: checkPromptAlongside(sent, alongside, remote, verdicts) }),
  });
  if (before.length === 0) return start(input.body);
  return checkPromptInTurn(input.body, before, remote, verdicts).then((checked) =>
    checked.blocked ? { body, verdicts, blocked: checked.blocked } : start(checked.body),
  );
}
