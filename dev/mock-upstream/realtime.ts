// The mock's Realtime API: `GET /v1/realtime?model=…` upgraded to a
// WebSocket (RFC 6455, written here: text, ping and close frames are all the
// API uses), speaking OpenAI's event sequence. It opens with
// `session.created`; audio appended to the input buffer is counted (PCM16 at
// 24 kHz: a token per 100 ms); `response.create` answers with
// `response.created`, one audio delta, its transcript and `response.done`
// with usage split into text, audio and image tokens, as OpenAI reports it.
// `session.update` may turn on input transcription (the GA shape or the
// beta one), echoed in `session.updated`; each commit is then transcribed,
// its usage in `conversation.item.input_audio_transcription.completed`: a
// duration for whisper-1, tokens for any other model.
import { createHash, randomUUID } from "node:crypto";
import type { IncomingMessage, Server } from "node:http";
import type { Duplex } from "node:stream";
import { countTokens } from "./text.ts";

export const REALTIME_PATH = "/v1/realtime";
const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
/** Bytes of PCM16 at 24 kHz per input audio token (100 ms). */
const BYTES_PER_AUDIO_TOKEN = 4_800;
const REPLY = "mock realtime reply";
const TRANSCRIPT = "mock transcript";
/** Bytes of PCM16 at 24 kHz per second. */
const BYTES_PER_SECOND = 48_000;
/** Input tokens the mock counts for an image in a conversation item. */
const IMAGE_TOKENS = 85;

function frame(opcode: number, payload: Buffer): Buffer {
  const length = payload.length;
  const head = length < 126 ? Buffer.alloc(2) : length < 65_536 ? Buffer.alloc(4) : Buffer.alloc(10);
  head[0] = 0x80 | opcode;
  if (length < 126) head[1] = length;
  else if (length < 65_536) {
    head[1] = 126;
    head.writeUInt16BE(length, 2);
  } else {
    head[1] = 127;
    head.writeBigUInt64BE(BigInt(length), 2);
  }
  return Buffer.concat([head, payload]);
}

/** Whole frames off the front of `buffer` (a client's frames are masked); the rest waits for more bytes. */
function readFrames(buffer: Buffer): { frames: { opcode: number; payload: Buffer }[]; rest: Buffer } {
  const frames: { opcode: number; payload: Buffer }[] = [];
  let at = 0;
  while (buffer.length - at >= 2) {
    const opcode = (buffer[at] ?? 0) & 0x0f;
    const masked = ((buffer[at + 1] ?? 0) & 0x80) !== 0;
    let length = (buffer[at + 1] ?? 0) & 0x7f;
    let offset = at + 2;
    if (length === 126) {
      if (buffer.length < offset + 2) break;
      length = buffer.readUInt16BE(offset);
      offset += 2;
    } else if (length === 127) {
      if (buffer.length < offset + 8) break;
      length = Number(buffer.readBigUInt64BE(offset));
      offset += 8;
    }
    const mask = masked ? buffer.subarray(offset, offset + 4) : undefined;
    if (masked) offset += 4;
    if (buffer.length < offset + length) break;
    const payload = Buffer.from(buffer.subarray(offset, offset + length));
    if (mask) for (let i = 0; i < payload.length; i++) payload[i] = (payload[i] ?? 0) ^ (mask[i % 4] ?? 0);
    frames.push({ opcode, payload });
    at = offset + length;
  }
  return { frames, rest: buffer.subarray(at) };
}

interface Session {
  send(event: Record<string, unknown>): void;
  close(code: number, reason: string): void;
}

interface SessionUpdate {
  audio?: { input?: { transcription?: { model?: string } | null } };
  input_audio_transcription?: { model?: string } | null;
}

/** The transcription a commit's audio gets, as OpenAI reports its usage: whisper-1 by the second, others in tokens. */
function transcription(model: string, bytes: number, itemId: string): Record<string, unknown> {
  const audioTokens = Math.ceil(bytes / BYTES_PER_AUDIO_TOKEN);
  const outputTokens = countTokens(TRANSCRIPT);
  return {
    type: "conversation.item.input_audio_transcription.completed",
    item_id: itemId,
    content_index: 0,
    transcript: TRANSCRIPT,
    usage:
      model === "whisper-1"
        ? { type: "duration", seconds: bytes / BYTES_PER_SECOND }
        : {
            type: "tokens",
            input_tokens: audioTokens,
            output_tokens: outputTokens,
            total_tokens: audioTokens + outputTokens,
            input_token_details: { text_tokens: 0, audio_tokens: audioTokens },
          },
  };
}

