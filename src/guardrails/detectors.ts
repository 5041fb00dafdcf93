// What a guardrail looks for: personal data and secrets, each a pattern and,
// where the shape alone says too little, a check on what the pattern found (a
// card number's Luhn digit, an IBAN's mod-97). Every detector reports where
// its matches are, never keeps them: what it found goes back upstream as a
// placeholder or stays in the request, and the ledger names only the kind.

import { cardNumberValid, ibanValid } from "./checksums.ts";
import { awsSecretSpans, SECRET_PATTERN, secretMatchValid } from "./secret-shapes.ts";

export { ibanValid, luhnValid } from "./checksums.ts";

export type DetectorKind = "email" | "phone" | "card" | "iban" | "ssn" | "ip" | "secret";

export const DETECTOR_KINDS: readonly DetectorKind[] = ["email", "phone", "card", "iban", "ssn", "ip", "secret"];

/** One match: where it is in the text, and the category it is recorded under (`email`, `secret`, a custom name). */
export interface Finding {
  start: number;
  end: number;
  category: string;
}

export interface Detector {
  /** The category its findings are recorded under, and the word in a placeholder (`[EMAIL_1]`). */
  readonly category: string;
  find(text: string): Finding[];
}

/**
 * The matches of a global pattern that pass `accept`. `needs` is a character
 * every match holds: a text without it is passed over without running the pattern.
 */
function patternDetector(
  category: string,
  pattern: RegExp,
  options: { accept?: (match: RegExpMatchArray) => boolean; needs?: string } = {},
): Detector {
  const { accept, needs } = options;
  return {
    category,
    find(text) {
      const found: Finding[] = [];
      if (needs && !text.includes(needs)) return found;
      for (const match of text.matchAll(pattern)) {
        if (accept && !accept(match)) continue;
        found.push({ start: match.index, end: match.index + match[0].length, category });
      }
      return found;
    },
  };
}

/**
 * Like patternDetector, but a match that fails `valid` whole is tried again
 * in the `pieces` it may be cut into, the first that passes kept: a card
 * number followed by its expiry (`4111 … 1111 12/27`) or an IBAN by a word
 * in capitals (`… 7034 SEPA`) is still found, and only what is its.
 */
function groupedDetector(
  category: string,
  pattern: RegExp,
  valid: (value: string) => boolean,
  pieces: (match: string) => Iterable<[number, number]>,
): Detector {
  return {
    category,
    find(text) {
      const found: Finding[] = [];
      for (const match of text.matchAll(pattern)) {
        const value = match[0];
        if (valid(value)) {
          found.push({ start: match.index, end: match.index + value.length, category });
          continue;
        }
        for (const [from, to] of pieces(value)) {
          if (!valid(value.slice(from, to))) continue;
          found.push({ start: match.index + from, end: match.index + to, category });
          break;
        }
      }
      return found;
    },
  };
}

/** The groups of a run split at its single spaces or dashes, as [start, end] offsets. */
function groupsOf(run: string): [number, number][] {
  const groups: [number, number][] = [];
  let start = 0;
  for (let i = 0; i <= run.length; i++) {
    if (i === run.length || run[i] === " " || run[i] === "-") {
      groups.push([start, i]);
      start = i + 1;
    }
  }
  return groups;
}

const digitsOf = (text: string) => text.replace(/\D/g, "");

// An address is read outward from its @: the run of local-part characters before it, a dotted domain after.
const LOCAL_PART = /[A-Za-z0-9._%+-]/;
const DOMAIN = /[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,24}\b/y;
// `icon@2x.png` is an image at double resolution: no top-level domain is an image format.
const IMAGE_ENDING = /\.(?:png|jpe?g|gif|svg|webp|avif|ico|bmp|tiff?)$/i;

/** Email addresses, found from each @ rather than by a pattern tried at every word of the text. */
const email: Detector = {
  category: "email",
  find(text) {
    const found: Finding[] = [];
    let end = 0;
    for (let at = text.indexOf("@"); at !== -1; at = text.indexOf("@", at + 1)) {
      let start = at;
      while (start > end && LOCAL_PART.test(text[start - 1] ?? "")) start--;
      if (start === at || (start === end && end > 0 && LOCAL_PART.test(text[start - 1] ?? ""))) continue;
      DOMAIN.lastIndex = at + 1;
      const domain = DOMAIN.exec(text);
      if (!domain || IMAGE_ENDING.test(domain[0])) continue;
      end = DOMAIN.lastIndex;
      found.push({ start, end, category: "email" });
    }
    return found;
  },
};

