// The input and output stages over bodies of every format, and the restoring
// of placeholders in text that arrives in pieces.
import { describe, expect, it } from "vitest";
import { compileGuardrail, type Guardrail } from "../../src/guardrails/definitions.ts";
import { guardInput, type Verdict } from "../../src/guardrails/input.ts";
import { AnswerGuard, OUTPUT_WINDOW } from "../../src/guardrails/output.ts";
import { Placeholders, StreamRestorer } from "../../src/guardrails/placeholders.ts";
import { mapAnswerTexts } from "../../src/guardrails/text-fields.ts";

const guardrail = (id: string, mode: Guardrail["mode"], kinds: string[], phase: Guardrail["phase"] = "both", options = {}) =>
  compileGuardrail({ id, name: `${id} policy`, phase, mode, kinds, options }) as Guardrail;

const pii = guardrail("pii", "redact", ["email", "phone"]);
const secrets = guardrail("secrets", "block", ["secret"]);
const audit = guardrail("audit", "flag", ["ip"]);

describe("the input stage", () => {
  it("redacts the texts of an OpenAI chat body, leaving images, roles and other fields as they were", () => {
    const body = {
      model: "gpt-4o-mini",
      user: "alice@example.com",
      messages: [
        { role: "system", content: "Reply to alice@example.com" },
        {
          role: "user",
          content: [
            { type: "text", text: "Mail alice@example.com or call +44 20 7946 0958, from 10.1.2.3" },
            { type: "image_url", image_url: { url: "data:image/png;base64,alice@example.com" } },
          ],
        },
      ],
    };
    const out = guardInput(body, [pii, secrets, audit]);
    expect(out.blocked).toBeUndefined();
    expect(out.body).toEqual({
      model: "gpt-4o-mini",
      user: "alice@example.com",
      messages: [
        { role: "system", content: "Reply to [EMAIL_1]" },
        {
          role: "user",
          content: [
            { type: "text", text: "Mail [EMAIL_1] or call [PHONE_1], from 10.1.2.3" },
            { type: "image_url", image_url: { url: "data:image/png;base64,alice@example.com" } },
          ],
        },
      ],
    });
    expect(out.verdicts).toEqual([
      { guardrail: "pii", phase: "input", verdict: "redacted", categories: ["email", "phone"] },
      { guardrail: "secrets", phase: "input", verdict: "passed" },
      { guardrail: "audit", phase: "input", verdict: "flagged", categories: ["ip"] },
    ]);
    expect(body.messages[0]?.content).toBe("Reply to alice@example.com");
  });

  it("reads Anthropic's system and blocks, Gemini's parts, and the responses API's input", () => {
    const anthropic = guardInput(
      { system: [{ type: "text", text: "a@b.io" }], messages: [{ role: "user", content: "to a@b.io" }] },
      [pii],
    );
    expect(anthropic.body).toEqual({
      system: [{ type: "text", text: "[EMAIL_1]" }],
      messages: [{ role: "user", content: "to [EMAIL_1]" }],
    });
    const gemini = guardInput(
      { contents: [{ role: "user", parts: [{ text: "x@y.dev" }] }], systemInstruction: { parts: [{ text: "z@y.dev" }] } },
      [pii],
    );
    expect(gemini.body).toEqual({
      contents: [{ role: "user", parts: [{ text: "[EMAIL_1]" }] }],
      systemInstruction: { parts: [{ text: "[EMAIL_2]" }] },
    });
    expect(guardInput({ input: "c@d.org", instructions: "be brief" }, [pii]).body).toEqual({
      input: "[EMAIL_1]",
      instructions: "be brief",
    });
  });

  it("refuses on a block, naming the guardrail and not what it found, and leaves the body alone", () => {
    const body = { messages: [{ role: "user", content: "my key is sk-proj-abcdefghijklmnopqrstuvwxyz0123 and a@b.io" }] };
    const out = guardInput(body, [pii, secrets]);
    expect(out.blocked?.status).toBe(400);
    expect(out.blocked?.code).toBe("guardrail_blocked");
    expect(out.blocked?.message).toBe("The request was blocked by the guardrail `secrets policy`.");
    expect(out.body).toBe(body);
    expect(out.verdicts.map((v) => v.verdict)).toEqual(["redacted", "blocked"]);
  });

  it("numbers its placeholders past any the caller typed", () => {
    const out = guardInput({ input: "[EMAIL_1] and [EMAIL_2] are mine, a@b.io is not" }, [pii]);
    expect(out.body).toEqual({ input: "[EMAIL_1] and [EMAIL_2] are mine, [EMAIL_3] is not" });
    expect(out.placeholders.restore("[EMAIL_1] [EMAIL_3]")).toBe("[EMAIL_1] a@b.io");
  });

  it("returns the very same body when nothing was found", () => {
    const body = { messages: [{ role: "user", content: "hello" }] };
    expect(guardInput(body, [pii, secrets]).body).toBe(body);
  });

  it("skips guardrails that check only output", () => {
    const outputOnly = guardrail("out", "block", ["email"], "output");
    expect(
      guardInput(
        { input: "a@b.io" },
        [outputOnly].filter((g) => g.phase !== "output"),
      ).blocked,
    ).toBeUndefined();
  });
});

