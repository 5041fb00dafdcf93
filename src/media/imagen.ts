// Image generation by Google's Imagen models (`imagen-…`), on Vertex AI or
// the Gemini API: OpenAI's request as Imagen's `:predict` (the prompt as an
// instance, `n` as `sampleCount`, the size as an aspect ratio), its
// predictions answered as OpenAI's `b64_json` images, billed per image.
import { GatewayError } from "../http/errors.ts";
import { malformedAnswer } from "../routing/call.ts";
import type { Exchange } from "../routing/exchanges.ts";
import { type MediaExchangeInput, requestedSize } from "./requests.ts";

/** Imagen's model names: those `images/generations` sends to `:predict` rather than generateContent. */
export const isImagen = (model: string) => /^imagen-/.test(model);

/** OpenAI's sizes as the aspect ratios Imagen draws (it has no 3:2). */
const ASPECT_RATIOS: Record<string, string> = {
  "1024x1024": "1:1",
  "1792x1024": "16:9",
  "1024x1792": "9:16",
};

/** Imagen draws at most four images a call. */
const MAX_IMAGES = 4;

const notDrawable = (what: string, param: string) =>
  new GatewayError(400, "invalid_request", `An image from an Imagen model takes ${what}.`, {
    param,
    code: "images_unsupported",
  });

interface ImagenAnswer {
  predictions?: { bytesBase64Encoded?: string; mimeType?: string; raiFilteredReason?: string }[];
}

export function imagenExchange(input: MediaExchangeInput): Exchange {
  const { endpoint, request } = input;
  const body = request.body as Record<string, unknown>;
  const size = requestedSize(body);
  const aspectRatio = size === undefined ? undefined : ASPECT_RATIOS[size];
  const n = typeof body.n === "number" ? body.n : 1;
  if (!endpoint.methods?.has("predict") || input.settings.codeAssist) {
    throw notDrawable("a provider with Imagen's `predict` (Vertex AI, the Gemini API)", "model");
  }
  if (n > MAX_IMAGES) throw notDrawable(`an \`n\` of at most ${MAX_IMAGES}`, "n");
  if (size !== undefined && !aspectRatio) {
    throw notDrawable(`a \`size\` of ${Object.keys(ASPECT_RATIOS).join(", ")} or auto`, "size");
  }
  if (body.response_format === "url") throw notDrawable("`response_format` b64_json", "response_format");
  const format = body.output_format === "jpeg" ? "jpeg" : "png";
  if (body.output_format !== undefined && body.output_format !== "png" && body.output_format !== "jpeg") {
    throw notDrawable("an `output_format` of png or jpeg", "output_format");
  }
  return {
    framing: endpoint.framing,
    request: async () =>
      await endpoint.request({
        settings: input.settings,
        upstreamModel: input.model,
        method: "predict",
        body: {
          instances: [{ prompt: String(body.prompt) }],
          parameters: {
            sampleCount: n,
            ...(aspectRatio && { aspectRatio }),
            ...(body.output_format !== undefined && { outputOptions: { mimeType: `image/${format}` } }),
          },
        },
        stream: false,
        requestId: input.requestId,
        clientHeaders: input.clientHeaders,
      }),
    async respond(call, answer) {
      if (answer.stream) throw malformedAnswer(call);
      let json: ImagenAnswer;
      try {
        json = JSON.parse(answer.text) as ImagenAnswer;
      } catch {
        throw malformedAnswer(call);
      }
      // An image the safety filter withheld comes back as its reason, not drawn, and is not billed.
      const data = (json.predictions ?? []).flatMap((prediction) =>
        prediction.bytesBase64Encoded ? [{ b64_json: prediction.bytesBase64Encoded }] : [],
      );
      const drawn = { created: Math.floor(Date.now() / 1000), data, output_format: format, ...(size && { size }) };
      call.meter.markFirstByte();
      request.meter(call.meter, drawn);
      call.record(200);
      return Response.json(drawn, { headers: call.headers });
    },
  };
}
