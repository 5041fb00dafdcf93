// OAuth's refusals as GatewayErrors whose code is OAuth's own (rendered by formats/oauth).
import { GatewayError } from "../http/errors.ts";

export const invalidRequest = (message: string) => new GatewayError(400, "invalid_request", message, { code: "invalid_request" });
export const invalidGrant = (message: string) => new GatewayError(400, "invalid_request", message, { code: "invalid_grant" });
export const invalidTarget = (message: string) => new GatewayError(400, "invalid_request", message, { code: "invalid_target" });
export const invalidClient = (message: string) => new GatewayError(401, "authentication", message, { code: "invalid_client" });
export const invalidClientMetadata = (message: string, code = "invalid_client_metadata") =>
  new GatewayError(400, "invalid_request", message, { code });

export const notOffered = () =>
  new GatewayError(
    404,
    "not_found",
    "This gateway is not an authorization server: MCP_AUTHORIZATION_SERVERS does not name `sluice`.",
    {
      code: "oauth_disabled",
    },
  );
