// OAuth's error shape (RFC 6749 §5.2, RFC 7591 §3.2.2): `{error, error_description}`,
// for the authorization server's routes. The code is the GatewayError's when it
// is one of OAuth's, and the kind's nearest otherwise.
import type { ErrorKind, GatewayError } from "../../http/errors.ts";
import type { ErrorRenderer } from "../types.ts";

const OAUTH_CODES = new Set([
  "invalid_request",
  "invalid_client",
  "invalid_grant",
  "unauthorized_client",
  "unsupported_grant_type",
  "invalid_scope",
  "invalid_target",
  "invalid_redirect_uri",
  "invalid_client_metadata",
  "access_denied",
  "temporarily_unavailable",
  "server_error",
]);

const BY_KIND: Record<ErrorKind, string> = {
  invalid_request: "invalid_request",
  request_too_large: "invalid_request",
  authentication: "invalid_client",
  permission: "access_denied",
  not_found: "invalid_request",
  rate_limit: "temporarily_unavailable",
  upstream: "temporarily_unavailable",
  unavailable: "temporarily_unavailable",
  timeout: "temporarily_unavailable",
  internal: "server_error",
};

export const oauthErrorCode = (error: GatewayError) =>
  error.code && OAUTH_CODES.has(error.code) ? error.code : BY_KIND[error.kind];

export const oauthErrors: ErrorRenderer = {
  body: (error) => ({ error: oauthErrorCode(error), error_description: error.message }),
  headers: () => ({ "cache-control": "no-store" }),
  streamEvent: (error) => `data: ${JSON.stringify({ error: oauthErrorCode(error), error_description: error.message })}\n\n`,
};
