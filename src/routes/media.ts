// OpenAI's media APIs: transcription and translation of uploaded audio,
// speech, image generation and editing, moderation. Same credentials,
// limits, routing and ledger as chat (media/proxy.ts).
import { Hono } from "hono";
import { DESCRIBE } from "#describe";
import type { GatewayEnv } from "../context.ts";
import { parseJsonBody } from "../http/validate.ts";
import { mediaProxy } from "../media/proxy.ts";
import {
  imageEditRequest,
  imageGenerationRequest,
  moderationRequest,
  speechRequest,
  transcriptionRequest,
} from "../media/requests.ts";
import { imageEditFields, imageGenerationSchema, moderationSchema, speechSchema, transcriptionFields } from "../media/schemas.ts";
import { readUpload } from "../media/upload.ts";
import { doc } from "../openapi/doc.ts";
import { endpoint } from "./endpoint.ts";

export const mediaRoutes = new Hono<GatewayEnv>();

const gated = endpoint({ errors: "openai", gated: true });

for (const api of ["audio/transcriptions", "audio/translations"] as const) {
  mediaRoutes.post(
    `/v1/${api}`,
    gated,
    doc(
      DESCRIBE && {
        summary:
          api === "audio/transcriptions" ? "Speech to text (multipart upload)" : "Speech to English text (multipart upload)",
        multipart: transcriptionFields,
        response: {
          description: "The transcription as `response_format` asks (JSON, text, SRT or VTT); its events when `stream` is true",
          streams: true,
        },
      },
    ),
    async (c) => {
      const form = await readUpload(c.req.raw, c.get("config").maxUploadBytes.audio);
      return await mediaProxy(c, await transcriptionRequest(api, form));
    },
  );
}

mediaRoutes.post(
  "/v1/audio/speech",
  gated,
  doc(
    DESCRIBE && {
      summary: "Text to speech, the audio streamed as it is made",
      body: speechSchema,
      response: {
        description: "The audio in `response_format` (mp3 unless asked); events when `stream_format` is sse",
        audio: true,
      },
    },
  ),
  async (c) => await mediaProxy(c, speechRequest(await parseJsonBody(c, speechSchema))),
);

mediaRoutes.post(
  "/v1/images/generations",
  gated,
  doc(
    DESCRIBE && {
      summary: "Images from a prompt",
      body: imageGenerationSchema,
      response: { description: "The images: URLs or base64" },
    },
  ),
  async (c) => await mediaProxy(c, imageGenerationRequest(await parseJsonBody(c, imageGenerationSchema))),
);

mediaRoutes.post(
  "/v1/images/edits",
  gated,
  doc(
    DESCRIBE && {
      summary: "Images edited from uploaded ones (multipart upload)",
      multipart: imageEditFields,
      response: { description: "The images" },
    },
  ),
  async (c) => {
    const form = await readUpload(c.req.raw, c.get("config").maxUploadBytes.image);
    return await mediaProxy(c, imageEditRequest(form));
  },
);

mediaRoutes.post(
  "/v1/moderations",
  gated,
  doc(DESCRIBE && { summary: "Classifies text (and images) as OpenAI's moderation models do", body: moderationSchema }),
  async (c) => await mediaProxy(c, moderationRequest(await parseJsonBody(c, moderationSchema))),
);
