// Google Vertex AI: Gemini models (`publishers/google`, Gemini's own wire
// format) and Claude models (`publishers/anthropic`, Anthropic's Messages
// format with the version in the body and the model in the path). A
// credential is a service account's key file (and optionally a location);
// each request carries an OAuth access token, obtained by signing a JWT with
// the account's key and exchanged at its token URI, then kept per isolate
// until shortly before it expires.
import { importPKCS8, SignJWT } from "jose";
import { anthropicCodec } from "../../formats/anthropic/upstream.ts";
import { geminiCodec } from "../../formats/gemini/upstream.ts";
import { GatewayError } from "../../http/errors.ts";
import * as z from "../../zod.ts";
import { credentialUrlAllowed } from "../credential-urls.ts";
import { GEMINI_METHODS } from "../gemini/index.ts";
import { type AccessToken, cachedToken, reasonCode } from "../token-cache.ts";
import type { Endpoint, EndpointCall, EnvVars, ProviderDescriptor } from "../types.ts";

const GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token";
/** Where Google's service-account key files say tokens come from. */
const GOOGLE_TOKEN_ORIGINS = ["https://oauth2.googleapis.com", "https://accounts.google.com"] as const;
const SCOPE = "https://www.googleapis.com/auth/cloud-platform";
const DEFAULT_LOCATION = "us-central1";
/** What Claude on Vertex takes in place of the `anthropic-version` header. */
const VERTEX_ANTHROPIC_VERSION = "vertex-2023-10-16";
const TOKEN_TIMEOUT_MS = 10_000;

const credentialSchema = z.looseObject({
  project_id: z.string().check(z.minLength(1, { message: "is required" })),
  client_email: z.email({ message: "must be the service account's email" }),
  private_key: z.string().check(z.includes("PRIVATE KEY", { message: "must be a PEM private key" })),
  private_key_id: z.optional(z.string()),
  token_uri: z.optional(z.url()),
  /** Sluice's own: the region to call (`us-central1`, `europe-west4`, `global`…). */
  location: z.optional(z.string().check(z.regex(/^[a-z0-9-]+$/, { message: "must be a region, like us-central1" }))),
});

type ServiceAccount = z.infer<typeof credentialSchema>;

function accountOf(secret: string | undefined): ServiceAccount {
  try {
    return credentialSchema.parse(JSON.parse(secret ?? ""));
  } catch {
    throw new GatewayError(503, "unavailable", "The Vertex AI credential is not a service account key.", {
      code: "credential_invalid",
    });
  }
}

function envCredential(vars: EnvVars): string | undefined {
  const key = vars.VERTEX_SERVICE_ACCOUNT;
  if (!key) return undefined;
  try {
    const account = JSON.parse(key) as Record<string, unknown>;
    return JSON.stringify({ ...account, ...(vars.VERTEX_LOCATION && { location: vars.VERTEX_LOCATION }) });
  } catch {
    // Passed on as it is; the first request says what is wrong with it.
    return key;
  }
}

const untrustedTokenUri = () =>
  new GatewayError(
    503,
    "unavailable",
    "The Vertex AI credential's `token_uri` is not Google's token endpoint, nor on the provider's configured base URL.",
    { code: "credential_invalid" },
  );

async function exchangeToken(account: ServiceAccount, baseUrl: string | undefined): Promise<AccessToken> {
  const tokenUri = account.token_uri ?? GOOGLE_TOKEN_URI;
  // Held again where it is used: a credential stored before the rule existed is held to it too.
  if (!credentialUrlAllowed(tokenUri, { origins: GOOGLE_TOKEN_ORIGINS, baseUrl })) throw untrustedTokenUri();
  let assertion: string;
  try {
    const key = await importPKCS8(account.private_key, "RS256");
    assertion = await new SignJWT({ scope: SCOPE })
      .setProtectedHeader({ alg: "RS256", typ: "JWT", ...(account.private_key_id && { kid: account.private_key_id }) })
      .setIssuer(account.client_email)
      .setSubject(account.client_email)
      .setAudience(tokenUri)
      .setIssuedAt()
      .setExpirationTime("1h")
      .sign(key);
  } catch {
    throw new GatewayError(503, "unavailable", "The Vertex AI service account's private key could not be read.", {
      code: "credential_invalid",
    });
  }
  const response = await fetch(tokenUri, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer", assertion }),
    signal: AbortSignal.timeout(TOKEN_TIMEOUT_MS),
  });
  const body = (await response.json().catch(() => ({}))) as { access_token?: unknown; expires_in?: unknown; error?: unknown };
  if (!response.ok || typeof body.access_token !== "string") {
    // The reason code only (`invalid_grant`…): the rest of the answer can quote the account.
    const why = reasonCode(body.error) ?? `HTTP ${response.status}`;
    throw new GatewayError(502, "upstream", `Vertex AI refused the service account (${why}).`, { code: "upstream_auth" });
  }
  const expiresIn = typeof body.expires_in === "number" && body.expires_in > 0 ? body.expires_in : 3600;
  return { value: body.access_token, expiresAt: Date.now() + expiresIn * 1000 };
}

