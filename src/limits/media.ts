// What images, documents, audio and video in a request cost in input tokens,
// by each provider's published rules, for the reservation made before the
// call. A part's bytes are not text: an image is priced by its size (read
// from the first bytes of its data), a PDF by its pages, audio and video by
// their length. What cannot be read (a URL, a file id) is taken at a
// generous fixed amount, so a reservation errs high.
import { AUDIO_BYTES_PER_SECOND, wavSeconds } from "../media/audio.ts";

export type MediaKind = "image" | "document" | "audio" | "video";

export interface Media {
  kind: MediaKind;
  /** Base64 data, when the request carries it. */
  data?: string;
  mime?: string;
  /** OpenAI's image `detail`. */
  detail?: string;
}

/** Whose rules apply: OpenAI's (and OpenAI-compatible servers'), Anthropic's (Claude anywhere), or Google's. */
export type MediaRules = "openai" | "anthropic" | "gemini";

/** An image, PDF page count or duration that could not be read. */
const UNREAD_IMAGE_TOKENS = 1_600;
const UNREAD_PAGES = 20;
const UNREAD_SECONDS = 60;

/** The most of a base64 payload decoded to find an image's size. */
const HEAD_CHARS = 65_536;

function bytesOf(base64: string, maxChars = Number.POSITIVE_INFINITY): Uint8Array | undefined {
  try {
    let text = base64.length > maxChars ? base64.slice(0, maxChars) : base64;
    text = text.slice(0, text.length - (text.length % 4));
    const binary = atob(text);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes;
  } catch {
    return undefined;
  }
}

/** The decoded size of a base64 payload, without decoding it. */
const decodedLength = (base64: string) =>
  Math.floor((base64.length * 3) / 4) - (base64.endsWith("==") ? 2 : base64.endsWith("=") ? 1 : 0);

const u16be = (b: Uint8Array, i: number) => ((b[i] ?? 0) << 8) | (b[i + 1] ?? 0);
const u16le = (b: Uint8Array, i: number) => (b[i] ?? 0) | ((b[i + 1] ?? 0) << 8);
const u24le = (b: Uint8Array, i: number) => u16le(b, i) | ((b[i + 2] ?? 0) << 16);
const u32be = (b: Uint8Array, i: number) => u16be(b, i) * 65_536 + u16be(b, i + 2);
const u32le = (b: Uint8Array, i: number) => u16le(b, i) + u16le(b, i + 2) * 65_536;
const ascii = (b: Uint8Array, i: number, n: number) => String.fromCharCode(...b.subarray(i, i + n));

/** Width and height from a PNG, GIF, WebP or JPEG header. */
export function imageSize(bytes: Uint8Array): { width: number; height: number } | undefined {
  if (bytes[0] === 0x89 && ascii(bytes, 1, 3) === "PNG") return { width: u32be(bytes, 16), height: u32be(bytes, 20) };
  if (ascii(bytes, 0, 4) === "GIF8") return { width: u16le(bytes, 6), height: u16le(bytes, 8) };
  if (ascii(bytes, 0, 4) === "RIFF" && ascii(bytes, 8, 4) === "WEBP") {
    const chunk = ascii(bytes, 12, 4);
    if (chunk === "VP8X") return { width: u24le(bytes, 24) + 1, height: u24le(bytes, 27) + 1 };
    if (chunk === "VP8 ") return { width: u16le(bytes, 26) & 0x3fff, height: u16le(bytes, 28) & 0x3fff };
    if (chunk === "VP8L") {
      const bits = u32le(bytes, 21);
      return { width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1 };
    }
    return undefined;
  }
  if (bytes[0] === 0xff && bytes[1] === 0xd8) {
    // Walk the JPEG's segments to the frame header (SOF0–SOF15, less DHT, JPG and DAC).
    let i = 2;
    while (i + 9 < bytes.length) {
      if (bytes[i] !== 0xff) return undefined;
      const marker = bytes[i + 1] ?? 0;
      if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
        return { width: u16be(bytes, i + 7), height: u16be(bytes, i + 5) };
      }
      i += 2 + u16be(bytes, i + 2);
    }
  }
  return undefined;
}

/** OpenAI: low detail is 85; otherwise fit 2048², shortest side to 768, then 170 per 512-pixel tile, plus 85. */
function openaiImageTokens(size: { width: number; height: number } | undefined, detail: string | undefined): number {
  if (detail === "low") return 85;
  if (!size) return 1_445;
  let { width, height } = size;
  const fit = Math.min(1, 2048 / Math.max(width, height));
  width *= fit;
  height *= fit;
  const shortest = Math.min(width, height);
  if (shortest > 768) {
    width *= 768 / shortest;
    height *= 768 / shortest;
  }
  return 85 + 170 * Math.ceil(width / 512) * Math.ceil(height / 512);
}

/** Anthropic: width × height / 750, for an image scaled to at most 1,568 pixels a side and about 1.15 megapixels. */
function anthropicImageTokens(size: { width: number; height: number } | undefined): number {
  if (!size) return UNREAD_IMAGE_TOKENS;
  const scale = Math.min(1, 1568 / Math.max(size.width, size.height), Math.sqrt(1_150_000 / (size.width * size.height)));
  return Math.min(UNREAD_IMAGE_TOKENS, Math.ceil((size.width * scale * size.height * scale) / 750));
}

/** Google: 258 for an image of at most 384 pixels a side; otherwise 258 for each 768-pixel tile. */
function geminiImageTokens(size: { width: number; height: number } | undefined): number {
  if (!size) return UNREAD_IMAGE_TOKENS;
  if (size.width <= 384 && size.height <= 384) return 258;
  return 258 * Math.ceil(size.width / 768) * Math.ceil(size.height / 768);
}

