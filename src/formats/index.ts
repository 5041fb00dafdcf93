// Client formats by name, and the error shapes errors go back in.
import type { GatewayError } from "../http/errors.ts";
import { anthropicErrors } from "./anthropic/errors.ts";
import { bedrockErrors } from "./bedrock/errors.ts";
import { cohereErrors } from "./cohere/errors.ts";
import { geminiErrors } from "./gemini/errors.ts";
import { mcpErrors } from "./mcp/errors.ts";
import { oauthErrors } from "./oauth/errors.ts";
import { openaiErrors, responsesErrors } from "./openai/errors.ts";
import type { ErrorRenderer, ErrorShape, StreamWire } from "./types.ts";

export type { ClientFormat, Dialect, ErrorShape } from "./types.ts";

const ERROR_RENDERERS: Record<ErrorShape, ErrorRenderer> = {
  openai: openaiErrors,
  "openai-responses": responsesErrors,
  anthropic: anthropicErrors,
  gemini: geminiErrors,
  cohere: cohereErrors,
  mcp: mcpErrors,
  bedrock: bedrockErrors,
  oauth: oauthErrors,
};

export function errorBody(shape: ErrorShape, error: GatewayError): unknown {
  return ERROR_RENDERERS[shape].body(error);
}

export function errorStreamEvent(shape: ErrorShape, error: GatewayError): string {
  return ERROR_RENDERERS[shape].streamEvent(error);
}

export function errorHeaders(shape: ErrorShape, error: GatewayError): Record<string, string> {
  return ERROR_RENDERERS[shape].headers?.(error) ?? {};
}

/** How a stream in this shape leaves; undefined for server-sent events. */
export function streamWire(shape: ErrorShape): StreamWire | undefined {
  return ERROR_RENDERERS[shape].wire;
}
