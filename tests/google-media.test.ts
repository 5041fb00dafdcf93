// OpenAI's image and speech APIs answered by Google's models: Imagen through
// `:predict` on Vertex AI and the Gemini API, and Gemini's speech models
// through generateContent, their PCM answered as WAV or raw PCM. Bodies sent
// upstream, answers, refusals and ledger rows; then the official SDK.
import { env } from "cloudflare:test";
import OpenAI from "openai";
import { describe, expect, it } from "vitest";
import { MOCK_VERTEX_ACCOUNT_PATH } from "../dev/mock-upstream/credentials.ts";
import {
  BASE,
  callWorker,
  jsonRequest,
  mockProviderBindings,
  TEST_ADMIN_KEY,
  upstreamRequest,
  usageRow,
  workerFetch,
} from "./helpers.ts";

const mockBase = String(env.MOCK_BASE_URL).replace(/\/v1$/, "");
const vertexAccount = (await (await fetch(`${mockBase}${MOCK_VERTEX_ACCOUNT_PATH}`)).json()) as Record<string, string>;
const bindings = {
  ...mockProviderBindings,
  VERTEX_SERVICE_ACCOUNT: JSON.stringify(vertexAccount),
  VERTEX_BASE_URL: mockBase,
};

const PNG_BASE64 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";
const idOf = (response: Response) => response.headers.get("x-request-id") ?? "";
const errorOf = async (response: Response) =>
  ((await response.json()) as { error: { message: string; param?: string; code?: string } }).error;

/** The mock's PCM: bytes counting up, 2 a sample at 24 kHz. */
function pcm(seconds: number): Uint8Array {
  const bytes = new Uint8Array(Math.round(seconds * 24_000) * 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = i % 251;
  return bytes;
}

describe("POST /v1/images/generations by Imagen", () => {
  it("sends Vertex AI a predict with the samples and aspect ratio, billed per image", async () => {
    const call = await callWorker(
      jsonRequest("/v1/images/generations", {
        model: "vertex/imagen-4.0-generate-001",
        prompt: "a lighthouse at dawn",
        n: 2,
        size: "1792x1024",
      }),
      bindings,
    );
    expect(call.response.status).toBe(200);
    expect(call.response.headers.get("x-sluice-provider")).toBe("vertex");
    const body = (await call.response.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ data: [{ b64_json: PNG_BASE64 }, { b64_json: PNG_BASE64 }], output_format: "png" });
    expect(body.size).toBe("1792x1024");
    const upstream = await upstreamRequest(idOf(call.response));
    expect(upstream.path).toBe(
      "/v1/projects/sluice-mock/locations/us-central1/publishers/google/models/imagen-4.0-generate-001:predict",
    );
    expect(upstream.body).toEqual({
      instances: [{ prompt: "a lighthouse at dawn" }],
      parameters: { sampleCount: 2, aspectRatio: "16:9" },
    });
    await call.landed();
    const row = await usageRow(idOf(call.response));
    expect(row).toMatchObject({
      provider: "vertex",
      model: "vertex/imagen-4.0-generate-001",
      promptTokens: 0,
      completionTokens: 0,
    });
    expect(row?.costUsd).toBeCloseTo(0.08, 10);
    expect(row?.metadata).toMatchObject({ modality: "image", media: { images: { count: 2 } } });
  });

  it("on the Gemini API, bills only the images the safety filter let through", async () => {
    const call = await callWorker(
      jsonRequest("/v1/images/generations", {
        model: "imagen-4.0-fast-generate-001",
        prompt: "forbidden fruit",
        n: 2,
        output_format: "jpeg",
      }),
      bindings,
    );
    expect(call.response.status).toBe(200);
    expect(call.response.headers.get("x-sluice-provider")).toBe("gemini");
    expect(await call.response.json()).toMatchObject({ data: [{ b64_json: PNG_BASE64 }], output_format: "jpeg" });
    const upstream = await upstreamRequest(idOf(call.response));
    expect(upstream.path).toBe("/v1beta/models/imagen-4.0-fast-generate-001:predict");
    expect(upstream.headers["x-goog-api-key"]).toBe("gemini-test-key");
    expect(upstream.body).toEqual({
      instances: [{ prompt: "forbidden fruit" }],
      parameters: { sampleCount: 2, outputOptions: { mimeType: "image/jpeg" } },
    });
    await call.landed();
    expect((await usageRow(idOf(call.response)))?.costUsd).toBeCloseTo(0.02, 10);
  });

  it("refuses what Imagen cannot draw, naming the field", async () => {
    for (const [extra, param] of [
      [{ size: "1536x1024" }, "size"],
      [{ n: 5 }, "n"],
      [{ response_format: "url" }, "response_format"],
      [{ output_format: "webp" }, "output_format"],
    ] as const) {
      const call = await callWorker(
        jsonRequest("/v1/images/generations", { model: "imagen-4.0-generate-001", prompt: "x", ...extra }),
        bindings,
      );
      expect(call.response.status).toBe(400);
      const error = await errorOf(call.response);
      expect(error).toMatchObject({ param, code: "images_unsupported" });
      expect(error.message).toMatch(/^An image from an Imagen model takes /);
    }
  });
});

