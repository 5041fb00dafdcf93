// Bedrock, Vertex AI and Azure OpenAI, the providers whose requests are more
// than a key in a bearer header: what the mock upstream received (a Converse body signed
// with SigV4; a Vertex path with an access token the mock issued for a JWT
// signed with the service account's key), their credentials through the
// admin API, and what a client sees when those credentials are wrong.
import { env } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import {
  MOCK_AWS_ACCESS_KEY_ID,
  MOCK_AWS_REGION,
  MOCK_AWS_SECRET_ACCESS_KEY,
  MOCK_AZURE_API_KEY,
  MOCK_ENTRA_AUTHORITY_PATH,
  MOCK_ENTRA_CLIENT_ID,
  MOCK_ENTRA_CLIENT_SECRET,
  MOCK_ENTRA_TENANT,
  MOCK_VERTEX_ACCOUNT_PATH,
} from "../dev/mock-upstream/credentials.ts";
import { parseConfig } from "../src/config/index.ts";
import { seal } from "../src/credentials/envelope.ts";
import { credentialContext } from "../src/credentials/pool.ts";
import { providerCredentials } from "../src/db/schema.ts";
import { BASE, callWorker, db, sseData, TEST_ADMIN_KEY, upstreamRequest, usageRow } from "./helpers.ts";
import { admin, appToken, uniqueId } from "./identity.ts";

const mockBase = String(env.MOCK_BASE_URL).replace(/\/v1$/, "");
const vertexAccount = (await (await fetch(`${mockBase}${MOCK_VERTEX_ACCOUNT_PATH}`)).json()) as Record<string, string>;
const bedrockCredential = {
  access_key_id: MOCK_AWS_ACCESS_KEY_ID,
  secret_access_key: MOCK_AWS_SECRET_ACCESS_KEY,
  region: MOCK_AWS_REGION,
};
const bindings = {
  ...env,
  AWS_ACCESS_KEY_ID: MOCK_AWS_ACCESS_KEY_ID,
  AWS_SECRET_ACCESS_KEY: MOCK_AWS_SECRET_ACCESS_KEY,
  AWS_REGION: MOCK_AWS_REGION,
  BEDROCK_BASE_URL: mockBase,
  VERTEX_SERVICE_ACCOUNT: JSON.stringify(vertexAccount),
  VERTEX_BASE_URL: mockBase,
};