function realtimeSession(model: string, session: Session) {
  let appended = 0;
  let images = 0;
  let responses = 0;
  let events = 0;
  let transcriber: string | undefined;
  const emit = (event: Record<string, unknown>) => session.send({ event_id: `event_${++events}`, ...event });
  emit({
    type: "session.created",
    session: { type: "realtime", object: "realtime.session", id: `sess_${randomUUID().slice(0, 8)}`, model },
  });
  return (text: string) => {
    let event: {
      type?: string;
      audio?: string;
      response?: { instructions?: string };
      session?: SessionUpdate;
      item?: { content?: { type?: string }[] };
    };
    try {
      event = JSON.parse(text);
    } catch {
      return emit({ type: "error", error: { type: "invalid_request_error", code: "invalid_json", message: "Invalid JSON." } });
    }
    if (event.type === "input_audio_buffer.append") {
      appended += Buffer.from(event.audio ?? "", "base64").length;
    } else if (event.type === "session.update") {
      const update = event.session ?? {};
      const ga = !("input_audio_transcription" in update);
      const setting = ga ? update.audio?.input?.transcription : update.input_audio_transcription;
      if (setting !== undefined) transcriber = setting?.model;
      const named = transcriber === undefined ? null : { model: transcriber };
      emit({
        type: "session.updated",
        session: {
          type: "realtime",
          model,
          ...(ga ? { audio: { input: { transcription: named } } } : { input_audio_transcription: named }),
        },
      });
    } else if (event.type === "conversation.item.create") {
      images += (event.item?.content ?? []).filter((part) => part.type === "input_image").length;
    } else if (event.type === "input_audio_buffer.commit") {
      emit({ type: "input_audio_buffer.committed", item_id: `item_${responses}` });
      if (transcriber !== undefined) emit(transcription(transcriber, appended, `item_${responses}`));
    } else if (event.type === "response.create") {
      const id = `resp_${++responses}`;
      const audioIn = Math.ceil(appended / BYTES_PER_AUDIO_TOKEN);
      const imageIn = images * IMAGE_TOKENS;
      appended = 0;
      images = 0;
      const textIn = countTokens(event.response?.instructions ?? "") + 5;
      const textOut = countTokens(REPLY);
      const audio = Buffer.alloc(BYTES_PER_AUDIO_TOKEN * 2, 7);
      emit({ type: "response.created", response: { object: "realtime.response", id, status: "in_progress" } });
      emit({ type: "response.output_audio.delta", response_id: id, delta: audio.toString("base64") });
      emit({ type: "response.output_audio_transcript.delta", response_id: id, delta: REPLY });
      emit({
        type: "response.done",
        response: {
          object: "realtime.response",
          id,
          status: "completed",
          usage: {
            total_tokens: textIn + audioIn + imageIn + textOut + 2,
            input_tokens: textIn + audioIn + imageIn,
            output_tokens: textOut + 2,
            input_token_details: {
              text_tokens: textIn,
              audio_tokens: audioIn,
              cached_tokens: 0,
              ...(imageIn > 0 && { image_tokens: imageIn }),
            },
            output_token_details: { text_tokens: textOut, audio_tokens: 2 },
          },
        },
      });
    } else if (event.type === "session.close.test") {
      session.close(1000, "closed by the mock");
    }
  };
}

/** Upgrades `/v1/realtime` on the server; `accepts` checks the bearer token. Other upgrades are refused. */
export function attachRealtime(server: Server, accepts: (authorization: string | undefined) => boolean): void {
  server.on("upgrade", (req: IncomingMessage, socket: Duplex) => {
    const url = new URL(req.url ?? "/", "http://mock.invalid");
    const key = req.headers["sec-websocket-key"];
    const refuse = (status: string, body: unknown) => {
      const text = JSON.stringify(body);
      socket.end(
        `HTTP/1.1 ${status}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(text)}\r\n\r\n${text}`,
      );
    };
    if (url.pathname !== REALTIME_PATH || typeof key !== "string")
      return refuse("404 Not Found", { error: { message: "no route" } });
    if (!accepts(req.headers.authorization)) {
      return refuse("401 Unauthorized", { error: { message: "Incorrect API key provided.", code: "invalid_api_key" } });
    }
    const accept = createHash("sha1").update(`${key}${GUID}`).digest("base64");
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-accept: ${accept}\r\n\r\n`,
    );
    let open = true;
    const close = (code: number, reason: string) => {
      if (!open) return;
      open = false;
      const payload = Buffer.alloc(2 + Buffer.byteLength(reason));
      payload.writeUInt16BE(code, 0);
      payload.write(reason, 2);
      socket.end(frame(0x8, payload));
    };
    const receive = realtimeSession(url.searchParams.get("model") ?? "", {
      send: (event) => open && socket.write(frame(0x1, Buffer.from(JSON.stringify(event)))),
      close,
    });
    let pending: Buffer = Buffer.alloc(0);
    socket.on("data", (chunk: Buffer) => {
      const { frames, rest } = readFrames(Buffer.concat([pending, chunk]));
      pending = rest;
      for (const { opcode, payload } of frames) {
        if (opcode === 0x1) receive(payload.toString("utf8"));
        else if (opcode === 0x9) socket.write(frame(0xa, payload));
        else if (opcode === 0x8) close(payload.length >= 2 ? payload.readUInt16BE(0) : 1000, "");
      }
    });
    socket.on("error", () => {
      open = false;
    });
  });
}
