// The webhook guardrail: an operator's own checker (a Presidio- or
// Lakera-style service) sees the prompt's or the answer's texts and answers
// `allow`, `block`, `redact` (with the texts rewritten) or `flag`. The call
// is signed (GUARDRAIL_WEBHOOK_SECRET, the billing webhook's scheme) and
// timed out; what a missing verdict means is remote.ts's business, which
// runs webhooks and judges alike.
import { GatewayError } from "../http/errors.ts";
import { signatureHeader } from "../usage/webhooks.ts";
import * as z from "../zod.ts";
import type { Guardrail } from "./definitions.ts";

export interface WebhookCheck {
  url: string;
  timeoutMs: number;
  onError: "allow" | "block";
  /** On input, asked beside the upstream call rather than before it. */
  parallel: boolean;
}

const answerSchema = z.object({
  action: z.enum(["allow", "block", "redact", "flag"]),
  categories: z.optional(z.array(z.string().check(z.regex(/^[a-z][a-z0-9_]{0,39}$/))).check(z.maxLength(20))),
  texts: z.optional(z.array(z.string())),
});
/** A verdict, from a webhook or a judge. */
export type WebhookAnswer = z.infer<typeof answerSchema>;

/** What the webhook is sent: which check, for which call, and the texts as the guardrails read them. */
export interface WebhookRequest {
  request_id: string;
  guardrail: { id: string; name: string };
  phase: "input" | "output";
  model: string;
  texts: string[];
}

export const guardrailUnavailable = (guardrail: Guardrail) =>
  new GatewayError(503, "unavailable", `The guardrail \`${guardrail.name}\` could not give its verdict; try again shortly.`, {
    code: "guardrail_unavailable",
    headers: { "retry-after": "5" },
  });

/** Asks the checker; throws when it gives no usable verdict in time. */
export async function askWebhook(
  check: WebhookCheck,
  payload: WebhookRequest,
  secret: string | undefined,
): Promise<WebhookAnswer> {
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
