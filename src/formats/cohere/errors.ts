// Cohere's error shape: `{id, message}` with the HTTP status saying the kind;
// a stream that fails after it began ends with a message-end whose finish
// reason is ERROR, as Cohere's own streams do.
import type { GatewayError } from "../../http/errors.ts";
import type { ErrorRenderer } from "../types.ts";

export const cohereErrors: ErrorRenderer = {
  body: (error: GatewayError) => ({ id: crypto.randomUUID(), message: error.message }),
  streamEvent: (error) =>
    `event: message-end\ndata: ${JSON.stringify({ type: "message-end", delta: { finish_reason: "ERROR", error: error.message } })}\n\n`,
};
