import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { openaiChatQuick, openaiChatSchema } from "../../src/formats/openai/chat.ts";

/** What a schema says of a body: its data, or its first issue's path and message. */
const verdict = (result: ReturnType<typeof openaiChatSchema.safeParse>) =>
  result.success ? { data: result.data } : { path: result.error.issues[0]?.path, message: result.error.issues[0]?.message };

const checked = (body: unknown) =>
  verdict((openaiChatQuick.applies(body) ? openaiChatQuick.schema : openaiChatSchema).safeParse(body));

describe("the quick check of a chat body", () => {
  it("says what the full schema says, for conversations of plain turns and of anything else", () => {
    const turn = fc.oneof(
      fc.record({ role: fc.constantFrom("user", "assistant", "system"), content: fc.string() }),
      fc.record(
        {
          role: fc.oneof(fc.string(), fc.integer()),
          content: fc.oneof(
            fc.string(),
            fc.constant(null),
            fc.array(fc.record({ type: fc.constant("text"), text: fc.string() })),
          ),
          name: fc.oneof(fc.string(), fc.constant(null), fc.integer()),
          tool_call_id: fc.string(),
          tool_calls: fc.constant([{ function: { name: "f" } }]),
          extra: fc.jsonValue(),
        },
        { requiredKeys: [] },
      ),
      fc.jsonValue(),
    );
    const body = fc.record(
      {
        model: fc.oneof(fc.constant("gpt-x"), fc.constant(""), fc.integer()),
        messages: fc.oneof(fc.array(turn, { maxLength: 6 }), fc.jsonValue()),
        temperature: fc.oneof(fc.double({ min: -1, max: 3, noNaN: true }), fc.string()),
        stream: fc.oneof(fc.boolean(), fc.string()),
        x_custom: fc.jsonValue(),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.oneof(body, fc.jsonValue()), (value) => {
        // Bodies as they come: parsed from JSON text.
        const parsed = JSON.parse(JSON.stringify(value) ?? "null") as unknown;
        expect(checked(parsed)).toEqual(verdict(openaiChatSchema.safeParse(parsed)));
      }),
      { numRuns: 1000 },
    );
  });

  it("applies to plain turns only, and leaves their objects as they came", () => {
    const messages = [
      { role: "user", content: "hi" },
      { role: "assistant", content: "hello", x: 1 },
    ];
    expect(openaiChatQuick.applies({ model: "m", messages })).toBe(true);
    expect(openaiChatQuick.schema.parse({ model: "m", messages }).messages[1]).toBe(messages[1]);
    expect(openaiChatQuick.applies({ model: "m", messages: [{ role: "user", content: [] }] })).toBe(false);
    expect(openaiChatQuick.applies({ model: "m", messages: [{ role: "tool", content: "x", tool_call_id: "c" }] })).toBe(false);
    expect(openaiChatQuick.applies({ model: "m", messages: [{ role: "user", content: "x", name: null }] })).toBe(false);
    expect(openaiChatQuick.applies(null)).toBe(false);
  });
});
