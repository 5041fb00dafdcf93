// What each mock model answers, independent of wire format.
import { countTokens, loremTokens, tokenize } from "./text.ts";

export const MOCK_MODELS = ["mock-echo", "mock-lorem"] as const;

export interface MockTurn {
  role: string;
  text: string;
}

export interface MockAnswer {
  text: string;
  promptTokens: number;
  completionTokens: number;
  finish: "stop" | "length";
}

export class UnknownMockModel extends Error {}

/**
 * `mock-echo` repeats the last user turn; `mock-lorem` writes `tokens` words of
 * filler (or `maxTokens`, or 64). Both stop at `maxTokens` and report exact counts.
 */
export function answerFor(model: string, turns: MockTurn[], options: { maxTokens?: number; tokens?: number }): MockAnswer {
  const promptTokens = turns.reduce((sum, turn) => sum + countTokens(turn.text), 0);
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
