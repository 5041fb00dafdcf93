// The media APIs through the same gateway call as chat: the caller's limits,
// the route and its fallbacks, retries and cooldowns, the meter and the
// ledger (routing/route-call.ts). What differs is the exchange: the body
// goes up as sent (an upload as multipart, with the target's model), and the
// answer comes back as it came — JSON or text read whole, audio bytes and
// server-sent events relayed as they arrive — read on the way for usage.
import { principalPolicy } from "../auth/principal.ts";
import type { GatewayContext } from "../context.ts";
import type { FoundModality, Modality as InputKind } from "../guardrails/modalities.ts";
import { checkRequestLimits, type ShapeRefusal } from "../guardrails/request-limits.ts";
import { GatewayError } from "../http/errors.ts";
import { sseFrames } from "../http/frames.ts";
import { relayBytes, relayFrames } from "../http/relay.ts";
import { estimateInputTokens } from "../limits/estimate.ts";
import type { MediaApi, MediaEndpoints, ProviderSettings } from "../providers/types.ts";
import { malformedAnswer } from "../routing/call.ts";
import type { Exchange } from "../routing/exchanges.ts";
import { type GuardRun, guardrailsOver } from "../routing/guard-stage.ts";
import { pickedProvider } from "../routing/proxy.ts";
import type { Target } from "../routing/resolve.ts";
import { routeCall } from "../routing/route-call.ts";
import type { Modality } from "../usage/record.ts";
import { geminiEndpointOf, geminiImageExchange, geminiTranscriptionExchange } from "./gemini.ts";
import { geminiSpeechExchange, isGeminiSpeech } from "./gemini-speech.ts";
import { imagenExchange, isImagen } from "./imagen.ts";
import type { MediaRequest } from "./requests.ts";

/** `audio/transcriptions` → "transcriptions", `images/generations` → "images". */
const apiName = (api: string) => (api.startsWith("images/") ? "images" : (api.split("/").at(-1) ?? api));

/** The media APIs a provider of Gemini's dialect serves, translated: Imagen and the speech models by their names. */
const GEMINI_TRANSLATED: Partial<
  Record<MediaApi, (input: Parameters<typeof geminiTranscriptionExchange>[0]) => Exchange | undefined>
> = {
  "audio/transcriptions": geminiTranscriptionExchange,
  "audio/translations": geminiTranscriptionExchange,
  "images/generations": (input) => (isImagen(input.model) ? imagenExchange(input) : geminiImageExchange(input)),
  "audio/speech": (input) => (isGeminiSpeech(input.model) ? geminiSpeechExchange(input) : undefined),
};

const MODALITY: Record<MediaApi, Modality> = {
  "audio/transcriptions": "audio_in",
  "audio/translations": "audio_in",
  "audio/speech": "audio_out",
  "images/generations": "image",
  "images/edits": "image",
  moderations: "moderation",
};

const unsupported = (request: MediaRequest, target: Target) =>
  new GatewayError(
    400,
    "invalid_request",
    `The ${apiName(request.api)} API (/v1/${request.api}) is served only by providers that speak it; \`${target.provider}\` does not.`,
    { param: "model", code: `${apiName(request.api)}_unsupported` },
  );

/** The body with the target's model in it. */
function withModel(body: FormData | Record<string, unknown>, model: string): FormData | Record<string, unknown> {
  if (!(body instanceof FormData)) return { ...body, model };
  const form = new FormData();
  for (const [name, value] of body) if (name !== "model") form.append(name, value);
  form.set("model", model);
  return form;
}

const parsed = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
};

function mediaExchange(
  c: GatewayContext,
  input: { media: MediaEndpoints; settings: ProviderSettings; request: MediaRequest; model: string },
): Exchange {
  const { media, request } = input;
  const body = withModel(request.body, input.model);
  return {
    framing: "sse",
    request: async () =>
      media.request({
        settings: input.settings,
        api: request.api,
        body,
        requestId: c.get("requestId"),
        clientHeaders: c.req.raw.headers,
      }),
    async respond(call, answer, hooks) {
      const headers = { "content-type": request.contentType, ...call.headers };
      if (!answer.stream) {
        call.meter.markFirstByte();
        const json = request.answer === "json" ? parsed(answer.text) : undefined;
        if (request.answer === "json" && json === undefined) throw malformedAnswer(call);
        request.meter(call.meter, json);
        call.record(200);
        return new Response(answer.text, { status: 200, headers });
      }
      // Known before the answer (the text spoken, the recording's length): billed even if the client leaves.
      request.meter(call.meter, undefined);
      if (request.answer === "audio") return new Response(relayBytes(answer.stream, hooks()), { status: 200, headers });
      let done = false;
      const read = (frames: { data: string }[]) => {
        for (const frame of frames) {
          const event = parsed(frame.data) as { type?: unknown; usage?: unknown } | undefined;
          if (typeof event?.type === "string" && event.type.endsWith(".done")) done = true;
          if (event?.usage !== undefined) request.meter(call.meter, event);
        }
      };
      const stream = relayFrames(
        answer.stream,
        sseFrames(),
        {
          chunk(raw, frames) {
            read(frames);
            return raw;
          },
          tail(frames) {
            read(frames);
            return "";
          },
          complete: () => done,
          closing: () => "",
        },
        hooks(),
      );
      return new Response(stream, { status: 200, headers: { ...headers, "cache-control": "no-cache" } });
    },
  };
}

