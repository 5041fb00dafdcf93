// MCP's error shape: a JSON-RPC 2.0 error response. Errors the gateway raises
// itself use JSON-RPC's reserved codes where one fits and codes from the
// server-defined range (-32000 to -32099) otherwise; `data` names the kind.
import type { ErrorKind, GatewayError } from "../../http/errors.ts";
import type { ErrorRenderer } from "../types.ts";

export const JSONRPC_CODES: Record<ErrorKind, number> = {
  invalid_request: -32600,
  request_too_large: -32600,
  authentication: -32001,
  permission: -32003,
  not_found: -32004,
  rate_limit: -32029,
  upstream: -32002,
  unavailable: -32002,
  timeout: -32008,
  internal: -32603,
};

/** JSON-RPC's own codes for the errors it names. */
const SPECIFIC_CODES: Record<string, number> = {
  invalid_json: -32700,
  method_not_found: -32601,
  invalid_params: -32602,
};

export type JsonRpcId = string | number | null;

export function jsonRpcError(error: GatewayError, id: JsonRpcId = null) {
  return {
    jsonrpc: "2.0" as const,
    id,
    error: {
      code: SPECIFIC_CODES[error.code ?? ""] ?? JSONRPC_CODES[error.kind],
      message: error.message,
      data: { type: error.kind, ...(error.code && { code: error.code }), ...(error.param && { param: error.param }) },
    },
  };
}

export const mcpErrors: ErrorRenderer = {
  body: (error) => jsonRpcError(error),
  streamEvent: (error) => `event: message\ndata: ${JSON.stringify(jsonRpcError(error))}\n\n`,
};
