import { describe, expect, it } from "vitest";
import { redactSecrets, upstreamError } from "../../src/routing/upstream-error.ts";

describe("an upstream's error", () => {
  it("is redacted whole before it is cut, so a key across the cut leaves nothing behind", async () => {
    // A Mistral key has no prefix to recognise it by: only the key that was sent can be matched.
    const key = "Zx81kQm3Lw0pRt7VbN2cYh5JdF9sGa4E";
    const text = `${"x".repeat(480)} bad key ${key} end`;
    const error = await upstreamError(new Response(text, { status: 401 }), "mistral", [key]);
    expect(error.status).toBe(401);
    expect(error.message.length).toBeLessThanOrEqual(500);
    for (let n = 6; n <= key.length; n++) expect(error.message).not.toContain(key.slice(0, n));
  });

  it("hides keys of every common shape, sent or not", () => {
    const text = "keys: gsk_abcdefgh12345678 xai-abcdefgh12345678 sk-proj-abcd1234 AIzaSyAbcdefgh12345 ya29.a0AfH6SMBabcdef";
    expect(redactSecrets(text, [])).toBe("keys: [redacted] [redacted] [redacted] [redacted] [redacted]");
  });
});
