// An admin's own patterns: the classic catastrophic-backtracking shapes are
// refused when written, the usual guardrail patterns are not, and a pattern
// that is slow on long texts runs over bounded windows without losing matches.
import { describe, expect, it } from "vitest";
import { guardrailOptionsSchema } from "../../src/guardrails/definitions.ts";
import { PATTERN_WINDOW, regexDetector } from "../../src/guardrails/detectors.ts";
import { backtrackingRisk } from "../../src/guardrails/regex-safety.ts";

/** Exponential or high-degree polynomial on some texts (OWASP's ReDoS examples among them). */
const EVIL = [
  "(a+)+$",
  "(a*)*b",
  "(a|a)*c",
  "(a|aa)+$",
  "(a|a?)+$",
  "(\\w+\\s?)*$",
  "^(([a-z])+.)+[A-Z]([a-z])+$", // OWASP
  "^([a-zA-Z0-9])(([\\-.]|[_]+)?([a-zA-Z0-9]+))*(@){1}[a-z0-9]+[.]{1}(([a-z]{2,3})|([a-z]{2,3}[.]{1}[a-z]{2,3}))$", // OWASP's e-mail
  "(.*a){20}",
  "(a?){25}a{25}",
  "(a?a)+b",
  "(aa?)+b",
  "(x+x+)+y",
  "(\\w|\\d)+$",
  "(a|)+b",
  "^(\\w+@)+$",
  "(.*)\\1*",
  "\\d+\\d+x",
  "\\s*\\s+$",
  "a.*a.*a.*x",
  "(?=(a+)+)b",
];

const FINE = [
  "TICKET-\\d+",
  "\\bproject (?:apollo|gemini)\\b",
  "(?:foo|bar)+",
  "[A-Z]{2}\\d{2}(?: ?[A-Z0-9]{4}){2,7}",
  "sk-[A-Za-z0-9]{20,}",
  "(?<=id=)\\d+",
  "a.*b",
  "\\d{3}-\\d{2}-\\d{4}",
  "(?:ab)+",
  "[a-z0-9._%+-]+@corp\\.example",
  "password\\s*[:=]\\s*\\S+",
  "(\\s?\\w)+",
  "(?:\\d{3}-)+\\d{4}",
  "(?i:internal only)",
  "begin.{0,100}end.{0,100}done",
];

describe("the backtracking check", () => {
  it.each(EVIL)("refuses %s", (pattern) => {
    expect(backtrackingRisk(pattern)).toEqual(expect.any(String));
  });

  it.each(FINE)("accepts %s", (pattern) => {
    expect(backtrackingRisk(pattern)).toBeUndefined();
  });

  it("accepts Unicode property classes under the u flag", () => {
    expect(backtrackingRisk("\\p{Lu}\\p{Ll}+", "u")).toBeUndefined();
    expect(backtrackingRisk("(\\p{L}+\\s?)*$", "u")).toEqual(expect.any(String));
  });

  it("is how the admin API refuses a pattern, naming it and the reason", () => {
    const refused = guardrailOptionsSchema.safeParse({ patterns: [{ name: "evil", regex: "(a+)+$" }] });
    expect(refused.success).toBe(false);
    expect(refused.error?.issues[0]).toMatchObject({
      path: ["patterns", 0, "regex"],
      message:
        "could take exponential time on some texts: `(a+)+` repeats something that itself repeats (nested quantifiers, like `(a+)+`)",
    });
    expect(guardrailOptionsSchema.safeParse({ patterns: [{ name: "ticket", regex: "TICKET-\\d+" }] }).success).toBe(true);
  });
});

describe("a policy's pattern on a long text", () => {
  it("finds every match, whole, wherever the windows fall", () => {
    const detector = regexDetector("ticket", "TICKET-\\d+");
    const pieces: string[] = [];
    const expected: string[] = [];
    for (let i = 0; i < 200; i++) {
      const ticket = `TICKET-${String(i).repeat(1 + (i % 7))}`;
      pieces.push(`${"x".repeat(37 + ((i * 53) % 400))} `, ticket, " ");
      expected.push(ticket);
    }
    const text = pieces.join("");
    expect(text.length).toBeGreaterThan(PATTERN_WINDOW * 20);
    const found = detector.find(text).map((f) => text.slice(f.start, f.end));
    expect(found).toEqual(expected);
    // A lookbehind sees the text before its window.
    const after = regexDetector("id", "(?<=id=)\\d+");
    const ids = `${"y".repeat(PATTERN_WINDOW - 3)}id=12345 ${"z".repeat(PATTERN_WINDOW)}`;
    expect(after.find(ids).map((f) => ids.slice(f.start, f.end))).toEqual(["12345"]);
  });

  it("costs a pattern that is quadratic in what it sees a bounded amount per window", () => {
    // Not refused (one unbounded run), but quadratic on a long run of letters with no `@` in it.
    const detector = regexDetector("mail", "[a-z]+@corp\\.example");
    const text = "a".repeat(64 * 1024);
    const started = performance.now();
    expect(detector.find(text)).toEqual([]);
    const windowed = performance.now() - started;
    // The whole text at once: about 2·10⁹ steps, tens of seconds; windowed, about 5·10⁷.
    expect(windowed).toBeLessThan(2000);
  });
});
