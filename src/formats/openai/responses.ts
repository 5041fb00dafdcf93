// OpenAI's Responses API as a client format: forwarded as sent to providers
// that serve `/responses`, read into the canonical form for the others.
// Reading to translate refuses by name what translation cannot carry (a
// stored conversation, a file, a built-in tool the request insists on). A
// built-in tool merely offered, as coding agents offer web search with every
// request, is left out and named.
import { badRequest, GatewayError } from "../../http/errors.ts";
import * as z from "../../zod.ts";
import type { CanonicalMessage, CanonicalPart, CanonicalRequest, CanonicalTool, ToolChoice } from "../canonical.ts";
import { flag, jsonSchema, modelName, optionalText, positiveInt, providerName, sampling, withoutProvider } from "../fields.ts";
import type { ClientFormat, ForwardTarget } from "../types.ts";
import { canonicalToResponse, qualifiedName, ResponsesStreamEncoder } from "./responses-answer.ts";

const part = z.looseObject({
  type: z.string({ message: "must be a string" }),
  text: optionalText,
  image_url: z.nullish(z.string({ message: "must be a string" })),
  file_id: z.nullish(z.string()),
});
const content = z.union([z.string(), z.array(part)], { message: "must be a string or an array of content parts" });

/** Every input item; what each type requires is checked below, field by field. */
const item = z
  .looseObject({
    type: optionalText,
    role: optionalText,
    content: z.optional(content),
    call_id: optionalText,
    name: optionalText,
    arguments: optionalText,
    input: optionalText,
    output: z.optional(content),
  })
  .check(
    z.superRefine((value, ctx) => {
      const need = (field: string) => {
        if ((value as Record<string, unknown>)[field] === undefined)
          ctx.addIssue({ code: "custom", path: [field], message: "is required" });
      };
      const type = value.type ?? "message";
      if (type === "message") ["role", "content"].forEach(need);
      if (type === "function_call") ["call_id", "name", "arguments"].forEach(need);
      if (type === "custom_tool_call") ["call_id", "name", "input"].forEach(need);
      if (type === "function_call_output" || type === "custom_tool_call_output") ["call_id", "output"].forEach(need);
    }),
  );

const tool = z
  .looseObject({ type: z.string({ message: "must be a string" }), name: optionalText, description: optionalText })
  .check(
    z.superRefine((value, ctx) => {
      if ((value.type === "function" || value.type === "custom" || value.type === "namespace") && value.name === undefined)
        ctx.addIssue({ code: "custom", path: ["name"], message: "is required" });
    }),
  );

export const openaiResponsesSchema = z.looseObject({
  model: modelName,
  input: z.union([z.string(), z.array(item)], {
    error: (issue) => (issue.input === undefined ? "is required" : "must be a string or an array of input items"),
  }),
  instructions: z.nullish(z.string({ message: "must be a string" })),
  stream: flag,
  store: flag,
  previous_response_id: z.nullish(z.string({ message: "must be a string" })),
  max_output_tokens: z.nullish(positiveInt),
  temperature: sampling(0, 2),
  top_p: sampling(0, 1),
  tools: z.nullish(z.array(tool, { message: "must be an array of tools" })),
  tool_choice: z.nullish(
    z.union([z.enum(["auto", "none", "required"]), z.looseObject({ type: z.string(), name: optionalText })], {
      message: "must be auto, none, required or a named tool",
    }),
  ),
  text: z.nullish(
    z.looseObject({
      format: z.optional(
        z.looseObject({
          type: z.enum(["text", "json_object", "json_schema"], { message: "must be text, json_object or json_schema" }),
          name: optionalText,
          schema: z.optional(jsonSchema),
        }),
      ),
    }),
  ),
  reasoning: z.nullish(z.looseObject({ effort: z.nullish(z.string({ message: "must be a string" })) })),
  background: flag,
  /** Sluice's own: the provider to send to. */
  provider: z.optional(providerName),
});

export type OpenAIResponsesBody = z.infer<typeof openaiResponsesSchema>;
type Item = z.infer<typeof item>;
type Content = z.infer<typeof content>;

/** Custom tools (free-form input, as Codex's `apply_patch`) become function tools taking one string. */
export const CUSTOM_TOOL_PARAMETERS = {
  type: "object",
  properties: { input: { type: "string", description: "The tool's input, as free-form text." } },
  required: ["input"],
};

interface Reading {
  /** The provider it is read for, named in refusals. */
  provider: string;
}

