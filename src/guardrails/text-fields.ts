// Where the words are in a request or an answer, whatever its format: the
// string values of the fields that carry text (a message's `content`, a
// part's `text`, a tool call's `arguments`…), and every string in the JSON a
// tool, a document or a template holds under keys of its own (a tool call's
// input, a tool's result, a prompt template's variables), found in one walk
// of the body. One walk serves every client format, passed through or
// translated; image data, a format's ids and roles, thinking signatures and
// other fields are left alone.

/** Top-level fields that hold a request's prompt, in any of the formats. */
const PROMPT_ROOTS: ReadonlySet<string> = new Set([
  "messages", // OpenAI chat, Anthropic
  "system", // Anthropic
  "contents", // Gemini
  "content", // Gemini embedContent
  "requests", // Gemini batchEmbedContents
  "generateContentRequest", // Gemini countTokens
  "systemInstruction", // Gemini
  "system_instruction",
  "instructions", // OpenAI responses
  "input", // OpenAI responses, embeddings
  "prompt", // OpenAI completions; OpenAI responses' prompt template
  "documents", // Cohere chat's grounding documents, and rerank's
  "query", // Cohere rerank
  "title", // Gemini embedContent's document title
]);

/** Keys whose string values are text, wherever they are under a root (or, for arrays of strings, the array's key). */
const TEXT_KEYS: ReadonlySet<string> = new Set([
  "content",
  "text",
  "arguments",
  "output",
  "system",
  "instructions",
  "input",
  "prompt",
  "documents",
  "query",
  "title", // an embedded document's (Gemini), a document block's (Anthropic)
  "context", // a document block's (Anthropic)
]);

/**
 * An answer's text keys: a prompt's, and the model's reasoning (Anthropic's
 * thinking blocks, OpenAI-compatible servers' `reasoning_content` or
 * `reasoning`). A prompt's thinking is not read: a thinking block sent back
 * must be as its signature says.
 */
const ANSWER_TEXT_KEYS: ReadonlySet<string> = new Set([...TEXT_KEYS, "thinking", "reasoning_content", "reasoning"]);

/** How a field holding JSON of its own is read: `json`, every string in it whatever its key; `named`, each entry a text or a part. */
type OpenField = "json" | "named";

/**
 * Fields whose keys are a tool's, a document's or a template's own, not a
 * format's, by the key of the object that holds them (an array's items are
 * held by the array's key).
 */
const OPEN_FIELDS: ReadonlyMap<string, ReadonlyMap<string, OpenField>> = new Map<string, ReadonlyMap<string, OpenField>>([
  [
    "content",
    new Map<string, OpenField>([
      ["input", "json"], // Anthropic's tool_use blocks
      ["json", "json"], // Bedrock's toolResult blocks
    ]),
  ],
  ["toolUse", new Map([["input", "json"]])], // Bedrock
  ["functionCall", new Map([["args", "json"]])], // Gemini
  ["function_call", new Map([["args", "json"]])],
  ["functionResponse", new Map([["response", "json"]])],
  ["function_response", new Map([["response", "json"]])],
  ["document", new Map([["data", "json"]])], // Cohere's tool results
  ["prompt", new Map([["variables", "named"]])], // OpenAI responses' prompt template
]);

/** An Anthropic document's plain-text source: its `data` is the text (a base64 source's is not read). */
const TEXT_SOURCE: ReadonlyMap<string, OpenField> = new Map([["data", "json"]]);

type Visit = (text: string) => string;

/** What a walk reads (the keys whose strings are text) and does with each text. */
interface Reading {
  textKeys: ReadonlySet<string>;
  visit: Visit;
}

type Fields = Record<string, unknown>;

const isFields = (value: unknown): value is Fields => typeof value === "object" && value !== null && !Array.isArray(value);

/** JSON of a tool's or a document's own with every string in it replaced by `visit`'s answer, whatever its key. */
function mapEveryString(value: unknown, visit: Visit): unknown {
  if (typeof value === "string") return visit(value);
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const next = mapEveryString(value[i], visit);
      if (next === value[i]) continue;
      copy ??= [...value];
      copy[i] = next;
    }
    return copy ?? value;
  }
  if (!isFields(value)) return value;
  let copy: Fields | undefined;
  for (const [name, item] of Object.entries(value)) {
    const next = mapEveryString(item, visit);
    if (next === item) continue;
    copy ??= { ...value };
    copy[name] = next;
  }
  return copy ?? value;
}

/** The value of an open field, read as `field` says. */
function mapOpenField(value: unknown, field: OpenField, reading: Reading): unknown {
  if (field === "json") return mapEveryString(value, reading.visit);
  if (!isFields(value)) return value;
  // A template's variables: each a text, or a part (`input_text`, `input_image`…) read as any part is.
  let copy: Fields | undefined;
  for (const [name, item] of Object.entries(value)) {
    const next = mapValue(item, "text", reading);
    if (next === item) continue;
    copy ??= { ...value };
    copy[name] = next;
  }
  return copy ?? value;
}

/** The value with each text replaced by `visit`'s answer; objects are copied only where something changed. */
function mapValue(value: unknown, key: string, reading: Reading): unknown {
  if (typeof value === "string") return reading.textKeys.has(key) ? reading.visit(value) : value;
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const next = mapValue(value[i], key, reading);
      if (next === value[i]) continue;
      copy ??= [...value];
      copy[i] = next;
    }
    return copy ?? value;
  }
  if (!isFields(value)) return value;
  // Cohere's documents are objects of their own fields (`{title, snippet}`, `{id, data}`): all of it is the document.
  if (key === "documents") return mapEveryString(value, reading.visit);
  const open = OPEN_FIELDS.get(key) ?? (key === "source" && value.type === "text" ? TEXT_SOURCE : undefined);
  let copy: Fields | undefined;
  for (const [name, item] of Object.entries(value)) {
    const field = open?.get(name);
    const next = field === undefined ? mapValue(item, name, reading) : mapOpenField(item, field, reading);
    if (next === item) continue;
    copy ??= { ...value };
    copy[name] = next;
  }
  return copy ?? value;
}

/** A request body with the texts of its prompt replaced by `visit`'s answers (the same body when none changed). */
export function mapPromptTexts<Body extends Record<string, unknown>>(body: Body, visit: Visit): Body {
  const reading: Reading = { textKeys: TEXT_KEYS, visit };
  let copy: Record<string, unknown> | undefined;
  for (const root of PROMPT_ROOTS) {
    if (!(root in body)) continue;
    const next = mapValue(body[root], root, reading);
    if (next === body[root]) continue;
    copy ??= { ...body };
    copy[root] = next;
  }
  return (copy ?? body) as Body;
}

/** An answer (any format's JSON) with its texts, its tool calls' arguments and its reasoning replaced by `visit`'s answers. */
export const mapAnswerTexts = (answer: unknown, visit: Visit): unknown =>
  mapValue(answer, "", { textKeys: ANSWER_TEXT_KEYS, visit });
