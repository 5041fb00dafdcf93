// The mock's Vertex AI: a service account made fresh at each start, its
// token endpoint (a JWT signed with the account's key in, an access token
// out, as Google's OAuth server does), and the model paths of both
// publishers, which speak Gemini's and Anthropic's formats.
import { createVerify, generateKeyPairSync, randomUUID } from "node:crypto";
import { MOCK_VERTEX_ACCOUNT_PATH } from "./credentials.ts";

export const VERTEX_TOKEN_PATH = "/__mock/vertex/token";
export const VERTEX_PATH =
  /^\/v1\/projects\/([^/]+)\/locations\/([^/]+)\/publishers\/(google|anthropic)\/models\/([^/:]+):(generateContent|streamGenerateContent|rawPredict|streamRawPredict)$/;

const PROJECT = "sluice-mock";
const EMAIL = `sluice-test@${PROJECT}.iam.gserviceaccount.com`;
const KEY_ID = "mock-key-1";

export interface MockVertex {
  /** The service account's key file, as Google issues it, pointing at the mock's token endpoint. */
  account(baseUrl: string): Record<string, string>;
  /** Exchanges a signed JWT for an access token: status and body as Google's token endpoint answers. */
  token(form: URLSearchParams, baseUrl: string): { status: number; body: unknown };
  /** Whether a bearer token is one the mock issued and has not expired. */
  accepts(authorization: string | undefined): boolean;
  /** How many tokens it has issued: a gateway that keeps its token asks once. */
  issued(): number;
}

const base64url = (text: string) => Buffer.from(text, "base64url");

export function mockVertex(): MockVertex {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const pem = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  const tokens = new Map<string, number>();
  let issued = 0;
  const refuse = (description: string) => ({ status: 400, body: { error: "invalid_grant", error_description: description } });
  return {
    account: (baseUrl) => ({
      type: "service_account",
      project_id: PROJECT,
      private_key_id: KEY_ID,
      private_key: pem,
      client_email: EMAIL,
      client_id: "100000000000000000001",
      token_uri: `${baseUrl}${VERTEX_TOKEN_PATH}`,
    }),
    token(form, baseUrl) {
      if (form.get("grant_type") !== "urn:ietf:params:oauth:grant-type:jwt-bearer") {
        return { status: 400, body: { error: "unsupported_grant_type", error_description: "Invalid grant_type." } };
      }
      const [header = "", payload = "", signature = ""] = (form.get("assertion") ?? "").split(".");
      const verifier = createVerify("RSA-SHA256");
      verifier.update(`${header}.${payload}`);
      if (!verifier.verify(publicKey, base64url(signature))) return refuse("Invalid JWT Signature.");
      const claims = JSON.parse(base64url(payload).toString()) as Record<string, unknown>;
      const { alg } = JSON.parse(base64url(header).toString()) as { alg?: string };
      const now = Math.floor(Date.now() / 1000);
      if (alg !== "RS256") return refuse("Invalid JWT: alg must be RS256.");
      if (claims.iss !== EMAIL) return refuse("Invalid JWT: iss is not the service account.");
      if (claims.aud !== `${baseUrl}${VERTEX_TOKEN_PATH}`) return refuse("Invalid JWT: aud is not the token URI.");
      if (!String(claims.scope ?? "").includes("https://www.googleapis.com/auth/cloud-platform")) {
        return refuse("Invalid JWT: no cloud-platform scope.");
      }
      const exp = Number(claims.exp);
      const iat = Number(claims.iat);
      if (!(exp > now && iat <= now + 60 && exp - iat <= 3600)) return refuse("Invalid JWT: Token must be a short-lived token.");
      const token = `ya29.mock-${randomUUID()}`;
      tokens.set(token, Date.now() + 3599_000);
      issued++;
      return { status: 200, body: { access_token: token, expires_in: 3599, token_type: "Bearer" } };
    },
    accepts(authorization) {
      const token = /^Bearer (\S+)$/.exec(authorization ?? "")?.[1];
      return token !== undefined && (tokens.get(token) ?? 0) > Date.now();
    },
    issued: () => issued,
  };
}

export { MOCK_VERTEX_ACCOUNT_PATH };
