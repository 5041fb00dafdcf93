// Bedrock's Converse requests as clients (the AWS SDK's ConverseCommand)
// send them: the model is in the path, the body holds messages of content
// blocks, a system prompt, `inferenceConfig` and `toolConfig`. What Sluice
// reads is typed; everything else is kept for Bedrock itself.
import * as z from "../../zod.ts";
import type { CanonicalMessage, CanonicalPart, CanonicalRequest, ToolChoice } from "../canonical.ts";
import { jsonSchema, positiveInt, sampling } from "../fields.ts";

const text = z.string({ message: "must be a string" });
const nestedBlock = z.looseObject({ text: z.optional(text), json: z.optional(z.unknown()) });

/** A content block: one member set (`text`, `image`, `toolUse`, `toolResult`, or one Sluice keeps for Bedrock). */
const block = z.looseObject({
  text: z.optional(text),
  image: z.optional(
    z.looseObject({
      format: z.string({ message: "must be png, jpeg, gif or webp" }),
      source: z.looseObject({ bytes: z.optional(z.string({ message: "must be base64 text" })) }),
    }),
  ),
  toolUse: z.optional(z.looseObject({ toolUseId: text, name: text, input: z.unknown() })),
  toolResult: z.optional(
    z.looseObject({
      toolUseId: text,
      content: z.array(nestedBlock, { message: "must be an array of content blocks" }),
      status: z.optional(z.enum(["success", "error"], { message: "must be success or error" })),
    }),
  ),
});

export const converseSchema = z.looseObject({
  messages: z.array(
    z.looseObject({
      role: z.enum(["user", "assistant"], { message: "must be user or assistant" }),
      content: z.array(block, { message: "must be an array of content blocks" }),
    }),
    { message: "must be an array of messages" },
  ),
  system: z.optional(z.array(z.looseObject({ text: z.optional(text) }), { message: "must be an array of system blocks" })),
  inferenceConfig: z.optional(
    z.looseObject({
      maxTokens: z.optional(positiveInt),
      temperature: sampling(0, 2),
      topP: sampling(0, 1),
      stopSequences: z.optional(z.array(z.string(), { message: "must be an array of strings" })),
    }),
  ),
  toolConfig: z.optional(
    z.looseObject({
      tools: z.array(
        z.looseObject({
          toolSpec: z.optional(
            z.looseObject({
              name: text,
              description: z.optional(text),
              inputSchema: z.optional(z.looseObject({ json: z.optional(jsonSchema) })),
            }),
          ),
        }),
        { message: "must be an array of tools" },
      ),
      toolChoice: z.optional(
        z.looseObject({
          auto: z.optional(z.looseObject({})),
          any: z.optional(z.looseObject({})),
          tool: z.optional(z.looseObject({ name: text })),
        }),
      ),
    }),
  ),
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
