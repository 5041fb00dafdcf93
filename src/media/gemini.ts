// Transcription and translation by a provider that speaks Gemini's
// generateContent (Gemini, Vertex AI, a user's Google account): the
// recording goes inline with an instruction, and the text that comes back
// is answered as OpenAI's API would (`json` or `text`), billed in the tokens
// Gemini reports at the model's price.
import type { Dialect } from "../formats/types.ts";
import { GatewayError } from "../http/errors.ts";
import type { Endpoint } from "../providers/types.ts";
import { malformedAnswer } from "../routing/call.ts";
import type { Exchange } from "../routing/exchanges.ts";
import type { Target } from "../routing/resolve.ts";
import { type MediaExchangeInput, type MediaRequest, requestedSize } from "./requests.ts";

const GEMINI: Dialect = "gemini-generate";

/** The Gemini endpoint a target takes, if any. */
export const geminiEndpointOf = (target: Target): Endpoint | undefined =>
  target.descriptor.endpoints(target.upstreamModel).find((endpoint) => endpoint.dialect === GEMINI);

/** What a recording is sent with: the API's own task, and the caller's prompt and language as hints. */
function instruction(request: MediaRequest, form: FormData): string {
  const prompt = form.get("prompt");
  const language = form.get("language");
  const task =
    request.api === "audio/translations"
      ? "Translate the speech in this recording into English."
      : `Transcribe the speech in this recording${typeof language === "string" ? ` (language: ${language})` : ""}.`;
  const hint = typeof prompt === "string" && prompt ? ` Context: ${prompt}` : "";
  return `${task} Answer with the text alone, nothing else.${hint}`;
}

const bytesToBase64 = async (file: Blob) => {
  const bytes = new Uint8Array(await file.arrayBuffer());
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
};

const notTranslatable = (what: string, param: string) =>
  new GatewayError(400, "invalid_request", `A transcription by a Gemini model takes ${what}.`, {
    param,
    code: "transcriptions_unsupported",
  });

/** The exchange; throws the caller's 400 when the request asks for what Gemini cannot answer (SRT, segments, events). */
export function geminiTranscriptionExchange(input: MediaExchangeInput): Exchange {
  const { endpoint, request } = input;
  const form = request.body as FormData;
  const file = form.get("file");
  const format = form.get("response_format") ?? "json";
  if (request.answer === "events") throw notTranslatable("no `stream`", "stream");
  if (format !== "json" && format !== "text") throw notTranslatable("`response_format` json or text", "response_format");
  if (!(file instanceof File)) throw notTranslatable("a `file`", "file");
  const unwrap = endpoint.unwrap?.(input.settings);
  return {
    framing: endpoint.framing,
    async request() {
      const mimeType = file.type || "audio/mpeg";
      const body = {
        contents: [
          {
            role: "user",
            parts: [{ text: instruction(request, form) }, { inlineData: { mimeType, data: await bytesToBase64(file) } }],
          },
        ],
      };
      return await endpoint.request({
        settings: input.settings,
        upstreamModel: input.model,
        body,
        stream: false,
        requestId: input.requestId,
        clientHeaders: input.clientHeaders,
      });
    },
    async respond(call, answer) {
      if (answer.stream) throw malformedAnswer(call);
      let decoded: ReturnType<typeof endpoint.codec.decode>;
      try {
        const json: unknown = JSON.parse(answer.text);
        decoded = endpoint.codec.decode(unwrap ? unwrap(json) : json);
      } catch {
        throw malformedAnswer(call);
      }
      const text = decoded.parts
        .flatMap((part) => (part.type === "text" ? [part.text] : []))
        .join("")
        .trim();
      call.meter.markFirstByte();
      call.meter.setTokens(decoded.usage);
      call.record(200);
      if (format === "text") {
        return new Response(`${text}\n`, { headers: { "content-type": "text/plain; charset=utf-8", ...call.headers } });
      }
      const { promptTokens, completionTokens } = decoded.usage;
      const usage = {
        type: "tokens",
        input_tokens: promptTokens,
        output_tokens: completionTokens,
        total_tokens: promptTokens + completionTokens,
      };
      return Response.json({ text, usage }, { headers: call.headers });
    },
  };
}

/** OpenAI's sizes as the aspect ratios Gemini's image models take. */
const ASPECT_RATIOS: Record<string, string> = {
  "1024x1024": "1:1",
  "1536x1024": "3:2",
  "1024x1536": "2:3",
  "1792x1024": "16:9",
  "1024x1792": "9:16",
};

const notDrawable = (what: string, param: string) =>
  new GatewayError(400, "invalid_request", `An image from a Gemini model takes ${what}.`, { param, code: "images_unsupported" });

interface GeminiImageAnswer {
  candidates?: { content?: { parts?: { text?: string; inlineData?: { mimeType?: string; data?: string } }[] } }[];
}

/** Image generation by Gemini's image models: one image a call, in base64, billed in the tokens Gemini reports. */
export function geminiImageExchange(input: MediaExchangeInput): Exchange {
  const { endpoint, request } = input;
  const body = request.body as Record<string, unknown>;
  const size = requestedSize(body);
  const aspectRatio = size === undefined ? undefined : ASPECT_RATIOS[size];
  if ((body.n ?? 1) !== 1) throw notDrawable("`n` of 1", "n");
  if (size !== undefined && !aspectRatio)
    throw notDrawable(`a \`size\` of ${Object.keys(ASPECT_RATIOS).join(", ")} or auto`, "size");
  if (body.response_format === "url") throw notDrawable("`response_format` b64_json", "response_format");
  const unwrap = endpoint.unwrap?.(input.settings);
  return {
    framing: endpoint.framing,
    request: async () =>
      await endpoint.request({
        settings: input.settings,
        upstreamModel: input.model,
        body: {
          contents: [{ role: "user", parts: [{ text: String(body.prompt) }] }],
          generationConfig: { responseModalities: ["IMAGE"], ...(aspectRatio && { imageConfig: { aspectRatio } }) },
        },
        stream: false,
        requestId: input.requestId,
        clientHeaders: input.clientHeaders,
      }),
    async respond(call, answer) {
      if (answer.stream) throw malformedAnswer(call);
      let json: GeminiImageAnswer;
      try {
        json = unwrap ? (unwrap(JSON.parse(answer.text)) as GeminiImageAnswer) : (JSON.parse(answer.text) as GeminiImageAnswer);
      } catch {
        throw malformedAnswer(call);
      }
      const parts = json.candidates?.[0]?.content?.parts ?? [];
      const data = parts.flatMap((part) =>
        part.inlineData?.data && part.inlineData.mimeType?.startsWith("image/") ? [{ b64_json: part.inlineData.data }] : [],
      );
      const tokens = endpoint.codec.usage(json) ?? { promptTokens: 0, completionTokens: 0, cachedTokens: 0 };
      const usage = {
        input_tokens: tokens.promptTokens,
        output_tokens: tokens.completionTokens,
        total_tokens: tokens.promptTokens + tokens.completionTokens,
      };
      const drawn = { created: Math.floor(Date.now() / 1000), data, output_format: "png", ...(size && { size }), usage };
      call.meter.markFirstByte();
      request.meter(call.meter, drawn);
      call.record(200);
      return Response.json(drawn, { headers: call.headers });
    },
  };
}
