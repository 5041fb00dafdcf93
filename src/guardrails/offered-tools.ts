// The tools a request offers, in any format, as `request_limits` count and
// name them: OpenAI's and the Responses API's (namespaces and MCP servers
// among them), Anthropic's (and its `mcp_servers`), Gemini's (built-ins and
// function declarations), Bedrock Converse's, and legacy `functions`.

/** One tool a request offers: the name it goes by, the other names a deny entry may give it, and the field it is in. */
export interface OfferedTool {
  name: string;
  aliases: string[];
  field: string;
}

type Entry = Record<string, unknown>;
const isEntry = (value: unknown): value is Entry => typeof value === "object" && value !== null && !Array.isArray(value);
const stringOr = (value: unknown, otherwise: string) => (typeof value === "string" ? value : otherwise);
/** A dated built-in's family: `web_search_20250305` → `web_search`, `web_search_preview_2025_03_11` → `web_search_preview`. */
const undated = (type: string) => type.replace(/_(\d{8}|\d{4}_\d{2}_\d{2})$/, "");
const snakeCase = (key: string) => key.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
const camelCase = (key: string) => key.replace(/_([a-z])/g, (_, letter: string) => letter.toUpperCase());

const DECLARATIONS = new Set(["functionDeclarations", "function_declarations"]);

/** Gemini's function declarations, each a tool, wherever an entry holds them. */
const declaredTools = (entry: Entry, field: string): OfferedTool[] =>
  [...DECLARATIONS].flatMap((key) =>
    (Array.isArray(entry[key]) ? entry[key] : []).map((declaration: unknown) => ({
      name: stringOr(isEntry(declaration) ? declaration.name : undefined, ""),
      aliases: [],
      field,
    })),
  );

/** Gemini's built-ins, one per key of an entry (`googleSearch` as `google_search`, matched in either spelling). */
const geminiBuiltIns = (entry: Entry, field: string): OfferedTool[] =>
  Object.entries(entry)
    .filter(([key, value]) => !DECLARATIONS.has(key) && value !== undefined && value !== null)
    .map(([key]) => ({ name: snakeCase(key), aliases: [camelCase(key)], field }));

/** The tools of one entry of `tools`: a function (OpenAI's, the Responses API's, Anthropic's), a built-in, a namespace's, or Gemini's. */
function entryTools(entry: Entry, field: string): OfferedTool[] {
  const type = typeof entry.type === "string" ? entry.type : undefined;
  if (type === "namespace") {
    // A namespace's tools reach the model one by one (elsewhere as `ns__name`): each counts, and answers to either name or the namespace's.
    const namespace = stringOr(entry.name, "");
    return (Array.isArray(entry.tools) ? entry.tools : []).filter(isEntry).flatMap((inner) =>
      entryTools(inner, field).map((tool) => ({
        ...tool,
        aliases: [...tool.aliases, `${namespace}__${tool.name}`, namespace],
      })),
    );
  }
  const declared = declaredTools(entry, field);
  if (type === undefined && entry.name === undefined && entry.function === undefined) {
    return [...declared, ...geminiBuiltIns(entry, field)];
  }
  const fn = isEntry(entry.function) ? entry.function : isEntry(entry.custom) ? entry.custom : undefined;
  const name = fn?.name ?? entry.name;
  // A built-in (one not a function) also answers to its type, dated or not; a remote MCP server to its label.
  const builtIn = type !== undefined && type !== "function" && type !== "custom" ? [type, undated(type)] : [];
  const label = typeof entry.server_label === "string" ? [entry.server_label] : [];
  return [{ name: stringOr(name, type ?? ""), aliases: [...builtIn, ...label], field }, ...declared];
}

/** Every tool a request offers, in any format: `tools` (and a namespace's), legacy `functions`, Converse's `toolConfig`, Anthropic's `mcp_servers`. */
export function offeredTools(body: Record<string, unknown>): OfferedTool[] {
  const list = (value: unknown) => (Array.isArray(value) ? value.filter(isEntry) : []);
  const converse = isEntry(body.toolConfig) ? list(body.toolConfig.tools) : [];
  return [
    ...list(body.tools).flatMap((entry) => entryTools(entry, "tools")),
    ...list(body.functions).map((fn) => ({ name: stringOr(fn.name, ""), aliases: [], field: "functions" })),
    // Converse: `{toolSpec: {name}}`, `{systemTool: {name}}`; a `cachePoint` offers nothing.
    ...converse.flatMap((entry) =>
      Object.entries(entry)
        .filter(([key]) => key !== "cachePoint")
        .map(([key, value]) => ({
          name: stringOr(isEntry(value) ? value.name : undefined, key),
          aliases: [],
          field: "toolConfig.tools",
        })),
    ),
    // An MCP server offers tools no one knows in advance: at least one, named `mcp` or by its own name.
    ...list(body.mcp_servers).map((server) => ({
      name: "mcp",
      aliases: typeof server.name === "string" ? [server.name] : [],
      field: "mcp_servers",
    })),
  ];
}

/** The names of the tools a request offers, in any format (OpenAI's, the Responses API's, Anthropic's, Gemini's, Converse's). */
export function toolNames(body: Record<string, unknown>): string[] {
  return offeredTools(body).map((tool) => tool.name);
}
