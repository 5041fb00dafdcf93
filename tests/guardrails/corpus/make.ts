// How the corpus is written: each text marks what a detector must find with
// ⟦…⟧ (the file's own kind) or ⟦kind|…⟧ (another kind), and everything
// unmarked is something no detector may find. Card numbers and IBANs are
// completed here by computing their check digits, so a near miss differs
// from a hit by its checksum alone. These checks are written apart from the
// detectors' own, so a bug in one does not hide in the other.
import { DETECTOR_KINDS, type DetectorKind } from "../../../src/guardrails/detectors.ts";

export interface LabelledSpan {
  kind: DetectorKind;
  start: number;
  end: number;
}

export interface CorpusText {
  /** The file it was written in: the detector whose positives or near misses it holds. */
  written: DetectorKind | "prose";
  text: string;
  spans: LabelledSpan[];
}

const MARK = /⟦(?:([a-z]+)\|)?([^⟧]*)⟧/g;

/** A text with its marks taken out and turned into spans. */
export function labelled(written: CorpusText["written"], marked: string): CorpusText {
  const spans: LabelledSpan[] = [];
  let text = "";
  let from = 0;
  for (const match of marked.matchAll(MARK)) {
    const [whole, named, value = ""] = match;
    const kind = (named ?? written) as DetectorKind;
    if (!DETECTOR_KINDS.includes(kind)) throw new Error(`no detector ${kind} in ${marked}`);
    text += marked.slice(from, match.index);
    spans.push({ kind, start: text.length, end: text.length + value.length });
    text += value;
    from = match.index + whole.length;
  }
  text += marked.slice(from);
  return { written, text, spans };
}

/** The Luhn digit that completes `digits`. */
function luhnDigit(digits: string): number {
  let sum = 0;
  // The check digit will sit at the end, so the rightmost digit here is doubled.
  [...digits].reverse().forEach((char, i) => {
    const value = Number(char) * (i % 2 === 0 ? 2 : 1);
    sum += value > 9 ? value - 9 : value;
  });
  return (10 - (sum % 10)) % 10;
}

/** A card number with its `?` replaced by the right Luhn digit (or a wrong one). */
export function card(pattern: string, valid = true): string {
  const right = luhnDigit(pattern.replace(/\D/g, ""));
  return pattern.replace("?", String(valid ? right : (right + 3) % 10));
}

/** ISO 13616 check digits for a country and BBAN: the BBAN, the country and 00, as a number mod 97, from 98. */
function ibanCheck(country: string, bban: string): number {
  const numeric = [...`${bban}${country}00`].map((char) => (/[A-Z]/.test(char) ? String(char.charCodeAt(0) - 55) : char));
  let remainder = 0;
  for (const digit of numeric.join("")) remainder = (remainder * 10 + Number(digit)) % 97;
  return 98 - remainder;
}

/** An IBAN with its `??` replaced by the right check digits (or wrong ones). */
export function iban(pattern: string, valid = true): string {
  const compact = pattern.replace(/ /g, "");
  const right = ibanCheck(compact.slice(0, 2), compact.slice(4));
  const check = valid ? right : right === 98 ? 2 : right + 1;
  return pattern.replace("??", String(check).padStart(2, "0"));
}

/** Letters and digits from a fixed seed: token bodies that look random, the same on every run. */
export function randomish(
  length: number,
  seed: number,
  alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
) {
  let state = seed;
  let out = "";
  for (let i = 0; i < length; i++) {
    state = (state * 1103515245 + 12345) % 2147483648;
    out += alphabet[Math.floor((state / 2147483648) * alphabet.length)];
  }
  return out;
}
