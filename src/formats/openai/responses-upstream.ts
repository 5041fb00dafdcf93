// The Responses API seen from the provider's side. Requests in it are only
// ever forwarded as sent, never translated into it (providers that take it
// take chat completions too); its answers and events are read for usage and
// for what was generated, and decoded when a fallback chain needs them.
import type { TokenCounts, ToolCalls } from "../../usage/prices.ts";
import type { CanonicalEvent, CanonicalPart, CanonicalResponse, FinishReason } from "../canonical.ts";
import type { StreamDecoder, StreamFrame, UpstreamCodec } from "../types.ts";

interface ResponsesUsage {
  input_tokens?: number;
  output_tokens?: number;
  input_tokens_details?: { cached_tokens?: number } | null;
}

interface ResponsesItem {
  type?: string;
  content?: { type?: string; text?: string }[];
  call_id?: string;
  name?: string;
  arguments?: string;
  input?: string;
  /** The container a code interpreter call ran in. */
  container_id?: string;
}

interface ResponsesBody {
  id?: string;
  model?: string;
  status?: string;
  incomplete_details?: { reason?: string } | null;
  error?: { message?: string } | null;
  output?: ResponsesItem[];
  /** The tools the request offered, as the answer repeats them. */
  tools?: { type?: string }[] | null;
  usage?: ResponsesUsage | null;
}

export function responsesUsageFrom(value: unknown): TokenCounts | undefined {
  if (!value || typeof value !== "object") return undefined;
  const usage = value as ResponsesUsage;
  return {
    promptTokens: usage.input_tokens ?? 0,
    completionTokens: usage.output_tokens ?? 0,
    cachedTokens: usage.input_tokens_details?.cached_tokens ?? 0,
  };
}

/** The output items of OpenAI's built-in tools that it charges for, by the tool that made them. */
const PAID_TOOL_ITEMS: Readonly<Record<string, string>> = {
  web_search_call: "web_search",
  file_search_call: "file_search",
  code_interpreter_call: "code_interpreter",
  image_generation_call: "image_generation",
};

/** The web search calls of a request that offered only the preview tool are the preview's (priced apart). */
const webSearchTool = (tools: ResponsesBody["tools"]) => {
  const types = (tools ?? []).map((tool) => tool.type ?? "");
  const preview = types.some((type) => type.startsWith("web_search_preview"));
  const current = types.some((type) => type.startsWith("web_search") && !type.startsWith("web_search_preview"));
  return preview && !current ? "web_search_preview" : "web_search";
};

/** Paid built-in tool calls among output items: calls per tool, containers for the code interpreter. */
export function toolCallsOf(items: readonly ResponsesItem[], tools: ResponsesBody["tools"]): ToolCalls | undefined {
  const calls: Record<string, number> = {};
  const containers = new Set<string>();
  for (const item of items) {
    let tool = PAID_TOOL_ITEMS[item.type ?? ""];
    if (!tool) continue;
    if (tool === "web_search") tool = webSearchTool(tools);
    // OpenAI bills the code interpreter per container, however many calls run in it.
    if (tool === "code_interpreter" && item.container_id) {
      if (containers.has(item.container_id)) continue;
      containers.add(item.container_id);
    }
    calls[tool] = (calls[tool] ?? 0) + 1;
  }
  return Object.keys(calls).length > 0 ? calls : undefined;
}

/** A whole answer's usage, with the built-in tools it ran; undefined when it reports none. */
function answerUsage(body: ResponsesBody): TokenCounts | undefined {
  const usage = responsesUsageFrom(body.usage);
  const toolCalls = toolCallsOf(body.output ?? [], body.tools);
  return usage && toolCalls ? { ...usage, toolCalls } : usage;
}

function finishOf(body: ResponsesBody): FinishReason {
  if (body.status === "incomplete") return body.incomplete_details?.reason === "content_filter" ? "content_filter" : "length";
  return body.output?.some((item) => item.type === "function_call" || item.type === "custom_tool_call") ? "tool_calls" : "stop";
}

