// Client formats by name. The route picks the format; errors go back in it.
import type { GatewayError } from "../http/errors.ts";
import { anthropicErrors } from "./anthropic/errors.ts";
import { geminiErrors } from "./gemini/errors.ts";
import { openaiErrors } from "./openai/errors.ts";
import type { ClientFormat, ErrorRenderer } from "./types.ts";

export type { ClientFormat } from "./types.ts";

const ERROR_RENDERERS: Record<ClientFormat, ErrorRenderer> = {
  openai: openaiErrors,
  anthropic: anthropicErrors,
  gemini: geminiErrors,
};

export function errorBody(format: ClientFormat, error: GatewayError): unknown {
  return ERROR_RENDERERS[format].body(error);
}

export function errorStreamEvent(format: ClientFormat, error: GatewayError): string {
  return ERROR_RENDERERS[format].streamEvent(error);
}