/** Pages of a PDF: its page objects where they are plain to see, else one per 50 KB. */
function pdfPages(data: string | undefined): number {
  if (!data) return UNREAD_PAGES;
  const bytes = bytesOf(data);
  if (!bytes) return UNREAD_PAGES;
  let text = "";
  for (let i = 0; i < bytes.length; i += 8192) text += String.fromCharCode(...bytes.subarray(i, i + 8192));
  const pages = text.match(/\/Type\s*\/Page(?![a-zA-Z])/g)?.length ?? 0;
  return Math.max(1, pages || Math.ceil(bytes.length / 50_000));
}

/** Seconds of audio: an uncompressed WAV's counted from its samples; other encodings taken at a rate that errs long. */
function audioSeconds(data: string | undefined): number {
  if (!data) return UNREAD_SECONDS;
  const size = decodedLength(data);
  // The first 4 KiB (as base64) hold a WAV's chunks up to its samples.
  const head = bytesOf(data, 5_464);
  const wav = head && wavSeconds(head.buffer as ArrayBuffer, size);
  return Math.ceil(wav ?? size / AUDIO_BYTES_PER_SECOND);
}

/** Seconds of video, taken at 1 Mbit/s. */
const videoSeconds = (data: string | undefined) => (data ? Math.ceil(decodedLength(data) / 125_000) : UNREAD_SECONDS);

/** Input tokens for one media part, by the rules of the provider that will read it. */
export function mediaTokens(media: Media, rules: MediaRules): number {
  switch (media.kind) {
    case "image": {
      const head = media.data ? bytesOf(media.data, HEAD_CHARS) : undefined;
      const size = head ? imageSize(head) : undefined;
      if (rules === "openai") return openaiImageTokens(size, media.detail);
      return rules === "anthropic" ? anthropicImageTokens(size) : geminiImageTokens(size);
    }
    case "document":
      // Google counts 258 a page; Anthropic (and OpenAI, which reads pages as text and images) up to 3,000.
      return pdfPages(media.data) * (rules === "gemini" ? 258 : 3_000);
    case "audio":
      // Google: 32 tokens a second; OpenAI's audio models about 10.
      return audioSeconds(media.data) * (rules === "gemini" ? 32 : 10);
    case "video":
      // Google: 263 tokens a second, frames and sound.
      return videoSeconds(media.data) * 263;
  }
}

const kindOfMime = (mime: string | undefined): MediaKind => {
  if (!mime || mime.startsWith("image/")) return "image";
  if (mime.startsWith("audio/")) return "audio";
  if (mime.startsWith("video/")) return "video";
  return "document";
};

/** `data:image/png;base64,…` */
function dataUrl(value: string): { mime: string; data: string } | undefined {
  if (!value.startsWith("data:")) return undefined;
  const comma = value.indexOf(",");
  const head = value.slice(5, comma);
  if (comma < 0 || !head.endsWith(";base64")) return undefined;
  return { mime: head.slice(0, -7), data: value.slice(comma + 1) };
}

type Fields = Record<string, unknown>;
const isObject = (value: unknown): value is Fields => typeof value === "object" && value !== null && !Array.isArray(value);
const text = (value: unknown) => (typeof value === "string" ? value : undefined);

/** A reference or an inline payload, as a media part of the given kind. */
function fromSource(kind: MediaKind, value: unknown, detail?: string): Media {
  const inline = typeof value === "string" ? dataUrl(value) : undefined;
  if (!inline) return { kind, detail };
  return { kind: kind === "image" ? "image" : kindOfMime(inline.mime), ...inline, detail };
}

/**
 * The media part a JSON value is, in any of the wire formats: OpenAI's
 * `image_url`, `input_audio` and `file` parts, the Responses API's
 * `input_image` and `input_file`, Anthropic's `image` and `document` blocks,
 * Gemini's `inlineData` and `fileData`, Bedrock's `image`, `document` and
 * `video` blocks, and a bare `data:` URL.
 */
export function mediaOf(key: string, value: unknown): Media | undefined {
  if (typeof value === "string") {
    const inline = value.length > 64 ? dataUrl(value) : undefined;
    return inline ? { kind: kindOfMime(inline.mime), ...inline } : undefined;
  }
  if (!isObject(value)) return undefined;
  const type = text(value.type);
  if (type === "image_url") {
    const image = value.image_url;
    return fromSource("image", isObject(image) ? image.url : image, isObject(image) ? text(image.detail) : undefined);
  }
  if (type === "input_image") return fromSource("image", value.image_url, text(value.detail));
  if (type === "input_audio" && isObject(value.input_audio)) {
    return { kind: "audio", data: text(value.input_audio.data), mime: `audio/${text(value.input_audio.format) ?? "wav"}` };
  }
  if (type === "file" && isObject(value.file)) return fromSource("document", value.file.file_data);
  if (type === "input_file") return fromSource("document", value.file_data ?? value.file_url);
  if ((type === "image" || type === "document") && isObject(value.source)) {
    const source = value.source;
    if (source.type === "text" || source.type === "content") return undefined;
    const mime = text(source.media_type);
    return { kind: type, data: source.type === "base64" ? text(source.data) : undefined, mime };
  }
  if (isObject(value.inlineData)) {
    const mime = text(value.inlineData.mimeType);
    return { kind: kindOfMime(mime), data: text(value.inlineData.data), mime };
  }
  if (isObject(value.fileData)) return { kind: kindOfMime(text(value.fileData.mimeType)) };
  if ((key === "image" || key === "document" || key === "video") && isObject(value.source)) {
    return { kind: key, data: text(value.source.bytes) };
  }
  return undefined;
}
