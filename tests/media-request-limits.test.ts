// A caller's `request_limits` on the media APIs and Gemini's other methods,
// as on chat: a transcription or translation sends audio, an image edit an
// image (and its prompt, text), a generation or speech text; the words a
// request sends are held to `max_input_chars`. A refusal is a 400 in the
// caller's format (`request_limit_exceeded`) before anything goes upstream,
// with a ledger row that names the limit.
import { describe, expect, it } from "vitest";
import { BASE, callWorker, mockProviderBindings, PNG, upstreamRequest, usageRow } from "./helpers.ts";
import { admin } from "./identity.ts";

const bindings = mockProviderBindings;

const limitedKey = async (limits: Record<string, unknown>) => {
  const made = await admin("POST", "/admin/keys", { settings: { request_limits: limits } });
  expect(made.status).toBe(201);
  return String(made.body.key);
};

/** A WAV of one second of silence: 16 kHz, mono, 16-bit. */
function wav(): File {
  const bytes = new Uint8Array(44 + 32_000);
  const view = new DataView(bytes.buffer);
  const text = (at: number, value: string) => {
    for (let i = 0; i < value.length; i++) bytes[at + i] = value.charCodeAt(i);
  };
  text(0, "RIFF");
  view.setUint32(4, 36 + 32_000, true);
  text(8, "WAVE");
  text(12, "fmt ");
  view.setUint32(16, 16, true);
  view.setUint16(20, 1, true);
  view.setUint16(22, 1, true);
  view.setUint32(24, 16_000, true);
  view.setUint32(28, 32_000, true);
  view.setUint16(32, 2, true);
  view.setUint16(34, 16, true);
  text(36, "data");
  view.setUint32(40, 32_000, true);
  return new File([bytes], "hello.wav", { type: "audio/wav" });
}

const upload = (path: string, key: string, fields: Record<string, string | File>) => {
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) form.append(name, value);
  return new Request(`${BASE}${path}`, { method: "POST", headers: { authorization: `Bearer ${key}` }, body: form });
};