const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  new Request(`${BASE}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${TEST_ADMIN_KEY}`, "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });

/** A catalog provider of the kind, at the mock upstream, with one stored credential. */
async function storedProvider(kind: "bedrock" | "vertex", credential: Record<string, unknown>) {
  const id = uniqueId(kind);
  expect((await admin("POST", "/admin/providers", { id, kind, base_url: mockBase })).status).toBe(201);
  const stored = await admin("POST", "/admin/credentials", { provider: id, credential });
  return { id, stored };
}

describe("Amazon Bedrock", () => {
  it("gets a Converse body, the model in the path, signed with SigV4, and its answer is read back", async () => {
    const { response, settled } = await callWorker(
      post("/v1/chat/completions", {
        model: "bedrock/mock-echo",
        max_tokens: 30,
        temperature: 0.2,
        top_p: 0.9,
        stop: ["END"],
        messages: [
          { role: "system", content: "Be brief." },
          { role: "user", content: "hello bedrock" },
        ],
      }),
      bindings,
    );
    expect(response.status).toBe(200);
    expect(response.headers.get("x-sluice-provider")).toBe("bedrock");
    const body = (await response.json()) as { object: string; choices: { message: { content: string } }[] };
    expect(body).toMatchObject({ object: "chat.completion", choices: [{ message: { content: "hello bedrock" } }] });
    const requestId = response.headers.get("x-request-id") ?? "";
    const upstream = await upstreamRequest(requestId);
    expect(upstream.path).toBe("/model/mock-echo/converse");
    expect(upstream.body).toEqual({
      messages: [{ role: "user", content: [{ text: "hello bedrock" }] }],
      system: [{ text: "Be brief." }],
      inferenceConfig: { maxTokens: 30, temperature: 0.2, topP: 0.9, stopSequences: ["END"] },
    });
    expect(upstream.headers.authorization).toMatch(
      new RegExp(`^AWS4-HMAC-SHA256 Credential=${MOCK_AWS_ACCESS_KEY_ID}/\\d{8}/us-east-1/bedrock/aws4_request, ?SignedHeaders=`),
    );
    expect(upstream.headers["x-amz-date"]).toMatch(/^\d{8}T\d{6}Z$/);
    await settled();
    // "Be brief." and "hello bedrock", as the mock counts them.
    expect(await usageRow(requestId)).toMatchObject({ provider: "bedrock", promptTokens: 5, completionTokens: 2, status: 200 });
  });

  it("streams from AWS event-stream frames into the client's SSE, in order, with exact usage", async () => {
    const { response, settled } = await callWorker(
      post("/v1/messages", {
        model: "bedrock/mock-lorem",
        max_tokens: 12,
        stream: true,
        messages: [{ role: "user", content: "go" }],
      }),
      bindings,
    );
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const events = (await sseData(response)).map((data) => JSON.parse(data) as { type: string; delta?: { text?: string } });
    expect(events.map((e) => e.type)).toEqual([
      "message_start",
      "content_block_start",
      // The mock sends a token a frame.
      ...Array(12).fill("content_block_delta"),
      "content_block_stop",
      "message_delta",
      "message_stop",
    ]);
    const text = events.map((e) => e.delta?.text ?? "").join("");
    expect(text.trim().split(/\s+/)).toHaveLength(12);
    const requestId = response.headers.get("x-request-id") ?? "";
    expect((await upstreamRequest(requestId)).path).toBe("/model/mock-lorem/converse-stream");
    await settled();
    expect(await usageRow(requestId)).toMatchObject({
      provider: "bedrock",
      streamed: true,
      promptTokens: 1,
      completionTokens: 12,
      status: 200,
    });
  });

  it("takes a credential of several parts through the admin API, sealed, shown only by a hint", async () => {
    const bad = await admin("POST", "/admin/credentials", { provider: "bedrock", api_key: "just-a-string" });
    expect(bad).toMatchObject({ status: 400, body: { error: { param: "credential" } } });
    const region = await admin("POST", "/admin/credentials", {
      provider: "bedrock",
      credential: { ...bedrockCredential, region: "moon" },
    });
    expect(region).toMatchObject({ status: 400, body: { error: { param: "credential.region" } } });

    const { id, stored } = await storedProvider("bedrock", bedrockCredential);
    expect(stored.status).toBe(201);
    expect(stored.body).toMatchObject({ provider: id, key_display: "…0001 us-east-1" });
    expect(JSON.stringify(stored.body)).not.toContain(MOCK_AWS_SECRET_ACCESS_KEY);

    // No AWS variables in the Worker: the stored credential signs.
    const { response } = await callWorker(
      post("/v1/chat/completions", { model: `${id}/mock-echo`, messages: [{ role: "user", content: "stored" }] }),
    );
    expect(response.status).toBe(200);
    expect(response.headers.get("x-sluice-provider")).toBe(id);
    const upstream = await upstreamRequest(response.headers.get("x-request-id") ?? "");
    expect(upstream.headers.authorization).toContain(`Credential=${MOCK_AWS_ACCESS_KEY_ID}/`);
  });

  it("passes on AWS's refusal of a wrong secret, with no part of the credential in it", async () => {
    const wrong = "wrong/secret/access/key/0000000000";
    const { id } = await storedProvider("bedrock", { ...bedrockCredential, secret_access_key: wrong });
    const { response } = await callWorker(
      post("/v1/chat/completions", { model: `${id}/mock-echo`, messages: [{ role: "user", content: "x" }] }),
    );
    expect(response.status).toBe(403);
    const text = await response.text();
    expect(JSON.parse(text)).toMatchObject({ error: { message: expect.stringContaining("signature"), code: "upstream_403" } });
    expect(text).not.toContain(wrong);
    expect(text).not.toContain(MOCK_AWS_ACCESS_KEY_ID);
  });
});

describe("Google Vertex AI", () => {
  it("serves Gemini models on Google's publisher path with an access token from the service account", async () => {
    const { response, settled } = await callWorker(
      post("/v1/chat/completions", { model: "vertex/mock-echo", messages: [{ role: "user", content: "hello vertex" }] }),
      bindings,
    );
    expect(response.status).toBe(200);
    expect(((await response.json()) as { choices: { message: { content: string } }[] }).choices[0]?.message.content).toBe(
      "hello vertex",
    );
    const requestId = response.headers.get("x-request-id") ?? "";
    const upstream = await upstreamRequest(requestId);
    expect(upstream.path).toBe(
      "/v1/projects/sluice-mock/locations/us-central1/publishers/google/models/mock-echo:generateContent",
    );
    expect(upstream.headers.authorization).toMatch(/^Bearer ya29\.mock-/);
    expect(upstream.body).toEqual({ contents: [{ role: "user", parts: [{ text: "hello vertex" }] }] });
    await settled();
    expect(await usageRow(requestId)).toMatchObject({ provider: "vertex", promptTokens: 2, completionTokens: 2 });
  });

  it("keeps its access token: the next requests carry the same one", async () => {
    const tokens = new Set<string>();
    for (const content of ["one", "two", "three"]) {
      const { response } = await callWorker(
        post("/v1/chat/completions", { model: "vertex/mock-echo", messages: [{ role: "user", content }] }),
        bindings,
      );
      expect(response.status).toBe(200);
      tokens.add((await upstreamRequest(response.headers.get("x-request-id") ?? "")).headers.authorization ?? "");
    }
    expect(tokens.size).toBe(1);
  });

  it("forwards an Anthropic client's body to Claude on Vertex: version inside, model in the path, the rest as sent", async () => {
    const body = {
      model: "vertex/claude-mock-echo",
      max_tokens: 64,
      stream: true,
      metadata: { user_id: "u-9" },
      messages: [{ role: "user", content: [{ type: "text", text: "to claude", cache_control: { type: "ephemeral" } }] }],
    };
    const { response } = await callWorker(
      post("/v1/messages", body, { "anthropic-version": "2023-06-01", "anthropic-beta": "context-1m-2025-08-07" }),
      bindings,
    );
    expect(response.status).toBe(200);
    const events = (await sseData(response)).map((data) => JSON.parse(data) as { type: string });
    expect(events[0]?.type).toBe("message_start");
    expect(events.at(-1)?.type).toBe("message_stop");
    const upstream = await upstreamRequest(response.headers.get("x-request-id") ?? "");
    expect(upstream.path).toBe(
      "/v1/projects/sluice-mock/locations/us-central1/publishers/anthropic/models/claude-mock-echo:streamRawPredict",
    );
    const { model: _model, ...rest } = body;
    expect(upstream.body).toEqual({ ...rest, anthropic_version: "vertex-2023-10-16" });
    expect(upstream.headers["anthropic-beta"]).toBe("context-1m-2025-08-07");
  });

  it("says so when the token endpoint refuses the service account, quoting none of it", async () => {
    // A key of the right shape that is not the account's: the mock's token endpoint finds the signature wrong.
    const other = (await (await fetch(`${mockBase}${MOCK_VERTEX_ACCOUNT_PATH}`)).json()) as Record<string, string>;
    const forged = { ...vertexAccount, private_key: await otherPrivateKey() };
    const { id } = await storedProvider("vertex", forged);
    const { response } = await callWorker(
      post("/v1/chat/completions", { model: `${id}/mock-echo`, messages: [{ role: "user", content: "x" }] }),
    );
    expect(response.status).toBe(502);
    const text = await response.text();
    expect(JSON.parse(text)).toMatchObject({
      error: { code: "upstream_auth", message: expect.stringContaining("invalid_grant") },
    });
    expect(text).not.toContain("PRIVATE KEY");
    expect(text).not.toContain(other.client_email);
  });
});

describe("URLs inside a stored credential", () => {
  /** A port nothing listens on, on the gateway's own machine: what a request for an internal service looks like. */
  const internal = "http://127.0.0.1:9/token";
  const userBindings = { ...env, VERTEX_SERVICE_ACCOUNT: JSON.stringify(vertexAccount), VERTEX_BASE_URL: mockBase };
  const putKey = async (sub: string, provider: string, account: Record<string, unknown>, bound: object) => {
    const token = await appToken({ sub });
    return callWorker(
      new Request(`${BASE}/api/provider-keys`, {
        method: "PUT",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ provider, api_key: JSON.stringify(account) }),
      }),
      bound,
    );
  };

  it("cannot be stored by a user for a provider the gateway has not enabled", async () => {
    const { response } = await putKey(uniqueId("ssrf-off"), "vertex", { ...vertexAccount, token_uri: internal }, env);
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { code: "provider_not_enabled", param: "provider" } });
  });

  it("must point at the provider's own host or its configured base URL, for a user and for an admin alike", async () => {
    const user = uniqueId("ssrf-user");
    const refused = await putKey(user, "vertex", { ...vertexAccount, token_uri: internal }, userBindings);
    expect(refused.response.status).toBe(400);
    const error = ((await refused.response.json()) as { error: { message: string; param: string } }).error;
    expect(error.param).toBe("credential.token_uri");
    expect(error.message).toContain("https://oauth2.googleapis.com");
    const byAdmin = await admin("POST", "/admin/credentials", {
      provider: "vertex",
      credential: { ...vertexAccount, token_uri: internal },
    });
    expect(byAdmin.status).toBe(400);
    // Google's own endpoint, and the configured base URL (the mock here), are fine.
    const google = await putKey(
      user,
      "vertex",
      { ...vertexAccount, token_uri: "https://oauth2.googleapis.com/token" },
      userBindings,
    );
    expect(google.response.status).toBe(201);
    expect((await putKey(user, "vertex", vertexAccount, userBindings)).response.status).toBe(200);
  });

  it("is refused where it is used, for a credential stored before the rule: the host is never called", async () => {
    const { id } = await storedProvider("vertex", vertexAccount);
    const stored = await admin("GET", `/admin/credentials?provider=${id}`);
    const [row] = stored.body.data as { id: string }[];
    // Sealed as an older gateway would have kept it: straight into the row, past the admin API's check.
    const config = parseConfig(env);
    const owner = { id: row?.id ?? "", providerId: id, ownerType: "global" as const, ownerId: "" };
    const sealed = await seal(
      JSON.stringify({ ...vertexAccount, token_uri: internal }),
      credentialContext(owner),
      config.encryption,
    );
    await db().update(providerCredentials).set(sealed).where(eq(providerCredentials.id, owner.id));
    await admin("PATCH", `/admin/credentials/${owner.id}`, { name: "stale" });
    const { response } = await callWorker(
      post("/v1/chat/completions", { model: `${id}/mock-echo`, messages: [{ role: "user", content: "x" }] }),
    );
    expect(response.status).toBe(503);
    const text = await response.text();
    expect(JSON.parse(text)).toMatchObject({ error: { code: "credential_invalid" } });
    expect(text).toContain("token_uri");
    expect(text).not.toContain("127.0.0.1");
  });
});

