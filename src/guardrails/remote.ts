// Guardrails whose verdict is asked for, not computed: webhooks (webhook.ts)
// and judges (judge.ts), read the same way. On input they run in order
// before the upstream call, each seeing the texts as the previous left them;
// or, when they run alongside (`parallel`, or a `flag` that never blocks),
// all at once beside it, the answer held until every one has passed. On
// output they read the answer's texts before the caller has them whole.
// A checker that fails, is too slow or answers nonsense refuses with a 503
// and Retry-After (`on_error: "block"`), or lets the call go on recorded as
// `unavailable` (`on_error: "allow"`).
import type { GatewayError } from "../http/errors.ts";
import { reason } from "../log.ts";
import type { Guardrail } from "./definitions.ts";
import { guardrailBlocked, type Verdict } from "./input.ts";
import type { JudgeCheck } from "./judge.ts";
import { mapPromptTexts } from "./text-fields.ts";
import { askWebhook, guardrailUnavailable, type WebhookAnswer } from "./webhook.ts";

type Phase = "input" | "output";

/** Where a remote guardrail's call is made from, and for which request. */
export interface RemoteContext {
  requestId: string;
  model: string;
  secret?: string;
  /** Asks a judge guardrail's model (judge.ts), through the gateway. */
  judge?: (check: JudgeCheck, texts: string[], phase: Phase) => Promise<WebhookAnswer>;
}

/** One checker's reading of some texts: its verdict, and the refusal or the rewritten texts when it acts. */
interface Reading {
  verdict: Verdict;
  blocked?: GatewayError;
  texts?: string[];
}

async function read(guardrail: Guardrail, phase: Phase, texts: string[], context: RemoteContext): Promise<Reading> {
  const check = guardrail.webhook ?? guardrail.judge;
  let answer: WebhookAnswer;
  try {
    if (guardrail.webhook) {
      const guard = { id: guardrail.id, name: guardrail.name };
      const payload = { request_id: context.requestId, guardrail: guard, phase, model: context.model, texts };
      answer = await askWebhook(guardrail.webhook, payload, context.secret);
    } else if (guardrail.judge && context.judge) answer = await context.judge(guardrail.judge, texts, phase);
    else return { verdict: { guardrail: guardrail.id, phase, verdict: "passed" } };
  } catch (error) {
    console.warn(`sluice: ${context.requestId} guardrail ${guardrail.id} gave no verdict: ${reason(error)}`);
    const verdict: Verdict = { guardrail: guardrail.id, phase, verdict: "unavailable" };
    return check?.onError === "allow" ? { verdict } : { verdict, blocked: guardrailUnavailable(guardrail) };
  }
  const categories = answer.categories?.length ? { categories: answer.categories } : {};
  const acts = answer.action !== "allow" && guardrail.mode !== "flag";
  if (answer.action === "block" && acts) {
    return {
      verdict: { guardrail: guardrail.id, phase, verdict: "blocked", ...categories },
      blocked: guardrailBlocked(guardrail, phase),
    };
  }
  // A rewrite applies to a prompt not yet sent; an answer's texts are the model's, and it is recorded as a flag.
  if (answer.action === "redact" && acts && phase === "input") {
    return { verdict: { guardrail: guardrail.id, phase, verdict: "redacted", ...categories }, texts: answer.texts };
  }
  return {
    verdict: { guardrail: guardrail.id, phase, verdict: answer.action === "allow" ? "passed" : "flagged", ...categories },
  };
}

const promptTexts = (body: Record<string, unknown>) => {
  const texts: string[] = [];
  mapPromptTexts(body, (text) => {
    texts.push(text);
    return text;
  });
  return texts;
};

/**
 * Runs remote guardrails over a request body, one after the other; returns
 * the body to send (with their redactions), or the refusal. Verdicts are
 * added to `verdicts`.
 */
export async function checkPromptInTurn<Body extends Record<string, unknown>>(
  body: Body,
  guardrails: readonly Guardrail[],
  context: RemoteContext,
  verdicts: Verdict[],
): Promise<{ body: Body; blocked?: GatewayError }> {
  let current = body;
  for (const guardrail of guardrails) {
    const reading = await read(guardrail, "input", promptTexts(current), context);
    verdicts.push(reading.verdict);
    if (reading.blocked) return { body: current, blocked: reading.blocked };
    if (reading.texts) {
      const rewritten = reading.texts;
      let i = 0;
      current = mapPromptTexts(current, (text) => rewritten[i++] ?? text);
    }
  }
  return { body: current };
}

/**
 * Asks remote guardrails about the prompt all at once, beside the upstream
 * call: resolves when every one has passed, rejects with the first refusal
 * as soon as it comes (so the upstream can be stopped at once).
 */
export function checkPromptAlongside(
  body: Record<string, unknown>,
  guardrails: readonly Guardrail[],
  context: RemoteContext,
  verdicts: Verdict[],
): Promise<void> {
  const texts = promptTexts(body);
  const checks = guardrails.map(async (guardrail) => {
    const reading = await read(guardrail, "input", texts, context);
    verdicts.push(reading.verdict);
    if (reading.blocked) throw reading.blocked;
  });
  const all = Promise.all(checks).then(() => undefined);
  // Whoever waits for it hears the refusal; a call that ended before then must not leave it unhandled.
  all.catch(() => undefined);
  return all;
}

/** Reads an answer's texts with the remote guardrails on output, all at once; rejects with the first refusal. */
export function answerReview(guardrails: readonly Guardrail[], context: RemoteContext, verdicts: Verdict[]) {
  return async (texts: string[]): Promise<void> => {
    const readings = await Promise.all(guardrails.map((guardrail) => read(guardrail, "output", texts, context)));
    for (const reading of readings) verdicts.push(reading.verdict);
    const refused = readings.find((reading) => reading.blocked);
    if (refused?.blocked) throw refused.blocked;
  };
}
