// The texts guardrails read under keys that are not a format's own: a tool's
// result and a tool call's input (JSON of the tool's), a plain-text document's
// data, a prompt template's variables, and an answer's reasoning. Each is
// read whatever its key, and a redaction is written back where it was found.
import { describe, expect, it } from "vitest";
import { compileGuardrail, type Guardrail } from "../../src/guardrails/definitions.ts";
import { guardInput } from "../../src/guardrails/input.ts";
import { AnswerGuard } from "../../src/guardrails/output.ts";
import { Placeholders } from "../../src/guardrails/placeholders.ts";
import { checkRequestLimits } from "../../src/guardrails/request-limits.ts";
import { mapAnswerTexts, mapPromptTexts } from "../../src/guardrails/text-fields.ts";
import { jsonAnswerTexts } from "../../src/routing/answer-review.ts";

const guardrail = (mode: Guardrail["mode"], phase: Guardrail["phase"]) =>
  compileGuardrail({ id: `ssn-${mode}`, name: `SSN ${mode}`, phase, mode, kinds: ["ssn"], options: {} }) as Guardrail;

const SSN = "123-45-6789";
const user = (content: unknown[]) => ({ messages: [{ role: "user", content }] });

/** Each prompt with an SSN where the format keeps a tool's, a document's or a template's own text. */
const PROMPTS: [string, Record<string, unknown>, Record<string, unknown>][] = [
  [
    "Gemini functionResponse.response",
    { contents: [{ role: "user", parts: [{ functionResponse: { name: "lookup", response: { result: `SSN ${SSN}` } } }] }] },
    { contents: [{ role: "user", parts: [{ functionResponse: { name: "lookup", response: { result: "SSN [SSN_1]" } } }] }] },
  ],
  [
    "Bedrock toolResult json",
    user([{ toolResult: { toolUseId: "t1", content: [{ json: { rows: [{ ssn: SSN, n: 1 }] } }] } }]),
    user([{ toolResult: { toolUseId: "t1", content: [{ json: { rows: [{ ssn: "[SSN_1]", n: 1 }] } }] } }]),
  ],
  [
    "an Anthropic plain-text document",
    user([{ type: "document", source: { type: "text", media_type: "text/plain", data: `SSN ${SSN}` } }]),
    user([{ type: "document", source: { type: "text", media_type: "text/plain", data: "SSN [SSN_1]" } }]),
  ],
  [
    "the Responses API's prompt variables",
    { prompt: { id: "pmpt_1", variables: { who: `SSN ${SSN}`, note: { type: "input_text", text: "see above" } } } },
    { prompt: { id: "pmpt_1", variables: { who: "SSN [SSN_1]", note: { type: "input_text", text: "see above" } } } },
  ],
  [
    "an Anthropic tool_use input sent back",
    { messages: [{ role: "assistant", content: [{ type: "tool_use", id: "tu", name: "lookup", input: { ssn: SSN } }] }] },
    { messages: [{ role: "assistant", content: [{ type: "tool_use", id: "tu", name: "lookup", input: { ssn: "[SSN_1]" } }] }] },
  ],
  [
    "a Gemini functionCall's args sent back",
    { contents: [{ role: "model", parts: [{ functionCall: { name: "lookup", args: { ids: [SSN] } } }] }] },
    { contents: [{ role: "model", parts: [{ functionCall: { name: "lookup", args: { ids: ["[SSN_1]"] } } }] }] },
  ],
  [
    "a Cohere tool result's document",
    { messages: [{ role: "tool", tool_call_id: "c", content: [{ type: "document", document: { data: { ssn: SSN } } }] }] },
    { messages: [{ role: "tool", tool_call_id: "c", content: [{ type: "document", document: { data: { ssn: "[SSN_1]" } } }] }] },
  ],
];

describe("input guardrails under keys of a tool's or a template's own", () => {
  it.each(PROMPTS)("block an SSN in %s", (_, body) => {
    const out = guardInput(body, [guardrail("block", "input")]);
    expect(out.blocked?.message).toBe("The request was blocked by the guardrail `SSN block`.");
    expect(out.verdicts).toEqual([{ guardrail: "ssn-block", phase: "input", verdict: "blocked", categories: ["ssn"] }]);
  });

  it.each(PROMPTS)("redact an SSN in %s where it was, and put it back in the answer", (_, body, redacted) => {
    const out = guardInput(body, [guardrail("redact", "input")]);
    expect(out.blocked).toBeUndefined();
    expect(out.body).toEqual(redacted);
    expect(out.placeholders.restore("[SSN_1]")).toBe(SSN);
  });

  it.each(PROMPTS)("count %s against max_input_chars", (_, body) => {
    const refused = checkRequestLimits(body, { max_input_chars: 10 }, { inputTokens: () => 0, outputCap: undefined });
    expect(refused?.verdict).toEqual({
      guardrail: "request_limits",
      phase: "input",
      verdict: "blocked",
      categories: ["max_input_chars"],
    });
  });

  it("read only the text beside them: not base64 data, ids, names, thinking or a template's images", () => {
    const around = (input: unknown) => ({
      messages: [
        {
          role: "assistant",
          content: [
            { type: "thinking", thinking: `SSN ${SSN}`, signature: SSN },
            { type: "tool_use", id: SSN, name: SSN, input },
          ],
        },
        { role: "user", content: [{ type: "document", source: { type: "base64", media_type: "application/pdf", data: SSN } }] },
      ],
      prompt: { id: SSN, variables: { logo: { type: "input_image", image_url: `data:image/png;base64,${SSN}` } } },
    });
    const texts: string[] = [];
    const read = (text: string) => {
      texts.push(text);
      return text;
    };
    mapPromptTexts(around({ q: `SSN ${SSN}`, n: 2 }), read);
    expect(texts).toEqual([`SSN ${SSN}`]);
    const out = guardInput(around({ q: `SSN ${SSN}`, n: 2 }), [guardrail("redact", "input")]);
    expect(out.body).toEqual(around({ q: "SSN [SSN_1]", n: 2 }));
  });
});