// International (+ and a country code), or North American (area and exchange codes start 2–9) grouped by
// spaces, dots or dashes; bare digit runs (ids, amounts) are not phones.
const PHONE =
  /(?<![\w+])(?:\+\d{1,3}[ .-]?(?:\(\d{1,4}\)[ .-]?)?\d{1,4}(?:[ .-]?\d{2,4}){1,4}|(?:1[ .-])?(?:\([2-9]\d{2}\)[ .-]?|[2-9]\d{2}[ .-])[2-9]\d{2}[ .-]\d{4})(?![\w-])/g;
// A signed decimal (`+40.712776`, `+1234.5678`) is a coordinate or an amount.
const SIGNED_DECIMAL = /^\+\d+\.\d+$/;
const phoneValid = ([match]: RegExpMatchArray) => {
  const count = digitsOf(match).length;
  return count >= 8 && count <= 15 && !SIGNED_DECIMAL.test(match);
};

// 13 to 19 digits, optionally grouped by single spaces or dashes; not inside a word or an international phone number.
const CARD = /(?<![\w+-])\d(?:[ -]?\d){12,18}(?![\d-])/g;
const cardValid = (value: string) => cardNumberValid(digitsOf(value));
/** Pieces of a grouped run that are grouped as cards are: fours (the last shorter), or 4-6-5 and 4-6-4; the longest first. */
function* cardPieces(run: string): Iterable<[number, number]> {
  const groups = groupsOf(run);
  for (let size = groups.length - 1; size >= 3; size--) {
    for (let first = 0; first + size <= groups.length; first++) {
      const lengths = groups.slice(first, first + size).map(([from, to]) => to - from);
      const fours = lengths.slice(0, -1).every((length) => length === 4) && (lengths.at(-1) ?? 0) <= 4;
      const amex = size === 3 && lengths[0] === 4 && lengths[1] === 6 && (lengths[2] === 4 || lengths[2] === 5);
      if (fours || amex) yield [groups[first]?.[0] ?? 0, groups[first + size - 1]?.[1] ?? 0];
    }
  }
}

const IBAN = /\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b/g;
/** An IBAN's match without what follows one of its spaces, the longest first. */
function* ibanPieces(match: string): Iterable<[number, number]> {
  for (let end = match.lastIndexOf(" "); end > 0; end = match.lastIndexOf(" ", end - 1)) yield [0, end];
}

// Dashed or spaced, the same separator twice, not inside a longer run of groups (what comes before is
// checked on a match, so the pattern starts with a digit and skips the rest of a text quickly).
const SSN = /\d{3}([ -])\d{2}\1\d{4}(?![\d-])(?! \d)/g;
// Area 000, 666 and 9xx, group 00 and serial 0000 are never issued.
const SSN_NEVER_ISSUED = /^(?:000|666|9\d\d)|^.{4}00|0000$/;
const ssnValid = ({ 0: match, index, input }: RegExpMatchArray) => {
  const before = input?.slice(Math.max(0, (index ?? 0) - 2), index) ?? "";
  return !/[\d+-]$|\d $/.test(before) && !SSN_NEVER_ISSUED.test(match);
};

const IPV4_SOURCE = String.raw`(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)`;
// Not part of a version (`v1.2.3.4`), an OID or a longer dotted run; a sentence's full stop may follow.
const IPV4 = new RegExp(String.raw`(?<![\w.])${IPV4_SOURCE}(?!\.?\w)`, "g");
const HEX = "[0-9a-fA-F]{1,4}";
// Full and compressed forms, and both with an IPv4 tail (`::ffff:192.0.2.1`); at least two groups and a
// colon pair or seven colons, so times (12:30) are not addresses.
const IPV6 = new RegExp(
  [
    String.raw`(?<![\w:])(?:(?:${HEX}:){6}${IPV4_SOURCE}`,
    `(?:${HEX}(?::${HEX}){0,4})?::(?:${HEX}:){0,4}${IPV4_SOURCE}`,
    `(?:${HEX}:){7}${HEX}`,
    `(?:${HEX}:){1,7}:(?:${HEX}(?::${HEX}){0,6})?`,
    String.raw`::(?:${HEX}:){0,6}${HEX})(?![\w:]|\.\d)`,
  ].join("|"),
  "g",
);
// A compressed address names a network (`fe80::1`, `2001:db8::`) or is the loopback; `arr[1::2]` is a slice.
const ipv6Plausible = ([match]: RegExpMatchArray) =>
  match.split(":").length === 8 || match === "::1" || match.includes(".") || /[0-9a-fA-F]{3}/.test(match);

