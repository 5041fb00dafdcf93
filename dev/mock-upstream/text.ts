// Deterministic text and token counts for the mock models. A "token" here is
// a word or a single punctuation mark, with the white space before it.
const TOKEN = /\s*(?:[\p{L}\p{N}_]+|[^\s\p{L}\p{N}_])/gu;

export function tokenize(text: string): string[] {
  return text.match(TOKEN) ?? [];
}

export function countTokens(text: string): number {
  return tokenize(text).length;
}

const LOREM =
  "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et dolore magna aliqua".split(
    " ",
  );

/** `count` words of filler, the same every time. */
export function loremTokens(count: number): string {
  return Array.from({ length: count }, (_, i) => LOREM[i % LOREM.length]).join(" ");
}

/** Splits `text` into `parts` contiguous pieces by token; pieces may be empty when parts exceed tokens. */
export function splitIntoChunks(text: string, parts: number): string[] {
  const tokens = tokenize(text);
  const count = Math.max(1, parts);
  return Array.from({ length: count }, (_, i) =>
    tokens.slice(Math.floor((i * tokens.length) / count), Math.floor(((i + 1) * tokens.length) / count)).join(""),
  );
}
