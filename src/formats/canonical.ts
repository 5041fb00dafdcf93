// The one form every client format decodes to and every provider encodes
// from: system prompt, turns of text, images, tool calls and tool results,
// tools, sampling and output controls; and the answer, whole or as events.
import type { TokenCounts } from "../usage/prices.ts";

export type CanonicalPart =
  | { type: "text"; text: string }
  | { type: "image"; source: { kind: "url"; url: string } | { kind: "base64"; mediaType: string; data: string } }
  /** An assistant's call of a tool; `arguments` is JSON text. */
  | { type: "tool_call"; id: string; name: string; arguments: string }
  /** The result of a tool call, sent back by the user's side. */
  | { type: "tool_result"; toolCallId: string; content: string; isError?: boolean };

export interface CanonicalMessage {
  role: "user" | "assistant";
  parts: CanonicalPart[];
}

export interface CanonicalTool {
  name: string;
  description?: string;
  /** JSON Schema of the arguments. */
  parameters: Record<string, unknown>;
}

export type ToolChoice = "auto" | "none" | "required" | { name: string };

export interface CanonicalRequest {
  model: string;
  system?: string;
  messages: CanonicalMessage[];
  tools?: CanonicalTool[];
  toolChoice?: ToolChoice;
  maxTokens?: number;
  temperature?: number;
  topP?: number;
  stop?: string[];
  /** JSON mode, or output held to a JSON Schema. */
  responseFormat?: { type: "json" } | { type: "json_schema"; name: string; schema: Record<string, unknown> };
  /** How hard a reasoning model should think (`low`, `medium`, `high`…), for providers with an equivalent. */
  reasoningEffort?: string;
  /** What the client sent that reading left out (an offered built-in tool), for `x-sluice-dropped`. */
  dropped?: string[];
  stream: boolean;
}

export type FinishReason = "stop" | "length" | "tool_calls" | "content_filter";

export interface CanonicalResponse {
  id: string;
  model: string;
  /** Text and tool calls, in order. */
  parts: CanonicalPart[];
  finishReason: FinishReason;
  usage: TokenCounts;
}

export type CanonicalEvent =
  | { type: "start"; id: string; model: string }
  | { type: "text"; text: string }
  | { type: "tool_call_start"; index: number; id: string; name: string }
  | { type: "tool_call_delta"; index: number; arguments: string }
  /** The model's thinking, as far as the provider shows it: billed as output, not carried across formats. */
  | { type: "reasoning"; text: string }
  | { type: "finish"; reason: FinishReason }
  | { type: "usage"; usage: TokenCounts };

/** The text of an answer, tool calls aside. */
export const answerText = (answer: CanonicalResponse) =>
  answer.parts.flatMap((p) => (p.type === "text" ? [p.text] : [])).join("");

/** All text of a message list, for estimates. */
export function canonicalText(request: CanonicalRequest): string {
  const parts = request.messages.flatMap((m) => m.parts);
  return [
    request.system ?? "",
    ...parts.map((p) =>
      p.type === "text" ? p.text : p.type === "tool_call" ? p.arguments : p.type === "tool_result" ? p.content : "",
    ),
  ].join("\n");
}

/** A tool call's JSON arguments as a value; arguments that are not JSON become `{}`. */
export function toolArguments(json: string): unknown {
  try {
    return JSON.parse(json || "{}");
  } catch {
    return {};
  }
}
