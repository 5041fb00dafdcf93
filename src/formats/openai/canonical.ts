// OpenAI chat completions as a client format for providers of other dialects:
// requests decoded to the canonical form, answers and chunks encoded back.
import type { TokenCounts } from "../../usage/prices.ts";
import {
  answerText,
  type CanonicalEvent,
  type CanonicalMessage,
  type CanonicalPart,
  type CanonicalRequest,
  type CanonicalResponse,
  type FinishReason,
  type ToolChoice,
} from "../canonical.ts";

type Message = {
  role?: string;
  content?: unknown;
  tool_calls?: { id?: string; function?: { name?: string; arguments?: string } }[];
  tool_call_id?: string;
};

function contentParts(content: unknown): CanonicalPart[] {
  if (typeof content === "string") return [{ type: "text", text: content }];
  if (!Array.isArray(content)) return [];
  return content.flatMap((raw: { type?: string; text?: string; image_url?: { url?: string } | string }): CanonicalPart[] => {
    if (raw.type === "text") return [{ type: "text", text: raw.text ?? "" }];
    if (raw.type === "image_url") {
      const url = typeof raw.image_url === "string" ? raw.image_url : (raw.image_url?.url ?? "");
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

const textOf = (content: unknown) =>
  contentParts(content)
    .map((p) => (p.type === "text" ? p.text : ""))
    .join("");

function toolChoiceOf(choice: unknown): ToolChoice | undefined {
  if (choice === "auto" || choice === "none" || choice === "required") return choice;
  const named = (choice as { function?: { name?: string } } | undefined)?.function?.name;
  return named ? { name: named } : undefined;
}

export function openaiRequestToCanonical(body: Record<string, unknown> & { model: string }): CanonicalRequest {
  const system: string[] = [];
  const messages: CanonicalMessage[] = [];
  const push = (role: CanonicalMessage["role"], parts: CanonicalPart[]) => {
    const last = messages.at(-1);
    // Tool results sit in user turns, joined with what follows, as other dialects expect.
    if (last && last.role === role && role === "user") last.parts.push(...parts);
    else messages.push({ role, parts });
  };
  for (const message of (body.messages ?? []) as Message[]) {
    if (message.role === "system" || message.role === "developer") system.push(textOf(message.content));
    else if (message.role === "tool")
      push("user", [{ type: "tool_result", toolCallId: message.tool_call_id ?? "", content: textOf(message.content) }]);
    else if (message.role === "assistant") {
      const calls: CanonicalPart[] = (message.tool_calls ?? []).map((c) => ({
        type: "tool_call",
        id: c.id ?? "",
        name: c.function?.name ?? "",
        arguments: c.function?.arguments ?? "{}",
      }));
      push("assistant", [...contentParts(message.content), ...calls]);
    } else push("user", contentParts(message.content));
  }
  const tools = body.tools as
    | { function?: { name?: string; description?: string; parameters?: Record<string, unknown> } }[]
    | undefined;
  const format = body.response_format as
    | { type?: string; json_schema?: { name?: string; schema?: Record<string, unknown> } }
    | undefined;
  const stop = body.stop;
  return {
    model: body.model,
    system: system.length > 0 ? system.join("\n") : undefined,
    messages,
    tools: tools?.map((t) => ({
      name: t.function?.name ?? "",
      description: t.function?.description,
      parameters: t.function?.parameters ?? { type: "object" },
    })),
    toolChoice: toolChoiceOf(body.tool_choice),
    maxTokens: (body.max_completion_tokens ?? body.max_tokens) as number | undefined,
    temperature: body.temperature as number | undefined,
    topP: body.top_p as number | undefined,
    stop: typeof stop === "string" ? [stop] : (stop as string[] | undefined),
    responseFormat:
      format?.type === "json_object"
        ? { type: "json" }
        : format?.type === "json_schema"
          ? { type: "json_schema", name: format.json_schema?.name ?? "response", schema: format.json_schema?.schema ?? {} }
          : undefined,
    stream: body.stream === true,
  };
}

const usageOf = (usage: TokenCounts) => ({
  prompt_tokens: usage.promptTokens,
  completion_tokens: usage.completionTokens,
  total_tokens: usage.promptTokens + usage.completionTokens,
  prompt_tokens_details: { cached_tokens: usage.cachedTokens },
});

const completionId = (id: string) =>
  id.startsWith("chatcmpl-") ? id : `chatcmpl-${id || crypto.randomUUID().replaceAll("-", "")}`;

export function canonicalToOpenAIResponse(answer: CanonicalResponse, model: string) {
  const text = answerText(answer);
  const calls = answer.parts.flatMap((p) =>
    p.type === "tool_call" ? [{ id: p.id, type: "function", function: { name: p.name, arguments: p.arguments } }] : [],
  );
  return {
    id: completionId(answer.id),
    object: "chat.completion",
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [
      {
        index: 0,
        message: {
          role: "assistant",
          content: text || (calls.length > 0 ? null : ""),
          refusal: null,
          ...(calls.length > 0 && { tool_calls: calls }),
        },
        logprobs: null,
        finish_reason: answer.finishReason satisfies FinishReason,
      },
    ],
    usage: usageOf(answer.usage),
  };
}

/** Chunks as OpenAI sends them; the usage chunk only for clients that asked for it. */
export class OpenAIStreamEncoder {
  private id = "";
  private readonly created = Math.floor(Date.now() / 1000);
  private finish: FinishReason | undefined;
  private usage: TokenCounts | undefined;

  constructor(
    private readonly model: string,
    private readonly includeUsage: boolean,
  ) {}

  private chunk(choices: unknown[], extra: Record<string, unknown> = {}): string {
    return `data: ${JSON.stringify({ id: this.id, object: "chat.completion.chunk", created: this.created, model: this.model, choices, ...extra })}\n\n`;
  }

  private delta(delta: Record<string, unknown>): string {
    return this.chunk([{ index: 0, delta, logprobs: null, finish_reason: null }]);
  }

  encode(event: CanonicalEvent): string {
    switch (event.type) {
      case "start":
        this.id = completionId(event.id);
        return this.delta({ role: "assistant", content: "" });
      case "text":
        return this.delta({ content: event.text });
      case "tool_call_start":
        return this.delta({
          tool_calls: [{ index: event.index, id: event.id, type: "function", function: { name: event.name, arguments: "" } }],
        });
      case "tool_call_delta":
        return this.delta({ tool_calls: [{ index: event.index, function: { arguments: event.arguments } }] });
      case "finish":
        this.finish = event.reason;
        return "";
      case "usage":
        this.usage = event.usage;
        return "";
    }
  }

  end(): string {
    let out = this.chunk([{ index: 0, delta: {}, logprobs: null, finish_reason: this.finish ?? "stop" }]);
    if (this.includeUsage && this.usage) out += this.chunk([], { usage: usageOf(this.usage) });
    return `${out}data: [DONE]\n\n`;
  }
}
