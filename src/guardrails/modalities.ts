// What kinds of input a request sends — text, images, audio, files
// (documents, PDFs), video — read from the parts of its prompt in every
// client format: OpenAI chat's and Cohere's `image_url`, `input_audio` and
// `file` parts, the Responses API's `input_image`, `input_file` and
// `input_audio`, Anthropic's `image` and `document` blocks, Gemini's
// `inlineData` and `fileData` by MIME type, and Bedrock Converse's `image`,
// `document`, `video` and `audio` blocks.

export const MODALITIES = ["text", "image", "audio", "file", "video"] as const;
export type Modality = (typeof MODALITIES)[number];

/** A part's `type`, in the formats that tag their parts. */
const TAGGED: Readonly<Record<string, Modality>> = {
  image_url: "image", // OpenAI chat, Cohere v2
  input_image: "image", // Responses
  image: "image", // Anthropic
  input_audio: "audio", // OpenAI chat, Responses
  file: "file", // OpenAI chat
  input_file: "file", // Responses
  document: "file", // Anthropic
};

/** Bedrock Converse's blocks, keyed by what they hold. */
const KEYED: Readonly<Record<string, Modality>> = { image: "image", document: "file", video: "video", audio: "audio" };

/** Gemini's media parts, whose MIME type says what they are. */
const GEMINI_MEDIA = ["inlineData", "inline_data", "fileData", "file_data"];

const byMimeType = (mime: unknown): Modality => {
  const type = typeof mime === "string" ? mime.split("/")[0] : "";
  return type === "image" || type === "audio" || type === "video" ? type : "file";
};

/** Top-level fields that hold a prompt's parts. */
const ROOTS = ["messages", "input", "contents", "system", "systemInstruction", "system_instruction", "instructions"];

export interface FoundModality {
  modality: Modality;
  /** Where in the body: `messages[0].content[1]`. */
  field: string;
}

/** The modality of one part, when it is media. */
function partModality(part: Record<string, unknown>): Modality | undefined {
  if (typeof part.type === "string" && part.type in TAGGED) return TAGGED[part.type];
  for (const key of GEMINI_MEDIA) {
    const media = part[key] as { mimeType?: unknown; mime_type?: unknown } | undefined;
    if (media && typeof media === "object") return byMimeType(media.mimeType ?? media.mime_type);
  }
  for (const [key, modality] of Object.entries(KEYED)) {
    const block = part[key];
    if (block && typeof block === "object" && ("source" in block || "format" in block)) return modality;
  }
  return undefined;
}

/** The first media part of the request that `refused` says no to, where it is; undefined when there is none. */
export function findMedia(body: Record<string, unknown>, refused: (modality: Modality) => boolean): FoundModality | undefined {
  const walk = (value: unknown, field: string): FoundModality | undefined => {
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        const found = walk(value[i], `${field}[${i}]`);
        if (found) return found;
      }
      return undefined;
    }
    if (!value || typeof value !== "object") return undefined;
    const part = value as Record<string, unknown>;
    const modality = partModality(part);
    if (modality && refused(modality)) return { modality, field };
    for (const [key, child] of Object.entries(part)) {
      if (child && typeof child === "object") {
        const found = walk(child, `${field}.${key}`);
        if (found) return found;
      }
    }
    return undefined;
  };
  for (const root of ROOTS) {
    const found = walk(body[root], root);
    if (found) return found;
  }
  return undefined;
}
