// What a log line says about an error: the root cause's own message, short.
// Drizzle wraps a driver's error in one that repeats the whole query and its
// parameters (a batch of usage records, say), which would bury the reason and
// put request data in the logs.
import { errors } from "jose";

const MAX = 300;

/**
 * An error's name as a log should read it. jose names its errors after their
 * classes, which the minified build renames, so a jose error is named by its
 * stable code instead (ERR_JWT_EXPIRED, ERR_JWKS_TIMEOUT).
 */
const nameOf = (error: Error) => (error instanceof errors.JOSEError ? `JOSEError ${error.code}` : error.name);

export function reason(error: unknown): string {
  let cause = error;
  for (let depth = 0; depth < 5; depth++) {
    const inner = (cause as { cause?: unknown } | null)?.cause;
    // Only an error is a cause worth naming: jose's claim errors carry the claim and payload there.
    if (!(inner instanceof Error)) break;
    cause = inner;
  }
  const text = cause instanceof Error ? `${nameOf(cause)}: ${cause.message}` : String(cause);
  return text.length > MAX ? `${text.slice(0, MAX)}…` : text;
}

/**
 * An unexpected error for the log: its root cause, short, and where it was
 * thrown (the stack's frames, without the message a query wrapper repeats
 * its SQL and parameters in).
 */
export function logDetail(error: unknown): string {
  const frames = error instanceof Error ? (error.stack ?? "").split("\n").filter((line) => /^\s+at /.test(line)) : [];
  return [reason(error), ...frames.slice(0, 12)].join("\n");
}
