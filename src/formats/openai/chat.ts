// OpenAI chat completions as a client format: the body parsed (every field
// Sluice reads has a type; the rest pass through untouched), forwarded as is
// to OpenAI-dialect providers, decoded to the canonical form for the others.
import type { QuickSchema } from "../../http/validate.ts";
import * as z from "../../zod.ts";
import type { CanonicalMessage, CanonicalPart, CanonicalRequest, ToolChoice } from "../canonical.ts";
import {
  flag,
  jsonSchema,
  modelName,
  optionalText,
  positiveInt,
  providerName,
  sampling,
  stopSequences,
  withoutProvider,
} from "../fields.ts";
import { type ClientFormat, unaskedUsage, usageShown } from "../types.ts";
import { canonicalToOpenAIResponse, OpenAIStreamEncoder } from "./chat-answer.ts";

const contentPart = z.looseObject({
  type: z.string({ message: "must be a string" }),
  text: z.optional(z.string()),
  image_url: z.optional(z.union([z.string(), z.looseObject({ url: z.string() })])),
});
const content = z.union([z.string(), z.array(contentPart), z.null()], {
  message: "must be a string or an array of content parts",
});

const toolCall = z.looseObject({
  id: z.optional(z.string()),
  type: z.optional(z.string()),
  function: z.looseObject({ name: z.string({ message: "must be a string" }), arguments: z.optional(z.string()) }),
});

const message = z.looseObject({
  role: z.string({ message: "must be a string" }),
  content: z.optional(content),
  name: optionalText,
  tool_calls: z.nullish(z.array(toolCall)),
  tool_call_id: optionalText,
});

const functionTool = z.looseObject({
  type: z.string({ message: "must be a string" }),
  function: z.optional(
    z.looseObject({
      name: z.string({ message: "must be a string" }),
      description: optionalText,
      parameters: z.optional(jsonSchema),
    }),
  ),
});

const toolChoice = z.union(
  [
    z.enum(["auto", "none", "required"]),
    z.looseObject({ type: z.string(), function: z.optional(z.looseObject({ name: z.string() })) }),
  ],
  { message: "must be auto, none, required or a named function" },
);

const responseFormat = z.looseObject({
  type: z.enum(["text", "json_object", "json_schema"], { message: "must be text, json_object or json_schema" }),
  json_schema: z.optional(z.looseObject({ name: optionalText, schema: z.optional(jsonSchema), strict: flag })),
});

export const openaiChatSchema = z.looseObject({
  model: modelName,
  messages: z.array(message, { message: "must be an array of messages" }).check(z.minLength(1, { message: "must not be empty" })),
  stream: flag,
  stream_options: z.nullish(z.looseObject({ include_usage: flag })),
  max_tokens: z.nullish(positiveInt),
  max_completion_tokens: z.nullish(positiveInt),
  n: z.nullish(positiveInt.check(z.lte(128, { message: "must be at most 128" }))),
  temperature: sampling(0, 2),
  top_p: sampling(0, 1),
  stop: stopSequences,
  tools: z.nullish(z.array(functionTool, { message: "must be an array of tools" })),
  tool_choice: z.nullish(toolChoice),
  response_format: z.nullish(responseFormat),
  reasoning_effort: z.nullish(z.string({ message: "must be a string" })),
  /** Sluice's own: the provider to send to. */
  provider: z.optional(providerName),
});

export type OpenAIChatBody = z.infer<typeof openaiChatSchema>;

/** A turn the message schema passes as it is: a role and text content, none of the fields it reads otherwise. */
const plainTurn = (m: unknown) => {
  if (typeof m !== "object" || m === null) return false;
  const turn = m as Record<string, unknown>;
  return (
    typeof turn.role === "string" &&
    typeof turn.content === "string" &&
    turn.name === undefined &&
    turn.tool_calls === undefined &&
    turn.tool_call_id === undefined
  );
};

/**
 * A body whose every message is a plain turn is checked without walking its
 * messages again (megabytes of conversation): they are what the full schema
 * would return, as they came.
 */
export const openaiChatQuick: QuickSchema<typeof openaiChatSchema> = {
  applies: (value) => {
    const messages = (value as { messages?: unknown } | null)?.messages;
    return Array.isArray(messages) && messages.every(plainTurn);
  },
  schema: z.extend(openaiChatSchema, {
    messages: z
      .array(z.unknown(), { message: "must be an array of messages" })
      .check(z.minLength(1, { message: "must not be empty" })),
  }) as z.ZodMiniType<OpenAIChatBody>,
};
type Message = z.infer<typeof message>;

