// The OpenTelemetry GenAI semantic conventions' names for what Sluice knows
// about a call: which operation, which provider (their well-known values),
// and the reasons an answer finished.

/** `gen_ai.provider.name` for each provider kind; a kind the conventions do not name keeps its own. */
const PROVIDER_NAMES: Record<string, string> = {
  openai: "openai",
  anthropic: "anthropic",
  gemini: "gcp.gemini",
  vertex: "gcp.vertex_ai",
  bedrock: "aws.bedrock",
  mistral: "mistral_ai",
};

export const genAiProviderName = (kind: string) => PROVIDER_NAMES[kind] ?? kind;

/** `gen_ai.operation.name` from the route's path. */
export function genAiOperation(path: string): string {
  if (path.endsWith("/embeddings")) return "embeddings";
  if (path === "/v1/completions" || path === "/api/ai/completion") return "text_completion";
  return "chat";
}

type Answer = {
  choices?: { finish_reason?: unknown }[];
  stop_reason?: unknown;
  candidates?: { finishReason?: unknown }[];
  status?: unknown;
  object?: unknown;
};

/** The finish reasons a whole answer gives, in OpenAI's, Anthropic's, Gemini's or the Responses API's words. */
export function finishReasonsOf(body: unknown): string[] | undefined {
  if (typeof body !== "object" || body === null) return undefined;
  const answer = body as Answer;
  const reasons = [
    ...(answer.choices ?? []).map((choice) => choice.finish_reason),
    answer.stop_reason,
    ...(answer.candidates ?? []).map((candidate) => candidate.finishReason),
    answer.object === "response" ? answer.status : undefined,
  ].filter((reason): reason is string => typeof reason === "string");
  return reasons.length > 0 ? reasons : undefined;
}
