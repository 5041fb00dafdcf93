import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { bodyJson, bodySourceOf, bodyToSend, clientJson, sourceFor, topLevelMembers } from "../../src/http/body-text.ts";
import { estimateInputTokens } from "../../src/limits/estimate.ts";

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

  it("sends the client's text itself when nothing in the body changed", () => {
    const text = ' {"model": "m",\n "messages": [{"role": "user", "content": "hi"}]} ';
    const source = sourceOf(text);
    expect(bodyJson({ ...source.parsed }, source)).toBe(text);
    expect(bodyJson({ ...source.parsed, n: 1 }, source)).toBe(
      '{"model": "m","messages": [{"role": "user", "content": "hi"}],"n":1}',
    );
  });
});

describe("a prompt part's JSON as the client sent it", () => {
  /** A body's parsed messages, and a reader of a part's text as the client sent it. */
  const remembered = (text: string) => {
    const parsed = JSON.parse(text) as Record<string, unknown>;
    const source = bodySourceOf(parsed, text);
    return { messages: parsed.messages, sent: (part: unknown) => clientJson(source, part) };
  };

  it("is the member's value text for an object or array parsed from it, and nothing for anything else", () => {
    const text = '{"model":"m", "messages" : [{"role":"user","content":"hi"}] ,"tools":{"a":1}}';
    const parsed = JSON.parse(text) as Record<string, unknown>;
    const source = bodySourceOf(parsed, text);
    expect(clientJson(source, parsed.messages)).toBe('[{"role":"user","content":"hi"}]');
    expect(clientJson(source, parsed.tools)).toBe('{"a":1}');
    expect(clientJson(source, [...(parsed.messages as unknown[])])).toBeUndefined();
    expect(clientJson(source, parsed.model)).toBeUndefined();
    // Another body, though it holds the same messages, is not the one the text was parsed into.
    expect(clientJson(sourceFor({ messages: parsed.messages }, source), parsed.messages)).toBeUndefined();
    expect(sourceFor(parsed, source)).toBe(source);
  });

  it("counts media the client's escapes would hide from a look at its text", () => {
    const escaped = remembered(
      '{"messages":[{"role":"user","content":[{"type":"\\u0069mage_url","\\u0069mage_url":{"url":"https:\\/\\/x\\/y.png"}}]}]}',
    );
    expect(escaped.sent(escaped.messages)).toContain("\\u0069mage_url");
    for (const rules of ["openai", "anthropic", "gemini"] as const) {
      const read = estimateInputTokens([escaped.messages], rules, escaped.sent);
      expect(read).toBe(estimateInputTokens([escaped.messages], rules));
      // Priced as an image, not as the few bytes of its address.
      expect(read).toBeGreaterThan(50);
    }
  });

  it("gives the estimate JSON.stringify gives, for compact text, media or not", () => {
    const part = fc.oneof(
      fc.record({ role: fc.constantFrom("user", "assistant"), content: fc.string({ unit: "binary", maxLength: 40 }) }),
      fc.record({
        role: fc.constant("user"),
        content: fc.array(
          fc.oneof(
            fc.record({ type: fc.constant("text"), text: fc.string() }),
            fc.record({
              type: fc.constant("image_url"),
              image_url: fc.record({ url: fc.constantFrom("https://x/y.png", "data:image/png;base64,AAAA") }),
            }),
          ),
        ),
      }),
    );
    fc.assert(
      fc.property(
        fc.array(part, { minLength: 1, maxLength: 8 }),
        fc.constantFrom("openai", "anthropic", "gemini"),
        (messages, rules) => {
          const parsed = remembered(JSON.stringify({ model: "m", messages }));
          const read = estimateInputTokens([parsed.messages, ""], rules, parsed.sent);
          expect(read).toBe(estimateInputTokens([parsed.messages, ""], rules));
        },
      ),
      { numRuns: 60 },
    );
  }, 30_000);

  it("errs high, never low, for text with whitespace the serialization leaves out", () => {
    const parsed = remembered(JSON.stringify({ model: "m", messages: [{ role: "user", content: "x".repeat(300) }] }, null, 2));
    const read = estimateInputTokens([parsed.messages], "openai", parsed.sent);
    expect(read).toBeGreaterThan(estimateInputTokens([parsed.messages], "openai"));
  });
});

