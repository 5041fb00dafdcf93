// A request's worst case, reserved before the upstream call: its input,
// estimated generously from its size (media by their providers' rules), and
// its output cap times the answers it asks for.
import { type MediaRules, mediaOf, mediaTokens } from "./media.ts";

/** Roughly three bytes of JSON per token: more than real tokenizers count, so reservations err high. */
const BYTES_PER_TOKEN = 3;

/** Any field name or value a media part has in some format (media.ts's `mediaOf`), or a base64 data URL. */
const MEDIA =
  '"(?:image_url|input_image|input_audio|input_file|file|inlineData|fileData|image|document|video)"|data:[^";,]*;base64,';
const MAY_HOLD_MEDIA = new RegExp(MEDIA);
/**
 * The same in a client's own text, or an escape JSON.stringify would not
 * have written (`\u0069mage_url`, `https:\/\/`), which could hide one: both
 * looked for in one pass over what may be megabytes.
 */
const MAY_HOLD_OR_HIDE_MEDIA = new RegExp(`${MEDIA}|\\\\[u/]`);

/** Whose rules price a provider's media: Claude's wherever it is served, Google's for Gemini, else OpenAI's. */
export function mediaRulesFor(providerKind: string, upstreamModel: string): MediaRules {
  if (providerKind === "anthropic" || upstreamModel.includes("claude")) return "anthropic";
  if (providerKind === "gemini" || providerKind === "vertex") return "gemini";
  return "openai";
}

/**
 * The input tokens of a request's prompt (the parts that carry its messages,
 * system prompt and tools, in whatever format): their JSON at three bytes a
 * token, except that each image, document, audio or video part counts by
 * its provider's rules rather than by the bytes of its data.
 */
export function estimateInputTokens(
  prompt: readonly unknown[],
  rules: MediaRules,
  /** A part's JSON as the client sent it, where known: read instead of serializing the part again. */
  clientJson?: (part: unknown) => string | undefined,
): number {
  let media = 0;
  const withoutMedia = (key: string, value: unknown) => {
    if ((typeof value === "object" && value !== null) || (typeof value === "string" && value.length > 64)) {
      const part = mediaOf(key, value);
      if (part) {
        media += mediaTokens(part, rules);
        return undefined;
      }
    }
    return value;
  };
  const walked = (part: unknown) => (JSON.stringify(part, withoutMedia) ?? "").length;
  /** Most prompts carry no media: their plain JSON is the estimate, without the slower walk. */
  const size = (part: unknown) => {
    const client = clientJson?.(part);
    if (client !== undefined) {
      const found = MAY_HOLD_OR_HIDE_MEDIA.exec(client);
      if (found === null) return client.length;
      if (!found[0].startsWith("\\")) return walked(part);
      // An escape of the client's own: read the part as JSON.stringify writes it.
    }
    const json = JSON.stringify(part) ?? "";
    return MAY_HOLD_MEDIA.test(json) ? walked(part) : json.length;
  };
  let bytes = 0;
  for (const part of prompt) bytes += size(part);
  return Math.ceil(bytes / BYTES_PER_TOKEN) + media;
}
