// Uploads to the media APIs: multipart bodies counted as they stream in and
// refused with a 413 the moment they pass their endpoint's limit (never read
// whole first), then parsed into their fields, whose files are checked for a
// type the API takes.
import { tooLarge } from "../http/body.ts";
import { badRequest, GatewayError } from "../http/errors.ts";

const MULTIPART = /^multipart\/form-data\s*;.*\bboundary=/i;

const notMultipart = (type: string | null) =>
  new GatewayError(
    400,
    "invalid_request",
    `Invalid \`content-type\`: this endpoint takes a multipart/form-data upload, not ${type ? `\`${type.slice(0, 80)}\`` : "none"}.`,
    { code: "invalid_content_type", param: "content-type" },
  );

/**
 * The body's bytes as they arrive; once they pass `limit` the upload is
 * cancelled and the stream cut short (closed, not errored: the parser's
 * failure, or even its success on a cut that fell on a boundary, is then
 * answered with the 413).
 */
function countedBody(body: ReadableStream<Uint8Array>, limit: number, over: () => void): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let size = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { done, value } = await reader.read();
      if (done) return controller.close();
      size += value.byteLength;
      if (size > limit) {
        over();
        await reader.cancel().catch(() => undefined);
        return controller.close();
      }
      controller.enqueue(value);
    },
    cancel: (reason) => reader.cancel(reason),
  });
}

/** A multipart upload's fields, read within `limit` bytes. */
export async function readUpload(request: Request, limit: number): Promise<FormData> {
  const type = request.headers.get("content-type");
  if (!type || !MULTIPART.test(type)) throw notMultipart(type);
  const length = request.headers.get("content-length");
  if (length !== null && Number(length) > limit) throw tooLarge(limit);
  if (!request.body) throw badRequest("Request body is empty: expected a multipart upload.");
  let exceeded = false;
  const body = countedBody(request.body, limit, () => {
    exceeded = true;
  });
  try {
    const form = await new Response(body, { headers: { "content-type": type } }).formData();
    if (exceeded) throw tooLarge(limit);
    return form;
  } catch (error) {
    if (error instanceof GatewayError) throw error;
    if (exceeded) throw tooLarge(limit);
    throw badRequest(
      `Request body is not a readable multipart upload: ${error instanceof Error ? error.message : String(error)}`,
      undefined,
      "invalid_multipart",
    );
  }
}

/** The file types an API takes: by the name's extension, or failing that the part's own content type. */
export interface FileTypes {
  extensions: readonly string[];
  types: RegExp;
}

export const AUDIO_FILES: FileTypes = {
  extensions: ["flac", "mp3", "mp4", "mpeg", "mpga", "m4a", "ogg", "oga", "opus", "wav", "webm"],
  types: /^(audio\/|video\/(mp4|mpeg|webm)$)/,
};

export const IMAGE_FILES: FileTypes = { extensions: ["png", "jpg", "jpeg", "webp"], types: /^image\/(png|jpeg|webp)$/ };

const extensionOf = (name: string) => /\.([a-z0-9]+)$/i.exec(name)?.[1]?.toLowerCase();

/** The files of a field (a field may repeat, as `image[]` does); a part that is not a file is the caller's 400. */
export function uploadedFiles(form: FormData, field: string, accepted: FileTypes): File[] {
  const parts = form.getAll(field);
  return parts.map((part) => {
    if (typeof part === "string") throw badRequest(`Invalid \`${field}\`: must be a file upload, not text.`, field);
    const extension = extensionOf(part.name);
    const known = extension ? accepted.extensions.includes(extension) : accepted.types.test(part.type);
    if (!known) {
      throw badRequest(
        `Invalid \`${field}\`: unsupported file format. Supported formats: ${accepted.extensions.join(", ")}.`,
        field,
        "invalid_file_format",
      );
    }
    return part;
  });
}

/** A text field of the upload; undefined when absent. */
export function textField(form: FormData, field: string): string | undefined {
  const value = form.get(field);
  if (value === null) return undefined;
  if (typeof value !== "string") throw badRequest(`Invalid \`${field}\`: must be text, not a file.`, field);
  return value;
}
