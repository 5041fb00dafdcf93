// What each mock model answers, independent of wire format.
import { countTokens, loremTokens, tokenize } from "./text.ts";

export const MOCK_MODELS = ["mock-echo", "mock-lorem"] as const;

export interface MockTurn {
  role: string;
  text: string;
}

export interface MockToolCall {
  id: string;
  name: string;
  /** JSON text. */
  arguments: string;
}

export interface MockAnswer {
  text: string;
  /** Set when the model calls a tool instead of answering in text. */
  toolCall?: MockToolCall;
  promptTokens: number;
  completionTokens: number;
  finish: "stop" | "length" | "tool_calls" | "content_filter";
}

export class UnknownMockModel extends Error {}

/**
 * `mock-echo` repeats the last user turn; `mock-lorem` writes `tokens` words of
 * filler (or `maxTokens`, or 64). Both stop at `maxTokens` and report exact counts.
 * `mock-filtered` answers nothing: its content filter stopped it.
 * Given tools, `mock-echo` calls the first one with the last user turn as
 * `{"text": …}`, and answers a tool result with `Tool said: …`.
 * A `claude-` prefix is allowed (`claude-mock-echo`), for providers that pick
 * their wire format by the model's family, as Vertex AI does.
 */
export function answerFor(
  named: string,
  turns: MockTurn[],
  options: { maxTokens?: number; tokens?: number; tools?: string[] },
): MockAnswer {
  const model = named.replace(/^claude-/, "");
  const promptTokens = turns.reduce((sum, turn) => sum + countTokens(turn.text), 0);
  const last = turns.at(-1);
  if (model.startsWith("mock-echo") && options.tools?.length && last) {
    if (last.role === "tool") {
      const text = `Tool said: ${last.text}`;
      return { text, promptTokens, completionTokens: countTokens(text), finish: "stop" };
    }
    const args = JSON.stringify({ text: last.text });
    return {
      text: "",
      toolCall: { id: `call_mock_${promptTokens}`, name: options.tools[0] ?? "tool", arguments: args },
      promptTokens,
      completionTokens: countTokens(args),
      finish: "tool_calls",
    };
  }
  if (model.startsWith("mock-filtered")) return { text: "", promptTokens, completionTokens: 0, finish: "content_filter" };
  let text: string;
  if (model.startsWith("mock-echo")) {
    text = [...turns].reverse().find((turn) => turn.role === "user")?.text ?? "";
  } else if (model.startsWith("mock-lorem")) {
    text = loremTokens(options.tokens ?? options.maxTokens ?? 64);
  } else {
    throw new UnknownMockModel(`The model \`${model}\` does not exist`);
  }
  let completionTokens = countTokens(text);
  let finish: MockAnswer["finish"] = "stop";
  if (options.maxTokens !== undefined && completionTokens > options.maxTokens) {
    text = tokenize(text).slice(0, options.maxTokens).join("");
    completionTokens = options.maxTokens;
    finish = "length";
  }
  return { text, promptTokens, completionTokens, finish };
}
