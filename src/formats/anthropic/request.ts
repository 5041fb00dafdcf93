// Anthropic's Messages API requests, decoded to the canonical form.
import * as z from "zod";
import type { CanonicalMessage, CanonicalPart, CanonicalRequest, ToolChoice } from "../canonical.ts";

const block = z.looseObject({ type: z.string() });

export const anthropicMessagesSchema = z.looseObject({
  model: z.string({ message: "is required" }).min(1, { message: "is required" }),
  max_tokens: z.number({ message: "is required" }).int().positive(),
  messages: z.array(z.looseObject({ role: z.enum(["user", "assistant"]), content: z.union([z.string(), z.array(block)]) }), {
    message: "must be an array of messages",
  }),
  system: z.union([z.string(), z.array(block)]).optional(),
  tools: z
    .array(
      z.looseObject({
        name: z.string(),
        description: z.string().optional(),
        input_schema: z.record(z.string(), z.unknown()).optional(),
      }),
    )
    .optional(),
  tool_choice: z.looseObject({ type: z.string(), name: z.string().optional() }).optional(),
  stop_sequences: z.array(z.string()).optional(),
  temperature: z.number().optional(),
  top_p: z.number().optional(),
  stream: z.boolean().optional(),
});

export const anthropicCountTokensSchema = anthropicMessagesSchema.omit({ max_tokens: true });

export type AnthropicMessagesBody = z.infer<typeof anthropicMessagesSchema>;
type Block = z.infer<typeof block>;

const textOf = (content: unknown): string =>
  typeof content === "string"
    ? content
    : Array.isArray(content)
      ? content.map((b: { type?: string; text?: string }) => (b.type === "text" ? (b.text ?? "") : "")).join("")
      : "";

function partOf(raw: Block): CanonicalPart | undefined {
  const b = raw as Record<string, unknown>;
  switch (raw.type) {
    case "text":
      return { type: "text", text: String(b.text ?? "") };
    case "image": {
      const source = (b.source ?? {}) as { type?: string; url?: string; media_type?: string; data?: string };
      return source.type === "url"
        ? { type: "image", source: { kind: "url", url: source.url ?? "" } }
        : { type: "image", source: { kind: "base64", mediaType: source.media_type ?? "image/png", data: source.data ?? "" } };
    }
    case "tool_use":
      return { type: "tool_call", id: String(b.id ?? ""), name: String(b.name ?? ""), arguments: JSON.stringify(b.input ?? {}) };
    case "tool_result":
      return {
        type: "tool_result",
        toolCallId: String(b.tool_use_id ?? ""),
        content: textOf(b.content),
        isError: b.is_error === true,
      };
    default:
      // Thinking blocks and the like have no counterpart elsewhere; they are not sent on.
      return undefined;
  }
}

function toolChoiceOf(choice: AnthropicMessagesBody["tool_choice"]): ToolChoice | undefined {
  if (!choice) return undefined;
  if (choice.type === "any") return "required";
  if (choice.type === "none") return "none";
  if (choice.type === "tool" && choice.name) return { name: choice.name };
  return "auto";
}

export function anthropicToCanonical(body: AnthropicMessagesBody): CanonicalRequest {
  const messages: CanonicalMessage[] = body.messages.map((m) => ({
    role: m.role,
    parts:
      typeof m.content === "string"
        ? [{ type: "text", text: m.content }]
        : m.content.map(partOf).filter((p): p is CanonicalPart => p !== undefined),
  }));
  return {
    model: body.model,
    system: body.system === undefined ? undefined : textOf(body.system),
    messages,
    tools: body.tools?.map((t) => ({
      name: t.name,
      description: t.description,
      parameters: t.input_schema ?? { type: "object" },
    })),
    toolChoice: toolChoiceOf(body.tool_choice),
    maxTokens: body.max_tokens,
    temperature: body.temperature,
    topP: body.top_p,
    stop: body.stop_sequences,
    stream: body.stream === true,
  };
}
