// Answers from providers of other dialects, written as the Responses API
// writes them: a `response` object whose `output` holds a message and the
// function calls, or, streamed, the named events OpenAI sends in its order.
import type { TokenCounts } from "../../usage/prices.ts";
import type { CanonicalEvent, CanonicalResponse, FinishReason } from "../canonical.ts";
import type { OpenAIResponsesBody } from "./responses.ts";

const hex = () => crypto.randomUUID().replaceAll("-", "");

export const responsesUsage = (usage: TokenCounts) => ({
  input_tokens: usage.promptTokens,
  input_tokens_details: { cached_tokens: usage.cachedTokens },
  output_tokens: usage.completionTokens,
  output_tokens_details: { reasoning_tokens: 0 },
  total_tokens: usage.promptTokens + usage.completionTokens,
});

/** A tool inside a namespace, as other providers know it: one flat name. */
export const qualifiedName = (namespace: string, name: string) => `${namespace}__${name}`;

/** How the request's tools are named to another provider, so a call by that name goes back as the client named it. */
export interface ToolNaming {
  /** Custom tools, whose calls go back as `custom_tool_call` items. */
  custom: Set<string>;
  /** Tools of a namespace, by their flat name. */
  namespaced: Map<string, { namespace: string; name: string }>;
}

export function toolNaming(body: OpenAIResponsesBody): ToolNaming {
  const naming: ToolNaming = { custom: new Set(), namespaced: new Map() };
  for (const tool of body.tools ?? []) {
    if (tool.type === "custom" && tool.name) naming.custom.add(tool.name);
    if (tool.type !== "namespace" || !tool.name) continue;
    for (const inner of (tool as { tools?: { type?: string; name?: string }[] }).tools ?? []) {
      if (!inner.name) continue;
      const flat = qualifiedName(tool.name, inner.name);
      naming.namespaced.set(flat, { namespace: tool.name, name: inner.name });
      if (inner.type === "custom") naming.custom.add(flat);
    }
  }
  return naming;
}

type OutputItem = Record<string, unknown> & { id: string; type: string };

const messageItem = (id: string, text: string, status: string): OutputItem => ({
  id,
  type: "message",
  status,
  role: "assistant",
  content: text === "" && status === "in_progress" ? [] : [{ type: "output_text", text, annotations: [], logprobs: [] }],
});

/** A call as an output item: a function call, or a custom tool's call with its free-form input; a namespace's tool named as the client named it. */
function callItem(
  call: { id: string; callId: string; name: string; arguments: string },
  naming: ToolNaming,
  status: string,
): OutputItem {
  const inner = naming.namespaced.get(call.name);
  const named = inner ? { name: inner.name, namespace: inner.namespace } : { name: call.name };
  if (!naming.custom.has(call.name))
    return { id: call.id, type: "function_call", status, arguments: call.arguments, call_id: call.callId, ...named };
  let input = "";
  try {
    const parsed = JSON.parse(call.arguments || "{}") as { input?: unknown };
    input = typeof parsed.input === "string" ? parsed.input : call.arguments;
  } catch {
    input = call.arguments;
  }
  return { id: call.id, type: "custom_tool_call", status, input, call_id: call.callId, ...named };
}

/** Where the answer stands: a cut at the token cap or a filter is `incomplete`, as OpenAI reports it. */
function statusOf(finish: FinishReason | undefined) {
  if (finish === "length") return { status: "incomplete", incomplete_details: { reason: "max_output_tokens" } };
  if (finish === "content_filter") return { status: "incomplete", incomplete_details: { reason: "content_filter" } };
  return { status: "completed", incomplete_details: null };
}

/** The request's settings echoed as OpenAI echoes them. */
function envelope(id: string, model: string, body: OpenAIResponsesBody, createdAt: number) {
  return {
    id,
    object: "response",
    created_at: createdAt,
    status: "in_progress",
    error: null,
    incomplete_details: null as unknown,
    instructions: body.instructions ?? null,
    max_output_tokens: body.max_output_tokens ?? null,
    model,
    output: [] as OutputItem[],
    parallel_tool_calls: (body as { parallel_tool_calls?: unknown }).parallel_tool_calls !== false,
    previous_response_id: null,
    reasoning: { effort: body.reasoning?.effort ?? null, summary: null },
    store: false,
    temperature: body.temperature ?? 1,
    text: { format: body.text?.format ?? { type: "text" } },
    tool_choice: body.tool_choice ?? "auto",
    tools: body.tools ?? [],
    top_p: body.top_p ?? 1,
    truncation: "disabled",
    usage: null as unknown,
    metadata: (body as { metadata?: unknown }).metadata ?? {},
  };
}

export function canonicalToResponse(answer: CanonicalResponse, model: string, body: OpenAIResponsesBody) {
  const naming = toolNaming(body);
  const output: OutputItem[] = [];
  const text = answer.parts.flatMap((p) => (p.type === "text" ? [p.text] : [])).join("");
  if (text) output.push(messageItem(`msg_${hex()}`, text, "completed"));
  for (const p of answer.parts) {
    if (p.type !== "tool_call") continue;
    output.push(callItem({ id: `fc_${hex()}`, callId: p.id, name: p.name, arguments: p.arguments }, naming, "completed"));
  }
  return {
    ...envelope(`resp_${hex()}`, model, body, Math.floor(Date.now() / 1000)),
    ...statusOf(answer.finishReason),
    output,
    usage: responsesUsage(answer.usage),
  };
}

