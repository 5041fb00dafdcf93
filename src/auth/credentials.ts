// Finds the caller's credential wherever an SDK puts it.

/** The WebSocket subprotocol OpenAI's browser clients carry a credential in (`/v1/realtime` only). */
const PROTOCOL_PREFIX = "openai-insecure-api-key.";

/**
 * `Authorization: Bearer` (OpenAI), `x-api-key` (Anthropic), `x-goog-api-key`
 * (Google), and `?key=` only where the route takes it (Gemini's REST routes,
 * whose clients put it there). A credential in a URL can be made to travel
 * in a link, and lands in logs and browser history, so elsewhere it is
 * `queried` but not taken: the refusal can then say where to put it.
 */
export function readCredential(request: Request, options: { query: boolean; protocol?: boolean }): string | undefined {
  const authorization = request.headers.get("authorization");
  if (authorization) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    return match?.[1] ?? "";
  }
  const header = request.headers.get("x-api-key") ?? request.headers.get("x-goog-api-key");
  if (header !== null) return header.trim();
  // A browser's WebSocket can set no header but its subprotocols: OpenAI's SDKs send the credential as one.
  if (options.protocol) {
    const protocols = (request.headers.get("sec-websocket-protocol") ?? "").split(",").map((name) => name.trim());
    const offered = protocols.find((name) => name.startsWith(PROTOCOL_PREFIX));
    if (offered !== undefined) return offered.slice(PROTOCOL_PREFIX.length);
  }
  if (!options.query) return undefined;
  return new URL(request.url).searchParams.get("key") ?? undefined;
}

/** Whether the request carries `?key=`, for a refusal that says it is not taken here. */
export const hasQueryCredential = (request: Request) => new URL(request.url).searchParams.has("key");
