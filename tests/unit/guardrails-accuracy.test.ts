// Each built-in detector's precision and recall over the labelled corpus
// (tests/guardrails/corpus), span by span, held to a floor: a change that
// makes a detector miss values or find near misses fails here, naming them.
import { describe, expect, it } from "vitest";
import { DETECTOR_KINDS } from "../../src/guardrails/detectors.ts";
import { scoreDetector } from "../guardrails/accuracy.ts";
import { CORPUS } from "../guardrails/corpus/index.ts";
import { labelled } from "../guardrails/corpus/make.ts";

const PRECISION_FLOOR = 0.95;
const RECALL_FLOOR = 0.95;

describe.each(DETECTOR_KINDS)("the %s detector over the corpus", (kind) => {
  const score = scoreDetector(kind, CORPUS);

  it("has values and near misses of its own to be scored on", () => {
    expect(score.labelled).toBeGreaterThanOrEqual(24);
    expect(CORPUS.filter((text) => text.written === kind && text.spans.length === 0).length).toBeGreaterThanOrEqual(20);
  });

  it(`keeps precision at least ${PRECISION_FLOOR}`, () => {
    expect({ precision: score.precision, falseAlarms: score.falseAlarms }).toEqual({
      precision: expect.toSatisfy((p: number) => p >= PRECISION_FLOOR),
      falseAlarms: expect.any(Array),
    });
  });

  it(`keeps recall at least ${RECALL_FLOOR}`, () => {
    expect({ recall: score.recall, misses: score.misses }).toEqual({
      recall: expect.toSatisfy((r: number) => r >= RECALL_FLOOR),
      misses: expect.any(Array),
    });
  });
});

describe("the scorer", () => {
  it("counts a finding right only where it covers a labelled value exactly", () => {
    const corpus = [
      labelled("email", "mail ⟦a@example.com⟧ or b@example.org"),
      labelled("email", "⟦c@example.com⟧ and ⟦ssn|123-45-6789⟧"),
      labelled("email", "no address here, but ⟦x@y⟧"),
    ];
    expect(scoreDetector("email", corpus)).toMatchObject({
      labelled: 3,
      truePositives: 2,
      falsePositives: 1,
      falseNegatives: 1,
      precision: 2 / 3,
      recall: 2 / 3,
      falseAlarms: ['"b@example.org" in "mail a@example.com or b@example.org"'],
      misses: ['"x@y" in "no address here, but x@y"'],
    });
  });

  it("completes card numbers and IBANs with their check digits, and spoils them on request", async () => {
    const { card, iban } = await import("../guardrails/corpus/make.ts");
    expect(card("4111 1111 1111 111?")).toBe("4111 1111 1111 1111");
    expect(card("4111 1111 1111 111?", false)).not.toBe("4111 1111 1111 1111");
    expect(iban("GB?? WEST 1234 5698 7654 32")).toBe("GB82 WEST 1234 5698 7654 32");
    expect(iban("DE??370400440532013000")).toBe("DE89370400440532013000");
    expect(iban("DE??370400440532013000", false)).not.toBe("DE89370400440532013000");
  });
});
