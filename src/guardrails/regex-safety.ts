// Whether an admin's regular expression can backtrack catastrophically. A
// guardrail's own patterns run on every guarded request, in the isolate that
// serves it: one that takes exponential time on a crafted prompt (`(a+)+$`,
// `(a|aa)*b`, `(\w+\s?)*$`) would let any caller stall the gateway. The check
// parses the pattern and refuses, at write time, the shapes that cause it:
//
// - a repetition of something that itself repeats a variable number of times
//   (nested quantifiers: `(a+)+`, `(a*)*`, `(\w+\s?)*`, `(a?){20}`);
// - a repetition of alternatives that can start with the same character, or
//   match nothing (`(a|a)*`, `(a|ab)+`, `(\w|\d)+`, `(a|)+`);
// - a repetition of a back-reference;
// - two unbounded repetitions of overlapping characters with nothing between
//   them that the first could not take too (`\d+\d+`, `.*\s*.*`, `a.*b.*c`):
//   polynomial, each one more a power.
//
// It is conservative: some patterns it refuses are harmless in practice, and
// each refusal names the part to rewrite. What it lets through is linear or,
// at worst, polynomial with a degree bounded by the pattern; detectors.ts
// also bounds how much text one run of a pattern sees.

/** Characters a set is sampled on: ASCII, then a few beyond it (accents, a non-breaking space, a euro sign, a CJK character). */
const SAMPLE = [...Array.from({ length: 128 }, (_, i) => String.fromCharCode(i)), "é", "ß", "\u00a0", "€", "中", "\u2028"];

type CharSet = boolean[];

const union = (a: CharSet, b: CharSet): CharSet => a.map((x, i) => x || (b[i] ?? false));
const overlaps = (a: CharSet, b: CharSet) => a.some((x, i) => x && b[i]);
const EMPTY_SET: CharSet = SAMPLE.map(() => false);
const ANY_SET: CharSet = SAMPLE.map(() => true);

/** What a part of the pattern can match, as far as the check needs to know. */
interface Shape {
  min: number;
  max: number;
  /** Characters a match can start with (sampled). */
  first: CharSet;
  /** It contains a quantifier whose count varies (`*`, `+`, `?`, `{1,3}`), or a back-reference. */
  varies: boolean;
  /** It contains an unbounded quantifier (`*`, `+`, `{2,}`) or a back-reference. */
  unbounded: boolean;
  /** An optional part of it can take characters what follows the part could take too (`a?a`): one text, two readings. */
  ambiguous: boolean;
  /** Characters optional parts at its end can take (what a repetition of it must not start with). */
  tail: CharSet;
  /** It is one character (a literal, a class, `.`), possibly quantified: its characters are `first`. */
  single: boolean;
}

export class UnsafePattern extends Error {}

class Parser {
  private at = 0;

  constructor(
    private readonly source: string,
    private readonly flags: string,
  ) {}

  parse(): Shape {
    const shape = this.alternation();
    if (this.at < this.source.length) throw new UnsafePattern(`unexpected \`${this.source[this.at]}\``);
    return shape;
  }

  private peek = () => this.source[this.at];

  private charSet(atom: string): CharSet {
    try {
      const pattern = new RegExp(`^(?:${atom})$`, this.flags.replace(/[gymd]/g, ""));
      return SAMPLE.map((char) => pattern.test(char));
    } catch {
      return ANY_SET;
    }
  }

  private alternation(): Shape {
    const branches = [this.sequence()];
    while (this.peek() === "|") {
      this.at++;
      branches.push(this.sequence());
    }
    if (branches.length === 1) return branches[0] as Shape;
    return {
      min: Math.min(...branches.map((b) => b.min)),
      max: Math.max(...branches.map((b) => b.max)),
      first: branches.reduce((set, b) => union(set, b.first), EMPTY_SET),
      varies: branches.some((b) => b.varies) || new Set(branches.map((b) => `${b.min}-${b.max}`)).size > 1,
      unbounded: branches.some((b) => b.unbounded),
      ambiguous: branches.some((b) => b.ambiguous),
      tail: branches.reduce((set, b) => union(set, b.tail), EMPTY_SET),
      single: false,
      branches,
    } as Shape & { branches: Shape[] };
  }

