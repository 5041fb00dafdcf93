// Speech by Gemini's speech models (`gemini-2.5-flash-preview-tts`…):
// OpenAI's request as generateContent with an audio modality and the voice
// as a prebuilt voice. Gemini answers with raw 16-bit mono PCM inline (at the
// rate its MIME type says); Sluice answers it as `pcm`, or as `wav` with a
// header written in front, and refuses the formats it would have to encode
// (mp3, opus, aac, flac). Billed in the tokens Gemini reports.
import { GatewayError, headerValue } from "../http/errors.ts";
import { malformedAnswer } from "../routing/call.ts";
import type { Exchange, UpstreamAnswer } from "../routing/exchanges.ts";
import type { MediaExchangeInput } from "./requests.ts";

/** Gemini's speech model names: those `audio/speech` sends to generateContent. */
export const isGeminiSpeech = (model: string) => /^gemini-.*-tts(?:$|-)/.test(model);

const DEFAULT_RATE = 24_000;

const notSpeakable = (what: string, param: string) =>
  new GatewayError(400, "invalid_request", `Speech from a Gemini model ${what}.`, { param, code: "speech_unsupported" });

/** A WAV file around 16-bit mono PCM. */
export function wavOf(pcm: Uint8Array, rate: number): Uint8Array {
  const out = new Uint8Array(44 + pcm.length);
  const view = new DataView(out.buffer);
  const text = (at: number, value: string) => {
    for (let i = 0; i < value.length; i++) out[at + i] = value.charCodeAt(i);
  };
  text(0, "RIFF");
  view.setUint32(4, 36 + pcm.length, true);
  text(8, "WAVE");
  text(12, "fmt ");
  view.setUint32(16, 16, true);
  view.setUint16(20, 1, true);
  view.setUint16(22, 1, true);
  view.setUint32(24, rate, true);
  view.setUint32(28, rate * 2, true);
  view.setUint16(32, 2, true);
  view.setUint16(34, 16, true);
  text(36, "data");
  view.setUint32(40, pcm.length, true);
  out.set(pcm, 44);
  return out;
}

const base64Bytes = (data: string) => Uint8Array.from(atob(data), (char) => char.charCodeAt(0));

/** The whole answer's text, whether it came read or as a stream (speech is routed as a streamed API). */
async function wholeText(answer: UpstreamAnswer): Promise<string> {
  if (!answer.stream) return answer.text;
  const decoder = new TextDecoder();
  let text = answer.stream.first ? decoder.decode(answer.stream.first, { stream: true }) : "";
  for (let read = await answer.stream.reader.read(); !read.done; read = await answer.stream.reader.read()) {
    text += decoder.decode(read.value, { stream: true });
  }
  return text + decoder.decode();
}

interface GeminiAudioAnswer {
  candidates?: { content?: { parts?: { inlineData?: { mimeType?: string; data?: string } }[] } }[];
}

export function geminiSpeechExchange(input: MediaExchangeInput): Exchange {
  const { endpoint, request } = input;
  const body = request.body as Record<string, unknown>;
  // Gemini makes PCM: without a format asked, the answer is WAV, which any player opens.
  const format = typeof body.response_format === "string" ? body.response_format : "wav";
  if (format !== "wav" && format !== "pcm") {
    throw notSpeakable(
      `comes as PCM, which Sluice answers as wav or pcm; it does not encode ${format}: ask for \`response_format\` wav or pcm`,
      "response_format",
    );
  }
  if (body.stream_format === "sse") throw notSpeakable("has no events: leave `stream_format` out", "stream_format");
  const voice = typeof body.voice === "string" ? body.voice : (body.voice as { id?: string } | undefined)?.id;
  const instructions = typeof body.instructions === "string" && body.instructions ? body.instructions : undefined;
  // Gemini takes a style as words before the text: "Say cheerfully: …".
  const text = instructions ? `${instructions}: ${String(body.input)}` : String(body.input);
  const dropped = ["speed"].filter((field) => body[field] !== undefined);
  const unwrap = endpoint.unwrap?.(input.settings);
  return {
    framing: endpoint.framing,
    request: async () =>
      await endpoint.request({
        settings: input.settings,
        upstreamModel: input.model,
        body: {
          contents: [{ role: "user", parts: [{ text }] }],
          generationConfig: {
            responseModalities: ["AUDIO"],
            ...(voice && { speechConfig: { voiceConfig: { prebuiltVoiceConfig: { voiceName: voice } } } }),
          },
        },
        stream: false,
        requestId: input.requestId,
        clientHeaders: input.clientHeaders,
      }),
    async respond(call, answer) {
      let json: GeminiAudioAnswer;
      try {
        const parsed: unknown = JSON.parse(await wholeText(answer));
        json = (unwrap ? unwrap(parsed) : parsed) as GeminiAudioAnswer;
      } catch {
        throw malformedAnswer(call);
      }
      const audio = (json.candidates?.[0]?.content?.parts ?? []).find((part) =>
        part.inlineData?.mimeType?.startsWith("audio/"),
      )?.inlineData;
      if (!audio?.data) throw malformedAnswer(call);
      const rate = Number(/rate=(\d+)/.exec(audio.mimeType ?? "")?.[1] ?? DEFAULT_RATE);
      const pcm = base64Bytes(audio.data);
      call.meter.markFirstByte();
      request.meter(call.meter, undefined);
      call.meter.setTokens(endpoint.codec.usage(json));
      call.record(200);
      if (dropped.length > 0) call.headers["x-sluice-dropped"] = headerValue(dropped.join(", "));
      const headers = {
        ...call.headers,
        "content-type": format === "wav" ? "audio/wav" : `audio/pcm;rate=${rate}`,
      };
      return new Response(format === "wav" ? wavOf(pcm, rate) : pcm, { status: 200, headers });
    },
  };
}
