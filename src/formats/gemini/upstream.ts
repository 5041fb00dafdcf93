// Gemini's generateContent seen from the provider's side (the Gemini API, or
// Gemini on Vertex AI): canonical requests encoded as generateContent
// bodies, answers and stream chunks decoded back.
import type { TokenCounts } from "../../usage/prices.ts";
import type { CanonicalEvent, CanonicalPart, CanonicalRequest, CanonicalResponse, FinishReason } from "../canonical.ts";
import type { StreamDecoder, StreamFrame, UpstreamCodec } from "../types.ts";

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text || "{}");
  } catch {
    return undefined;
  }
}

/** Gemini wants a function's result as an object: JSON objects go as they are, anything else under `result`. */
function resultObject(content: string): unknown {
  const parsed = parseJson(content);
  return parsed !== null && typeof parsed === "object" && !Array.isArray(parsed) ? parsed : { result: parsed ?? content };
}

/** Reasoning effort as a thinking budget in tokens; 128 is the least every thinking model takes. */
const THINKING_BUDGETS: Record<string, number> = { minimal: 128, low: 1024, medium: 8192, high: 24576 };

export function canonicalToGeminiBody(request: CanonicalRequest): Record<string, unknown> {
  // Gemini names the function in a result; the call it answers says which.
  const names = new Map<string, string>();
  for (const message of request.messages) for (const p of message.parts) if (p.type === "tool_call") names.set(p.id, p.name);
  const partOf = (p: CanonicalPart): Record<string, unknown> => {
    switch (p.type) {
      case "text":
        return { text: p.text };
      case "image":
        return p.source.kind === "base64"
          ? { inlineData: { mimeType: p.source.mediaType, data: p.source.data } }
          : { fileData: { fileUri: p.source.url } };
      case "tool_call":
        return { functionCall: { id: p.id, name: p.name, args: parseJson(p.arguments) ?? {} } };
      case "tool_result":
        return {
          functionResponse: {
            id: p.toolCallId,
            name: names.get(p.toolCallId) ?? p.toolCallId,
            response: resultObject(p.content),
          },
        };
    }
  };
  const body: Record<string, unknown> = {
    contents: request.messages.map((m) => ({ role: m.role === "assistant" ? "model" : "user", parts: m.parts.map(partOf) })),
  };
  if (request.system) body.systemInstruction = { parts: [{ text: request.system }] };
  if (request.tools?.length) {
    body.tools = [
      {
        functionDeclarations: request.tools.map((t) => ({
          name: t.name,
          description: t.description,
          parametersJsonSchema: t.parameters,
        })),
      },
    ];
  }
  const choice = request.toolChoice;
  if (choice) {
    body.toolConfig = {
      functionCallingConfig:
        typeof choice === "object"
          ? { mode: "ANY", allowedFunctionNames: [choice.name] }
          : { mode: choice === "required" ? "ANY" : choice.toUpperCase() },
    };
  }
  const config: Record<string, unknown> = {};
  if (request.maxTokens !== undefined) config.maxOutputTokens = request.maxTokens;
  if (request.temperature !== undefined) config.temperature = request.temperature;
  if (request.topP !== undefined) config.topP = request.topP;
  if (request.stop?.length) config.stopSequences = request.stop;
  if (request.responseFormat) config.responseMimeType = "application/json";
  if (request.responseFormat?.type === "json_schema") config.responseJsonSchema = request.responseFormat.schema;
  const budget = request.reasoningEffort ? THINKING_BUDGETS[request.reasoningEffort] : undefined;
  if (budget !== undefined) config.thinkingConfig = { thinkingBudget: budget };
  if (Object.keys(config).length > 0) body.generationConfig = config;
  return body;
}

interface GeminiUsage {
  promptTokenCount?: number;
  candidatesTokenCount?: number;
  cachedContentTokenCount?: number;
  thoughtsTokenCount?: number;
}

export function geminiUsageFrom(value: unknown): TokenCounts | undefined {
  if (!value || typeof value !== "object") return undefined;
  const usage = value as GeminiUsage;
  return {
    promptTokens: usage.promptTokenCount ?? 0,
    // Thinking is billed as output.
    completionTokens: (usage.candidatesTokenCount ?? 0) + (usage.thoughtsTokenCount ?? 0),
    cachedTokens: usage.cachedContentTokenCount ?? 0,
  };
}

