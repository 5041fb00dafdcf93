import { describe, expect, it } from "vitest";
import { anthropicCodec } from "../../src/formats/anthropic/upstream.ts";
import { geminiCodec } from "../../src/formats/gemini/upstream.ts";
import { openaiChatCodec } from "../../src/formats/openai/upstream.ts";
import { estimateInputTokens } from "../../src/limits/estimate.ts";
import { imageSize, mediaTokens } from "../../src/limits/media.ts";
import { audioLength } from "../../src/media/audio.ts";
import { imageEditRequest, imageGenerationRequest } from "../../src/media/requests.ts";
import type { UsageMeter } from "../../src/usage/meter.ts";
import { costOf, type MediaUsage, mediaCostOf, priceOf, type TokenCounts } from "../../src/usage/prices.ts";

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
    // Ten seconds of 16 kHz 16-bit mono WAV: 32,000 bytes a second, counted from its samples, whatever its
    // header's own byte rate says (here 0xFFFFFFFF, which taken at its word would make it free).
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
      ...le32(0xffffffff),
      2,
      0,
      16,
      0,
      ...ascii("data"),
      ...le32(320_000),
    ]);
    let binary = "";
    for (const byte of wav) binary += String.fromCharCode(byte);
    expect(mediaTokens({ kind: "audio", data: btoa(binary) }, "gemini")).toBe(10 * 32);
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

/** A WAV header and `data` bytes: a `fmt ` chunk of the given encoding, its byte rate field whatever it says. */
function wavFile(input: {
  data: number;
  encoding?: number;
  channels?: number;
  sampleRate?: number;
  byteRate?: number;
  bits?: number;
  dataLength?: number;
}): Blob {
  const { data, encoding = 1, channels = 1, sampleRate = 16_000, bits = 16 } = input;
  const blockAlign = (channels * bits) / 8;
  const header = [
    ...ascii("RIFF"),
    ...le32(36 + data),
    ...ascii("WAVE"),
    ...ascii("fmt "),
    ...le32(16),
    ...le16(encoding),
    ...le16(channels),
    ...le32(sampleRate),
    ...le32(input.byteRate ?? sampleRate * blockAlign),
    ...le16(blockAlign),
    ...le16(bits),
    ...ascii("data"),
    ...le32(input.dataLength ?? data),
  ];
  return new Blob([new Uint8Array(header), new Uint8Array(data)]);
}

describe("a recording's length, for billing a transcription that reports none", () => {
  it("times a WAV by its sample rate and frame size, whatever its byte rate says", async () => {
    // Two seconds of 16 kHz 16-bit mono: 64,000 bytes.
    expect(await audioLength(wavFile({ data: 64_000 }))).toEqual({ seconds: 2, exact: true });
    expect(await audioLength(wavFile({ data: 64_000, byteRate: 0xffffffff }))).toEqual({ seconds: 2, exact: true });
    expect(await audioLength(wavFile({ data: 64_000, byteRate: 0 }))).toEqual({ seconds: 2, exact: true });
    // Stereo 48 kHz float: 384,000 bytes a second.
    const float = wavFile({ data: 384_000, encoding: 3, channels: 2, sampleRate: 48_000, bits: 32, byteRate: 1 });
    expect(await audioLength(float)).toEqual({ seconds: 1, exact: true });
    // A `data` chunk that claims a few bytes holds the rest of the file all the same.
    expect(await audioLength(wavFile({ data: 64_000, dataLength: 2 }))).toEqual({ seconds: 2, exact: true });
  });

  it("estimates, at 2,000 bytes a second, a WAV it cannot time and any other format", async () => {
    const estimate = (blob: Blob) => ({ seconds: blob.size / 2_000, exact: false });
    for (const odd of [
      wavFile({ data: 64_000, sampleRate: 0 }),
      wavFile({ data: 64_000, sampleRate: 0xffffffff }),
      wavFile({ data: 64_000, bits: 0 }),
      wavFile({ data: 64_000, channels: 0 }),
      // IMA ADPCM: a block holds many samples, so rate × block size says nothing.
      wavFile({ data: 64_000, encoding: 0x11 }),
    ]) {
      expect(await audioLength(odd)).toEqual(estimate(odd));
    }
    const mp3 = new Blob([new Uint8Array(20_000)], { type: "audio/mpeg" });
    expect(await audioLength(mp3)).toEqual({ seconds: 10, exact: false });
  });
});

/** What a media request's meter records, and what that costs at a model's list price. */
function metered(read: (meter: UsageMeter) => void, model: string) {
  let tokens: TokenCounts | undefined;
  let media: MediaUsage | undefined;
  const meter = {
    setTokens: (counts: TokenCounts) => {
      tokens = counts;
    },
    setMedia: (usage: MediaUsage) => {
      media = usage;
    },
    flags: {},
  } as unknown as UsageMeter;
  read(meter);
  const price = priceOf(model, "openai");
  const usd = costOf(price, tokens ?? { promptTokens: 0, completionTokens: 0, cachedTokens: 0 }) + mediaCostOf(price, media);
  return { tokens, media, usd };
}

describe("images", () => {
  const form = (fields: Record<string, string>) => {
    const body = new FormData();
    body.append("image", new File([new Uint8Array(8)], "room.png", { type: "image/png" }));
    body.append("prompt", "add a plant");
    for (const [name, value] of Object.entries(fields)) body.append(name, value);
    return body;
  };

  it("refuses `stream` and `partial_images` before any call, naming the field", () => {
    const refusals: [() => unknown, string][] = [
      [() => imageGenerationRequest({ prompt: "a kite", stream: true }), "stream"],
      [() => imageGenerationRequest({ prompt: "a kite", stream: "true" }), "stream"],
      [() => imageGenerationRequest({ prompt: "a kite", stream: false, partial_images: 0 }), "partial_images"],
      [() => imageEditRequest(form({ stream: "true" })), "stream"],
      [() => imageEditRequest(form({ stream: "false", partial_images: "2" })), "partial_images"],
    ];
    for (const [request, param] of refusals) {
      expect(request).toThrow(expect.objectContaining({ status: 400, kind: "invalid_request", param }));
    }
    expect(imageGenerationRequest({ prompt: "a kite", stream: false }).body).toEqual({ prompt: "a kite", stream: false });
    expect(imageEditRequest(form({ stream: "false" })).api).toBe("images/edits");
  });

  it("bills gpt-image-1's input tokens, text at $5 a million and images at $10, beside its image's table price", () => {
    const request = imageGenerationRequest({ model: "gpt-image-1", prompt: "a kite", quality: "low", size: "1024x1024" });
    const answer = {
      data: [{ b64_json: "" }],
      quality: "low",
      size: "1024x1024",
      usage: {
        input_tokens: 1_050,
        input_tokens_details: { text_tokens: 50, image_tokens: 1_000 },
        output_tokens: 272,
        total_tokens: 1_322,
      },
    };
    const { tokens, media, usd } = metered((meter) => request.meter(meter, answer), "gpt-image-1");
    expect(tokens).toEqual({ promptTokens: 1_050, completionTokens: 272, cachedTokens: 0 });
    expect(media).toEqual({ images: { count: 1, size: "1024x1024", quality: "low" }, imageInputTokens: 1_000 });
    // $0.011 the image (its 272 output tokens with it); 50 text input tokens at $5 a million, 1,000 image ones at $10.
    expect(usd).toBeCloseTo(0.011 + (50 * 5) / 1e6 + (1_000 * 10) / 1e6, 12);
  });
});
