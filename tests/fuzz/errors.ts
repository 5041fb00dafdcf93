// Reading an error answer: its message in each format, and the fields it names.
import type { ErrorShape } from "../../src/formats/types.ts";
import type { Mutation } from "./requests.ts";

/** The error shape each format's callers read. */
export function errorMessage(shape: ErrorShape, body: unknown): string | undefined {
  const value = body as { type?: string; error?: { message?: unknown; type?: unknown; code?: unknown; status?: unknown } };
  if (shape === "anthropic")
    return value.type === "error" && typeof value.error?.type === "string" ? String(value.error.message) : undefined;
  // MCP's: a JSON-RPC error response.
  if (shape === "mcp") {
    const rpc = body as { jsonrpc?: unknown; error?: { code?: unknown; message?: unknown } };
    return rpc.jsonrpc === "2.0" && typeof rpc.error?.code === "number" ? String(rpc.error.message) : undefined;
  }
  // Cohere's: `{id, message}`, the status saying the kind.
  if (shape === "cohere") {
    const cohere = body as { id?: unknown; message?: unknown };
    return typeof cohere.id === "string" && typeof cohere.message === "string" ? cohere.message : undefined;
  }
  // Bedrock's: `{message}`, the exception named in a header.
  if (shape === "bedrock") {
    const bedrock = body as { message?: unknown };
    return typeof bedrock.message === "string" && Object.keys(body as object).length === 1 ? bedrock.message : undefined;
  }
  // OAuth's: `{error, error_description}`, the error a code.
  if (shape === "oauth") {
    const oauth = body as { error?: unknown; error_description?: unknown };
    return typeof oauth.error === "string" && typeof oauth.error_description === "string" ? oauth.error_description : undefined;
  }
  if (shape === "gemini") {
    return typeof value.error?.code === "number" && typeof value.error.status === "string"
      ? String(value.error.message)
      : undefined;
  }
  return typeof value.error?.type === "string" ? String(value.error.message) : undefined;
}

/**
 * What an error names: its `param`, where its format has one, and every
 * quoted name in its message (`the gateway's`, 'a provider's' or "another's"),
 * as dotted paths (`messages[0]` and `$.messages.0` read as `messages.0`).
 */
export function namedIn(body: unknown, message: string): string[] {
  const error = (body as { error?: { param?: unknown; data?: { param?: unknown } } }).error;
  // MCP's JSON-RPC errors carry it in `data`.
  const param = error?.param ?? error?.data?.param;
  const quoted = [...message.matchAll(/`([^`]+)`|'([^']+)'|"([^"]+)"/g)].map((m) => m[1] ?? m[2] ?? m[3] ?? "");
  return [...(typeof param === "string" ? [param] : []), ...quoted].map((name) =>
    name.replace(/\[(\d+)\]/g, ".$1").replace(/^\$\./, ""),
  );
}

/**
 * Whether the names include the mutated field or one inside it; or what
 * holds it, when it was deleted (its holder is now incomplete) or is an
 * element of a list (a list's elements are named by the list).
 */
export function namesField(named: string[], mutation: Mutation): boolean {
  const field = mutation.path.join(".");
  const holder = mutation.path.slice(0, -1).join(".");
  const byHolder = holder !== "" && (mutation.deleted || typeof mutation.path.at(-1) === "number");
  return named.some((n) => n === field || n.startsWith(`${field}.`) || (byHolder && n === holder));
}
