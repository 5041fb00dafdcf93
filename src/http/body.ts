// Reads a request body (JSON, or text), refusing it before parsing when it is too large.
import { badRequest, GatewayError } from "./errors.ts";

export const tooLarge = (limit: number) =>
  new GatewayError(413, "request_too_large", `Request body is larger than the ${limit}-byte limit.`, {
    code: "request_too_large",
  });

export async function readLimited(request: Request, limit: number): Promise<string> {
  const length = request.headers.get("content-length");
  const declared = length === null ? Number.NaN : Number(length);
  if (declared > limit) throw tooLarge(limit);
  // A declared length is what the runtime reads, no more: the body can be taken whole, natively.
  if (Number.isFinite(declared)) return await request.text();
  if (!request.body) return "";
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
  return new TextDecoder().decode(bytes);
}

export async function readJsonBody(request: Request, limit: number): Promise<unknown> {
  return (await readJsonBodyText(request, limit)).value;
}

/** The body parsed, and the text it was parsed from. */
export async function readJsonBodyText(request: Request, limit: number): Promise<{ value: unknown; text: string }> {
  const text = await readLimited(request, limit);
  if (!text.trim()) throw badRequest("Request body is empty: expected a JSON object.");
  try {
    return { value: JSON.parse(text), text };
  } catch {
    throw badRequest("Request body is not valid JSON.", undefined, "invalid_json");
  }
}
