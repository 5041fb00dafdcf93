// AWS's binary event-stream framing (Bedrock's streamed answers). A message:
//   total length (4 bytes) | headers length (4) | prelude CRC32 (4)
//   | headers | payload | message CRC32 (4)
// all integers big-endian; the prelude CRC covers the first 8 bytes, the
// message CRC everything before it. A header is a name (1-byte length, then
// the name), a type byte, and a value encoded by its type.

/** The prelude: two lengths and their checksum. */
export const EVENT_STREAM_PRELUDE = 12;

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 (IEEE 802.3, as zlib computes it). */
export function crc32(bytes: Uint8Array, seed = 0): number {
  let crc = (seed ^ 0xffffffff) >>> 0;
  for (const byte of bytes) crc = (CRC_TABLE[(crc ^ byte) & 0xff] ?? 0) ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

export interface EventStreamMessage {
  headers: Record<string, string>;
  payload: Uint8Array;
}

/** Value sizes of the fixed-width header types: bool true, bool false, byte, short, int, long, … timestamp, uuid. */
const FIXED_SIZES: Record<number, number> = { 0: 0, 1: 0, 2: 1, 3: 2, 4: 4, 5: 8, 8: 8, 9: 16 };

function readHeaders(bytes: Uint8Array): Record<string, string> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const text = new TextDecoder();
  const headers: Record<string, string> = {};
  let at = 0;
  while (at < bytes.length) {
    const nameLength = view.getUint8(at);
    const name = text.decode(bytes.subarray(at + 1, at + 1 + nameLength));
    at += 1 + nameLength;
    const type = view.getUint8(at);
    at += 1;
    if (type === 6 || type === 7) {
      // Byte array or string: a 2-byte length, then the bytes.
      const length = view.getUint16(at);
      const value = bytes.subarray(at + 2, at + 2 + length);
      headers[name] = type === 7 ? text.decode(value) : btoa(String.fromCharCode(...value));
      at += 2 + length;
    } else {
      const size = FIXED_SIZES[type];
      if (size === undefined) throw new Error(`event stream header \`${name}\` has an unknown type ${type}`);
      if (type === 0 || type === 1) headers[name] = String(type === 0);
      at += size;
    }
  }
  return headers;
}

/** One whole message; throws when a checksum does not match. */
export function decodeEventStreamMessage(message: Uint8Array): EventStreamMessage {
  const view = new DataView(message.buffer, message.byteOffset, message.byteLength);
  const total = view.getUint32(0);
  const headersLength = view.getUint32(4);
  if (total !== message.length || total < EVENT_STREAM_PRELUDE + headersLength + 4) {
    throw new Error("event stream message has a bad length");
  }
  if (crc32(message.subarray(0, 8)) !== view.getUint32(8)) throw new Error("event stream prelude checksum mismatch");
  if (crc32(message.subarray(0, total - 4)) !== view.getUint32(total - 4)) {
    throw new Error("event stream message checksum mismatch");
  }
  const headersEnd = EVENT_STREAM_PRELUDE + headersLength;
  return {
    headers: readHeaders(message.subarray(EVENT_STREAM_PRELUDE, headersEnd)),
    payload: message.subarray(headersEnd, total - 4),
  };
}

/** Encodes a message with string headers (what Bedrock sends; the mock upstream writes these). */
export function encodeEventStreamMessage(headers: Record<string, string>, payload: Uint8Array): Uint8Array {
  const text = new TextEncoder();
  const parts: Uint8Array[] = [];
  for (const [name, value] of Object.entries(headers)) {
    const nameBytes = text.encode(name);
    const valueBytes = text.encode(value);
    const header = new Uint8Array(1 + nameBytes.length + 1 + 2 + valueBytes.length);
    const view = new DataView(header.buffer);
    view.setUint8(0, nameBytes.length);
    header.set(nameBytes, 1);
    view.setUint8(1 + nameBytes.length, 7);
    view.setUint16(2 + nameBytes.length, valueBytes.length);
    header.set(valueBytes, 4 + nameBytes.length);
    parts.push(header);
  }
  const headersLength = parts.reduce((sum, part) => sum + part.length, 0);
  const total = EVENT_STREAM_PRELUDE + headersLength + payload.length + 4;
  const message = new Uint8Array(total);
  const view = new DataView(message.buffer);
  view.setUint32(0, total);
  view.setUint32(4, headersLength);
  view.setUint32(8, crc32(message.subarray(0, 8)));
  let at = EVENT_STREAM_PRELUDE;
  for (const part of parts) {
    message.set(part, at);
    at += part.length;
  }
  message.set(payload, at);
  view.setUint32(total - 4, crc32(message.subarray(0, total - 4)));
  return message;
}
