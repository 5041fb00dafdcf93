// The mock's Azure OpenAI: the resource's two layouts (the v1 API, and the
// dated API with deployments in the path and `api-version` in the query),
// which it serves as OpenAI's own paths once the key or token is checked;
// and an Entra ID sign-in host issuing tokens for one application by the
// client-credentials grant.
import { randomUUID } from "node:crypto";
import {
  MOCK_AZURE_API_KEY,
  MOCK_ENTRA_AUTHORITY_PATH,
  MOCK_ENTRA_CLIENT_ID,
  MOCK_ENTRA_CLIENT_SECRET,
  MOCK_ENTRA_TENANT,
} from "./credentials.ts";

const TOKEN_PATH = `${MOCK_ENTRA_AUTHORITY_PATH}/${MOCK_ENTRA_TENANT}/oauth2/v2.0/token`;
const DEPLOYMENT_PATH = /^\/openai\/deployments\/([^/]+)\/(chat\/completions|completions|embeddings)$/;

export interface AzureCall {
  /** The OpenAI path it is served as. */
  path: string;
  /** The deployment the path names, which the dated API takes in place of the body's model. */
  deployment?: string;
}

export interface MockAzure {
  isTokenPath(path: string): boolean;
  /** Status and body as Entra ID's token endpoint answers. */
  token(form: URLSearchParams): { status: number; body: unknown };
  /** The OpenAI path an Azure path is served as, or a problem with it; undefined for paths not Azure's. */
  route(path: string, query: URLSearchParams): AzureCall | { problem: string } | undefined;
  /** Whether a request carries the resource's key or a token the mock's Entra ID issued. */
  accepts(headers: { "api-key"?: string | string[]; authorization?: string }): boolean;
  issued(): number;
}

export function mockAzure(): MockAzure {
  const tokens = new Map<string, number>();
  let issued = 0;
  return {
    isTokenPath: (path) => path === TOKEN_PATH,
    token(form) {
      if (form.get("grant_type") !== "client_credentials") {
        return { status: 400, body: { error: "unsupported_grant_type", error_description: "AADSTS70003" } };
      }
      if (form.get("client_id") !== MOCK_ENTRA_CLIENT_ID || form.get("client_secret") !== MOCK_ENTRA_CLIENT_SECRET) {
        return { status: 401, body: { error: "invalid_client", error_description: "AADSTS7000215: Invalid client secret." } };
      }
      if (form.get("scope") !== "https://cognitiveservices.azure.com/.default") {
        return { status: 400, body: { error: "invalid_scope", error_description: "AADSTS70011" } };
      }
      const token = `eyJ0eXAiOiJKV1QiLCJhbGciOiJub25lIn0.mock-entra-${randomUUID()}`;
      tokens.set(token, Date.now() + 3599_000);
      issued++;
      return { status: 200, body: { token_type: "Bearer", expires_in: 3599, access_token: token } };
    },
    route(path, query) {
      if (!path.startsWith("/openai/")) return undefined;
      if (path.startsWith("/openai/v1/")) return { path: path.slice("/openai".length) };
      if (!query.get("api-version")) return { problem: "Missing required query parameter: api-version." };
      if (path === "/openai/responses") return { path: "/v1/responses" };
      const deployment = DEPLOYMENT_PATH.exec(path);
      if (!deployment) return { problem: `Resource not found: ${path}` };
      return { path: `/v1/${deployment[2]}`, deployment: decodeURIComponent(deployment[1] ?? "") };
    },
    accepts(headers) {
      if (headers["api-key"] === MOCK_AZURE_API_KEY) return true;
      const token = /^Bearer (\S+)$/.exec(headers.authorization ?? "")?.[1];
      return token !== undefined && (tokens.get(token) ?? 0) > Date.now();
    },
    issued: () => issued,
  };
}
