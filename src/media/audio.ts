// How long an uploaded recording is, for reserving what its transcription
// may cost and for billing an answer that reports no duration (text, SRT,
// VTT): exact for WAV, whose header says so; otherwise estimated from its
// size at a common compressed rate.
/** 128 kbit/s: what most MP3, M4A and WebM speech recordings are at or under. */
const COMPRESSED_BYTES_PER_SECOND = 16_000;

const ascii = (view: DataView, at: number) =>
  String.fromCharCode(view.getUint8(at), view.getUint8(at + 1), view.getUint8(at + 2), view.getUint8(at + 3));

/** A WAV file's duration from its `fmt ` and `data` chunks; undefined when it is not one that says. */
function wavSeconds(head: ArrayBuffer, size: number): number | undefined {
  const view = new DataView(head);
  if (view.byteLength < 12 || ascii(view, 0) !== "RIFF" || ascii(view, 8) !== "WAVE") return undefined;
  let byteRate: number | undefined;
  for (let at = 12; at + 8 <= view.byteLength; ) {
    const id = ascii(view, at);
    const length = view.getUint32(at + 4, true);
    if (id === "fmt " && at + 16 <= view.byteLength) byteRate = view.getUint32(at + 16, true);
    if (id === "data") {
      if (!byteRate) return undefined;
      // A streamed WAV may say 0 or 0xFFFFFFFF: the file's own size then.
      const data = length === 0 || length === 0xffffffff ? size - at - 8 : Math.min(length, size - at - 8);
      return Math.max(0, data) / byteRate;
    }
    at += 8 + length + (length % 2);
  }
  return undefined;
}

export interface AudioLength {
  seconds: number;
  /** Read from the file's header, not estimated from its size. */
  exact: boolean;
}

export async function audioLength(file: Blob): Promise<AudioLength> {
  const seconds = wavSeconds(await file.slice(0, 4096).arrayBuffer(), file.size);
  if (seconds !== undefined) return { seconds, exact: true };
  return { seconds: file.size / COMPRESSED_BYTES_PER_SECOND, exact: false };
}
