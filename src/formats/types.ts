import type { GatewayError } from "../http/errors.ts";

/** The wire format a client speaks; errors and streams go back in it. */
export type ClientFormat = "openai" | "anthropic" | "gemini";

export interface ErrorRenderer {
  body(error: GatewayError): unknown;
  /** The error as one event of a stream that already started. */
  streamEvent(error: GatewayError): string;
}
