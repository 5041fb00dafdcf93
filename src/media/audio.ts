// How long an uploaded recording is, for reserving what its transcription
// may cost and for billing an answer that reports no duration (text, SRT,
// VTT). The caller writes every byte of the file, so no length it states is
// taken on its word: an uncompressed WAV is timed by its samples (its rate
// and frame size, which are what a decoder plays it at), never by the
// header's own `byteRate` or `data` length; anything else is estimated from
// its size at a rate that errs long.

/**
 * Bytes a second of audio whose length cannot be read: 16 kbit/s, below what
 * speech is usually encoded at (MP3, M4A and WebM at 32–128 kbit/s), so a
 * length estimated from a file's size errs long.
 */
export const AUDIO_BYTES_PER_SECOND = 2_000;

/** WAV encodings whose every frame is channels × bits/8 bytes: PCM, IEEE float, A-law and μ-law. */
const FRAMED_ENCODINGS: ReadonlySet<number> = new Set([1, 3, 6, 7]);
/** `WAVE_FORMAT_EXTENSIBLE`: the encoding is its sub-format's. */
const EXTENSIBLE = 0xfffe;
/** Sample rates a recording may have, telephone's to a studio's; outside them the file is estimated. */
const MIN_SAMPLE_RATE = 8_000;
const MAX_SAMPLE_RATE = 384_000;
const MAX_CHANNELS = 8;

const ascii = (view: DataView, at: number) =>
  String.fromCharCode(view.getUint8(at), view.getUint8(at + 1), view.getUint8(at + 2), view.getUint8(at + 3));

/** The bytes a second of a `fmt ` chunk at `at` holds: sample rate × frame size; undefined for a compressed or implausible one. */
function frameBytesPerSecond(view: DataView, at: number, length: number): number | undefined {
  if (length < 16 || at + 24 > view.byteLength) return undefined;
  let encoding = view.getUint16(at + 8, true);
  const channels = view.getUint16(at + 10, true);
  const sampleRate = view.getUint32(at + 12, true);
  const blockAlign = view.getUint16(at + 20, true);
  const bits = view.getUint16(at + 22, true);
  if (encoding === EXTENSIBLE) encoding = length >= 40 && at + 34 <= view.byteLength ? view.getUint16(at + 32, true) : 0;
  if (!FRAMED_ENCODINGS.has(encoding) || channels < 1 || channels > MAX_CHANNELS) return undefined;
  if (bits < 8 || bits > 64 || bits % 8 !== 0 || blockAlign !== (channels * bits) / 8) return undefined;
  if (sampleRate < MIN_SAMPLE_RATE || sampleRate > MAX_SAMPLE_RATE) return undefined;
  return sampleRate * blockAlign;
}

/** A WAV file's duration from its `fmt ` and `data` chunks; undefined when it is not one that says. */
export function wavSeconds(head: ArrayBuffer, size: number): number | undefined {
  const view = new DataView(head);
  if (view.byteLength < 12 || ascii(view, 0) !== "RIFF" || ascii(view, 8) !== "WAVE") return undefined;
  let bytesPerSecond: number | undefined;
  for (let at = 12; at + 8 <= view.byteLength; ) {
    const id = ascii(view, at);
    const length = view.getUint32(at + 4, true);
    if (id === "fmt ") bytesPerSecond = frameBytesPerSecond(view, at, length);
    if (id === "data") {
      if (!bytesPerSecond) return undefined;
      // Every byte from here on, whatever the chunk says it holds: a decoder reads on into a second `data` chunk.
      return Math.max(0, size - at - 8) / bytesPerSecond;
    }
    at += 8 + length + (length % 2);
  }
  return undefined;
}

export interface AudioLength {
  seconds: number;
  /** Counted from a WAV's samples, not estimated from the file's size. */
  exact: boolean;
}

export async function audioLength(file: Blob): Promise<AudioLength> {
  const seconds = wavSeconds(await file.slice(0, 4096).arrayBuffer(), file.size);
  if (seconds !== undefined) return { seconds, exact: true };
  return { seconds: file.size / AUDIO_BYTES_PER_SECOND, exact: false };
}
