// Reads a request body (JSON, or text), refusing it before parsing when it is too large.
import { badRequest, GatewayError } from "./errors.ts";

export const tooLarge = (limit: number) =>
  new GatewayError(413, "request_too_large", `Request body is larger than the ${limit}-byte limit.`, {
    code: "request_too_large",
  });

/** The body's bytes, refused as soon as they pass `limit`. */
export async function readLimited(request: Request, limit: number): Promise<Uint8Array<ArrayBuffer>> {
  const length = request.headers.get("content-length");
  const declared = length === null ? Number.NaN : Number(length);
  if (declared > limit) throw tooLarge(limit);
  // A declared length is what the runtime reads, no more: the body can be taken whole, natively.
  if (Number.isFinite(declared)) return new Uint8Array(await request.arrayBuffer());
  if (!request.body) return new Uint8Array();
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      throw tooLarge(limit);
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

/** The body as text (UTF-8, as `Request#text()` decodes it), refused as soon as it passes `limit`. */
export async function readTextLimited(request: Request, limit: number): Promise<string> {
  return new TextDecoder().decode(await readLimited(request, limit));
}

export async function readJsonBody(request: Request, limit: number): Promise<unknown> {
  return (await readJsonBodyText(request, limit)).value;
}

/** The body parsed, and the text and bytes it was parsed from. */
export async function readJsonBodyText(
  request: Request,
  limit: number,
): Promise<{ value: unknown; text: string; bytes: Uint8Array<ArrayBuffer> }> {
  const bytes = await readLimited(request, limit);
  // As Request#text() decodes: UTF-8, a leading BOM dropped, what is not UTF-8 replaced.
  const text = new TextDecoder().decode(bytes);
  if (!text.trim()) throw badRequest("Request body is empty: expected a JSON object.");
  try {
    return { value: JSON.parse(text), text, bytes };
  } catch {
    throw badRequest("Request body is not valid JSON.", undefined, "invalid_json");
  }
}