/** Each whole answer with an SSN in a tool call's input or in the model's reasoning, and as redacted. */
const ANSWERS: [string, unknown, unknown][] = [
  [
    "an Anthropic tool_use input and thinking block",
    {
      content: [
        { type: "thinking", thinking: `their SSN is ${SSN}`, signature: "sig" },
        { type: "tool_use", id: "tu", name: "lookup", input: { person: { ssn: SSN, age: 40 }, tags: [SSN] } },
      ],
      usage: { input_tokens: 3, output_tokens: 9 },
    },
    {
      content: [
        { type: "thinking", thinking: "their SSN is [SSN_REDACTED]", signature: "sig" },
        {
          type: "tool_use",
          id: "tu",
          name: "lookup",
          input: { person: { ssn: "[SSN_REDACTED]", age: 40 }, tags: ["[SSN_REDACTED]"] },
        },
      ],
      usage: { input_tokens: 3, output_tokens: 9 },
    },
  ],
  [
    "a Gemini functionCall's args",
    { candidates: [{ content: { role: "model", parts: [{ functionCall: { name: "lookup", args: { ssn: SSN } } }] } }] },
    {
      candidates: [
        { content: { role: "model", parts: [{ functionCall: { name: "lookup", args: { ssn: "[SSN_REDACTED]" } } }] } },
      ],
    },
  ],
  [
    "a Bedrock toolUse input",
    {
      output: { message: { role: "assistant", content: [{ toolUse: { toolUseId: "t", name: "lookup", input: { ssn: SSN } } }] } },
    },
    {
      output: {
        message: {
          role: "assistant",
          content: [{ toolUse: { toolUseId: "t", name: "lookup", input: { ssn: "[SSN_REDACTED]" } } }],
        },
      },
    },
  ],
  [
    "an OpenAI-compatible message's reasoning_content and reasoning",
    { choices: [{ message: { role: "assistant", content: "ok", reasoning_content: `SSN ${SSN}`, reasoning: SSN } }] },
    {
      choices: [
        { message: { role: "assistant", content: "ok", reasoning_content: "SSN [SSN_REDACTED]", reasoning: "[SSN_REDACTED]" } },
      ],
    },
  ],
];

describe("output guardrails on a whole answer", () => {
  it.each(ANSWERS)("redact an SSN in %s, keeping the answer's shape", (_, answer, redacted) => {
    const guard = new AnswerGuard([guardrail("redact", "output")], new Placeholders(), []);
    expect(mapAnswerTexts(answer, (text) => guard.text(text))).toEqual(redacted);
  });

  it.each(ANSWERS)("block an answer with an SSN in %s", (_, answer) => {
    const guard = new AnswerGuard([guardrail("block", "output")], new Placeholders(), []);
    expect(() => mapAnswerTexts(answer, (text) => guard.text(text))).toThrow(
      "The answer was blocked by the guardrail `SSN block`.",
    );
  });

  it.each(ANSWERS)("send a remote check the SSN in %s", (_, answer) => {
    expect(jsonAnswerTexts(JSON.stringify(answer)).some((text) => text.includes(SSN))).toBe(true);
  });

  it("put the request's placeholders back in a tool call's input", () => {
    const placeholders = new Placeholders();
    placeholders.for("email", "alice@example.com");
    const guard = new AnswerGuard([], placeholders, []);
    const answer = { content: [{ type: "tool_use", id: "tu", name: "mail", input: { to: ["[EMAIL_1]"] } }] };
    expect(mapAnswerTexts(answer, (text) => guard.text(text))).toEqual({
      content: [{ type: "tool_use", id: "tu", name: "mail", input: { to: ["alice@example.com"] } }],
    });
  });

  it("read no ids, names or settings beside them", () => {
    const answer = (input: unknown) => ({
      id: SSN,
      reasoning: { effort: SSN, summary: SSN },
      content: [{ type: "tool_use", id: SSN, name: SSN, input }],
    });
    const guard = new AnswerGuard([guardrail("redact", "output")], new Placeholders(), []);
    expect(mapAnswerTexts(answer({ q: SSN, n: 1 }), (text) => guard.text(text))).toEqual(answer({ q: "[SSN_REDACTED]", n: 1 }));
  });
});