interface OpenCall {
  id: string;
  callId: string;
  name: string;
  arguments: string;
  outputIndex: number;
}

/** The Responses stream: each event named, numbered, and in OpenAI's order; items closed as the next opens. */
export class ResponsesStreamEncoder {
  private readonly response: ReturnType<typeof envelope>;
  private sequence = 0;
  private message: { id: string; text: string; outputIndex: number } | undefined;
  private readonly calls = new Map<number, OpenCall>();
  private readonly naming: ToolNaming;
  private finish: FinishReason | undefined;
  private usage: TokenCounts | undefined;

  constructor(model: string, body: OpenAIResponsesBody) {
    this.response = envelope(`resp_${hex()}`, model, body, Math.floor(Date.now() / 1000));
    this.naming = toolNaming(body);
  }

  private event(type: string, data: Record<string, unknown>): string {
    return `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: this.sequence++, ...data })}\n\n`;
  }

  private snapshot() {
    return { ...this.response, output: [...this.response.output] };
  }

  private closeMessage(): string {
    const open = this.message;
    if (!open) return "";
    this.message = undefined;
    const at = { item_id: open.id, output_index: open.outputIndex, content_index: 0 };
    const item = messageItem(open.id, open.text, "completed");
    this.response.output[open.outputIndex] = item;
    return (
      this.event("response.output_text.done", { ...at, text: open.text, logprobs: [] }) +
      this.event("response.content_part.done", {
        ...at,
        part: { type: "output_text", text: open.text, annotations: [], logprobs: [] },
      }) +
      this.event("response.output_item.done", { output_index: open.outputIndex, item })
    );
  }

  private closeCalls(): string {
    let out = "";
    for (const call of this.calls.values()) {
      const custom = this.naming.custom.has(call.name);
      const item = callItem(call, this.naming, "completed");
      this.response.output[call.outputIndex] = item;
      const at = { item_id: call.id, output_index: call.outputIndex };
      if (custom) {
        // The input is known only once the arguments are whole: it goes out as one delta.
        const input = String(item.input);
        out += this.event("response.custom_tool_call_input.delta", { ...at, delta: input });
        out += this.event("response.custom_tool_call_input.done", { ...at, input });
      } else {
        out += this.event("response.function_call_arguments.done", { ...at, arguments: call.arguments });
      }
      out += this.event("response.output_item.done", { output_index: call.outputIndex, item });
    }
    this.calls.clear();
    return out;
  }

  encode(event: CanonicalEvent): string {
    switch (event.type) {
      case "start":
        return (
          this.event("response.created", { response: this.snapshot() }) +
          this.event("response.in_progress", { response: this.snapshot() })
        );
      case "text": {
        let out = this.closeCalls();
        if (!this.message) {
          const outputIndex = this.response.output.length;
          this.message = { id: `msg_${hex()}`, text: "", outputIndex };
          const item = messageItem(this.message.id, "", "in_progress");
          this.response.output.push(item);
          const at = { item_id: this.message.id, output_index: outputIndex, content_index: 0 };
          out += this.event("response.output_item.added", { output_index: outputIndex, item });
          out += this.event("response.content_part.added", {
            ...at,
            part: { type: "output_text", text: "", annotations: [], logprobs: [] },
          });
        }
        this.message.text += event.text;
        const at = { item_id: this.message.id, output_index: this.message.outputIndex, content_index: 0 };
        return out + this.event("response.output_text.delta", { ...at, delta: event.text, logprobs: [] });
      }
      case "tool_call_start": {
        let out = this.closeMessage();
        const call: OpenCall = {
          id: `fc_${hex()}`,
          callId: event.id,
          name: event.name,
          arguments: "",
          outputIndex: this.response.output.length,
        };
        this.calls.set(event.index, call);
        const item = callItem(call, this.naming, "in_progress");
        this.response.output.push(item);
        out += this.event("response.output_item.added", { output_index: call.outputIndex, item });
        return out;
      }
      case "tool_call_delta": {
        const call = this.calls.get(event.index);
        if (!call) return "";
        call.arguments += event.arguments;
        if (this.naming.custom.has(call.name)) return "";
        return this.event("response.function_call_arguments.delta", {
          item_id: call.id,
          output_index: call.outputIndex,
          delta: event.arguments,
        });
      }
      case "finish":
        this.finish = event.reason;
        return "";
      case "reasoning":
        return "";
      case "usage":
        this.usage = event.usage;
        return "";
    }
  }

  end(): string {
    const out = this.closeMessage() + this.closeCalls();
    const state = statusOf(this.finish);
    const response = {
      ...this.snapshot(),
      ...state,
      usage: this.usage ? responsesUsage(this.usage) : null,
    };
    const type = state.status === "completed" ? "response.completed" : "response.incomplete";
    return out + this.event(type, { response });
  }
}
