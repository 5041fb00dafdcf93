import { describe, expect, it } from "vitest";
import { anthropicCodec } from "../../src/formats/anthropic/upstream.ts";
import { geminiCodec } from "../../src/formats/gemini/upstream.ts";
import { openaiChatCodec } from "../../src/formats/openai/upstream.ts";
import { estimateInputTokens } from "../../src/limits/estimate.ts";
import { imageSize, mediaTokens } from "../../src/limits/media.ts";

const base64 = (bytes: number[] | Uint8Array) => btoa(String.fromCharCode(...bytes));
const be32 = (n: number) => [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
const le16 = (n: number) => [n & 255, (n >>> 8) & 255];
const le32 = (n: number) => [...le16(n & 0xffff), ...le16(n >>> 16)];
const ascii = (text: string) => [...text].map((ch) => ch.charCodeAt(0));

const png = (w: number, h: number) => [
  0x89,
  ...ascii("PNG"),
  13,
  10,
  26,
  10,
  0,
  0,
  0,
  13,
  ...ascii("IHDR"),
  ...be32(w),
  ...be32(h),
];
const gif = (w: number, h: number) => [...ascii("GIF89a"), ...le16(w), ...le16(h), 0, 0];
// A JPEG: SOI, an APP0 segment, then a baseline frame header (height before width).
const jpeg = (w: number, h: number) => [
  0xff,
  0xd8,
  0xff,
  0xe0,
  0,
  16,
  ...ascii("JFIF"),
  0,
  1,
  1,
  0,
  0,
  1,
  0,
  1,
  0,
  0,
  0xff,
  0xc0,
  0,
  17,
  8,
  (h >> 8) & 255,
  h & 255,
  (w >> 8) & 255,
  w & 255,
  3,
];
const webp = (w: number, h: number) => [
  ...ascii("RIFF"),
  0,
  0,
  0,
  0,
  ...ascii("WEBP"),
  ...ascii("VP8X"),
  10,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  (w - 1) & 255,
  ((w - 1) >> 8) & 255,
  0,
  (h - 1) & 255,
  ((h - 1) >> 8) & 255,
  0,
];

describe("media sizes", () => {
  it("reads an image's size from the first bytes of PNG, GIF, JPEG and WebP", () => {
    for (const make of [png, gif, jpeg, webp]) {
      expect(imageSize(new Uint8Array(make(1000, 600)))).toEqual({ width: 1000, height: 600 });
    }
    expect(imageSize(new Uint8Array([1, 2, 3, 4]))).toBeUndefined();
  });

  it("prices an image by each provider's published rule", () => {
    const data = base64(png(1000, 1000));
    // OpenAI: 768×768 after scaling, 4 tiles: 85 + 4 × 170; low detail is 85.
    expect(mediaTokens({ kind: "image", data }, "openai")).toBe(765);
    expect(mediaTokens({ kind: "image", data, detail: "low" }, "openai")).toBe(85);
    // Anthropic: about 1.15 megapixels at most, 750 pixels a token.
    expect(mediaTokens({ kind: "image", data }, "anthropic")).toBe(1334);
    // Google: 768-pixel tiles of 258; a small image is one 258.
    expect(mediaTokens({ kind: "image", data }, "gemini")).toBe(4 * 258);
    expect(mediaTokens({ kind: "image", data: base64(png(300, 200)) }, "gemini")).toBe(258);
    // A URL cannot be read: a generous fixed amount.
    expect(mediaTokens({ kind: "image" }, "anthropic")).toBe(1600);
  });

  it("counts a PDF's pages, and audio by its length", () => {
    const pdf = ascii(
      "%PDF-1.4\n1 0 obj <</Type /Pages /Count 3>>\n2 0 obj <</Type /Page>>\n3 0 obj <</Type/Page>>\n4 0 obj <</Type /Page >>\n",
    );
    expect(mediaTokens({ kind: "document", data: base64(pdf) }, "gemini")).toBe(3 * 258);
    expect(mediaTokens({ kind: "document", data: base64(pdf) }, "anthropic")).toBe(3 * 3000);
    // Ten seconds of 16 kHz 16-bit mono WAV: 32,000 bytes a second.
    const wav = new Uint8Array(44 + 320_000);
    wav.set([
      ...ascii("RIFF"),
      0,
      0,
      0,
      0,
      ...ascii("WAVE"),
      ...ascii("fmt "),
      16,
      0,
      0,
      0,
      1,
      0,
      1,
      0,
      ...le32(16_000),
      ...le32(32_000),
    ]);
    let binary = "";
    for (const byte of wav) binary += String.fromCharCode(byte);
    expect(mediaTokens({ kind: "audio", data: btoa(binary) }, "gemini")).toBe(11 * 32);
  });

  it("leaves a media part's bytes out of the text estimate", () => {
    const image = `data:image/png;base64,${base64(png(1000, 1000))}${"A".repeat(90_000)}`;
    const messages = [{ role: "user", content: [{ type: "image_url", image_url: { url: image } }] }];
    const tokens = estimateInputTokens([messages], "openai");
    expect(tokens).toBeGreaterThanOrEqual(765);
    expect(tokens).toBeLessThan(800);
  });
});

const frame = (data: unknown, event?: string) => ({ data: JSON.stringify(data), raw: "", event });

describe("usage and thinking read from streams", () => {
  it("Anthropic's exact input arrives with message_start, its thinking counts as generated", () => {
    const decoder = anthropicCodec.streamDecoder();
    const start = decoder.decode(
      frame({ type: "message_start", message: { id: "m", usage: { input_tokens: 4210, output_tokens: 1 } } }),
    );
    expect(start).toContainEqual({ type: "usage", usage: { promptTokens: 4210, completionTokens: 1, cachedTokens: 0 } });
    const thinking = decoder.decode(
      frame({ type: "content_block_delta", index: 0, delta: { type: "thinking_delta", thinking: "hmm" } }),
    );
    expect(thinking).toEqual([{ type: "reasoning", text: "hmm" }]);
  });

  it("Gemini's thoughts and compatible servers' reasoning are read as reasoning", () => {
    const gemini = geminiCodec.streamDecoder();
    const events = gemini.decode(
      frame({ candidates: [{ content: { parts: [{ text: "plan", thought: true }, { text: "answer" }] } }] }),
    );
    expect(events).toContainEqual({ type: "reasoning", text: "plan" });
    expect(events).toContainEqual({ type: "text", text: "answer" });
    const openai = openaiChatCodec.streamDecoder();
    expect(openai.decode(frame({ choices: [{ delta: { reasoning_content: "think" } }] }))).toContainEqual({
      type: "reasoning",
      text: "think",
    });
  });
});