describe("POST /v1/audio/speech by Gemini's speech models", () => {
  it("answers Gemini's PCM as WAV, billed in Gemini's tokens", async () => {
    const call = await callWorker(
      jsonRequest("/v1/audio/speech", { model: "gemini-2.5-flash-preview-tts", input: "Hello from Sluice", voice: "Kore" }),
      bindings,
    );
    expect(call.response.status).toBe(200);
    expect(call.response.headers.get("content-type")).toBe("audio/wav");
    expect(call.response.headers.get("x-sluice-provider")).toBe("gemini");
    const audio = new Uint8Array(await call.response.arrayBuffer());
    const view = new DataView(audio.buffer);
    // Three tokens spoken: 0.3 s at 24 kHz, 16-bit mono.
    expect(String.fromCharCode(...audio.subarray(0, 4))).toBe("RIFF");
    expect(String.fromCharCode(...audio.subarray(8, 16))).toBe("WAVEfmt ");
    expect([view.getUint16(22, true), view.getUint32(24, true), view.getUint16(34, true)]).toEqual([1, 24_000, 16]);
    expect(view.getUint32(40, true)).toBe(14_400);
    expect(audio.subarray(44)).toEqual(pcm(0.3));
    const upstream = await upstreamRequest(idOf(call.response));
    expect(upstream.path).toBe("/v1beta/models/gemini-2.5-flash-preview-tts:generateContent");
    expect(upstream.body).toEqual({
      contents: [{ role: "user", parts: [{ text: "Hello from Sluice" }] }],
      generationConfig: {
        responseModalities: ["AUDIO"],
        speechConfig: { voiceConfig: { prebuiltVoiceConfig: { voiceName: "Kore" } } },
      },
    });
    await call.landed();
    const row = await usageRow(idOf(call.response));
    expect(row).toMatchObject({ provider: "gemini", promptTokens: 3, completionTokens: 8 });
    expect(row?.costUsd).toBeCloseTo((3 * 0.5 + 8 * 10) / 1e6, 12);
    expect(row?.metadata).toMatchObject({ modality: "audio_out", media: { characters: 17 } });
  });

  it("answers raw PCM when asked, the style instructions spoken before the text, speed named as dropped", async () => {
    const call = await callWorker(
      jsonRequest("/v1/audio/speech", {
        model: "gemini-2.5-pro-preview-tts",
        input: "Good morning",
        voice: { id: "Puck" },
        instructions: "Say cheerfully",
        response_format: "pcm",
        speed: 1.5,
      }),
      bindings,
    );
    expect(call.response.status).toBe(200);
    expect(call.response.headers.get("content-type")).toBe("audio/pcm;rate=24000");
    expect(call.response.headers.get("x-sluice-dropped")).toBe("speed");
    // "Say cheerfully: Good morning": five tokens, half a second.
    expect(new Uint8Array(await call.response.arrayBuffer())).toEqual(pcm(0.5));
    const upstream = await upstreamRequest(idOf(call.response));
    expect((upstream.body as { contents: unknown }).contents).toEqual([
      { role: "user", parts: [{ text: "Say cheerfully: Good morning" }] },
    ]);
  });

  it("refuses formats it would have to encode, events, and Gemini models that do not speak", async () => {
    const mp3 = await callWorker(
      jsonRequest("/v1/audio/speech", {
        model: "gemini-2.5-flash-preview-tts",
        input: "x",
        voice: "Kore",
        response_format: "mp3",
      }),
      bindings,
    );
    expect(mp3.response.status).toBe(400);
    expect(await errorOf(mp3.response)).toMatchObject({
      param: "response_format",
      code: "speech_unsupported",
      message:
        "Speech from a Gemini model comes as PCM, which Sluice answers as wav or pcm; it does not encode mp3: ask for `response_format` wav or pcm.",
    });
    const events = await callWorker(
      jsonRequest("/v1/audio/speech", { model: "gemini-2.5-flash-preview-tts", input: "x", voice: "Kore", stream_format: "sse" }),
      bindings,
    );
    expect(await errorOf(events.response)).toMatchObject({ param: "stream_format", code: "speech_unsupported" });
    const chat = await callWorker(
      jsonRequest("/v1/audio/speech", { model: "gemini-2.5-flash", input: "x", voice: "Kore" }),
      bindings,
    );
    expect(chat.response.status).toBe(400);
    expect(await errorOf(chat.response)).toMatchObject({ param: "model", code: "speech_unsupported" });
  });
});

describe("the official openai SDK against Google's models", () => {
  it("speaks to a WAV file and draws with Imagen", async () => {
    const pending: Promise<unknown>[] = [];
    const openai = new OpenAI({
      baseURL: `${BASE}/v1`,
      apiKey: TEST_ADMIN_KEY,
      maxRetries: 0,
      fetch: workerFetch(pending, bindings),
    });
    const speech = await openai.audio.speech.create({
      model: "gemini-2.5-flash-preview-tts",
      voice: "Kore" as never,
      input: "one two",
      response_format: "wav",
    });
    const wav = new Uint8Array(await speech.arrayBuffer());
    expect(wav.length).toBe(44 + pcm(0.2).length);
    const image = await openai.images.generate({ model: "vertex/imagen-3.0-generate-002", prompt: "a boat" });
    expect(image.data?.[0]?.b64_json).toBe(PNG_BASE64);
    await Promise.all(pending);
  });
});
