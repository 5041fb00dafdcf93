// Google's error shape: {error: {code, message, status}}.
import type { ErrorKind, GatewayError } from "../../http/errors.ts";
import type { ErrorRenderer } from "../types.ts";

const GEMINI_STATUSES: Record<ErrorKind, string> = {
  invalid_request: "INVALID_ARGUMENT",
  authentication: "UNAUTHENTICATED",
  permission: "PERMISSION_DENIED",
  not_found: "NOT_FOUND",
  request_too_large: "INVALID_ARGUMENT",
  rate_limit: "RESOURCE_EXHAUSTED",
  upstream: "INTERNAL",
  unavailable: "UNAVAILABLE",
  timeout: "DEADLINE_EXCEEDED",
  internal: "INTERNAL",
};

const geminiErrorBody = (error: GatewayError) => ({
  error: { code: error.status, message: error.message, status: GEMINI_STATUSES[error.kind] },
});

export const geminiErrors: ErrorRenderer = {
  body: geminiErrorBody,
  streamEvent: (error) => `data: ${JSON.stringify(geminiErrorBody(error))}\n\n`,
};