describe("a forwarded body's bytes", () => {
  const remembered = (text: string) => {
    const bytes = new Uint8Array(new TextEncoder().encode(text));
    const parsed = JSON.parse(text) as Record<string, unknown>;
    return { parsed, bytes, source: bodySourceOf(parsed, text, bytes) };
  };
  const decoded = (sent: string | Uint8Array) => (typeof sent === "string" ? sent : new TextDecoder().decode(sent));

  it("are the client's own when nothing changed, and the spliced text's when something did", async () => {
    const { parsed, bytes, source } = remembered('{"model": "m", "messages": [{"role": "user", "content": "hi"}]}');
    const same = bodyToSend({ ...parsed }, source);
    expect(same).toBe(bytes);
    // What lets every attempt send the same bytes: a request takes a copy of a buffer body when it is made.
    const request = new Request("https://upstream.example/", { method: "POST", body: same });
    (same as Uint8Array)[0] = 0x20;
    expect(new Uint8Array(await request.arrayBuffer())[0]).toBe(0x7b);
    (same as Uint8Array)[0] = 0x7b;
    const changed = bodyToSend({ ...parsed, model: "n", max_tokens: 5 }, source);
    expect(decoded(changed)).toBe(bodyJson({ ...parsed, model: "n", max_tokens: 5 }, source));
  });

  it("are kept only for ASCII text, where a character is a byte", () => {
    expect(remembered('{"a": "café"}').source?.bytes).toBeUndefined();
    expect(remembered('{"a": "caf\\u00e9"}').source?.bytes).toBeDefined();
    const invalid = new Uint8Array([...new TextEncoder().encode('{"a": "'), 0xff, ...new TextEncoder().encode('"}')]);
    const text = new TextDecoder().decode(invalid);
    const parsed = JSON.parse(text) as Record<string, unknown>;
    expect(bodySourceOf(parsed, text, invalid)?.bytes).toBeUndefined();
  });

  it("are kept for no body with a byte past ASCII, wherever it is and however the bytes lie in their buffer", () => {
    fc.assert(
      fc.property(
        // Printable ASCII but the quote and the backslash, so each of the string's characters is one byte of its own.
        fc.string({
          unit: fc
            .integer({ min: 0x20, max: 0x7e })
            .filter((code) => code !== 0x22 && code !== 0x5c)
            .map((code) => String.fromCharCode(code)),
          minLength: 1,
          maxLength: 40,
        }),
        fc.nat(),
        fc.integer({ min: 0x80, max: 0xff }),
        fc.nat(7),
        (prose, at, high, offset) => {
          const plain = new TextEncoder().encode(JSON.stringify({ a: prose }));
          const spot = '{"a":"'.length + (at % prose.length);
          // The bytes at an offset in a larger buffer, as a view of a request's body may be.
          const room = new Uint8Array(plain.length + offset);
          const bytes = room.subarray(offset);
          bytes.set(plain);
          const ascii = JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
          expect(bodySourceOf(ascii, new TextDecoder().decode(bytes), bytes)?.bytes).toBe(bytes);
          bytes[spot] = high;
          const text = new TextDecoder().decode(bytes);
          const parsed = JSON.parse(text) as Record<string, unknown>;
          expect(bodySourceOf(parsed, text, bytes)?.bytes).toBeUndefined();
        },
      ),
      { numRuns: 300 },
    );
  });

  it("mean what JSON.stringify of the body means, whatever was changed, removed or added", () => {
    const key = fc.constantFrom("model", "messages", "stream", "n", 'k"ey', "");
    fc.assert(
      fc.property(
        fc.dictionary(key, fc.jsonValue()),
        fc.dictionary(key, fc.option(fc.jsonValue(), { nil: undefined })),
        fc.array(key),
        fc.boolean(),
        (original, changes, removed, pretty) => {
          const { parsed, source } = remembered(pretty ? JSON.stringify(original, null, 2) : JSON.stringify(original));
          const body: Record<string, unknown> = { ...parsed, ...changes };
          for (const name of removed) delete body[name];
          expect(JSON.parse(decoded(bodyToSend(body, source)))).toEqual(JSON.parse(JSON.stringify(body)));
        },
      ),
      { numRuns: 200 },
    );
  });
});
