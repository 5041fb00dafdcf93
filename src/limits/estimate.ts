// A request's worst case, reserved before the upstream call: its input
// (estimated generously from its size) and its output cap.

import { type CanonicalRequest, canonicalText } from "../formats/canonical.ts";

/** Roughly three bytes of JSON per token: more than real tokenizers count, so reservations err high. */
const BYTES_PER_TOKEN = 3;

/** The same estimate for a canonical request. */
export function estimateCanonical(
  request: CanonicalRequest,
  defaultMaxOutputTokens: number,
): { inputTokens: number; outputTokens: number } {
  const tools = request.tools ? JSON.stringify(request.tools).length : 0;
  return {
    inputTokens: Math.ceil(canonicalText(request).length / BYTES_PER_TOKEN) + Math.ceil(tools / BYTES_PER_TOKEN),
    outputTokens: request.maxTokens ?? defaultMaxOutputTokens,
  };
}

/** `defaultMaxOutputTokens` of 0 is for requests that generate nothing (embeddings). */
export function estimateRequest(
  body: Record<string, unknown>,
  defaultMaxOutputTokens: number,
): { inputTokens: number; outputTokens: number } {
  const input = JSON.stringify(body.messages ?? body.prompt ?? body.input ?? "") + JSON.stringify(body.tools ?? "");
  const cap = body.max_completion_tokens ?? body.max_tokens;
  return {
    inputTokens: Math.ceil(input.length / BYTES_PER_TOKEN),
    outputTokens: typeof cap === "number" && cap > 0 ? cap : defaultMaxOutputTokens,
  };
}