  private sequence(): Shape {
    const terms: Shape[] = [];
    while (this.at < this.source.length && this.peek() !== "|" && this.peek() !== ")") terms.push(this.term());
    // Two unbounded repetitions of overlapping characters, with nothing between them the first could not also take.
    terms.forEach((term, i) => {
      if (!term.single || term.max !== Number.POSITIVE_INFINITY) return;
      for (const next of terms.slice(i + 1)) {
        if (next.single && next.max === Number.POSITIVE_INFINITY && overlaps(term.first, next.first)) {
          throw new UnsafePattern(
            "two unbounded repetitions can take the same characters, with nothing between them to tell them apart (like `\\d+\\d+` or `a.*b.*c`); bound one, as in `.{0,100}`",
          );
        }
        if (next.min > 0 && !(next.single && overlaps(term.first, next.first))) break;
      }
    });
    let first = EMPTY_SET;
    for (const term of terms) {
      first = union(first, term.first);
      if (term.min > 0) break;
    }
    // Each optional part against what may follow it; what can end the sequence is its tail.
    let ambiguous = terms.some((t) => t.ambiguous);
    let tail = EMPTY_SET;
    terms.forEach((term, i) => {
      const optional = term.min < term.max ? term.first : EMPTY_SET;
      const own = union(optional, term.tail);
      let follow = EMPTY_SET;
      let closed = false;
      for (const next of terms.slice(i + 1)) {
        follow = union(follow, next.first);
        if (next.min > 0) {
          closed = true;
          break;
        }
      }
      if (overlaps(own, follow)) ambiguous = true;
      if (!closed) tail = union(tail, own);
    });
    return {
      min: terms.reduce((sum, t) => sum + t.min, 0),
      max: terms.reduce((sum, t) => sum + t.max, 0),
      first,
      varies: terms.some((t) => t.varies),
      unbounded: terms.some((t) => t.unbounded),
      ambiguous,
      tail,
      single: terms.length === 1 && (terms[0]?.single ?? false),
    };
  }

  private term(): Shape {
    const start = this.at;
    const atom = this.atom();
    const quantifier = this.quantifier();
    if (!quantifier) return atom;
    const [min, max] = quantifier;
    const text = this.source.slice(start, this.at);
    if (max > 1) {
      if (atom.unbounded) {
        throw new UnsafePattern(`\`${text}\` repeats something that itself repeats (nested quantifiers, like \`(a+)+\`)`);
      }
      if (atom.varies && (atom.min === 0 || atom.ambiguous || overlaps(atom.tail, atom.first))) {
        throw new UnsafePattern(
          `\`${text}\` repeats a part whose optional pieces can read one text in several ways (like \`(a?a)+\`)`,
        );
      }
      const branches = (atom as Shape & { branches?: Shape[] }).branches;
      if (branches) {
        for (const [i, branch] of branches.entries()) {
          if (branch.min === 0) throw new UnsafePattern(`\`${text}\` repeats an alternative that can match nothing`);
          for (const other of branches.slice(i + 1)) {
            if (overlaps(branch.first, other.first)) {
              throw new UnsafePattern(
                `\`${text}\` repeats alternatives that can start with the same character (like \`(a|ab)*\`)`,
              );
            }
          }
        }
      }
    }
    return {
      min: atom.min * min,
      max: atom.max === 0 ? 0 : atom.max * max,
      first: atom.first,
      varies: atom.varies || min !== max,
      unbounded: atom.unbounded || max === Number.POSITIVE_INFINITY,
      ambiguous: atom.ambiguous,
      tail: atom.tail,
      single: atom.single,
    };
  }