function partsOf(value: Content | undefined, param: string, reading: Reading): CanonicalPart[] {
  if (value === undefined) return [];
  if (typeof value === "string") return [{ type: "text", text: value }];
  return value.flatMap((p, i): CanonicalPart[] => {
    if (p.type === "input_text" || p.type === "output_text" || p.type === "text") return [{ type: "text", text: p.text ?? "" }];
    if (p.type === "refusal") return [{ type: "text", text: String((p as { refusal?: unknown }).refusal ?? "") }];
    if (p.type === "input_image" && p.image_url) {
      const data = /^data:([^;]+);base64,(.*)$/s.exec(p.image_url);
      return [
        {
          type: "image",
          source: data
            ? { kind: "base64", mediaType: data[1] ?? "image/png", data: data[2] ?? "" }
            : { kind: "url", url: p.image_url },
        },
      ];
    }
    throw badRequest(
      `Content of type \`${p.type}\`${p.file_id ? " by file id" : ""} is kept at OpenAI and cannot be sent to \`${reading.provider}\`; send text, or an image by URL or data URL.`,
      `${param}[${i}]`,
      "unsupported_content",
    );
  });
}

const textOf = (parts: CanonicalPart[]) => parts.map((p) => (p.type === "text" ? p.text : "")).join("");

interface ToolLike {
  type?: string;
  name?: string;
  description?: string;
  parameters?: Record<string, unknown> | null;
  tools?: ToolLike[];
}

/** A function or custom tool as other providers take it; undefined for anything else. */
function toolOf(tool: ToolLike, name: string): CanonicalTool | undefined {
  if (tool.type === "function") return { name, description: tool.description, parameters: tool.parameters ?? { type: "object" } };
  if (tool.type === "custom") return { name, description: tool.description, parameters: CUSTOM_TOOL_PARAMETERS };
  return undefined;
}

/** Function and custom tools, those of namespaces under flat names; built-in tools (OpenAI runs them) left out and named. */
function toolsOf(body: OpenAIResponsesBody, dropped: string[]): CanonicalTool[] | undefined {
  if (!body.tools) return undefined;
  return body.tools.flatMap((t: ToolLike): CanonicalTool[] => {
    if (t.type === "namespace") {
      return (t.tools ?? []).flatMap((inner) => {
        const tool = inner.name ? toolOf(inner, qualifiedName(t.name ?? "", inner.name)) : undefined;
        return tool ? [tool] : [];
      });
    }
    const tool = toolOf(t, t.name ?? "");
    if (!tool) dropped.push(`tools:${t.type}`);
    return tool ? [tool] : [];
  });
}

function toolChoiceOf(choice: OpenAIResponsesBody["tool_choice"], reading: Reading): ToolChoice | undefined {
  if (choice === "auto" || choice === "none" || choice === "required") return choice;
  if (!choice) return undefined;
  const { type, name } = choice;
  const namespace = (choice as { namespace?: unknown }).namespace;
  if ((type === "function" || type === "custom") && name)
    return { name: typeof namespace === "string" ? qualifiedName(namespace, name) : name };
  if (type === "allowed_tools") return (choice as { mode?: unknown }).mode === "required" ? "required" : "auto";
  throw badRequest(
    `\`tool_choice\` requires the built-in tool \`${type}\`, which runs only at OpenAI; \`${reading.provider}\` cannot run it. Send the request to an OpenAI model.`,
    "tool_choice",
    "unsupported_tool",
  );
}

/** A call's name as the target knows it: a namespace's tool by its flat name. */
const callName = (entry: Item) => {
  const namespace = (entry as { namespace?: unknown }).namespace;
  return typeof namespace === "string" && entry.name ? qualifiedName(namespace, entry.name) : (entry.name ?? "");
};

function responseFormatOf(body: OpenAIResponsesBody): CanonicalRequest["responseFormat"] {
  const format = body.text?.format;
  if (format?.type === "json_object") return { type: "json" };
  if (format?.type === "json_schema")
    return { type: "json_schema", name: format.name ?? "response", schema: format.schema ?? {} };
  return undefined;
}

