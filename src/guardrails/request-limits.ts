// Request shape limits: how much a caller may send in one request — its
// messages, the characters and estimated tokens of its prompt, the tools it
// offers (and which), the output it may ask for. A `request_limits` section
// of the caller's settings; each level may only tighten what a wider one
// allows; it also says which kinds of input (text, images, audio, files,
// video) a caller may send. A request past a limit is refused before
// anything is admitted, with a 400 in its own format that names the limit,
// and a ledger row.
import { GatewayError } from "../http/errors.ts";
import type { PolicySection } from "../policy/sections.ts";
import * as z from "../zod.ts";
import type { Verdict } from "./input.ts";
import { type FoundModality, findMedia, MODALITIES, type Modality } from "./modalities.ts";
import { offeredTools } from "./offered-tools.ts";
import { mapPromptTexts } from "./text-fields.ts";

const count = (max: number) => z.number({ message: "must be a whole number" }).check(z.int(), z.gte(0), z.lte(max));

const modalities = z
  .array(z.enum(MODALITIES, { message: `must be one of ${MODALITIES.join(", ")}` }), {
    message: `must be a list of input kinds (${MODALITIES.join(", ")})`,
  })
  .check(z.maxLength(MODALITIES.length));

const schema = z.strictObject({
  /** Messages (or Gemini `contents`, or Responses `input` items) in one request. */
  max_messages: z.optional(count(100_000)),
  /** Characters of the prompt's text (messages, system prompt, tool results). */
  max_input_chars: z.optional(count(100_000_000)),
  /** Input tokens, as the gateway estimates them before the call. */
  max_input_tokens: z.optional(count(100_000_000)),
  /** Tools (function declarations) offered to the model. */
  max_tools: z.optional(count(10_000)),
  /** The output a request may ask for; one that asks for none is held to it. */
  max_output_tokens: z.optional(count(10_000_000)),
  /** Tool names a request may not offer. */
  denied_tools: z.optional(
    z
      .array(z.string().check(z.minLength(1), z.maxLength(200)), { message: "must be a list of tool names" })
      .check(z.maxLength(500)),
  ),
  /** The only kinds of input a request may send; each level can only narrow the list. */
  input_modalities: z.optional(modalities),
  /** Kinds of input a request may not send; each level adds its own. */
  denied_modalities: z.optional(modalities),
});

export type RequestLimits = z.infer<typeof schema>;

const NUMERIC = ["max_messages", "max_input_chars", "max_input_tokens", "max_tools", "max_output_tokens"] as const;

/** Each limit the lower of the two levels'; denied tools and kinds of input accumulate, allowed kinds only narrow. */
export const requestLimitsSection: PolicySection<RequestLimits> = {
  schema,
  merge(wider, narrower) {
    const merged: RequestLimits = { ...wider, ...narrower };
    for (const name of NUMERIC) {
      const a = wider[name];
      const b = narrower[name];
      if (a !== undefined && b !== undefined) merged[name] = Math.min(a, b);
    }
    if (wider.denied_tools || narrower.denied_tools) {
      merged.denied_tools = [...new Set([...(wider.denied_tools ?? []), ...(narrower.denied_tools ?? [])])];
    }
    if (wider.input_modalities && narrower.input_modalities) {
      merged.input_modalities = wider.input_modalities.filter((kind) => narrower.input_modalities?.includes(kind));
    }
    if (wider.denied_modalities || narrower.denied_modalities) {
      merged.denied_modalities = [...new Set([...(wider.denied_modalities ?? []), ...(narrower.denied_modalities ?? [])])];
    }
    return merged;
  },
};

/** What the check reads of a request, beside its body. */
export interface ShapeFacts {
  /** The input tokens the gateway estimates; read only when a token limit applies. */
  inputTokens(): number;
  /** The output the request asks for, in tokens per answer; undefined when it sets none. */
  outputCap: number | undefined;
  /**
   * Input sent beside the body's prompt (an upload's file, a realtime
   * session's audio, a Gemini method's parts): the first of it the caller
   * may not send. Read before the prompt's own parts.
   */
  sentBeside?: (refused: (kind: Modality) => boolean) => FoundModality | undefined;
  /** Where a body without messages keeps its words (`prompt`, `input`): the field its text limits name. */
  textField?: string;
}

export interface ShapeRefusal {
  error: GatewayError;
  verdict: Verdict;
}

function messageCount(body: Record<string, unknown>): { count: number; field: string } | undefined {
  for (const field of ["messages", "contents", "input"]) {
    const value = body[field];
    if (Array.isArray(value) && (field !== "input" || value.some((item) => typeof item === "object"))) {
      return { count: value.length, field };
    }
  }
  return undefined;
}