function contentParts(value: Message["content"]): CanonicalPart[] {
  if (typeof value === "string") return [{ type: "text", text: value }];
  if (!value) return [];
  return value.flatMap((part): CanonicalPart[] => {
    if (part.type === "text") return [{ type: "text", text: part.text ?? "" }];
    if (part.type === "image_url") {
      const url = typeof part.image_url === "string" ? part.image_url : (part.image_url?.url ?? "");
      const data = /^data:([^;]+);base64,(.*)$/s.exec(url);
      return [
        {
          type: "image",
          source: data ? { kind: "base64", mediaType: data[1] ?? "image/png", data: data[2] ?? "" } : { kind: "url", url },
        },
      ];
    }
    return [];
  });
}

const textOf = (value: Message["content"]) =>
  contentParts(value)
    .map((p) => (p.type === "text" ? p.text : ""))
    .join("");

function toolChoiceOf(choice: OpenAIChatBody["tool_choice"]): ToolChoice | undefined {
  if (choice === "auto" || choice === "none" || choice === "required") return choice;
  return choice?.function?.name ? { name: choice.function.name } : undefined;
}

export function openaiChatToCanonical(body: OpenAIChatBody): CanonicalRequest {
  const system: string[] = [];
  const messages: CanonicalMessage[] = [];
  const push = (role: CanonicalMessage["role"], parts: CanonicalPart[]) => {
    const last = messages.at(-1);
    // Tool results sit in user turns, joined with what follows, as other dialects expect.
    if (last && last.role === role && role === "user") last.parts.push(...parts);
    else messages.push({ role, parts });
  };
  for (const m of body.messages) {
    if (m.role === "system" || m.role === "developer") system.push(textOf(m.content));
    else if (m.role === "tool") {
      push("user", [{ type: "tool_result", toolCallId: m.tool_call_id ?? "", content: textOf(m.content) }]);
    } else if (m.role === "assistant") {
      const calls: CanonicalPart[] = (m.tool_calls ?? []).map((c) => ({
        type: "tool_call",
        id: c.id ?? "",
        name: c.function.name,
        arguments: c.function.arguments ?? "{}",
      }));
      push("assistant", [...contentParts(m.content), ...calls]);
    } else push("user", contentParts(m.content));
  }
  const format = body.response_format;
  const stop = body.stop;
  return {
    model: body.model,
    system: system.length > 0 ? system.join("\n") : undefined,
    messages,
    tools: body.tools?.flatMap((t) =>
      t.function
        ? [
            {
              name: t.function.name,
              description: t.function.description,
              parameters: t.function.parameters ?? { type: "object" },
            },
          ]
        : [],
    ),
    toolChoice: toolChoiceOf(body.tool_choice),
    maxTokens: body.max_completion_tokens ?? body.max_tokens ?? undefined,
    temperature: body.temperature ?? undefined,
    topP: body.top_p ?? undefined,
    stop: typeof stop === "string" ? [stop] : (stop ?? undefined),
    responseFormat:
      format?.type === "json_object"
        ? { type: "json" }
        : format?.type === "json_schema"
          ? { type: "json_schema", name: format.json_schema?.name ?? "response", schema: format.json_schema?.schema ?? {} }
          : undefined,
    reasoningEffort: body.reasoning_effort && body.reasoning_effort !== "none" ? body.reasoning_effort : undefined,
    stream: body.stream === true,
  };
}

export const openaiChat: ClientFormat<OpenAIChatBody> = {
  name: "openai-chat",
  dialect: "openai-chat",
  errors: "openai",
  schema: openaiChatSchema,
  facts: (body) => ({ model: body.model, stream: body.stream === true, provider: body.provider }),
  forwarded: withoutProvider,
  prompt: (body) => [body.messages, body.tools ?? ""],
  output: {
    of: (body) => body.max_completion_tokens ?? body.max_tokens ?? undefined,
    choices: (body) => body.n ?? 1,
    // OpenAI's own models take `max_completion_tokens` (its reasoning models refuse `max_tokens`); other servers `max_tokens`.
    set: (forwarded, cap, provider) => ({ ...forwarded, [provider === "openai" ? "max_completion_tokens" : "max_tokens"]: cap }),
  },
  toCanonical: openaiChatToCanonical,
  translated: new Set([
    "model",
    "messages",
    "stream",
    "stream_options",
    "max_tokens",
    "max_completion_tokens",
    "temperature",
    "top_p",
    "stop",
    "tools",
    "tool_choice",
    "response_format",
    "reasoning_effort",
    "provider",
  ]),
  encoder: (body, usage) => ({
    response: canonicalToOpenAIResponse,
    stream: (model) => new OpenAIStreamEncoder(model, usageShown(body.stream_options?.include_usage, usage)),
  }),
  // Sluice asks every stream for its usage; a client that did not (with STREAM_USAGE=asked) gets no usage-only chunk.
  hidden: (body, usage) => unaskedUsage(body.stream_options?.include_usage, usage),
};
