// Bedrock's Converse requests as clients (the AWS SDK's ConverseCommand)
// send them: the model is in the path, the body holds messages of content
// blocks, a system prompt, `inferenceConfig` and `toolConfig`. What Sluice
// reads is typed; everything else is kept for Bedrock itself.
import * as z from "zod";
import type { CanonicalMessage, CanonicalPart, CanonicalRequest, ToolChoice } from "../canonical.ts";
import { jsonSchema, positiveInt, sampling } from "../fields.ts";

const text = z.string({ message: "must be a string" });
const nestedBlock = z.looseObject({ text: text.optional(), json: z.unknown().optional() });

/** A content block: one member set (`text`, `image`, `toolUse`, `toolResult`, or one Sluice keeps for Bedrock). */
const block = z.looseObject({
  text: text.optional(),
  image: z
    .looseObject({
      format: z.string({ message: "must be png, jpeg, gif or webp" }),
      source: z.looseObject({ bytes: z.string({ message: "must be base64 text" }).optional() }),
    })
    .optional(),
  toolUse: z.looseObject({ toolUseId: text, name: text, input: z.unknown() }).optional(),
  toolResult: z
    .looseObject({
      toolUseId: text,
      content: z.array(nestedBlock, { message: "must be an array of content blocks" }),
      status: z.enum(["success", "error"], { message: "must be success or error" }).optional(),
    })
    .optional(),
});

export const converseSchema = z.looseObject({
  messages: z.array(
    z.looseObject({
      role: z.enum(["user", "assistant"], { message: "must be user or assistant" }),
      content: z.array(block, { message: "must be an array of content blocks" }),
    }),
    { message: "must be an array of messages" },
  ),
  system: z.array(z.looseObject({ text: text.optional() }), { message: "must be an array of system blocks" }).optional(),
  inferenceConfig: z
    .looseObject({
      maxTokens: positiveInt.optional(),
      temperature: sampling(0, 2),
      topP: sampling(0, 1),
      stopSequences: z.array(z.string(), { message: "must be an array of strings" }).optional(),
    })
    .optional(),
  toolConfig: z
    .looseObject({
      tools: z.array(
        z.looseObject({
          toolSpec: z
            .looseObject({
              name: text,
              description: text.optional(),
              inputSchema: z.looseObject({ json: jsonSchema.optional() }).optional(),
            })
            .optional(),
        }),
        { message: "must be an array of tools" },
      ),
      toolChoice: z
        .looseObject({
          auto: z.object({}).loose().optional(),
          any: z.object({}).loose().optional(),
          tool: z.looseObject({ name: text }).optional(),
        })
        .optional(),
    })
    .optional(),
});

export type ConverseBody = z.infer<typeof converseSchema>;
type Block = z.infer<typeof block>;

const IMAGE_TYPES: Record<string, string> = { png: "image/png", jpeg: "image/jpeg", gif: "image/gif", webp: "image/webp" };

/** A tool result's content as text: its text blocks, and its JSON blocks written out. */
const resultText = (content: z.infer<typeof nestedBlock>[]) =>
  content.map((b) => b.text ?? (b.json !== undefined ? JSON.stringify(b.json) : "")).join("");

function partOf(b: Block): CanonicalPart | undefined {
  if (b.text !== undefined) return { type: "text", text: b.text };
  if (b.image) {
    return {
      type: "image",
      source: {
        kind: "base64",
        mediaType: IMAGE_TYPES[b.image.format] ?? `image/${b.image.format}`,
        data: b.image.source.bytes ?? "",
      },
    };
  }
  if (b.toolUse) {
    return { type: "tool_call", id: b.toolUse.toolUseId, name: b.toolUse.name, arguments: JSON.stringify(b.toolUse.input ?? {}) };
  }
  if (b.toolResult) {
    return {
      type: "tool_result",
      toolCallId: b.toolResult.toolUseId,
      content: resultText(b.toolResult.content),
      isError: b.toolResult.status === "error",
    };
  }
  // Documents, cache points, guard content and reasoning have no counterpart elsewhere; they are not sent on.
  return undefined;
}

function toolChoiceOf(choice: NonNullable<ConverseBody["toolConfig"]>["toolChoice"]): ToolChoice | undefined {
  if (!choice) return undefined;
  if (choice.tool) return { name: choice.tool.name };
  if (choice.any) return "required";
  return "auto";
}

export function converseToCanonical(body: ConverseBody, model: string, stream: boolean): CanonicalRequest {
  const system = (body.system ?? []).flatMap((b) => (b.text === undefined ? [] : [b.text]));
  const messages: CanonicalMessage[] = body.messages.map((m) => ({
    role: m.role,
    parts: m.content.map(partOf).filter((p): p is CanonicalPart => p !== undefined),
  }));
  const tools = body.toolConfig?.tools.flatMap((t) =>
    t.toolSpec
      ? [
          {
            name: t.toolSpec.name,
            description: t.toolSpec.description,
            parameters: t.toolSpec.inputSchema?.json ?? { type: "object" },
          },
        ]
      : [],
  );
  const inference = body.inferenceConfig;
  return {
    model,
    system: system.length > 0 ? system.join("\n") : undefined,
    messages,
    tools: tools?.length ? tools : undefined,
    toolChoice: toolChoiceOf(body.toolConfig?.toolChoice),
    maxTokens: inference?.maxTokens,
    temperature: inference?.temperature ?? undefined,
    topP: inference?.topP ?? undefined,
    stop: inference?.stopSequences,
    stream,
  };
}
