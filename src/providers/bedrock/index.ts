// Amazon Bedrock through its Converse API: one request shape for every model
// family it hosts (Claude, Nova, Llama, Mistral…), signed with AWS Signature
// Version 4, streams in AWS's binary event-stream framing. A credential is a
// key id, a secret, an optional session token and a region; the region names
// the endpoint unless BEDROCK_BASE_URL sets one.
import { AwsV4Signer } from "aws4fetch";
import { converseCodec } from "../../formats/bedrock/upstream.ts";
import { GatewayError } from "../../http/errors.ts";
import * as z from "../../zod.ts";
import type { Endpoint, EnvVars, ProviderDescriptor } from "../types.ts";
import { BEDROCK_PRICES } from "./prices.ts";

const credentialSchema = z.strictObject({
  access_key_id: z.string().check(z.regex(/^[A-Z0-9]{16,128}$/, { message: "must be an AWS access key id" })),
  secret_access_key: z.string().check(z.minLength(16), z.maxLength(512)),
  session_token: z.optional(z.string().check(z.minLength(1), z.maxLength(8192))),
  region: z.string().check(z.regex(/^[a-z]{2}(-[a-z]+)+-\d$/, { message: "must be an AWS region, like us-east-1" })),
});

type BedrockCredential = z.infer<typeof credentialSchema>;

function credentialOf(secret: string | undefined): BedrockCredential {
  try {
    return credentialSchema.parse(JSON.parse(secret ?? ""));
  } catch {
    throw new GatewayError(503, "unavailable", "The Bedrock credential is not a key id, a secret and a region.", {
      code: "credential_invalid",
    });
  }
}

const envCredential = (vars: EnvVars): string | undefined => {
  const id = vars.AWS_ACCESS_KEY_ID;
  const secret = vars.AWS_SECRET_ACCESS_KEY;
  if (!id || !secret) return undefined;
  const credential: BedrockCredential = {
    access_key_id: id,
    secret_access_key: secret,
    ...(vars.AWS_SESSION_TOKEN && { session_token: vars.AWS_SESSION_TOKEN }),
    region: vars.AWS_REGION ?? "us-east-1",
  };
  return JSON.stringify(credential);
};

const converse: Endpoint = {
  dialect: "bedrock-converse",
  framing: "aws-event-stream",
  codec: converseCodec,
  async request(call) {
    const credential = credentialOf(call.settings.secret);
    // The deployment's region, where the operator set one, is where data controls think the call goes: so it is.
    const region = call.settings.region ?? credential.region;
    const base = call.settings.baseUrl || `https://bedrock-runtime.${region}.amazonaws.com`;
    const action = call.stream ? "converse-stream" : "converse";
    const signer = new AwsV4Signer({
      url: `${base}/model/${encodeURIComponent(call.upstreamModel)}/${action}`,
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: call.stream ? "application/vnd.amazon.eventstream" : "application/json",
        "x-request-id": call.requestId,
      },
      body: JSON.stringify(call.body),
      accessKeyId: credential.access_key_id,
      secretAccessKey: credential.secret_access_key,
      sessionToken: credential.session_token,
      service: "bedrock",
      region,
    });
    const signed = await signer.sign();
    return new Request(signed.url, { method: signed.method, headers: signed.headers, body: signed.body });
  },
};

export const bedrockProvider: ProviderDescriptor<"bedrock"> = {
  kind: "bedrock",
  env: {
    vars: [
      { name: "AWS_ACCESS_KEY_ID" },
      { name: "AWS_SECRET_ACCESS_KEY" },
      { name: "AWS_SESSION_TOKEN" },
      { name: "AWS_REGION" },
      { name: "BEDROCK_BASE_URL", url: true },
    ],
    secret: envCredential,
    baseUrl: (vars) => vars.BEDROCK_BASE_URL,
    region: (vars) => vars.AWS_REGION,
  },
  baseUrlFromCredential: true,
  // Bedrock's model ids: `anthropic.claude-…`, `amazon.nova-…`, or a cross-region profile such as `us.anthropic.claude-…`.
  models: /^((us|eu|apac|global)\.)?(anthropic|amazon|meta|cohere|ai21|deepseek|writer)\.[\w.:-]+$/,
  prices: BEDROCK_PRICES,
  credential: {
    schema: credentialSchema,
    hint: (parts) => `${String(parts.access_key_id).slice(-4)} ${String(parts.region)}`,
  },
  endpoints: () => [converse],
};
