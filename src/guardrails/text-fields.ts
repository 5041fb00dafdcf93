// Where the words are in a request or an answer, whatever its format: the
// string values of the fields that carry text (a message's `content`, a
// part's `text`, a tool call's `arguments`…), found by walking the body. One
// walk serves every client format, passed through or translated; image data,
// ids, roles, thinking signatures and other fields are left alone.

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
  "prompt", // OpenAI completions
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

type Visit = (text: string) => string;

/** The value with each text replaced by `visit`'s answer; objects are copied only where something changed. */
function mapValue(value: unknown, key: string, visit: Visit): unknown {
  if (typeof value === "string") return TEXT_KEYS.has(key) ? visit(value) : value;
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    value.forEach((item, i) => {
      const next = mapValue(item, key, visit);
      if (next === item) return;
      copy ??= [...value];
      copy[i] = next;
    });
    return copy ?? value;
  }
  if (value && typeof value === "object") {
    let copy: Record<string, unknown> | undefined;
    for (const [name, item] of Object.entries(value)) {
      const next = mapValue(item, name, visit);
      if (next === item) continue;
      copy ??= { ...(value as Record<string, unknown>) };
      copy[name] = next;
    }
    return copy ?? value;
  }
  return value;
}

/** A request body with the texts of its prompt replaced by `visit`'s answers (the same body when none changed). */
export function mapPromptTexts<Body extends Record<string, unknown>>(body: Body, visit: Visit): Body {
  let copy: Record<string, unknown> | undefined;
  for (const root of PROMPT_ROOTS) {
    if (!(root in body)) continue;
    const next = mapValue(body[root], root, visit);
    if (next === body[root]) continue;
    copy ??= { ...body };
    copy[root] = next;
  }
  return (copy ?? body) as Body;
}

/** An answer (any format's JSON) with its texts replaced by `visit`'s answers. */
export const mapAnswerTexts = (answer: unknown, visit: Visit): unknown => mapValue(answer, "", visit);
