// OpenAI's error shape: {error: {message, type, param, code}}.
import type { ErrorKind, GatewayError } from "../../http/errors.ts";
import type { ErrorRenderer } from "../types.ts";

const OPENAI_TYPES: Record<ErrorKind, string> = {
  invalid_request: "invalid_request_error",
  authentication: "authentication_error",
  permission: "permission_error",
  not_found: "invalid_request_error",
  request_too_large: "invalid_request_error",
  rate_limit: "rate_limit_exceeded",
  upstream: "upstream_error",
  unavailable: "service_unavailable",
  timeout: "timeout",
  internal: "server_error",
};

function openaiErrorBody(error: GatewayError) {
  return {
    error: {
      message: error.message,
      type: OPENAI_TYPES[error.kind],
      param: error.param ?? null,
      code: error.code ?? null,
    },
  };
}

export const openaiErrors: ErrorRenderer = {
  body: openaiErrorBody,
  streamEvent: (error) => `data: ${JSON.stringify(openaiErrorBody(error))}\n\n`,
};

/** The Responses API: the same body; in a stream, an `error` event, as OpenAI sends one. */
export const responsesErrors: ErrorRenderer = {
  body: openaiErrorBody,
  streamEvent: (error) => {
    const { message, param, code, type } = openaiErrorBody(error).error;
    return `event: error\ndata: ${JSON.stringify({ type: "error", code: code ?? type, message, param, sequence_number: 0 })}\n\n`;
  },
};
