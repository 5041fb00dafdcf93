// A request's worst case, reserved before the upstream call: its input
// (estimated generously from its size) and its output cap.

/** Roughly three bytes of JSON per token: more than real tokenizers count, so reservations err high. */
const BYTES_PER_TOKEN = 3;

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
