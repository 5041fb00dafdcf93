// Azure OpenAI: OpenAI's API on a resource of the customer's own
// (`https://<resource>.openai.azure.com`), with models called by the names of
// their deployments. Two layouts: the v1 API (`/openai/v1/…`, the deployment
// as `model`), used unless an `api-version` is pinned, and the dated API
// (`/openai/deployments/<name>/…?api-version=…`). A credential is an API key,
// sent as `api-key`, or an Entra ID application (tenant, client id and
// secret), whose access token is sent as a bearer token.
import { GatewayError } from "../../http/errors.ts";
import * as z from "../../zod.ts";
import { credentialUrlAllowed } from "../credential-urls.ts";
import { openaiCompatible } from "../openai/compatible.ts";
import { OPENAI_PRICES } from "../openai/prices.ts";
import { type AccessToken, cachedToken, reasonCode } from "../token-cache.ts";
import type { EndpointCall, EnvVars } from "../types.ts";

/** Entra ID's sign-in hosts: the public cloud, US Government, China. */
const ENTRA_ORIGINS = [
  "https://login.microsoftonline.com",
  "https://login.microsoftonline.us",
  "https://login.chinacloudapi.cn",
] as const;
const ENTRA_SCOPE = "https://cognitiveservices.azure.com/.default";
const TOKEN_TIMEOUT_MS = 10_000;
/** The version operations outside a deployment (the Responses API) take on the dated API. */
const RESPONSES_API_VERSION = "2025-04-01-preview";

const credentialSchema = z.union([
  z.strictObject({ api_key: z.string().check(z.minLength(1, { message: "is required" })) }),
  z.strictObject({
    tenant_id: z.string().check(z.regex(/^[A-Za-z0-9.-]{1,100}$/, { message: "must be a tenant id or domain" })),
    client_id: z.string().check(z.minLength(1, { message: "is required" })),
    client_secret: z.string().check(z.minLength(1, { message: "is required" })),
    /** Another sign-in host (a sovereign cloud): held to Entra's own, or the provider's base URL. */
    authority_host: z.optional(z.url()),
  }),
]);

type AzureCredential = z.infer<typeof credentialSchema>;
type EntraApplication = Extract<AzureCredential, { tenant_id: string }>;

function credentialOf(secret: string | undefined): AzureCredential {
  try {
    return credentialSchema.parse(JSON.parse(secret ?? ""));
  } catch {
    throw new GatewayError(503, "unavailable", "The Azure OpenAI credential is neither an API key nor an Entra ID application.", {
      code: "credential_invalid",
    });
  }
}

/** The Worker's own credential: an API key, or the Azure SDKs' usual variables for an Entra ID application. */
function envCredential(vars: EnvVars): string | undefined {
  if (vars.AZURE_OPENAI_API_KEY) return JSON.stringify({ api_key: vars.AZURE_OPENAI_API_KEY });
  if (vars.AZURE_TENANT_ID && vars.AZURE_CLIENT_ID && vars.AZURE_CLIENT_SECRET) {
    return JSON.stringify({
      tenant_id: vars.AZURE_TENANT_ID,
      client_id: vars.AZURE_CLIENT_ID,
      client_secret: vars.AZURE_CLIENT_SECRET,
      ...(vars.AZURE_AUTHORITY_HOST && { authority_host: vars.AZURE_AUTHORITY_HOST }),
    });
  }
  return undefined;
}

async function exchangeToken(app: EntraApplication, baseUrl: string): Promise<AccessToken> {
  const authority = (app.authority_host ?? ENTRA_ORIGINS[0]).replace(/\/+$/, "");
  // Held again where it is used, as every URL inside a stored credential is.
  if (!credentialUrlAllowed(authority, { origins: ENTRA_ORIGINS, baseUrl })) {
    throw new GatewayError(
      503,
      "unavailable",
      "The Azure credential's `authority_host` is not an Entra ID sign-in host, nor on the provider's configured base URL.",
      { code: "credential_invalid" },
    );
  }
  const response = await fetch(`${authority}/${encodeURIComponent(app.tenant_id)}/oauth2/v2.0/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "client_credentials",
      client_id: app.client_id,
      client_secret: app.client_secret,
      scope: ENTRA_SCOPE,
    }),
    signal: AbortSignal.timeout(TOKEN_TIMEOUT_MS),
  });
  const body = (await response.json().catch(() => ({}))) as { access_token?: unknown; expires_in?: unknown; error?: unknown };
  if (!response.ok || typeof body.access_token !== "string") {
    const why = reasonCode(body.error) ?? `HTTP ${response.status}`;
    throw new GatewayError(502, "upstream", `Entra ID refused the Azure application (${why}).`, { code: "upstream_auth" });
  }
  const expiresIn = typeof body.expires_in === "number" && body.expires_in > 0 ? body.expires_in : 3600;
  return { value: body.access_token, expiresAt: Date.now() + expiresIn * 1000 };
}

async function azureAddress(call: EndpointCall, operation: string) {
  const credential = credentialOf(call.settings.secret);
  const headers: Record<string, string> =
    "api_key" in credential
      ? { "api-key": credential.api_key }
      : {
          authorization: `Bearer ${await cachedToken(call.settings.secret ?? "", () => exchangeToken(credential, call.settings.baseUrl))}`,
        };
  const base = `${call.settings.baseUrl}/openai`;
  const version = call.settings.apiVersion;
  if (!version || version === "v1") return { url: `${base}/v1/${operation}`, headers };
  const deployment = encodeURIComponent(call.upstreamModel);
  const url =
    operation === "responses"
      ? `${base}/responses?api-version=${encodeURIComponent(version < RESPONSES_API_VERSION ? RESPONSES_API_VERSION : version)}`
      : `${base}/deployments/${deployment}/${operation}?api-version=${encodeURIComponent(version)}`;
  return { url, headers };
}

export const azureProvider = openaiCompatible({
  kind: "azure",
  env: {
    vars: [
      { name: "AZURE_OPENAI_ENDPOINT", url: true },
      { name: "AZURE_OPENAI_API_KEY" },
      { name: "AZURE_OPENAI_API_VERSION" },
      { name: "AZURE_TENANT_ID" },
      { name: "AZURE_CLIENT_ID" },
      { name: "AZURE_CLIENT_SECRET" },
      { name: "AZURE_AUTHORITY_HOST", url: true },
    ],
    secret: envCredential,
    baseUrl: (vars) => vars.AZURE_OPENAI_ENDPOINT,
    apiVersion: (vars) => vars.AZURE_OPENAI_API_VERSION,
  },
  // Deployments are named by their owners: models reach Azure as `azure/<deployment>`, or through the catalog,
  // and are priced as the OpenAI model of the same name when the deployment is named after it.
  responses: true,
  prices: OPENAI_PRICES,
  credential: {
    schema: credentialSchema,
    urls: (parts) => (typeof parts.authority_host === "string" ? [{ field: "authority_host", url: parts.authority_host }] : []),
    origins: ENTRA_ORIGINS,
    hint: (parts) => (typeof parts.api_key === "string" ? parts.api_key.slice(-4) : `entra ${String(parts.client_id).slice(-4)}`),
  },
  address: azureAddress,
});
