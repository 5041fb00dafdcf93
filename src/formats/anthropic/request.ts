// Anthropic's Messages API requests: parsed (what Sluice reads is typed,
// everything else is kept for Anthropic-dialect providers), and decoded to
// the canonical form for the others.
import * as z from "../../zod.ts";
import type { CanonicalMessage, CanonicalPart, CanonicalRequest, ToolChoice } from "../canonical.ts";
import { flag, jsonSchema, modelName, optionalText, positiveInt, providerName, sampling } from "../fields.ts";

const KNOWN_BLOCKS = new Set(["text", "image", "tool_use", "tool_result"]);
const nestedBlock = z.looseObject({ type: z.string(), text: z.optional(z.string()) });
/** The blocks Sluice translates are checked; others (thinking, documents…) are kept for Anthropic-dialect providers. */
const block = z.union(
  [
    z.looseObject({ type: z.literal("text"), text: z.string({ message: "must be a string" }) }),
    z.looseObject({
      type: z.literal("image"),
      source: z.looseObject({ type: z.string(), media_type: optionalText, data: optionalText, url: optionalText }),
    }),
    z.looseObject({ type: z.literal("tool_use"), id: z.string(), name: z.string(), input: z.unknown() }),
    z.looseObject({
      type: z.literal("tool_result"),
      tool_use_id: z.string(),
      content: z.optional(z.union([z.string(), z.array(nestedBlock)])),
      is_error: z.optional(z.boolean()),
    }),
    z.looseObject({ type: z.string().check(z.refine((type) => !KNOWN_BLOCKS.has(type))) }),
  ],
  { message: "must be a content block with a known shape" },
);
const content = z.union([z.string(), z.array(block)], { message: "must be a string or an array of content blocks" });

export const anthropicMessagesSchema = z.looseObject({
  model: modelName,
  max_tokens: positiveInt,
  messages: z.array(
    // Claude Code and others also put `system` turns among the messages: they join the system prompt.
    z.looseObject({
      role: z.enum(["user", "assistant", "system", "developer"], { message: "must be user, assistant or system" }),
      content,
    }),
    { message: "must be an array of messages" },
  ),
  system: z.optional(content),
  tools: z.optional(
    z.array(
      z.looseObject({
        name: z.string({ message: "must be a string" }),
        description: optionalText,
        input_schema: z.optional(jsonSchema),
      }),
      {
        message: "must be an array of tools",
      },
    ),
  ),
  tool_choice: z.optional(
    z.looseObject({
      type: z.enum(["auto", "any", "tool", "none"], { message: "must be auto, any, tool or none" }),
      name: optionalText,
    }),
  ),
  stop_sequences: z.optional(z.array(z.string(), { message: "must be an array of strings" })),
  temperature: sampling(0, 1),
  top_p: sampling(0, 1),
  top_k: z.nullish(positiveInt),
  stream: flag,
  /** Sluice's own: the provider to send to. */
  provider: z.optional(providerName),
});

export const anthropicCountTokensSchema = z.omit(anthropicMessagesSchema, { max_tokens: true });

export type AnthropicMessagesBody = z.infer<typeof anthropicMessagesSchema>;
type Block = z.infer<typeof block>;

type Nested = z.infer<typeof nestedBlock>;

const textOf = (value: string | readonly Nested[] | undefined): string =>
  typeof value === "string" ? value : (value ?? []).map((b) => (b.type === "text" ? (b.text ?? "") : "")).join("");

function partOf(b: Block): CanonicalPart | undefined {
  switch (b.type) {
    case "text":
      return "text" in b && typeof b.text === "string" ? { type: "text", text: b.text } : undefined;
    case "image": {
      if (!("source" in b)) return undefined;
      const source = b.source as { type: string; media_type?: string; data?: string; url?: string };
      if (source.type === "url") return { type: "image", source: { kind: "url", url: source.url ?? "" } };
      // An uploaded file's id means nothing to another provider.
      if (source.type !== "base64") return undefined;
      return { type: "image", source: { kind: "base64", mediaType: source.media_type ?? "image/png", data: source.data ?? "" } };
    }
    case "tool_use":
      return "id" in b && "name" in b
        ? { type: "tool_call", id: String(b.id), name: String(b.name), arguments: JSON.stringify(b.input ?? {}) }
        : undefined;
    case "tool_result":
      return "tool_use_id" in b
        ? {
            type: "tool_result",
            toolCallId: String(b.tool_use_id),
            content: textOf(b.content as string | Nested[] | undefined),
            isError: b.is_error === true,
          }
        : undefined;
    default:
      // Documents, thinking blocks and the like have no counterpart elsewhere; they are not sent on, and are named.
      return undefined;
  }
}

/** A block `partOf` leaves out, as `x-sluice-dropped` names it (`document`, `thinking`, `image` from a file id). */
const droppedBlock = (b: Block): string =>
  b.type === "image" ? `${b.type} (${String((b as { source?: { type?: unknown } }).source?.type)} source)` : b.type;

function toolChoiceOf(choice: AnthropicMessagesBody["tool_choice"]): ToolChoice | undefined {
  if (!choice) return undefined;
  if (choice.type === "any") return "required";
  if (choice.type === "none") return "none";
  if (choice.type === "tool" && choice.name) return { name: choice.name };
  return "auto";
}

export function anthropicToCanonical(body: AnthropicMessagesBody): CanonicalRequest {
  const system = body.system === undefined ? [] : [textOf(body.system)];
  const messages: CanonicalMessage[] = [];
  const dropped = new Set<string>();
  for (const m of body.messages) {
    if (m.role === "system" || m.role === "developer") {
      system.push(textOf(m.content));
      continue;
    }
    if (typeof m.content === "string") {
      messages.push({ role: m.role, parts: [{ type: "text", text: m.content }] });
      continue;
    }
    const parts: CanonicalPart[] = [];
    for (const b of m.content) {
      const part = partOf(b);
      if (part) parts.push(part);
      else dropped.add(droppedBlock(b));
    }
    messages.push({ role: m.role, parts });
  }
  return {
    model: body.model,
    system: system.length > 0 ? system.join("\n") : undefined,
    messages,
    tools: body.tools?.map((t) => ({
      name: t.name,
      description: t.description,
      parameters: t.input_schema ?? { type: "object" },
    })),
    toolChoice: toolChoiceOf(body.tool_choice),
    maxTokens: body.max_tokens,
    temperature: body.temperature ?? undefined,
    topP: body.top_p ?? undefined,
    stop: body.stop_sequences,
    stream: body.stream === true,
    ...(dropped.size > 0 && { dropped: [...dropped].map((kind) => `messages[].content[].${kind}`) }),
  };
}
