// The output stage: the guardrails that check answers, and the placeholders
// of the input stage put back, over a whole answer's texts or over a stream's
// text as it flows. A stream holds back only a bounded window (so a value cut
// by a chunk boundary is still found), never the whole answer.

import type { Guardrail } from "./definitions.ts";
import { type Finding, findAll, withoutOverlaps } from "./detectors.ts";
import { guardrailBlocked, type Verdict } from "./input.ts";
import type { Placeholders } from "./placeholders.ts";
import { StreamRestorer } from "./placeholders.ts";

/**
 * Characters of a stream's text held back for the scan: a value longer than
 * this may pass a chunk boundary unseen. A stream holds at most twice this.
 */
export const OUTPUT_WINDOW = 256;

/** Text of an answer arriving in pieces: each piece's safe part out, the rest held. */
export interface TextFilter {
  push(piece: string): string;
  /** What is held back, when the answer's text is over. */
  flush(): string;
}

export class AnswerGuard {
  private readonly verdicts = new Map<string, Verdict>();

  /**
   * `record` is where output verdicts go (the meter's list, shared with the
   * input stage's); `review`, when remote guardrails check answers, reads an
   * answer's texts once they are whole and throws the refusal on a block.
   */
  constructor(
    private readonly guardrails: readonly Guardrail[],
    private readonly placeholders: Placeholders,
    record: Verdict[],
    readonly review?: (texts: string[]) => Promise<void>,
  ) {
    for (const guardrail of guardrails) {
      const verdict: Verdict = { guardrail: guardrail.id, phase: "output", verdict: "passed" };
      this.verdicts.set(guardrail.id, verdict);
      record.push(verdict);
    }
  }

  /** Whether an answer needs this stage at all: guardrails on output, or values to put back. */
  get active(): boolean {
    return this.guardrails.length > 0 || this.placeholders.size > 0 || this.review !== undefined;
  }

  /** One whole text of an answer: checked (throws the refusal on a block), redacted, its placeholders restored. */
  text(text: string): string {
    const checked = this.guardrails.length > 0 ? this.check(text, text.length).text : text;
    return this.placeholders.restore(checked);
  }

  /** A filter for one stream's text. */
  stream(): TextFilter {
    const restorer = new StreamRestorer(this.placeholders);
    if (this.guardrails.length === 0) return restorer;
    let held = "";
    return {
      push: (piece) => {
        const text = held + piece;
        // Scanned once twice the window has gathered, so each character is scanned about twice, not once per chunk.
        if (text.length <= 2 * OUTPUT_WINDOW) {
          held = text;
          return "";
        }
        const checked = this.check(text, text.length - OUTPUT_WINDOW);
        held = text.slice(checked.cut);
        return restorer.push(checked.text);
      },
      flush: () => {
        const checked = this.check(held, held.length);
        held = "";
        return restorer.push(checked.text) + restorer.flush();
      },
    };
  }

  /**
   * Runs the guardrails over `text`, up to `cut` (moved back to the start of
   * a finding it would split): the part before the cut, redacted, and where
   * the cut fell. A block throws its refusal.
   */
  private check(text: string, cut: number): { text: string; cut: number } {
    const redact: Finding[] = [];
    for (const guardrail of this.guardrails) {
      const findings = findAll(guardrail.detectors, text);
      if (findings.length === 0) continue;
      const verdict = this.verdicts.get(guardrail.id);
      if (verdict) {
        verdict.verdict = guardrail.mode === "block" ? "blocked" : guardrail.mode === "redact" ? "redacted" : "flagged";
        verdict.categories = [...new Set([...(verdict.categories ?? []), ...findings.map((f) => f.category)])];
      }
      if (guardrail.mode === "block") throw guardrailBlocked(guardrail, "output");
      if (guardrail.mode === "redact") redact.push(...findings);
    }
    const findings = withoutOverlaps(redact);
    let end = cut;
    for (const finding of findings) if (finding.start < end && finding.end > end) end = finding.start;
    let out = "";
    let at = 0;
    for (const finding of findings) {
      if (finding.end > end) break;
      out += `${text.slice(at, finding.start)}[${finding.category.toUpperCase()}_REDACTED]`;
      at = finding.end;
    }
    return { text: out + text.slice(at, end), cut: end };
  }
}
