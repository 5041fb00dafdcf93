// Finds the caller's credential wherever an SDK puts it.

/**
 * `Authorization: Bearer` (OpenAI), `x-api-key` (Anthropic), `x-goog-api-key`
 * (Google), and `?key=` only where the route takes it (Gemini's REST routes,
 * whose clients put it there). A credential in a URL can be made to travel
 * in a link, and lands in logs and browser history, so elsewhere it is
 * `queried` but not taken: the refusal can then say where to put it.
 */
export function readCredential(request: Request, options: { query: boolean }): string | undefined {
  const authorization = request.headers.get("authorization");
  if (authorization) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    return match?.[1] ?? "";
  }
  const header = request.headers.get("x-api-key") ?? request.headers.get("x-goog-api-key");
  if (header !== null) return header.trim();
  if (!options.query) return undefined;
  return new URL(request.url).searchParams.get("key") ?? undefined;
}

/** Whether the request carries `?key=`, for a refusal that says it is not taken here. */
export const hasQueryCredential = (request: Request) => new URL(request.url).searchParams.has("key");