  private quantifier(): [number, number] | undefined {
    const char = this.peek();
    let bounds: [number, number] | undefined;
    if (char === "*") bounds = [0, Number.POSITIVE_INFINITY];
    else if (char === "+") bounds = [1, Number.POSITIVE_INFINITY];
    else if (char === "?") bounds = [0, 1];
    else if (char === "{") {
      const match = /^\{(\d+)(,(\d*))?\}/.exec(this.source.slice(this.at));
      if (!match) return undefined;
      const min = Number(match[1]);
      const max = match[2] === undefined ? min : match[3] ? Number(match[3]) : Number.POSITIVE_INFINITY;
      this.at += match[0].length - 1;
      bounds = [min, max];
    }
    if (!bounds) return undefined;
    this.at++;
    if (this.peek() === "?") this.at++;
    return bounds;
  }

  private single(atom: string): Shape {
    return { ...Parser.ZERO_WIDTH, min: 1, max: 1, first: this.charSet(atom), single: true };
  }

  private static readonly ZERO_WIDTH: Shape = {
    min: 0,
    max: 0,
    first: EMPTY_SET,
    varies: false,
    unbounded: false,
    ambiguous: false,
    tail: EMPTY_SET,
    single: false,
  };

  private atom(): Shape {
    const char = this.peek();
    if (char === "(") return this.group();
    if (char === "^" || char === "$") {
      this.at++;
      return Parser.ZERO_WIDTH;
    }
    if (char === "[") return this.characterClass();
    if (char === "\\") return this.escape();
    this.at++;
    return this.single(char === "." ? "." : (char ?? "").replace(/[.*+?^${}()|[\]\\/]/g, "\\$&"));
  }

  private group(): Shape {
    this.at++;
    let lookaround = false;
    if (this.peek() === "?") {
      const rest = this.source.slice(this.at);
      const prefix = /^\?(?::|=|!|<=|<!|<[A-Za-z_$][\w$]*>|[imsx-]+:)/.exec(rest);
      if (!prefix) throw new UnsafePattern("an unknown group");
      lookaround = /^\?(?:=|!|<=|<!)/.test(prefix[0]);
      this.at += prefix[0].length;
    }
    const inner = this.alternation();
    if (this.peek() !== ")") throw new UnsafePattern("a group is not closed");
    this.at++;
    // A lookaround takes no characters, but what it repeats inside is checked all the same.
    if (lookaround) return { ...Parser.ZERO_WIDTH, varies: inner.varies, unbounded: inner.unbounded, ambiguous: inner.ambiguous };
    return inner;
  }

  private characterClass(): Shape {
    const start = this.at;
    this.at++;
    if (this.peek() === "^") this.at++;
    if (this.peek() === "]") this.at++;
    while (this.at < this.source.length && this.peek() !== "]") this.at += this.peek() === "\\" ? 2 : 1;
    this.at++;
    return this.single(this.source.slice(start, this.at));
  }

  private escape(): Shape {
    const rest = this.source.slice(this.at);
    if (/^\\[bB]/.test(rest)) {
      this.at += 2;
      return Parser.ZERO_WIDTH;
    }
    // A back-reference matches whatever its group did: its length varies.
    const backReference = /^\\(?:[1-9]\d*|k<[^>]+>)/.exec(rest);
    if (backReference) {
      this.at += backReference[0].length;
      return { ...Parser.ZERO_WIDTH, max: Number.POSITIVE_INFINITY, first: ANY_SET, varies: true, unbounded: true };
    }
    const escaped = /^\\(?:[pP]\{[^}]*\}|u\{[0-9a-fA-F]+\}|u[0-9a-fA-F]{4}|x[0-9a-fA-F]{2}|c[A-Za-z]|0|[\s\S])/.exec(rest);
    const text = escaped?.[0] ?? "\\";
    this.at += text.length;
    return this.single(text);
  }
}

/** Why a pattern could backtrack catastrophically, or undefined when it cannot (as far as the check can tell). */
export function backtrackingRisk(source: string, flags = ""): string | undefined {
  try {
    new Parser(source, flags).parse();
    return undefined;
  } catch (error) {
    if (error instanceof UnsafePattern) return error.message;
    throw error;
  }
}