/** `…/projects/{project}/locations/{location}/publishers/{publisher}/models/{model}:{method}` */
async function vertexRequest(call: EndpointCall, publisher: string, method: string, body: unknown, headers = {}) {
  const account = accountOf(call.settings.secret);
  // The deployment's region, where the operator set one, is where data controls think the call goes: so it is.
  const location = call.settings.region ?? account.location ?? DEFAULT_LOCATION;
  const host = location === "global" ? "aiplatform.googleapis.com" : `${location}-aiplatform.googleapis.com`;
  const base = call.settings.baseUrl || `https://${host}`;
  const path = `v1/projects/${encodeURIComponent(account.project_id)}/locations/${location}/publishers/${publisher}/models`;
  return new Request(`${base}/${path}/${encodeURIComponent(call.upstreamModel)}:${method}`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      authorization: `Bearer ${await cachedToken(call.settings.secret ?? "", () => exchangeToken(account, call.settings.baseUrl))}`,
      "x-request-id": call.requestId,
      ...headers,
    },
    body: JSON.stringify(body),
  });
}

const gemini: Endpoint = {
  dialect: "gemini-generate",
  framing: "sse",
  codec: geminiCodec,
  methods: GEMINI_METHODS,
  request: (call) =>
    vertexRequest(call, "google", call.method ?? (call.stream ? "streamGenerateContent?alt=sse" : "generateContent"), call.body),
};

const claude: Endpoint = {
  dialect: "anthropic-messages",
  framing: "sse",
  codec: anthropicCodec,
  request(call) {
    const { model: _model, ...rest } = call.body;
    const body = { ...rest, anthropic_version: VERTEX_ANTHROPIC_VERSION, ...(call.stream && { stream: true }) };
    const beta = call.clientHeaders.get("anthropic-beta");
    return vertexRequest(call, "anthropic", call.stream ? "streamRawPredict" : "rawPredict", body, {
      ...(beta && { "anthropic-beta": beta }),
    });
  },
};

export const vertexProvider: ProviderDescriptor<"vertex"> = {
  kind: "vertex",
  env: {
    vars: [{ name: "VERTEX_SERVICE_ACCOUNT" }, { name: "VERTEX_LOCATION" }, { name: "VERTEX_BASE_URL", url: true }],
    secret: envCredential,
    baseUrl: (vars) => vars.VERTEX_BASE_URL,
    region: (vars) => vars.VERTEX_LOCATION,
  },
  baseUrlFromCredential: true,
  // No model names of its own: `gemini-…` and `claude-…` go to Google and Anthropic unless named `vertex/…`
  // or listed in the catalog; prices come from theirs (`claude-sonnet-4-5@20250929` finds its family).
  pricedLike: ["gemini", "anthropic"],
  credential: {
    schema: credentialSchema,
    urls: (parts) => (typeof parts.token_uri === "string" ? [{ field: "token_uri", url: parts.token_uri }] : []),
    origins: GOOGLE_TOKEN_ORIGINS,
    hint: (parts) => `${String(parts.client_email).split("@")[0]?.slice(-4)} ${String(parts.location ?? DEFAULT_LOCATION)}`,
  },
  endpoints: (model) => (/^claude-/.test(model) ? [claude] : [gemini]),
};
