// Anthropic's error shape: {type: "error", error: {type, message}}.
import type { ErrorKind, GatewayError } from "../../http/errors.ts";
import type { ErrorRenderer } from "../types.ts";

const ANTHROPIC_TYPES: Record<ErrorKind, string> = {
  invalid_request: "invalid_request_error",
  authentication: "authentication_error",
  permission: "permission_error",
  not_found: "not_found_error",
  request_too_large: "request_too_large",
  rate_limit: "rate_limit_error",
  upstream: "api_error",
  unavailable: "overloaded_error",
  timeout: "api_error",
  internal: "api_error",
};

const anthropicErrorBody = (error: GatewayError) => ({
  type: "error",
  error: { type: ANTHROPIC_TYPES[error.kind], message: error.message },
});

export const anthropicErrors: ErrorRenderer = {
  body: anthropicErrorBody,
  streamEvent: (error) => `event: error\ndata: ${JSON.stringify(anthropicErrorBody(error))}\n\n`,
};
