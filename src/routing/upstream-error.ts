// Turns an upstream's error response into a GatewayError that keeps its
// status and message and carries no credential: neither the one sent, nor
// any the gateway is configured with, nor anything shaped like a key.
import type { Config } from "../config/index.ts";
import { type ErrorKind, GatewayError } from "../http/errors.ts";

/** OpenAI- and Anthropic-style keys, Groq's and xAI's, Google API keys and access tokens, AWS access key ids. */
const CREDENTIAL_LIKE =
  /\b(sk-[\w-]{4,}|sk_[\w-]{4,}|gsk_[\w-]{8,}|xai-[\w-]{8,}|AIza[\w-]{8,}|key-[\w-]{8,}|ya29\.[\w-]{8,}|(?:AKIA|ASIA)[A-Z0-9]{12,})[\w*.-]*/g;

/** A credential's secret strings: the text itself, and the secret parts of a credential of several (sealed as JSON). */
function secretParts(secret: string): string[] {
  if (!secret.startsWith("{")) return [secret];
  try {
    const parts = Object.entries(JSON.parse(secret) as Record<string, unknown>).filter(([name]) => /secret|key|token/.test(name));
    return [secret, ...parts.flatMap(([, part]) => (typeof part === "string" && part.length >= 8 ? [part] : []))];
  } catch {
    return [secret];
  }
}

const configured = new WeakMap<Config, string[]>();

/** Every secret the configuration holds, which no upstream's words may carry to a client or the ledger. */
export function configuredSecrets(config: Config): string[] {
  let secrets = configured.get(config);
  if (!secrets) {
    secrets = [
      config.adminKey,
      config.redis.token,
      config.jwt.secret,
      config.google?.clientSecret,
      config.webhooks.billing?.secret,
      config.webhooks.alerts?.secret,
      ...Object.values(config.providers).map((provider) => provider?.secret),
    ].filter((secret): secret is string => typeof secret === "string" && secret.length >= 8);
    configured.set(config, secrets);
  }
  return secrets;
}

export function redactSecrets(text: string, secrets: (string | undefined)[]): string {
  let clean = text;
  for (const secret of secrets.flatMap((s) => (s ? secretParts(s) : []))) {
    if (secret.length >= 4) clean = clean.split(secret).join("[redacted]");
  }
  return clean.replace(CREDENTIAL_LIKE, "[redacted]");
}

function kindFor(status: number): ErrorKind {
  if (status === 400 || status === 422) return "invalid_request";
  if (status === 401) return "authentication";
  if (status === 403) return "permission";
  if (status === 404) return "not_found";
  if (status === 413) return "request_too_large";
  if (status === 429) return "rate_limit";
  if (status === 503 || status === 529) return "unavailable";
  if (status === 504) return "timeout";
  return "upstream";
}

function messageFrom(text: string): string | undefined {
  try {
    const body = JSON.parse(text) as { error?: { message?: unknown } | string; message?: unknown };
    if (typeof body.error === "string") return body.error;
    if (typeof body.error?.message === "string") return body.error.message;
    if (typeof body.message === "string") return body.message;
  } catch {
    // Not JSON: the text itself is the message.
  }
  return text.trim() ? text.trim().slice(0, 500) : undefined;
}

/** How long the upstream asked to be left alone (`retry-after-ms`, or `retry-after` in seconds or as a date). */
export function retryAfterMs(headers: Headers): number | undefined {
  const ms = Number(headers.get("retry-after-ms") ?? Number.NaN);
  if (Number.isFinite(ms) && ms >= 0) return ms;
  const value = headers.get("retry-after");
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/** The upstream's error, its message kept and any credential (the one sent, the configured ones) redacted. */
export async function upstreamError(
  response: Response,
  provider: string,
  secrets: (string | undefined)[],
): Promise<GatewayError> {
  // Redacted whole, before any of it is cut: a key straddling the cut would otherwise leave its first part.
  const text = redactSecrets(await response.text().catch(() => ""), secrets);
  // A success or redirect status here means the upstream misbehaved: report it as a bad gateway.
  const status = response.status >= 400 ? response.status : 502;
  const message = messageFrom(text) ?? `Upstream ${provider} answered HTTP ${response.status}.`;
  const headers: Record<string, string> = {};
  const retryAfter = response.headers.get("retry-after");
  if (retryAfter) headers["retry-after"] = retryAfter;
  // Again once read: a JSON string may spell a key with escapes that only reading undoes.
  return new GatewayError(status, kindFor(status), redactSecrets(message, secrets), {
    code: `upstream_${status}`,
    headers,
  });
}
