// The mock's Gemini dialect: `models/{model}:generateContent` and
// `:streamGenerateContent?alt=sse`, shaped as Google sends them.
import type { MockAnswer, MockTurn } from "./models.ts";

interface GeminiPart {
  text?: string;
  functionResponse?: { response?: unknown };
  inlineData?: { mimeType?: string; data?: string };
}

/** A part's text; audio heard inline is said as its type and size, so an echo shows it arrived whole. */
function partText(part: GeminiPart): string {
  const audio = part.inlineData?.mimeType?.startsWith("audio/") ? part.inlineData : undefined;
  if (audio) return ` [${audio.mimeType} ${Buffer.from(audio.data ?? "", "base64").length} bytes]`;
  return part.text ?? "";
}

export interface GeminiRequest {
  contents?: { role?: string; parts?: GeminiPart[] }[];
  systemInstruction?: { parts?: GeminiPart[] };
  tools?: { functionDeclarations?: { name?: string }[] }[];
  generationConfig?: { maxOutputTokens?: number };
}

export function geminiTurns(body: GeminiRequest): MockTurn[] {
  const turns: MockTurn[] = body.systemInstruction
    ? [{ role: "system", text: (body.systemInstruction.parts ?? []).map((p) => p.text ?? "").join("") }]
    : [];
  for (const content of body.contents ?? []) {
    const result = content.parts?.find((p) => p.functionResponse);
    if (result) turns.push({ role: "tool", text: JSON.stringify(result.functionResponse?.response ?? {}) });
    else
      turns.push({
        role: content.role === "model" ? "assistant" : "user",
        text: (content.parts ?? []).map(partText).join(""),
      });
  }
  return turns;
}

export const geminiTools = (body: GeminiRequest) =>
  (body.tools ?? []).flatMap((t) => t.functionDeclarations ?? []).map((f) => f.name ?? "tool");

const usage = (answer: MockAnswer) => ({
  promptTokenCount: answer.promptTokens,
  candidatesTokenCount: answer.completionTokens,
  totalTokenCount: answer.promptTokens + answer.completionTokens,
});

const FINISH = { stop: "STOP", length: "MAX_TOKENS", tool_calls: "STOP", content_filter: "SAFETY" } as const;

export function geminiResponse(id: string, model: string, answer: MockAnswer) {
  const call = answer.toolCall;
  return {
    candidates: [
      {
        content: {
          role: "model",
          parts: call
            ? [{ functionCall: { id: call.id, name: call.name, args: JSON.parse(call.arguments) } }]
            : [{ text: answer.text }],
        },
        finishReason: FINISH[answer.finish],
        index: 0,
      },
    ],
    usageMetadata: usage(answer),
    modelVersion: model,
    responseId: id,
  };
}

export function geminiStreamEvents(id: string, model: string, answer: MockAnswer, pieces: string[]): string[] {
  const chunk = (parts: unknown[], last: boolean) =>
    `data: ${JSON.stringify({
      candidates: [{ content: { role: "model", parts }, ...(last && { finishReason: FINISH[answer.finish] }), index: 0 }],
      ...(last && { usageMetadata: usage(answer) }),
      modelVersion: model,
      responseId: id,
    })}\r\n\r\n`;
  const call = answer.toolCall;
  // Gemini sends a function call whole, in one chunk.
  const bodies = call
    ? [[{ functionCall: { id: call.id, name: call.name, args: JSON.parse(call.arguments) } }]]
    : pieces.map((text) => [{ text }]);
  return bodies.map((parts, i) => chunk(parts, i === bodies.length - 1));
}

export function geminiError(status: number, message: string) {
  const code =
    {
      400: "INVALID_ARGUMENT",
      401: "UNAUTHENTICATED",
      403: "PERMISSION_DENIED",
      404: "NOT_FOUND",
      429: "RESOURCE_EXHAUSTED",
      503: "UNAVAILABLE",
    }[status] ?? "INTERNAL";
  return { error: { code: status, message, status: code } };
}