const shapedSecrets = patternDetector("secret", SECRET_PATTERN, { accept: secretMatchValid });
const ipv4 = patternDetector("ip", IPV4, { needs: "." });
const ipv6 = patternDetector("ip", IPV6, { accept: ipv6Plausible, needs: ":" });

const BUILT_IN: Record<DetectorKind, Detector> = {
  email,
  phone: patternDetector("phone", PHONE, { accept: phoneValid }),
  card: groupedDetector("card", CARD, cardValid, cardPieces),
  iban: groupedDetector("iban", IBAN, ibanValid, ibanPieces),
  ssn: patternDetector("ssn", SSN, { accept: ssnValid }),
  ip: {
    category: "ip",
    // An IPv6 address with an IPv4 tail holds one: the longer finding is kept.
    find: (text) => withoutOverlaps([...ipv6.find(text), ...ipv4.find(text)]),
  },
  secret: {
    category: "secret",
    find(text) {
      const shaped = shapedSecrets.find(text);
      const named = awsSecretSpans(text);
      if (named.length === 0) return shaped;
      return withoutOverlaps([...shaped, ...named.map(([start, end]) => ({ start, end, category: "secret" }))]);
    },
  },
};

export const builtInDetector = (kind: DetectorKind): Detector => BUILT_IN[kind];

/**
 * How much text one run of a policy's own pattern sees: a longer text is
 * read in windows, each owning PATTERN_WINDOW characters (where its matches
 * must start), seen with PATTERN_CONTEXT characters before them (for
 * lookbehinds and `\b`) and PATTERN_MATCH_ROOM after (where its matches may
 * end: a longer match is cut there). A pattern whose cost grows with the
 * square of the text it sees (`[a-z]+@x` on a long run of letters) so costs
 * a bounded amount per window, linear in the prompt's length overall.
 */
export const PATTERN_WINDOW = 512;
export const PATTERN_CONTEXT = 32;
export const PATTERN_MATCH_ROOM = 256;

function matchesIn(pattern: RegExp, text: string, offset: number, from: number, to: number, category: string, found: Finding[]) {
  for (const match of text.matchAll(pattern)) {
    const start = offset + match.index;
    // An empty match finds nothing worth hiding, and would loop.
    if (match[0].length === 0 || start < from || start >= to) continue;
    found.push({ start, end: start + match[0].length, category });
  }
}

/** A policy's own pattern, found under its name. */
export function regexDetector(category: string, source: string, flags = ""): Detector {
  const pattern = new RegExp(source, `${flags.replace(/[gy]/g, "")}g`);
  return {
    category,
    find(text) {
      const found: Finding[] = [];
      if (text.length <= PATTERN_WINDOW + PATTERN_MATCH_ROOM) {
        matchesIn(pattern, text, 0, 0, text.length, category, found);
        return found;
      }
      for (let from = 0; from < text.length; from += PATTERN_WINDOW) {
        const offset = Math.max(0, from - PATTERN_CONTEXT);
        const window = text.slice(offset, from + PATTERN_WINDOW + PATTERN_MATCH_ROOM);
        matchesIn(pattern, window, offset, from, from + PATTERN_WINDOW, category, found);
      }
      // A match that began in one window may be found again, cut shorter, as the next begins: the longer is kept.
      return withoutOverlaps(found);
    },
  };
}

const escapeRegex = (word: string) => word.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** Words and phrases of a policy's list, whole words, in any case. */
export function wordsDetector(category: string, words: readonly string[]): Detector {
  const alternatives = [...words].sort((a, b) => b.length - a.length).map(escapeRegex);
  return regexDetector(category, `(?<![\\p{L}\\p{N}_])(?:${alternatives.join("|")})(?![\\p{L}\\p{N}_])`, "iu");
}

/** Findings of several detectors, in order, an overlapping later one dropped (the earlier or longer wins). */
export function findAll(detectors: readonly Detector[], text: string): Finding[] {
  return withoutOverlaps(detectors.flatMap((detector) => detector.find(text)));
}

/** Findings in order, one that overlaps an earlier dropped (the earlier, or at the same start the longer, wins). */
export function withoutOverlaps(found: Finding[]): Finding[] {
  if (found.length < 2) return found;
  found.sort((a, b) => a.start - b.start || b.end - a.end);
  const kept: Finding[] = [];
  for (const finding of found) {
    const last = kept[kept.length - 1];
    if (!last || finding.start >= last.end) kept.push(finding);
  }
  return kept;
}
