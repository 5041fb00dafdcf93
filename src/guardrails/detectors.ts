// What a guardrail looks for: personal data and secrets, each a pattern and,
// where the shape alone says too little, a check on what the pattern found (a
// card number's Luhn digit, an IBAN's mod-97). Every detector reports where
// its matches are, never keeps them: what it found goes back upstream as a
// placeholder or stays in the request, and the ledger names only the kind.

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
  options: { accept?: (match: string) => boolean; needs?: string } = {},
): Detector {
  const { accept, needs } = options;
  return {
    category,
    find(text) {
      const found: Finding[] = [];
      if (needs && !text.includes(needs)) return found;
      for (const match of text.matchAll(pattern)) {
        if (accept && !accept(match[0])) continue;
        found.push({ start: match.index, end: match.index + match[0].length, category });
      }
      return found;
    },
  };
}

const digitsOf = (text: string) => text.replace(/\D/g, "");

/** The Luhn check card numbers carry in their last digit. */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let digit = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
  }
  return digits.length > 0 && sum % 10 === 0;
}

/** ISO 13616: the country and check digits moved to the end, letters as numbers, the whole mod 97 is 1. */
export function ibanValid(iban: string): boolean {
  const compact = iban.replace(/ /g, "").toUpperCase();
  if (!/^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$/.test(compact)) return false;
  const rearranged = compact.slice(4) + compact.slice(0, 4);
  let remainder = 0;
  for (const char of rearranged) {
    const value = char >= "A" ? String(char.charCodeAt(0) - 55) : char;
    for (const digit of value) remainder = (remainder * 10 + (digit.charCodeAt(0) - 48)) % 97;
  }
  return remainder === 1;
}

// The lookbehind starts a match only at the start of a run, not again at each of its characters.
const EMAIL = /(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,24}\b/g;

// International (+ and a country code) or a grouped national number; bare digit runs (ids, amounts) are not phones.
const PHONE =
  /(?<![\w+])(?:\+\d{1,3}[ .-]?(?:\(\d{1,4}\)[ .-]?)?\d{1,4}(?:[ .-]?\d{2,4}){1,4}|\(\d{3}\)[ .-]?\d{3}[ .-]\d{4}|\d{3}[.-]\d{3}[.-]\d{4})(?![\w-])/g;
const phoneDigits = (match: string) => {
  const count = digitsOf(match).length;
  return count >= 8 && count <= 15;
};

// 13 to 19 digits, optionally grouped by single spaces or dashes.
const CARD = /(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])/g;
const cardValid = (match: string) => {
  const digits = digitsOf(match);
  // Same digit throughout (0000 0000 …) passes Luhn and is no card.
  return luhnValid(digits) && !/^(\d)\1+$/.test(digits);
};

const IBAN = /\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b/g;

// Area 000, 666 and 9xx, group 00 and serial 0000 are never issued.
const SSN = /(?<![\d-])(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![\d-])/g;

const IPV4 = /(?<![\d.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?![\d.])/g;
// Full and compressed forms; at least two groups and a colon pair or seven colons, so times (12:30) are not addresses.
const IPV6 =
  /(?<![\w:])(?:(?:[0-9a-fA-F]{1,4}:){7}[0-9a-fA-F]{1,4}|(?:[0-9a-fA-F]{1,4}:){1,7}:(?:[0-9a-fA-F]{1,4}(?::[0-9a-fA-F]{1,4}){0,6})?|::(?:[0-9a-fA-F]{1,4}:){0,6}[0-9a-fA-F]{1,4})(?![\w:])/g;
const ipv6Plausible = (match: string) => match.includes("::") || match.split(":").length === 8;

// Shapes of credentials: provider keys, cloud keys, tokens, private keys.
const SECRET_SHAPES = [
  /\bsk-ant-[A-Za-z0-9_-]{20,}/, // Anthropic
  /\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}/, // OpenAI and the many that copy its shape
  /\bAIza[0-9A-Za-z_-]{35}\b/, // Google API keys
  /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/, // AWS access key ids
  /\bgh[pousr]_[A-Za-z0-9]{36,}\b/, // GitHub tokens
  /\bxox[abposr]-[A-Za-z0-9-]{10,}/, // Slack tokens
  /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/, // JWTs (header and claims are JSON objects)
  /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----(?:[\s\S]*?-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----)?/, // PEM private keys
  /\b[Bb]earer [A-Za-z0-9._~+/-]{20,}=*/, // bearer tokens in pasted headers
];
const SECRET = new RegExp(SECRET_SHAPES.map((shape) => shape.source).join("|"), "g");

const ipv4 = patternDetector("ip", IPV4, { needs: "." });
const ipv6 = patternDetector("ip", IPV6, { accept: ipv6Plausible, needs: ":" });

const BUILT_IN: Record<DetectorKind, Detector> = {
  email: patternDetector("email", EMAIL, { needs: "@" }),
  phone: patternDetector("phone", PHONE, { accept: phoneDigits }),
  card: patternDetector("card", CARD, { accept: cardValid }),
  iban: patternDetector("iban", IBAN, { accept: ibanValid }),
  ssn: patternDetector("ssn", SSN, { needs: "-" }),
  ip: {
    category: "ip",
    find: (text) => [...ipv4.find(text), ...ipv6.find(text)],
  },
  secret: patternDetector("secret", SECRET),
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
