// Gemini's generateContent requests, decoded to the canonical form.
import * as z from "../../zod.ts";
import type { CanonicalMessage, CanonicalPart, CanonicalRequest, ToolChoice } from "../canonical.ts";
import { flag, jsonSchema, modelName, optionalText, positiveInt, providerName, sampling } from "../fields.ts";

const part = z.looseObject({
  text: z.optional(z.string()),
  inlineData: z.optional(z.looseObject({ mimeType: z.string(), data: z.string() })),
  fileData: z.optional(z.looseObject({ mimeType: z.optional(z.string()), fileUri: z.string() })),
  functionCall: z.optional(
    z.looseObject({ name: z.string(), args: z.optional(z.record(z.string(), z.unknown())), id: z.optional(z.string()) }),
  ),
  functionResponse: z.optional(
    z.looseObject({ name: z.string(), response: z.optional(z.unknown()), id: z.optional(z.string()) }),
  ),
});

const content = z.looseObject({ role: z.optional(z.string()), parts: z.array(part) });

export const geminiGenerateSchema = z.looseObject({
  contents: z.array(content, { message: "must be an array of contents" }).check(z.minLength(1, { message: "must not be empty" })),
  systemInstruction: z.optional(z.union([content, z.string()])),
  tools: z.optional(
    z.array(
      z.looseObject({
        functionDeclarations: z.optional(
          z.array(
            z.looseObject({
              name: z.string(),
              description: z.optional(z.string()),
              parameters: z.optional(z.record(z.string(), z.unknown())),
              parametersJsonSchema: z.optional(z.record(z.string(), z.unknown())),
            }),
          ),
        ),
      }),
    ),
  ),
  toolConfig: z.optional(
    z.looseObject({
      functionCallingConfig: z.optional(
        z.looseObject({ mode: z.optional(z.string()), allowedFunctionNames: z.optional(z.array(z.string())) }),
      ),
    }),
  ),
  generationConfig: z.optional(
    z.looseObject({
      temperature: sampling(0, 2),
      topP: sampling(0, 1),
      topK: z.nullish(positiveInt),
      candidateCount: z.nullish(positiveInt.check(z.lte(8, { message: "must be at most 8" }))),
      maxOutputTokens: z.nullish(positiveInt),
      stopSequences: z.optional(z.array(z.string(), { message: "must be an array of strings" })),
      responseMimeType: optionalText,
      responseSchema: z.optional(jsonSchema),
      responseJsonSchema: z.optional(jsonSchema),
    }),
  ),
  /** Sluice's own, for the app API (`/api/ai/generate`): the model, the provider, and whether to stream. */
  model: z.optional(modelName),
  provider: z.optional(providerName),
  stream: flag,
});

export type GeminiGenerateBody = z.infer<typeof geminiGenerateSchema>;
type Part = z.infer<typeof part>;

function partsOf(raw: Part): CanonicalPart[] {
  const parts: CanonicalPart[] = [];
  if (raw.text !== undefined) parts.push({ type: "text", text: raw.text });
  if (raw.inlineData)
    parts.push({ type: "image", source: { kind: "base64", mediaType: raw.inlineData.mimeType, data: raw.inlineData.data } });
  if (raw.fileData) parts.push({ type: "image", source: { kind: "url", url: raw.fileData.fileUri } });
  if (raw.functionCall) {
    // Gemini may leave calls without ids; the function's name then ties call and result together.
    parts.push({
      type: "tool_call",
      id: raw.functionCall.id ?? raw.functionCall.name,
      name: raw.functionCall.name,
      arguments: JSON.stringify(raw.functionCall.args ?? {}),
    });
  }
  if (raw.functionResponse) {
    const response = raw.functionResponse.response;
    parts.push({
      type: "tool_result",
      toolCallId: raw.functionResponse.id ?? raw.functionResponse.name,
      content: typeof response === "string" ? response : JSON.stringify(response ?? {}),
    });
  }
  return parts;
}

function toolChoiceOf(config: GeminiGenerateBody["toolConfig"]): ToolChoice | undefined {
  const calling = config?.functionCallingConfig;
  if (!calling?.mode) return undefined;
  if (calling.mode === "NONE") return "none";
  if (calling.mode === "ANY")
    return calling.allowedFunctionNames?.length === 1 ? { name: calling.allowedFunctionNames[0] ?? "" } : "required";
  return "auto";
}

export function geminiToCanonical(body: GeminiGenerateBody, model: string, stream: boolean): CanonicalRequest {
  const messages: CanonicalMessage[] = body.contents.map((c) => ({
    role: c.role === "model" ? "assistant" : "user",
    parts: c.parts.flatMap(partsOf),
  }));
  const system =
    typeof body.systemInstruction === "string"
      ? body.systemInstruction
      : body.systemInstruction?.parts.map((p) => p.text ?? "").join("\n");
  const config = body.generationConfig;
  const schema = config?.responseJsonSchema ?? config?.responseSchema;
  return {
    model,
    system,
    messages,
    tools: body.tools
      ?.flatMap((t) => t.functionDeclarations ?? [])
      .map((f) => ({
        name: f.name,
        description: f.description,
        parameters: f.parametersJsonSchema ?? f.parameters ?? { type: "object" },
      })),
    toolChoice: toolChoiceOf(body.toolConfig),
    maxTokens: config?.maxOutputTokens ?? undefined,
    temperature: config?.temperature ?? undefined,
    topP: config?.topP ?? undefined,
    stop: config?.stopSequences,
    responseFormat: schema
      ? { type: "json_schema", name: "response", schema }
      : config?.responseMimeType === "application/json"
        ? { type: "json" }
        : undefined,
    stream,
  };
}