function read(body: OpenAIResponsesBody, reading: Reading): CanonicalRequest {
  if (body.previous_response_id) {
    throw badRequest(
      `\`previous_response_id\` needs a conversation stored at OpenAI, and \`${reading.provider}\` keeps none. Send the whole conversation in \`input\`, with \`store: false\`.`,
      "previous_response_id",
      "previous_response_id_unsupported",
    );
  }
  if (body.store === true) {
    throw badRequest(
      `Responses sent to \`${reading.provider}\` are not stored. Send \`store: false\`, or leave it out.`,
      "store",
      "store_unsupported",
    );
  }
  const system: string[] = body.instructions ? [body.instructions] : [];
  const messages: CanonicalMessage[] = [];
  const push = (role: CanonicalMessage["role"], parts: CanonicalPart[]) => {
    const last = messages.at(-1);
    // An assistant's text and its calls are one turn; tool results join the user turn that follows.
    if (last && last.role === role) last.parts.push(...parts);
    else messages.push({ role, parts });
  };
  const items: Item[] = typeof body.input === "string" ? [{ role: "user", content: body.input }] : body.input;
  items.forEach((entry, i) => {
    const type = entry.type ?? "message";
    const param = `input[${i}]`;
    if (type === "message") {
      const parts = partsOf(entry.content, `${param}.content`, reading);
      if (entry.role === "system" || entry.role === "developer") system.push(textOf(parts));
      else push(entry.role === "assistant" ? "assistant" : "user", parts);
    } else if (type === "function_call") {
      push("assistant", [
        { type: "tool_call", id: entry.call_id ?? "", name: callName(entry), arguments: entry.arguments ?? "{}" },
      ]);
    } else if (type === "custom_tool_call") {
      const args = JSON.stringify({ input: entry.input ?? "" });
      push("assistant", [{ type: "tool_call", id: entry.call_id ?? "", name: callName(entry), arguments: args }]);
    } else if (type === "function_call_output" || type === "custom_tool_call_output") {
      const output = textOf(partsOf(entry.output, `${param}.output`, reading));
      push("user", [{ type: "tool_result", toolCallId: entry.call_id ?? "", content: output }]);
    } else if (type !== "reasoning") {
      // Reasoning items are the provider's own memory of its thinking: another provider has no use for them.
      throw badRequest(
        `Input items of type \`${type}\` cannot be sent to \`${reading.provider}\`; send messages, function calls and their outputs.`,
        `${param}.type`,
        "unsupported_input_item",
      );
    }
  });
  const effort = body.reasoning?.effort;
  const dropped: string[] = [];
  return {
    model: body.model,
    system: system.length > 0 ? system.join("\n") : undefined,
    messages,
    tools: toolsOf(body, dropped),
    toolChoice: toolChoiceOf(body.tool_choice, reading),
    maxTokens: body.max_output_tokens ?? undefined,
    temperature: body.temperature ?? undefined,
    topP: body.top_p ?? undefined,
    responseFormat: responseFormatOf(body),
    reasoningEffort: effort && effort !== "none" ? effort : undefined,
    stream: body.stream === true,
    dropped,
  };
}

/** A paid built-in tool by the name its fee goes by: `web_search_2025_08_26` is `web_search`; undefined for others. */
function paidTool(type: string): string | undefined {
  if (type.startsWith("web_search_preview")) return "web_search_preview";
  if (type.startsWith("web_search")) return "web_search";
  return ["file_search", "code_interpreter", "image_generation"].includes(type) ? type : undefined;
}

/**
 * What may go to OpenAI as sent is what the gateway can meter: never a
 * background response (its answer is fetched later, past the gateway), and
 * a paid built-in tool with no known fee only for a caller whose spending is
 * not limited in dollars (the call is then recorded with the tool unpriced).
 */
function assertForwardable(body: OpenAIResponsesBody, target: ForwardTarget): void {
  if (body.background === true) {
    throw badRequest(
      "Background responses are not supported: their answer is fetched later, past the gateway, which could not meter it. Leave `background` out, and stream the response if it is long.",
      "background",
      "background_unsupported",
    );
  }
  if (!target.spendsDollars) return;
  for (const [i, tool] of (body.tools ?? []).entries()) {
    const name = paidTool(tool.type);
    if (name && target.toolFees?.[name] === undefined) {
      throw new GatewayError(
        403,
        "permission",
        `The built-in tool \`${tool.type}\` has no known price on \`${target.provider}\`, and this caller's spending is limited in dollars. Leave it out of \`tools\`.`,
        { code: "tool_unpriced", param: `tools[${i}]` },
      );
    }
  }
}

/** The canonical request, for a provider of another dialect; what it cannot carry is refused by name. */
export const responsesToCanonical = (body: OpenAIResponsesBody, provider: string) => read(body, { provider });

export const openaiResponses: ClientFormat<OpenAIResponsesBody> = {
  name: "openai-responses",
  dialect: "openai-responses",
  errors: "openai-responses",
  schema: openaiResponsesSchema,
  facts: (body) => ({ model: body.model, stream: body.stream === true, provider: body.provider }),
  forwarded: withoutProvider,
  forwardable: assertForwardable,
  prompt: (body) => [body.instructions ?? "", body.input, body.tools ?? ""],
  output: {
    of: (body) => body.max_output_tokens ?? undefined,
    set: (forwarded, cap) => ({ ...forwarded, max_output_tokens: cap }),
  },
  toCanonical: (body, _facts, target) => responsesToCanonical(body, target.provider),
  translated: new Set([
    "model",
    "input",
    "instructions",
    "stream",
    "store",
    "previous_response_id",
    "max_output_tokens",
    "temperature",
    "top_p",
    "tools",
    "tool_choice",
    "text",
    "reasoning",
    "provider",
  ]),
  encoder: (body) => ({
    response: (answer, model) => canonicalToResponse(answer, model, body),
    stream: (model) => new ResponsesStreamEncoder(model, body),
  }),
};
