// Precision and recall of each built-in detector over the labelled corpus,
// span by span: a finding counts as right only when it covers exactly a
// labelled value of its kind; any other finding is a false alarm, and a
// labelled value no finding covers exactly is a miss.
import { builtInDetector, DETECTOR_KINDS, type DetectorKind } from "../../src/guardrails/detectors.ts";
import type { CorpusText } from "./corpus/index.ts";

export interface DetectorScore {
  kind: DetectorKind;
  /** Labelled values of the kind in the corpus. */
  labelled: number;
  truePositives: number;
  falsePositives: number;
  falseNegatives: number;
  precision: number;
  recall: number;
  /** What it found that is not labelled, and what it missed: the text of each, to read when a floor fails. */
  falseAlarms: string[];
  misses: string[];
}

export function scoreDetector(kind: DetectorKind, corpus: readonly CorpusText[]): DetectorScore {
  const detector = builtInDetector(kind);
  let truePositives = 0;
  let labelled = 0;
  const falseAlarms: string[] = [];
  const misses: string[] = [];
  for (const { text, spans } of corpus) {
    const expected = spans.filter((span) => span.kind === kind);
    labelled += expected.length;
    const found = detector.find(text);
    const key = (span: { start: number; end: number }) => `${span.start}:${span.end}`;
    const foundKeys = new Set(found.map(key));
    const expectedKeys = new Set(expected.map(key));
    for (const finding of found) {
      if (expectedKeys.has(key(finding))) truePositives++;
      else falseAlarms.push(`${JSON.stringify(text.slice(finding.start, finding.end))} in ${JSON.stringify(text)}`);
    }
    for (const span of expected) {
      if (!foundKeys.has(key(span)))
        misses.push(`${JSON.stringify(text.slice(span.start, span.end))} in ${JSON.stringify(text)}`);
    }
  }
  const falsePositives = falseAlarms.length;
  const falseNegatives = misses.length;
  return {
    kind,
    labelled,
    truePositives,
    falsePositives,
    falseNegatives,
    precision: truePositives + falsePositives === 0 ? 1 : truePositives / (truePositives + falsePositives),
    recall: labelled === 0 ? 1 : truePositives / labelled,
    falseAlarms,
    misses,
  };
}

export const scoreDetectors = (corpus: readonly CorpusText[]): DetectorScore[] =>
  DETECTOR_KINDS.map((kind) => scoreDetector(kind, corpus));

/** The scores as a Markdown table, as docs/guardrails.md shows them. */
export function accuracyTable(scores: readonly DetectorScore[], corpus: readonly CorpusText[]): string {
  const nearMisses = (kind: DetectorKind) =>
    corpus.filter((text) => text.written === kind && !text.spans.some((span) => span.kind === kind)).length;
  const rows = scores.map((score) =>
    [
      `\`${score.kind}\``,
      String(score.labelled),
      String(nearMisses(score.kind)),
      String(score.truePositives),
      String(score.falsePositives),
      String(score.falseNegatives),
      score.precision.toFixed(3),
      score.recall.toFixed(3),
    ].join(" | "),
  );
  return [
    "| Detector | Values | Near misses | Found | False alarms | Missed | Precision | Recall |",
    "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ...rows.map((row) => `| ${row} |`),
  ].join("\n");
}
