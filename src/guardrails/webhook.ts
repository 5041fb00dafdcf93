// The webhook guardrail: an operator's own checker (a Presidio- or
// Lakera-style service) sees the prompt's texts and answers `allow`,
// `block`, `redact` (with the texts rewritten) or `flag`. The call is
// signed (GUARDRAIL_WEBHOOK_SECRET, the billing webhook's scheme) and timed
// out; a checker that fails, is too slow or answers nonsense blocks the
// request with a 503 and `Retry-After` (`on_error: "block"`, the default),
// or lets it through recorded as `unavailable` (`on_error: "allow"`).
// Several webhooks run one after the other, each seeing the texts as the
// previous left them, so a value one redacted never reaches the next. A
// judge guardrail (judge.ts) runs in the same sequence, its model's verdict
// read as a webhook's.
import * as z from "zod";
import { GatewayError } from "../http/errors.ts";
import { reason } from "../log.ts";
import { signatureHeader } from "../usage/webhooks.ts";
import type { Guardrail } from "./definitions.ts";
import { guardrailBlocked, type Verdict } from "./input.ts";
import type { JudgeCheck } from "./judge.ts";
import { mapPromptTexts } from "./text-fields.ts";

export interface WebhookCheck {
  url: string;
  timeoutMs: number;
  onError: "allow" | "block";
}

const answerSchema = z.object({
  action: z.enum(["allow", "block", "redact", "flag"]),
  categories: z
    .array(z.string().regex(/^[a-z][a-z0-9_]{0,39}$/))
    .max(20)
    .optional(),
  texts: z.array(z.string()).optional(),
});
type Answer = z.infer<typeof answerSchema>;
/** A verdict, from a webhook or a judge. */
export type WebhookAnswer = Answer;

/** What the webhook is sent: which check, for which call, and the prompt's texts as the guardrails read them. */
export interface WebhookRequest {
  request_id: string;
  guardrail: { id: string; name: string };
  phase: "input";
  model: string;
  texts: string[];
}

export const guardrailUnavailable = (guardrail: Guardrail) =>
  new GatewayError(503, "unavailable", `The guardrail \`${guardrail.name}\` could not give its verdict; try again shortly.`, {
    code: "guardrail_unavailable",
    headers: { "retry-after": "5" },
  });

async function ask(check: WebhookCheck, payload: WebhookRequest, secret: string | undefined): Promise<Answer> {
  const body = JSON.stringify(payload);
  const headers: Record<string, string> = { "content-type": "application/json", "user-agent": "sluice-guardrails" };
  if (secret) headers["x-sluice-signature"] = await signatureHeader(secret, body, Math.floor(Date.now() / 1000));
  const response = await fetch(check.url, { method: "POST", headers, body, signal: AbortSignal.timeout(check.timeoutMs) });
  if (!response.ok) {
    await response.body?.cancel();
    throw new Error(`it answered ${response.status}`);
  }
  const parsed = answerSchema.safeParse(await response.json().catch(() => undefined));
  if (!parsed.success) throw new Error("its answer is not a verdict");
  const answer = parsed.data;
  if (answer.action === "redact" && answer.texts?.length !== payload.texts.length) {
    throw new Error("a redaction must give back as many texts as it was sent");
  }
  return answer;
}

/**
 * Runs the webhook guardrails over a body, in order; returns the body to
 * send (with their redactions), or the refusal. Verdicts are added to `verdicts`.
 */
export async function runWebhookGuardrails<Body extends Record<string, unknown>>(
  body: Body,
  guardrails: readonly Guardrail[],
  context: {
    requestId: string;
    model: string;
    secret?: string;
    /** Asks a judge guardrail's model (judge.ts), through the gateway. */
    judge?: (check: JudgeCheck, texts: string[]) => Promise<Answer>;
  },
  verdicts: Verdict[],
): Promise<{ body: Body; blocked?: GatewayError }> {
  let current = body;
  for (const guardrail of guardrails) {
    const check = guardrail.webhook ?? guardrail.judge;
    if (!check) continue;
    const texts: string[] = [];
    mapPromptTexts(current, (text) => {
      texts.push(text);
      return text;
    });
    const payload: WebhookRequest = {
      request_id: context.requestId,
      guardrail: { id: guardrail.id, name: guardrail.name },
      phase: "input",
      model: context.model,
      texts,
    };
    let answer: Answer;
    try {
      if (guardrail.webhook) answer = await ask(guardrail.webhook, payload, context.secret);
      else if (guardrail.judge && context.judge) answer = await context.judge(guardrail.judge, texts);
      else continue;
    } catch (error) {
      console.warn(`sluice: ${context.requestId} guardrail ${guardrail.id} gave no verdict: ${reason(error)}`);
      verdicts.push({ guardrail: guardrail.id, phase: "input", verdict: "unavailable" });
      if (check.onError === "allow") continue;
      return { body: current, blocked: guardrailUnavailable(guardrail) };
    }
    const categories = answer.categories?.length ? { categories: answer.categories } : {};
    const acts = answer.action !== "allow" && guardrail.mode !== "flag";
    if (answer.action === "block" && acts) {
      verdicts.push({ guardrail: guardrail.id, phase: "input", verdict: "blocked", ...categories });
      return { body: current, blocked: guardrailBlocked(guardrail, "input") };
    }
    if (answer.action === "redact" && acts) {
      const rewritten = answer.texts ?? [];
      let i = 0;
      current = mapPromptTexts(current, (text) => rewritten[i++] ?? text);
      verdicts.push({ guardrail: guardrail.id, phase: "input", verdict: "redacted", ...categories });
      continue;
    }
    const verdict = answer.action === "allow" ? "passed" : "flagged";
    verdicts.push({ guardrail: guardrail.id, phase: "input", verdict, ...categories });
  }
  return { body: current };
}