describe("placeholders", () => {
  it("give one value one placeholder, and restore only their own", () => {
    const p = new Placeholders();
    expect(p.for("email", "a@b.io")).toBe("[EMAIL_1]");
    expect(p.for("email", "c@d.io")).toBe("[EMAIL_2]");
    expect(p.for("email", "a@b.io")).toBe("[EMAIL_1]");
    expect(p.restore("[EMAIL_2], [EMAIL_1], [EMAIL_3], [x]")).toBe("c@d.io, a@b.io, [EMAIL_3], [x]");
  });

  it("are restored whole in a stream split at every boundary", () => {
    const p = new Placeholders();
    p.for("email", "alice@example.com");
    p.for("phone", "+1 415 555 2671");
    const answer = "Hi [EMAIL_1], I'll call [PHONE_1] [soon] [EMAIL_9] [";
    const whole = "Hi alice@example.com, I'll call +1 415 555 2671 [soon] [EMAIL_9] [";
    for (let i = 0; i <= answer.length; i++) {
      for (let j = i; j <= answer.length; j += 3) {
        const r = new StreamRestorer(p);
        const out = r.push(answer.slice(0, i)) + r.push(answer.slice(i, j)) + r.push(answer.slice(j)) + r.flush();
        expect(out).toBe(whole);
      }
    }
  });

  it("hold back nothing when a tail cannot start a placeholder of the request", () => {
    const p = new Placeholders();
    p.for("email", "a@b.io");
    const r = new StreamRestorer(p);
    expect(r.push("see [link")).toBe("see [link");
    expect(r.push("and [EM")).toBe("and ");
    expect(r.push("AIL_1] done")).toBe("a@b.io done");
  });
});

describe("the output stage", () => {
  const withInput = () => {
    const placeholders = new Placeholders();
    placeholders.for("email", "alice@example.com");
    return placeholders;
  };

  it("checks, redacts and restores a whole answer's texts", () => {
    const record: Verdict[] = [];
    const guard = new AnswerGuard([guardrail("out-pii", "redact", ["email"], "output")], withInput(), record);
    const answer = { choices: [{ message: { role: "assistant", content: "[EMAIL_1], write to bob@corp.com" } }], id: "x" };
    expect(mapAnswerTexts(answer, (t) => guard.text(t))).toEqual({
      choices: [{ message: { role: "assistant", content: "alice@example.com, write to [EMAIL_REDACTED]" } }],
      id: "x",
    });
    expect(record).toEqual([{ guardrail: "out-pii", phase: "output", verdict: "redacted", categories: ["email"] }]);
  });

  it("throws the refusal on a block", () => {
    const guard = new AnswerGuard([guardrail("no-ssn", "block", ["ssn"], "output")], new Placeholders(), []);
    expect(() => guard.text("it is 123-45-6789")).toThrow("The answer was blocked by the guardrail `no-ssn policy`.");
  });

  it("redacts a value split across stream pieces, holding back at most twice its window", () => {
    const guard = new AnswerGuard([guardrail("out-pii", "redact", ["email"], "output")], withInput(), []);
    const text = `${"word ".repeat(80)}mail bob@corp.com now, [EMAIL_1]. ${"more ".repeat(80)}`;
    const expected = text.replace("bob@corp.com", "[EMAIL_REDACTED]").replace("[EMAIL_1]", "alice@example.com");
    for (const size of [1, 7, 50, 300]) {
      const filter = guard.stream();
      let out = "";
      let largestHeld = 0;
      let given = 0;
      for (let i = 0; i < text.length; i += size) {
        const piece = text.slice(i, i + size);
        given += piece.length;
        out += filter.push(piece);
        largestHeld = Math.max(largestHeld, given - out.length);
      }
      out += filter.flush();
      expect(out).toBe(expected);
      expect(largestHeld).toBeLessThanOrEqual(2 * OUTPUT_WINDOW + size);
    }
  });

  it("with no guardrails on output only restores, holding nothing it need not", () => {
    const guard = new AnswerGuard([], withInput(), []);
    const filter = guard.stream();
    expect(filter.push("hello ")).toBe("hello ");
    expect(filter.push("[EMAIL_1]")).toBe("alice@example.com");
    expect(guard.active).toBe(true);
    expect(new AnswerGuard([], new Placeholders(), []).active).toBe(false);
  });
});
