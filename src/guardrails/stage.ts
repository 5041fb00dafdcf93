// The guardrails stage of a gateway call, as routing sees it: the caller's
// policies looked up in the isolate's catalog, the request checked (and
// perhaps redacted), and what the answer must go through on its way back.
import type { GatewayError } from "../http/errors.ts";
import { checksInput, checksOutput, type Guardrail } from "./definitions.ts";
import { guardInput, type Verdict } from "./input.ts";
import { AnswerGuard } from "./output.ts";

export interface GuardedRequest<Body> {
  body: Body;
  /** Every guardrail's verdict, input then output (the output ones filled in as the answer passes). */
  verdicts: Verdict[];
  blocked?: GatewayError;
  /** What the answer goes through; undefined when it needs nothing (no output guardrails, nothing to put back). */
  answer?: AnswerGuard;
}

/** The policies a caller's settings name, in order, as this isolate knows them; a name no policy has any more is passed over. */
export function callerGuardrails(ids: readonly string[], known: ReadonlyMap<string, Guardrail>): Guardrail[] {
  return ids.flatMap((id) => {
    const guardrail = known.get(id);
    return guardrail ? [guardrail] : [];
  });
}

export function guardRequest<Body extends Record<string, unknown>>(
  body: Body,
  guardrails: readonly Guardrail[],
): GuardedRequest<Body> {
  const input = guardInput(body, guardrails.filter(checksInput));
  if (input.blocked) return { body, verdicts: input.verdicts, blocked: input.blocked };
  const answer = new AnswerGuard(guardrails.filter(checksOutput), input.placeholders, input.verdicts);
  return { body: input.body, verdicts: input.verdicts, answer: answer.active ? answer : undefined };
}
