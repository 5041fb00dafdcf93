import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { bodyJson, topLevelMembers } from "../../src/http/body-text.ts";

const sourceOf = (text: string) => ({ parsed: JSON.parse(text) as Record<string, unknown>, text });

describe("a forwarded body's JSON", () => {
  it("keeps the client's bytes for every member left as parsed, and rewrites only what changed", () => {
    const text =
      '{ "model" : "gpt-x", "temperature": 1.0, "messages": [{"role":"user","content":"caf\\u00e9 \\"q\\" }]"}],\n "provider": "openai", "x_custom": {"a": [1, 2, {"b": null}]} }';
    const source = sourceOf(text);
    const { provider: _provider, ...rest } = source.parsed;
    const body = { ...rest, model: "upstream-model", stream_options: { include_usage: true } };
    const json = bodyJson(body, source);
    expect(json).toBe(
      '{"model":"upstream-model","temperature": 1.0,"messages": [{"role":"user","content":"caf\\u00e9 \\"q\\" }]"}],"x_custom": {"a": [1, 2, {"b": null}]},"stream_options":{"include_usage":true}}',
    );
    expect(JSON.parse(json)).toEqual(JSON.parse(JSON.stringify(body)));
  });

  it("serializes again what it cannot splice: no text, repeated keys, not an object", () => {
    expect(bodyJson({ a: 1 }, undefined)).toBe('{"a":1}');
    expect(topLevelMembers('{"a": 1, "a": 2}')).toBeUndefined();
    expect(topLevelMembers("[1, 2]")).toBeUndefined();
    expect(topLevelMembers(" {} ")).toEqual([]);
    const repeated = { parsed: { a: 2 }, text: '{"a": 1, "a": 2}' };
    expect(bodyJson({ ...repeated.parsed, b: 3 }, repeated)).toBe('{"a":2,"b":3}');
  });

  it("means what JSON.stringify of the body means, whatever was changed, removed or added", () => {
    const key = fc.constantFrom("model", "messages", "stream", "tools", "n", "x", 'ü"k', "");
    fc.assert(
      fc.property(
        fc.dictionary(key, fc.jsonValue()),
        fc.dictionary(key, fc.option(fc.jsonValue(), { nil: undefined })),
        fc.array(key),
        fc.boolean(),
        (original, changes, removed, pretty) => {
          const text = pretty ? JSON.stringify(original, null, 2) : JSON.stringify(original);
          const source = sourceOf(text);
          const body: Record<string, unknown> = { ...source.parsed, ...changes };
          for (const name of removed) delete body[name];
          const json = bodyJson(body, source);
          expect(JSON.parse(json)).toEqual(JSON.parse(JSON.stringify(body)));
        },
      ),
      { numRuns: 300 },
    );
  });

  it("reads a body of megabytes without running out of stack on long strings", () => {
    // JSON text of a string with quotes, backslashes and newlines escaped, a few megabytes long.
    const content = JSON.stringify('a line with "quotes" and a \\ backslash\n'.repeat(50_000)).slice(1, -1);
    const text = `{"model":"m","messages":[{"role":"user","content":"${content}"}]}`;
    const source = sourceOf(text);
    const json = bodyJson({ ...source.parsed, model: "n" }, source);
    expect(json.length).toBe(text.length);
    expect(json.endsWith(`"${content}"}]}`)).toBe(true);
  });
});
