// Bedrock's error shape: `{message}`, the exception's name in `x-amzn-errortype`
// (which the AWS SDK reads to raise its own error class); in a stream, an
// event-stream message of type `exception` named by `:exception-type`.
import type { ErrorKind, GatewayError } from "../../http/errors.ts";
import type { ErrorRenderer } from "../types.ts";
import { EVENT_STREAM_WIRE, eventStreamText } from "./stream.ts";

const EXCEPTIONS: Record<ErrorKind, string> = {
  invalid_request: "ValidationException",
  authentication: "UnrecognizedClientException",
  permission: "AccessDeniedException",
  not_found: "ResourceNotFoundException",
  request_too_large: "ValidationException",
  rate_limit: "ThrottlingException",
  upstream: "ModelErrorException",
  unavailable: "ServiceUnavailableException",
  timeout: "ModelTimeoutException",
  internal: "InternalServerException",
};

/** ConverseStream's exception members, as the SDK's union names them. */
const STREAM_EXCEPTIONS: Partial<Record<ErrorKind, string>> = {
  invalid_request: "validationException",
  rate_limit: "throttlingException",
  unavailable: "serviceUnavailableException",
  upstream: "modelStreamErrorException",
};

export const bedrockErrors: ErrorRenderer = {
  body: (error: GatewayError) => ({ message: error.message }),
  headers: (error: GatewayError) => ({ "x-amzn-errortype": EXCEPTIONS[error.kind] }),
  streamEvent: (error) =>
    eventStreamText(
      {
        ":exception-type": STREAM_EXCEPTIONS[error.kind] ?? "internalServerException",
        ":content-type": "application/json",
        ":message-type": "exception",
      },
      { message: error.message },
    ),
  wire: EVENT_STREAM_WIRE,
};