interface GeminiChunk {
  responseId?: string;
  modelVersion?: string;
  candidates?: {
    content?: { parts?: { text?: string; thought?: boolean; functionCall?: { id?: string; name?: string; args?: unknown } }[] };
    finishReason?: string;
  }[];
  usageMetadata?: unknown;
  /** Set when the prompt itself was blocked: no candidates follow. */
  promptFeedback?: { blockReason?: string };
  error?: { message?: string };
}

const FINISH: Record<string, FinishReason> = {
  STOP: "stop",
  MAX_TOKENS: "length",
  SAFETY: "content_filter",
  RECITATION: "content_filter",
  PROHIBITED_CONTENT: "content_filter",
  BLOCKLIST: "content_filter",
  SPII: "content_filter",
  IMAGE_SAFETY: "content_filter",
};

function finishOf(reason: string | undefined, calledTool: boolean): FinishReason {
  if (calledTool && (reason === "STOP" || reason === undefined)) return "tool_calls";
  return FINISH[reason ?? ""] ?? "stop";
}

function geminiToCanonical(body: GeminiChunk): CanonicalResponse {
  const candidate = body.candidates?.[0];
  const parts: CanonicalPart[] = [];
  for (const [i, p] of (candidate?.content?.parts ?? []).entries()) {
    if (p.text !== undefined && !p.thought) parts.push({ type: "text", text: p.text });
    if (p.functionCall)
      parts.push({
        type: "tool_call",
        id: p.functionCall.id ?? `call_${i}`,
        name: p.functionCall.name ?? "",
        arguments: JSON.stringify(p.functionCall.args ?? {}),
      });
  }
  return {
    id: body.responseId ?? "",
    model: body.modelVersion ?? "",
    parts,
    finishReason: body.promptFeedback?.blockReason
      ? "content_filter"
      : finishOf(
          candidate?.finishReason,
          parts.some((p) => p.type === "tool_call"),
        ),
    usage: geminiUsageFrom(body.usageMetadata) ?? { promptTokens: 0, completionTokens: 0, cachedTokens: 0 },
  };
}

/** Each chunk is a partial GenerateContentResponse; the one with a finish reason ends the answer. */
function geminiStreamDecoder(): StreamDecoder {
  let complete = false;
  let started = false;
  let calls = 0;
  return {
    get complete() {
      return complete;
    },
    decode(frame: StreamFrame) {
      const chunk = JSON.parse(frame.data) as GeminiChunk;
      if (chunk.error) throw new Error(chunk.error.message ?? "the upstream reported an error");
      const out: CanonicalEvent[] = [];
      if (!started) {
        started = true;
        out.push({ type: "start", id: chunk.responseId ?? "", model: chunk.modelVersion ?? "" });
      }
      const candidate = chunk.candidates?.[0];
      for (const p of candidate?.content?.parts ?? []) {
        if (p.text) out.push(p.thought ? { type: "reasoning", text: p.text } : { type: "text", text: p.text });
        if (p.functionCall) {
          const index = calls++;
          out.push({ type: "tool_call_start", index, id: p.functionCall.id ?? `call_${index}`, name: p.functionCall.name ?? "" });
          out.push({ type: "tool_call_delta", index, arguments: JSON.stringify(p.functionCall.args ?? {}) });
        }
      }
      const usage = geminiUsageFrom(chunk.usageMetadata);
      if (candidate?.finishReason || chunk.promptFeedback?.blockReason) {
        complete = true;
        const reason = candidate?.finishReason ? finishOf(candidate.finishReason, calls > 0) : "content_filter";
        out.push({ type: "finish", reason });
      }
      if (usage) out.push({ type: "usage", usage });
      return out;
    },
  };
}

export const geminiCodec: UpstreamCodec = {
  encode: canonicalToGeminiBody,
  decode: (body) => geminiToCanonical(body as GeminiChunk),
  usage: (body) => geminiUsageFrom((body as { usageMetadata?: unknown } | null)?.usageMetadata),
  streamDecoder: geminiStreamDecoder,
};