const post = (path: string, key: string, body: unknown) =>
  new Request(`${BASE}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });

const geminiMethod = (key: string, name: string, body: unknown) =>
  new Request(`${BASE}/v1beta/models/gemini-embedding-001:${name}`, {
    method: "POST",
    headers: { "x-goog-api-key": key, "content-type": "application/json" },
    body: JSON.stringify(body),
  });

const idOf = (response: Response) => response.headers.get("x-request-id") ?? "";
const image = new File([PNG], "room.png", { type: "image/png" });
const inlineImage = { inlineData: { mimeType: "image/png", data: "iVBORw0KGgo=" } };

describe("request_limits on the media APIs", () => {
  it("refuse audio to a text-only caller before anything goes upstream, and record the refusal", async () => {
    const key = await limitedKey({ input_modalities: ["text"] });
    const heard = await callWorker(upload("/v1/audio/transcriptions", key, { file: wav(), model: "whisper-1" }), bindings);
    expect(heard.response.status).toBe(400);
    expect(await heard.response.json()).toEqual({
      error: {
        message: "The request sends audio input at `file`; this caller may send only text.",
        type: "invalid_request_error",
        code: "request_limit_exceeded",
        param: "file",
      },
    });
    await heard.settled();
    await expect(upstreamRequest(idOf(heard.response))).rejects.toThrow();
    const row = await usageRow(idOf(heard.response));
    expect(row).toMatchObject({ model: "whisper-1", status: 400, promptTokens: 0, costUsd: 0, attempts: 0 });
    expect(row?.metadata.guardrails).toEqual([
      { guardrail: "request_limits", phase: "input", verdict: "blocked", categories: ["input_modalities"] },
    ]);

    const translated = await callWorker(upload("/v1/audio/translations", key, { file: wav(), model: "whisper-1" }), bindings);
    expect(translated.response.status).toBe(400);
    expect(((await translated.response.json()) as { error: unknown }).error).toMatchObject({
      code: "request_limit_exceeded",
      param: "file",
    });
  });

  it("refuse an image to edit to a text-only caller, and let it draw and speak", async () => {
    const key = await limitedKey({ input_modalities: ["text"] });
    const edited = await callWorker(
      upload("/v1/images/edits", key, { image, prompt: "paint it blue", model: "gpt-image-1" }),
      bindings,
    );
    expect(edited.response.status).toBe(400);
    expect(await edited.response.json()).toEqual({
      error: {
        message: "The request sends image input at `image`; this caller may send only text.",
        type: "invalid_request_error",
        code: "request_limit_exceeded",
        param: "image",
      },
    });
    await edited.settled();
    await expect(upstreamRequest(idOf(edited.response))).rejects.toThrow();

    const drawn = await callWorker(post("/v1/images/generations", key, { model: "dall-e-2", prompt: "a boat" }), bindings);
    expect(drawn.response.status).toBe(200);
    const spoken = await callWorker(post("/v1/audio/speech", key, { model: "tts-1", input: "hello", voice: "alloy" }), bindings);
    expect(spoken.response.status).toBe(200);
    await spoken.response.arrayBuffer();
    await spoken.settled();
    expect((await usageRow(idOf(spoken.response)))?.metadata.guardrails).toBeUndefined();
  });

  it("count a prompt or text to speak as text input, and hold it to max_input_chars", async () => {
    const noText = await limitedKey({ denied_modalities: ["text"] });
    const spoken = await callWorker(
      post("/v1/audio/speech", noText, { model: "tts-1", input: "hello", voice: "alloy" }),
      bindings,
    );
    expect(spoken.response.status).toBe(400);
    expect(await spoken.response.json()).toEqual({
      error: {
        message: "The request sends text input; this caller may not send it.",
        type: "invalid_request_error",
        code: "request_limit_exceeded",
        param: "input",
      },
    });
    await spoken.settled();
    expect((await usageRow(idOf(spoken.response)))?.metadata.guardrails).toEqual([
      { guardrail: "request_limits", phase: "input", verdict: "blocked", categories: ["denied_modalities"] },
    ]);

    const audioOnly = await limitedKey({ input_modalities: ["audio"] });
    const hinted = await callWorker(
      upload("/v1/audio/transcriptions", audioOnly, { file: wav(), model: "whisper-1", prompt: "names: Ada" }),
      bindings,
    );
    expect(hinted.response.status).toBe(400);
    expect(((await hinted.response.json()) as { error: unknown }).error).toMatchObject({
      message: "The request sends text input; this caller may send only audio.",
      param: "prompt",
    });
    const heard = await callWorker(upload("/v1/audio/transcriptions", audioOnly, { file: wav(), model: "whisper-1" }), bindings);
    expect(heard.response.status).toBe(200);

    const short = await limitedKey({ max_input_chars: 10 });
    const long = await callWorker(
      post("/v1/audio/speech", short, { model: "tts-1", input: "hello world", voice: "alloy" }),
      bindings,
    );
    expect(long.response.status).toBe(400);
    expect(((await long.response.json()) as { error: unknown }).error).toMatchObject({
      message: "The prompt has 11 characters; this caller may send at most 10.",
      code: "request_limit_exceeded",
      param: "input",
    });
    await long.settled();
    await expect(upstreamRequest(idOf(long.response))).rejects.toThrow();
    expect((await usageRow(idOf(long.response)))?.metadata.guardrails).toEqual([
      { guardrail: "request_limits", phase: "input", verdict: "blocked", categories: ["max_input_chars"] },
    ]);
    const wordy = await callWorker(
      upload("/v1/images/edits", short, { image, prompt: "paint it all blue", model: "gpt-image-1" }),
      bindings,
    );
    expect(wordy.response.status).toBe(400);
    expect(((await wordy.response.json()) as { error: unknown }).error).toMatchObject({
      message: "The prompt has 17 characters; this caller may send at most 10.",
      param: "prompt",
    });
  });
});

describe("request_limits on Gemini's embedContent, batchEmbedContents and countTokens", () => {
  it("refuse a part of a kind the caller may not send, in Gemini's error shape, wherever the method keeps it", async () => {
    const key = await limitedKey({ input_modalities: ["text"] });
    const embedded = await callWorker(
      geminiMethod(key, "embedContent", { content: { parts: [{ text: "a boat" }, inlineImage] } }),
      bindings,
    );
    expect(embedded.response.status).toBe(400);
    expect(await embedded.response.json()).toMatchObject({
      error: {
        code: 400,
        status: "INVALID_ARGUMENT",
        message: "The request sends image input at `content.parts[1]`; this caller may send only text.",
      },
    });
    await embedded.settled();
    await expect(upstreamRequest(idOf(embedded.response))).rejects.toThrow();
    const row = await usageRow(idOf(embedded.response));
    expect(row).toMatchObject({ status: 400, costUsd: 0, attempts: 0 });
    expect(row?.metadata.guardrails).toEqual([
      { guardrail: "request_limits", phase: "input", verdict: "blocked", categories: ["input_modalities"] },
    ]);

    const batch = await callWorker(
      geminiMethod(key, "batchEmbedContents", {
        requests: [{ content: { parts: [{ text: "a boat" }] } }, { content: { parts: [inlineImage] } }],
      }),
      bindings,
    );
    expect(batch.response.status).toBe(400);
    expect(((await batch.response.json()) as { error: { message: string } }).error.message).toBe(
      "The request sends image input at `requests[1].content.parts[0]`; this caller may send only text.",
    );
    const counted = await callWorker(
      geminiMethod(key, "countTokens", {
        generateContentRequest: {
          contents: [{ role: "user", parts: [{ inlineData: { mimeType: "audio/wav", data: "UklGRg==" } }] }],
        },
      }),
      bindings,
    );
    expect(counted.response.status).toBe(400);
    expect(((await counted.response.json()) as { error: { message: string } }).error.message).toBe(
      "The request sends audio input at `generateContentRequest.contents[0].parts[0]`; this caller may send only text.",
    );

    const words = await callWorker(geminiMethod(key, "embedContent", { content: { parts: [{ text: "a boat" }] } }), bindings);
    expect(words.response.status).toBe(200);
  });

  it("hold the texts to embed to max_input_chars", async () => {
    const key = await limitedKey({ max_input_chars: 5 });
    const long = await callWorker(
      geminiMethod(key, "embedContent", { content: { parts: [{ text: "a paper boat" }] } }),
      bindings,
    );
    expect(long.response.status).toBe(400);
    expect(((await long.response.json()) as { error: { message: string } }).error.message).toBe(
      "The prompt has 12 characters; this caller may send at most 5.",
    );
  });
});