/** An upload's fields that hold words: an image edit's prompt, a transcription's hint. */
const FORM_TEXTS: ReadonlySet<string> = new Set(["prompt"]);

/**
 * What a caller's guardrails read of a body: a JSON body itself (its
 * `prompt` or `input`), an upload's text fields. A field sent more than once
 * is read in every copy, as an array: which copy a provider takes is its
 * own affair.
 */
function textsOf(body: FormData | Record<string, unknown>): Record<string, unknown> {
  if (!(body instanceof FormData)) return body;
  const texts: Record<string, unknown> = {};
  for (const name of FORM_TEXTS) {
    const values = body.getAll(name).filter((value) => typeof value === "string");
    if (values.length > 0) texts[name] = values.length === 1 ? values[0] : values;
  }
  return texts;
}

/** The body with its texts as the guardrails left them (a redacted prompt), each copy of a repeated field in its place. */
function withTexts(body: FormData | Record<string, unknown>, texts: Record<string, unknown>): FormData | Record<string, unknown> {
  if (!(body instanceof FormData)) return texts;
  const form = new FormData();
  const seen = new Map<string, number>();
  for (const [name, value] of body) {
    if (!FORM_TEXTS.has(name) || typeof value !== "string") {
      form.append(name, value);
      continue;
    }
    const index = seen.get(name) ?? 0;
    seen.set(name, index + 1);
    const text = texts[name];
    const checked = Array.isArray(text) ? text[index] : text;
    form.append(name, typeof checked === "string" ? checked : value);
  }
  return form;
}

/** The files each upload sends, by field, as a caller's `request_limits` count them: a recording is audio, an image to edit (or its mask) an image. */
const UPLOADED: Partial<Record<MediaApi, Readonly<Record<string, InputKind>>>> = {
  "audio/transcriptions": { file: "audio" },
  "audio/translations": { file: "audio" },
  "images/edits": { image: "image", "image[]": "image", mask: "image" },
};

/**
 * The caller's `request_limits` over a media request, as the chat path holds
 * a prompt to them: its words (`texts`: the prompt, the text to speak, what
 * to moderate) by their characters, estimated tokens and kind, and an
 * upload's files by theirs. Undefined when it keeps to them.
 */
function requestLimitRefusal(c: GatewayContext, request: MediaRequest, texts: Record<string, unknown>): ShapeRefusal | undefined {
  const limits = principalPolicy(c.get("principal"))?.request_limits;
  if (!limits) return undefined;
  const form = request.body instanceof FormData ? request.body : undefined;
  const files = Object.entries(UPLOADED[request.api] ?? {}).filter(([field]) => form?.has(field));
  return checkRequestLimits(texts, limits, {
    inputTokens: () => estimateInputTokens([texts], "openai"),
    outputCap: undefined,
    sentBeside: (refused): FoundModality | undefined => {
      const sent = files.find(([, kind]) => refused(kind));
      return sent && { modality: sent[1], field: sent[0] };
    },
    textField: "prompt" in texts ? "prompt" : "input",
  });
}

/**
 * Routes `await` it, as they do `proxy()`. A caller's input guardrails read
 * the words the request sends (the prompt to draw or edit by, the text to
 * speak, a transcription's hint, what to moderate); images and audio pass
 * as they are, in both directions. A request past the caller's
 * `request_limits` is refused first, as a guardrail refuses it.
 */
export async function mediaProxy(c: GatewayContext, request: MediaRequest): Promise<Response> {
  const picked = pickedProvider(c);
  /** The request bound upstream: the caller's, or with what a guardrail redacted taken out. */
  let sent = request;
  const texts = textsOf(request.body);
  const tooBig = requestLimitRefusal(c, request, texts);
  const guard: GuardRun | undefined = tooBig
    ? () => ({ verdicts: [tooBig.verdict], blocked: tooBig.error })
    : guardrailsOver(c, { body: texts, model: request.model }, (guarded) => {
        if (!guarded.blocked && guarded.body !== texts) sent = { ...request, body: withTexts(request.body, guarded.body) };
        return guarded;
      });
  return await routeCall(c, {
    model: request.model,
    providerOverride: picked ?? request.provider,
    providerParam: picked === undefined ? "provider" : "x-sluice-provider",
    streamed: request.answer === "audio" || request.answer === "events",
    modality: MODALITY[request.api],
    estimate: (first) => request.estimate(first.price),
    guard,
    exchange(target, settings) {
      const media = target.descriptor.media;
      if (media?.apis.has(sent.api)) return mediaExchange(c, { media, settings, request: sent, model: target.upstreamModel });
      // Google's models hear audio inline, speak and draw (Imagen through `predict`): those APIs are translated.
      const translated = GEMINI_TRANSLATED[sent.api];
      const gemini = translated ? geminiEndpointOf(target) : undefined;
      const exchange =
        translated && gemini
          ? translated({
              endpoint: gemini,
              settings,
              request: sent,
              model: target.upstreamModel,
              requestId: c.get("requestId"),
              clientHeaders: c.req.raw.headers,
            })
          : undefined;
      if (!exchange) throw unsupported(request, target);
      return exchange;
    },
  });
}
