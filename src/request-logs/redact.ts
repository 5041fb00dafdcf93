// What is taken out of a prompt or an answer before it is stored: the
// credentials the call used or the gateway holds, then a built-in set of
// secret and personal-data patterns (until guardrails bring their own).
import type { GatewayContext } from "../context.ts";
import { configuredSecrets } from "../routing/upstream-error.ts";

const PATTERNS: [RegExp, string][] = [
  // Provider and gateway keys, bearer tokens, JWTs.
  [/\b(sk|pk|rk)-[A-Za-z0-9_-]{16,}\b/g, "[REDACTED:api_key]"],
  [/\bAIza[0-9A-Za-z_-]{30,}\b/g, "[REDACTED:api_key]"],
  [/\bAKIA[0-9A-Z]{16}\b/g, "[REDACTED:aws_access_key]"],
  [/\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\b/g, "[REDACTED:jwt]"],
  [/\bBearer\s+[A-Za-z0-9._~+/=-]{16,}/g, "Bearer [REDACTED]"],
  // Personal data: e-mail addresses, card numbers, US social security numbers.
  [/\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b/g, "[REDACTED:email]"],
  [/\b(?:\d[ -]?){13,19}\b/g, "[REDACTED:card_number]"],
  [/\b\d{3}-\d{2}-\d{4}\b/g, "[REDACTED:ssn]"],
];

/** What a request's stored words are redacted of: the credential its call was sent with, and every secret the gateway holds. */
export const storedSecrets = (c: GatewayContext): (string | undefined)[] => [
  c.get("callSecret"),
  ...configuredSecrets(c.get("config")),
];

export function redactForStorage(text: string, secrets: (string | undefined)[]): string {
  let redacted = text;
  for (const secret of secrets) {
    if (secret && secret.length >= 8) redacted = redacted.replaceAll(secret, "[REDACTED:credential]");
  }
  for (const [pattern, replacement] of PATTERNS) redacted = redacted.replace(pattern, replacement);
  return redacted;
}
