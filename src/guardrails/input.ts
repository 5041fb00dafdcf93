// The input stage: every guardrail that checks prompts runs over the texts of
// the request once; a `block` that finds anything refuses the request, a
// `redact` swaps what it found for placeholders, a `flag` only records.
import { GatewayError } from "../http/errors.ts";
import type { Guardrail } from "./definitions.ts";
import { type Finding, findAll, withoutOverlaps } from "./detectors.ts";
import { Placeholders } from "./placeholders.ts";
import { mapPromptTexts } from "./text-fields.ts";

/** What one guardrail decided, as the ledger records it: categories, never what matched. */
export interface Verdict {
  guardrail: string;
  phase: "input" | "output";
  /** `unavailable`: a webhook guardrail gave no verdict (and, with `on_error: "allow"`, the request went on). */
  verdict: "passed" | "blocked" | "redacted" | "flagged" | "unavailable";
  categories?: string[];
}

export interface InputOutcome<Body> {
  /** The body to send upstream: as it came, or with placeholders. */
  body: Body;
  /** The refusal, when a `block` found something. */
  blocked?: GatewayError;
  verdicts: Verdict[];
  placeholders: Placeholders;
}

const ACTED = { block: "blocked", redact: "redacted", flag: "flagged" } as const;

/** The refusal of a request (or an answer) a guardrail blocked: the guardrail named, what it found not. */
export function guardrailBlocked(guardrail: Guardrail, phase: "input" | "output"): GatewayError {
  const what = phase === "input" ? "The request" : "The answer";
  return new GatewayError(400, "invalid_request", `${what} was blocked by the guardrail \`${guardrail.name}\`.`, {
    code: "guardrail_blocked",
  });
}

/** Replaces each finding in `text` with its placeholder. */
function redactText(text: string, findings: readonly Finding[], placeholders: Placeholders): string {
  let out = "";
  let at = 0;
  for (const finding of findings) {
    out += text.slice(at, finding.start) + placeholders.for(finding.category, text.slice(finding.start, finding.end));
    at = finding.end;
  }
  return out + text.slice(at);
}

/** Runs the input guardrails over a request body; the first `block` that finds something stops the rest. */
export function guardInput<Body extends Record<string, unknown>>(
  body: Body,
  guardrails: readonly Guardrail[],
): InputOutcome<Body> {
  const texts: string[] = [];
  mapPromptTexts(body, (text) => {
    texts.push(text);
    return text;
  });
  const verdicts: Verdict[] = [];
  const placeholders = new Placeholders();
  /** Per text, what the redacting guardrails found. */
  const toRedact: Finding[][] = texts.map(() => []);
  for (const guardrail of guardrails) {
    const categories = new Set<string>();
    texts.forEach((text, i) => {
      const findings = findAll(guardrail.detectors, text);
      for (const finding of findings) categories.add(finding.category);
      if (guardrail.mode === "redact") toRedact[i]?.push(...findings);
    });
    if (categories.size === 0) {
      verdicts.push({ guardrail: guardrail.id, phase: "input", verdict: "passed" });
      continue;
    }
    verdicts.push({ guardrail: guardrail.id, phase: "input", verdict: ACTED[guardrail.mode], categories: [...categories] });
    if (guardrail.mode === "block") return { body, verdicts, placeholders, blocked: guardrailBlocked(guardrail, "input") };
  }
  if (toRedact.every((found) => found.length === 0)) return { body, verdicts, placeholders };
  for (const text of texts) placeholders.reserveIn(text);
  let i = 0;
  const redacted = mapPromptTexts(body, (text) => {
    const found = toRedact[i++] ?? [];
    return found.length === 0 ? text : redactText(text, withoutOverlaps(found), placeholders);
  });
  return { body: redacted, verdicts, placeholders };
}
