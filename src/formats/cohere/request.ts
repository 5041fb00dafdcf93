// Cohere's v2 chat requests (`POST /v2/chat`): parsed (what Sluice reads is
// typed, everything else kept for Cohere-dialect providers), and decoded to
// the canonical form for the others.
import { badRequest } from "../../http/errors.ts";
import * as z from "../../zod.ts";
import type { CanonicalMessage, CanonicalPart, CanonicalRequest } from "../canonical.ts";
import { flag, jsonSchema, modelName, optionalText, positiveInt, providerName, sampling } from "../fields.ts";

const item = z.looseObject({
  type: z.string({ message: "must be a string" }),
  text: optionalText,
  image_url: z.optional(z.looseObject({ url: z.string({ message: "must be a string" }) })),
  document: z.optional(z.looseObject({ data: z.unknown() })),
});
const content = z.union([z.string(), z.array(item)], { message: "must be a string or an array of content items" });

const toolCall = z.looseObject({
  id: z.string({ message: "must be a string" }),
  type: z.optional(z.literal("function")),
  function: z.looseObject({ name: z.string({ message: "must be a string" }), arguments: optionalText }),
});

const message = z.discriminatedUnion(
  "role",
  [
    z.looseObject({ role: z.literal("system"), content }),
    z.looseObject({ role: z.literal("user"), content }),
    z.looseObject({
      role: z.literal("assistant"),
      content: z.optional(content),
      tool_plan: optionalText,
      tool_calls: z.optional(z.array(toolCall, { message: "must be an array of tool calls" })),
    }),
    z.looseObject({ role: z.literal("tool"), tool_call_id: z.string({ message: "must be a string" }), content }),
  ],
  { message: "must be a message with role system, user, assistant or tool" },
);

export const cohereChatSchema = z.looseObject({
  model: modelName,
  messages: z.array(message, { message: "must be an array of messages" }),
  tools: z.optional(
    z.array(
      z.looseObject({
        type: z.literal("function", { message: "must be function" }),
        function: z.looseObject({
          name: z.string({ message: "must be a string" }),
          description: optionalText,
          parameters: z.optional(jsonSchema),
        }),
      }),
      { message: "must be an array of tools" },
    ),
  ),
  tool_choice: z.optional(z.enum(["REQUIRED", "NONE"], { message: "must be REQUIRED or NONE" })),
  response_format: z.optional(
    z.looseObject({
      type: z.enum(["text", "json_object"], { message: "must be text or json_object" }),
      json_schema: z.optional(jsonSchema),
    }),
  ),
  max_tokens: z.optional(positiveInt),
  stop_sequences: z.optional(z.array(z.string(), { message: "must be an array of strings" })),
  temperature: sampling(0, 2),
  p: sampling(0, 1),
  k: z.optional(z.number({ message: "must be a number" }).check(z.int({ message: "must be a whole number" }), z.gte(0))),
  stream: flag,
  /** Sluice's own: the provider to send to. */
  provider: z.optional(providerName),
});

export type CohereChatBody = z.infer<typeof cohereChatSchema>;
type Content = z.infer<typeof content>;

const textOf = (value: Content | undefined): string =>
  typeof value === "string"
    ? value
    : (value ?? [])
        .map((part) =>
          part.type === "text"
            ? (part.text ?? "")
            : part.type === "document"
              ? typeof part.document?.data === "string"
                ? part.document.data
                : JSON.stringify(part.document?.data ?? "")
              : "",
        )
        .join("");

function imageOf(url: string): CanonicalPart {
  const data = /^data:([^;,]+);base64,(.*)$/s.exec(url);
  return data
    ? { type: "image", source: { kind: "base64", mediaType: data[1] ?? "image/png", data: data[2] ?? "" } }
    : { type: "image", source: { kind: "url", url } };
}

function userParts(value: Content): CanonicalPart[] {
  if (typeof value === "string") return [{ type: "text", text: value }];
  return value.flatMap((part): CanonicalPart[] => {
    if (part.type === "text") return [{ type: "text", text: part.text ?? "" }];
    if (part.type === "image_url" && part.image_url) return [imageOf(part.image_url.url)];
    throw badRequest(`Content of type \`${part.type}\` cannot be sent to this provider.`, "messages");
  });
}

export function cohereToCanonical(body: CohereChatBody): CanonicalRequest {
  const system: string[] = [];
  const messages: CanonicalMessage[] = [];
  /** Tool results join the user turn that follows the assistant's calls, as the canonical form keeps them. */
  const userTurn = (parts: CanonicalPart[]) => {
    const last = messages.at(-1);
    if (last?.role === "user") last.parts.push(...parts);
    else messages.push({ role: "user", parts });
  };
  for (const m of body.messages) {
    switch (m.role) {
      case "system":
        system.push(textOf(m.content));
        break;
      case "user":
        userTurn(userParts(m.content));
        break;
      case "tool":
        userTurn([{ type: "tool_result", toolCallId: m.tool_call_id, content: textOf(m.content) }]);
        break;
      case "assistant": {
        const text = textOf(m.content) || m.tool_plan || "";
        const parts: CanonicalPart[] = text ? [{ type: "text", text }] : [];
        for (const call of m.tool_calls ?? []) {
          parts.push({ type: "tool_call", id: call.id, name: call.function.name, arguments: call.function.arguments ?? "{}" });
        }
        messages.push({ role: "assistant", parts });
        break;
      }
    }
  }
  const format = body.response_format;
  return {
    model: body.model,
    system: system.length > 0 ? system.join("\n") : undefined,
    messages,
    tools: body.tools?.map((t) => ({
      name: t.function.name,
      description: t.function.description,
      parameters: t.function.parameters ?? { type: "object" },
    })),
    toolChoice: body.tool_choice === "REQUIRED" ? "required" : body.tool_choice === "NONE" ? "none" : undefined,
    maxTokens: body.max_tokens,
    temperature: body.temperature ?? undefined,
    topP: body.p ?? undefined,
    stop: body.stop_sequences,
    responseFormat:
      format?.type === "json_object"
        ? format.json_schema
          ? { type: "json_schema", name: "response", schema: format.json_schema }
          : { type: "json" }
        : undefined,
    stream: body.stream === true,
  };
}