function refusal(limit: string, message: string, param: string): ShapeRefusal {
  return {
    error: new GatewayError(400, "invalid_request", message, { code: "request_limit_exceeded", param }),
    verdict: { guardrail: "request_limits", phase: "input", verdict: "blocked", categories: [limit] },
  };
}

const KIND_WORDS: Readonly<Record<Modality, string>> = {
  text: "text",
  image: "image",
  audio: "audio",
  file: "file (document)",
  video: "video",
};

/** The field that holds a request's words: its messages (or contents, or input items), else the one its facts name. */
const textFieldOf = (body: Record<string, unknown>, facts: ShapeFacts) =>
  messageCount(body)?.field ?? facts.textField ?? "messages";

/** The first kind of input the request sends that the caller may not, as its refusal. */
function modalityRefusal(body: Record<string, unknown>, limits: RequestLimits, facts: ShapeFacts): ShapeRefusal | undefined {
  const allowed = limits.input_modalities;
  const refused = (kind: Modality) =>
    (allowed !== undefined && !allowed.includes(kind)) || !!limits.denied_modalities?.includes(kind);
  const limit = (kind: Modality) => (limits.denied_modalities?.includes(kind) ? "denied_modalities" : "input_modalities");
  const may = allowed?.length
    ? `this caller may send only ${allowed.map((kind) => KIND_WORDS[kind]).join(", ")}`
    : "this caller may not send it";
  const media = facts.sentBeside?.(refused) ?? findMedia(body, refused);
  if (media) {
    const why = limit(media.modality) === "denied_modalities" ? "this caller may not send it" : may;
    return refusal(
      limit(media.modality),
      `The request sends ${KIND_WORDS[media.modality]} input at \`${media.field}\`; ${why}.`,
      media.field,
    );
  }
  if (refused("text")) {
    let text = false;
    mapPromptTexts(body, (value) => {
      text ||= value.length > 0;
      return value;
    });
    if (text) {
      const why = limit("text") === "denied_modalities" ? "this caller may not send it" : may;
      return refusal(limit("text"), `The request sends text input; ${why}.`, textFieldOf(body, facts));
    }
  }
  return undefined;
}

/** The first limit a request goes past, as its refusal; undefined when it keeps to them all. */
export function checkRequestLimits(
  body: Record<string, unknown>,
  limits: RequestLimits,
  facts: ShapeFacts,
): ShapeRefusal | undefined {
  if (limits.max_messages !== undefined) {
    const messages = messageCount(body);
    if (messages && messages.count > limits.max_messages) {
      return refusal(
        "max_messages",
        `The request has ${messages.count} messages; this caller may send at most ${limits.max_messages}.`,
        messages.field,
      );
    }
  }
  if (limits.max_input_chars !== undefined) {
    let chars = 0;
    mapPromptTexts(body, (text) => {
      chars += text.length;
      return text;
    });
    if (chars > limits.max_input_chars) {
      return refusal(
        "max_input_chars",
        `The prompt has ${chars} characters; this caller may send at most ${limits.max_input_chars}.`,
        textFieldOf(body, facts),
      );
    }
  }
  if (limits.max_input_tokens !== undefined) {
    const tokens = facts.inputTokens();
    if (tokens > limits.max_input_tokens) {
      return refusal(
        "max_input_tokens",
        `The prompt is about ${tokens} tokens; this caller may send at most ${limits.max_input_tokens}.`,
        textFieldOf(body, facts),
      );
    }
  }
  if (limits.max_tools !== undefined || limits.denied_tools?.length) {
    const tools = offeredTools(body);
    if (limits.max_tools !== undefined && tools.length > limits.max_tools) {
      return refusal(
        "max_tools",
        `The request offers ${tools.length} tools; this caller may offer at most ${limits.max_tools}.`,
        tools[limits.max_tools]?.field ?? "tools",
      );
    }
    for (const tool of tools) {
      const denied = [tool.name, ...tool.aliases].find((name) => limits.denied_tools?.includes(name));
      if (denied !== undefined) {
        return refusal("denied_tools", `The tool \`${denied}\` may not be offered by this caller.`, tool.field);
      }
    }
  }
  if (limits.max_output_tokens !== undefined && facts.outputCap !== undefined && facts.outputCap > limits.max_output_tokens) {
    return refusal(
      "max_output_tokens",
      `The request asks for up to ${facts.outputCap} output tokens; this caller may ask for at most ${limits.max_output_tokens}.`,
      "max_tokens",
    );
  }
  if (limits.input_modalities || limits.denied_modalities?.length) return modalityRefusal(body, limits, facts);
  return undefined;
}
