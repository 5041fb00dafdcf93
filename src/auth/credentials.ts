// Finds the caller's credential wherever an SDK puts it.

/**
 * `Authorization: Bearer` (OpenAI), `x-api-key` (Anthropic),
 * `x-goog-api-key` and `?key=` (Google).
 */
export function readCredential(request: Request): string | undefined {
  const authorization = request.headers.get("authorization");
  if (authorization) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    return match?.[1] ?? "";
  }
  const header = request.headers.get("x-api-key") ?? request.headers.get("x-goog-api-key");
  if (header !== null) return header.trim();
  const query = new URL(request.url).searchParams.get("key");
  return query ?? undefined;
}