function decodeResponse(body: ResponsesBody): CanonicalResponse {
  const parts: CanonicalPart[] = [];
  for (const item of body.output ?? []) {
    if (item.type === "message") {
      const text = (item.content ?? []).map((c) => (c.type === "output_text" ? (c.text ?? "") : "")).join("");
      if (text) parts.push({ type: "text", text });
    } else if (item.type === "function_call") {
      parts.push({ type: "tool_call", id: item.call_id ?? "", name: item.name ?? "", arguments: item.arguments ?? "{}" });
    } else if (item.type === "custom_tool_call") {
      parts.push({
        type: "tool_call",
        id: item.call_id ?? "",
        name: item.name ?? "",
        arguments: JSON.stringify({ input: item.input ?? "" }),
      });
    }
  }
  return {
    id: body.id ?? "",
    model: body.model ?? "",
    parts,
    finishReason: finishOf(body),
    usage: answerUsage(body) ?? { promptTokens: 0, completionTokens: 0, cachedTokens: 0 },
  };
}

interface ResponsesEvent {
  type?: string;
  response?: ResponsesBody;
  item?: ResponsesItem;
  output_index?: number;
  delta?: string;
  message?: string;
}

/**
 * Named events; `response.completed` (or `.incomplete`) ends a whole stream,
 * `error` and `response.failed` fail it. Each paid built-in tool call done is
 * reported as it ends, so a stream cut short still pays for the calls it ran.
 */
function responsesStreamDecoder(): StreamDecoder {
  let complete = false;
  let tools: ResponsesBody["tools"];
  const done: ResponsesItem[] = [];
  return {
    get complete() {
      return complete;
    },
    decode(frame: StreamFrame): CanonicalEvent[] {
      const event = JSON.parse(frame.data) as ResponsesEvent;
      const type = event.type ?? frame.event;
      switch (type) {
        case "response.created":
          tools = event.response?.tools;
          return [{ type: "start", id: event.response?.id ?? "", model: event.response?.model ?? "" }];
        case "response.output_text.delta":
          return [{ type: "text", text: event.delta ?? "" }];
        case "response.reasoning_text.delta":
        case "response.reasoning_summary_text.delta":
          return [{ type: "reasoning", text: event.delta ?? "" }];
        case "response.output_item.added": {
          const item = event.item;
          if (item?.type !== "function_call" && item?.type !== "custom_tool_call") return [];
          return [{ type: "tool_call_start", index: event.output_index ?? 0, id: item.call_id ?? "", name: item.name ?? "" }];
        }
        case "response.output_item.done": {
          if (!event.item || !PAID_TOOL_ITEMS[event.item.type ?? ""]) return [];
          done.push(event.item);
          const toolCalls = toolCallsOf(done, tools);
          return toolCalls
            ? [{ type: "usage", usage: { promptTokens: 0, completionTokens: 0, cachedTokens: 0, toolCalls } }]
            : [];
        }
        case "response.function_call_arguments.delta":
        case "response.custom_tool_call_input.delta":
          return [{ type: "tool_call_delta", index: event.output_index ?? 0, arguments: event.delta ?? "" }];
        case "response.completed":
        case "response.incomplete": {
          complete = true;
          const body = event.response ?? {};
          const usage = answerUsage({ ...body, output: body.output?.length ? body.output : done, tools: body.tools ?? tools });
          return [{ type: "finish", reason: finishOf(body) }, ...(usage ? [{ type: "usage" as const, usage }] : [])];
        }
        case "response.failed":
          throw new Error(event.response?.error?.message ?? "the upstream reported a failed response");
        case "error":
          throw new Error(event.message ?? "the upstream reported an error");
        default:
          return [];
      }
    },
  };
}

export const openaiResponsesCodec: UpstreamCodec = {
  encode: () => {
    throw new Error("requests are not translated into the Responses API");
  },
  decode: (body) => decodeResponse(body as ResponsesBody),
  usage: (body) => (body && typeof body === "object" ? answerUsage(body as ResponsesBody) : undefined),
  streamDecoder: responsesStreamDecoder,
};