/** A PKCS#8 RSA key that belongs to no account. */
async function otherPrivateKey(): Promise<string> {
  const pair = (await crypto.subtle.generateKey(
    { name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
    true,
    ["sign", "verify"],
  )) as CryptoKeyPair;
  const der = new Uint8Array((await crypto.subtle.exportKey("pkcs8", pair.privateKey)) as ArrayBuffer);
  const base64 = btoa(String.fromCharCode(...der));
  return `-----BEGIN PRIVATE KEY-----\n${base64.match(/.{1,64}/g)?.join("\n")}\n-----END PRIVATE KEY-----\n`;
}

describe("Azure OpenAI", () => {
  const authority = `${mockBase}${MOCK_ENTRA_AUTHORITY_PATH}`;
  const entra = {
    tenant_id: MOCK_ENTRA_TENANT,
    client_id: MOCK_ENTRA_CLIENT_ID,
    client_secret: MOCK_ENTRA_CLIENT_SECRET,
    authority_host: authority,
  };

  /** A catalog provider of kind `azure` at the mock, on the dated API when `apiVersion` is given. */
  async function azureProvider(credential: { api_key: string } | { credential: Record<string, unknown> }, apiVersion?: string) {
    const id = uniqueId("azure");
    const created = await admin("POST", "/admin/providers", {
      id,
      kind: "azure",
      base_url: mockBase,
      ...(apiVersion && { api_version: apiVersion }),
    });
    expect(created.status).toBe(201);
    return { id, stored: await admin("POST", "/admin/credentials", { provider: id, ...credential }) };
  }

  const issued = async () => ((await (await fetch(`${mockBase}/__mock/entra/tokens`)).json()) as { issued: number }).issued;

  it("calls a deployment on the dated API with an Entra ID token, and keeps the token", async () => {
    const { id, stored } = await azureProvider({ credential: entra }, "2024-10-21");
    expect(stored).toMatchObject({ status: 201, body: { key_display: `…entra ${MOCK_ENTRA_CLIENT_ID.slice(-4)}` } });
    expect(JSON.stringify(stored.body)).not.toContain(MOCK_ENTRA_CLIENT_SECRET);
    const before = await issued();
    const bearers = new Set<string>();
    for (const content of ["one", "two"]) {
      const { response, settled } = await callWorker(
        post("/v1/chat/completions", { model: `${id}/mock-echo`, messages: [{ role: "user", content }] }),
      );
      expect(response.status).toBe(200);
      expect(((await response.json()) as { choices: { message: { content: string } }[] }).choices[0]?.message.content).toBe(
        content,
      );
      const requestId = response.headers.get("x-request-id") ?? "";
      const upstream = await upstreamRequest(requestId);
      expect(upstream.path).toBe("/openai/deployments/mock-echo/chat/completions?api-version=2024-10-21");
      expect(upstream.headers["api-key"]).toBeUndefined();
      bearers.add(upstream.headers.authorization ?? "");
      await settled();
      expect(await usageRow(requestId)).toMatchObject({ provider: id, model: `${id}/mock-echo`, promptTokens: 1 });
    }
    expect([...bearers]).toEqual([expect.stringMatching(/^Bearer eyJ.*mock-entra-/)]);
    expect((await issued()) - before).toBe(1);
  });

  it("forwards a Responses client as sent to the resource's Responses API", async () => {
    const { id } = await azureProvider({ api_key: MOCK_AZURE_API_KEY }, "2024-10-21");
    const { response } = await callWorker(post("/v1/responses", { model: `${id}/mock-echo`, input: "hello azure" }));
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ object: "response", status: "completed" });
    const upstream = await upstreamRequest(response.headers.get("x-request-id") ?? "");
    expect(upstream.path).toBe("/openai/responses?api-version=2025-04-01-preview");
    expect(upstream.headers["api-key"]).toBe(MOCK_AZURE_API_KEY);
    expect(upstream.body).toMatchObject({ model: "mock-echo", input: "hello azure" });
  });

  it("takes a plain key as `api_key`, and passes on a refusal without it", async () => {
    const wrong = "sk-reject-azure-000000000000";
    const { id, stored } = await azureProvider({ api_key: wrong });
    expect(stored).toMatchObject({ status: 201, body: { key_display: "…0000" } });
    const { response } = await callWorker(
      post("/v1/chat/completions", { model: `${id}/mock-echo`, messages: [{ role: "user", content: "x" }] }),
    );
    expect(response.status).toBe(401);
    expect(await response.text()).not.toContain(wrong);
  });

  it("refuses an Entra ID sign-in host that is neither Entra's nor the provider's", async () => {
    const { stored } = await azureProvider({
      credential: { ...entra, authority_host: "http://127.0.0.1:9/__mock/entra" },
    });
    expect(stored).toMatchObject({ status: 400, body: { error: { param: "credential.authority_host" } } });
    const secretless = await admin("POST", "/admin/credentials", {
      provider: "azure",
      credential: { tenant_id: MOCK_ENTRA_TENANT, client_id: MOCK_ENTRA_CLIENT_ID },
    });
    expect(secretless.status).toBe(400);
  });
});
