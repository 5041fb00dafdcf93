// The mock's OpenAI Responses API: `POST /v1/responses`, answers as
// `output` items and streams as the named events OpenAI sends, in its order,
// each with its `sequence_number`. Each built-in tool offered (web search,
// file search, code interpreter, image generation) runs once, its call an
// output item ahead of the answer, as OpenAI's would be.
import type { MockAnswer, MockTurn } from "./models.ts";

interface ResponsesItem {
  type?: string;
  role?: string;
  content?: string | { type?: string; text?: string }[];
  output?: string | { type?: string; text?: string }[];
}

export interface ResponsesRequest {
  model?: string;
  instructions?: string;
  input?: string | ResponsesItem[];
  tools?: { type?: string; name?: string }[] | null;
  max_output_tokens?: number;
  stream?: boolean;
}

const textOf = (content: ResponsesItem["content"]) =>
  typeof content === "string" ? content : (content ?? []).map((part) => part.text ?? "").join("");

export function responsesTurns(body: ResponsesRequest): MockTurn[] {
  const turns: MockTurn[] = body.instructions ? [{ role: "system", text: body.instructions }] : [];
  if (typeof body.input === "string") return [...turns, { role: "user", text: body.input }];
  for (const item of body.input ?? []) {
    if (item.type === "function_call_output") turns.push({ role: "tool", text: textOf(item.output) });
    else if (item.type === "function_call") turns.push({ role: "assistant", text: "" });
    else if (item.role) turns.push({ role: item.role, text: textOf(item.content) });
  }
  return turns;
}

export const responsesTools = (body: ResponsesRequest) =>
  body.tools?.filter((tool) => tool.type === "function").map((tool) => tool.name ?? "tool");

const usageOf = (answer: MockAnswer) => ({
  input_tokens: answer.promptTokens,
  input_tokens_details: { cached_tokens: 0 },
  output_tokens: answer.completionTokens,
  output_tokens_details: { reasoning_tokens: 0 },
  total_tokens: answer.promptTokens + answer.completionTokens,
});

/** The item a built-in tool's call leaves in the output; undefined for tools the caller runs. */
function builtInCall(type: string, id: string, index: number): Record<string, unknown> | undefined {
  const done = { status: "completed" };
  if (type.startsWith("web_search"))
    return { id: `ws_${id}_${index}`, type: "web_search_call", ...done, action: { type: "search", query: "mock" } };
  if (type === "file_search")
    return { id: `fs_${id}_${index}`, type: "file_search_call", ...done, queries: ["mock"], results: null };
  if (type === "code_interpreter") {
    const container = `cntr_mock_${id}`;
    return {
      id: `ci_${id}_${index}`,
      type: "code_interpreter_call",
      ...done,
      code: "1+1",
      container_id: container,
      outputs: null,
    };
  }
  if (type === "image_generation") return { id: `ig_${id}_${index}`, type: "image_generation_call", ...done, result: "aW1hZ2U=" };
  return undefined;
}

const builtInCalls = (id: string, body: ResponsesRequest | undefined) =>
  (body?.tools ?? []).flatMap((tool, i) => {
    const item = builtInCall(tool.type ?? "", id, i);
    return item ? [item] : [];
  });

function outputItems(id: string, answer: MockAnswer, body?: ResponsesRequest): Record<string, unknown>[] {
  return [...builtInCalls(id, body), answerItem(id, answer)];
}

function answerItem(id: string, answer: MockAnswer): Record<string, unknown> {
  const call = answer.toolCall;
  if (call) {
    return {
      id: `fc_${id}`,
      type: "function_call",
      status: "completed",
      arguments: call.arguments,
      call_id: call.id,
      name: call.name,
    };
  }
  return {
    id: `msg_${id}`,
    type: "message",
    status: "completed",
    role: "assistant",
    content: [{ type: "output_text", text: answer.text, annotations: [], logprobs: [] }],
  };
}

function envelope(id: string, model: string, answer: MockAnswer, done: boolean, body?: ResponsesRequest) {
  const incomplete = done && (answer.finish === "length" || answer.finish === "content_filter");
  return {
    id,
    object: "response",
    created_at: Math.floor(Date.now() / 1000),
    status: !done ? "in_progress" : incomplete ? "incomplete" : "completed",
    error: null,
    incomplete_details: incomplete ? { reason: answer.finish === "length" ? "max_output_tokens" : "content_filter" } : null,
    model,
    output: done ? outputItems(id, answer, body) : [],
    parallel_tool_calls: true,
    tool_choice: "auto",
    tools: body?.tools ?? [],
    usage: done ? usageOf(answer) : null,
  };
}

export const responsesResponse = (id: string, model: string, answer: MockAnswer, body?: ResponsesRequest) =>
  envelope(id, model, answer, true, body);

/** The named events of a streamed answer, as OpenAI sends them. */
export function responsesStreamEvents(
  id: string,
  model: string,
  answer: MockAnswer,
  pieces: string[],
  body?: ResponsesRequest,
): string[] {
  let sequence = 0;
  const event = (type: string, data: Record<string, unknown>) =>
    `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: sequence++, ...data })}\n\n`;
  const calls = builtInCalls(id, body);
  const item = answerItem(id, answer);
  const events = [
    event("response.created", { response: envelope(id, model, answer, false, body) }),
    event("response.in_progress", { response: envelope(id, model, answer, false, body) }),
  ];
  for (const [index, call] of calls.entries()) {
    events.push(event("response.output_item.added", { output_index: index, item: { ...call, status: "in_progress" } }));
    events.push(event("response.output_item.done", { output_index: index, item: call }));
  }
  const index = calls.length;
  const at = { item_id: item.id, output_index: index };
  if (answer.toolCall) {
    events.push(
      event("response.output_item.added", { output_index: index, item: { ...item, status: "in_progress", arguments: "" } }),
    );
    for (const delta of pieces) events.push(event("response.function_call_arguments.delta", { ...at, delta }));
    events.push(event("response.function_call_arguments.done", { ...at, arguments: answer.toolCall.arguments }));
  } else {
    const part = { type: "output_text", text: "", annotations: [], logprobs: [] };
    events.push(
      event("response.output_item.added", { output_index: index, item: { ...item, status: "in_progress", content: [] } }),
    );
    events.push(event("response.content_part.added", { ...at, content_index: 0, part }));
    for (const delta of pieces) {
      events.push(event("response.output_text.delta", { ...at, content_index: 0, delta, logprobs: [] }));
    }
    events.push(event("response.output_text.done", { ...at, content_index: 0, text: answer.text, logprobs: [] }));
    events.push(event("response.content_part.done", { ...at, content_index: 0, part: { ...part, text: answer.text } }));
  }
  events.push(event("response.output_item.done", { output_index: index, item }));
  const last = answer.finish === "length" || answer.finish === "content_filter" ? "response.incomplete" : "response.completed";
  events.push(event(last, { response: envelope(id, model, answer, true, body) }));
  return events;
}
