// Every client format against every provider, streamed and not, with a tool
// call round trip: the translated request the upstream received, the answer
// the client got, and the usage row.
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import {
  MOCK_AWS_ACCESS_KEY_ID,
  MOCK_AWS_REGION,
  MOCK_AWS_SECRET_ACCESS_KEY,
  MOCK_AZURE_API_KEY,
  MOCK_VERTEX_ACCOUNT_PATH,
} from "../dev/mock-upstream/credentials.ts";
import { workersAiStandIn } from "../dev/standins/workers-ai-binding.ts";
import { decodeEventStreamMessage } from "../src/http/event-stream.ts";
import { BASE, callWorker, mockProviderBindings, sseData, TEST_ADMIN_KEY, upstreamRequest, usageRow } from "./helpers.ts";

const mockBase = String(env.MOCK_BASE_URL).replace(/\/v1$/, "");
/** The mock's service account key, made fresh at its start. */
const vertexAccount = await (await fetch(`${mockBase}${MOCK_VERTEX_ACCOUNT_PATH}`)).text();
const bindings = {
  ...mockProviderBindings,
  AWS_ACCESS_KEY_ID: MOCK_AWS_ACCESS_KEY_ID,
  AWS_SECRET_ACCESS_KEY: MOCK_AWS_SECRET_ACCESS_KEY,
  AWS_REGION: MOCK_AWS_REGION,
  BEDROCK_BASE_URL: mockBase,
  VERTEX_SERVICE_ACCOUNT: vertexAccount,
  VERTEX_BASE_URL: mockBase,
  // Two presets: a cloud with a key, and a local server with none.
  GROQ_BASE_URL: `${mockBase}/v1`,
  GROQ_API_KEY: "groq-test-key",
  OLLAMA_BASE_URL: `${mockBase}/v1`,
  AZURE_OPENAI_ENDPOINT: mockBase,
  AZURE_OPENAI_API_KEY: MOCK_AZURE_API_KEY,
  COHERE_BASE_URL: `${mockBase}/v2`,
  COHERE_API_KEY: "cohere-test-key",
  // Workers AI through its binding: the stand-in, which answers from the mock.
  AI: workersAiStandIn(mockBase),
};

const vertexPath = (publisher: string, model: string, method: string) =>
  `/v1/projects/sluice-mock/locations/us-central1/publishers/${publisher}/models/${model}:${method}`;

/** Each provider: the path the mock saw, streamed and not, and the authentication it carried. */
const PROVIDERS = [
  {
    column: "openai",
    name: "openai",
    model: "openai/mock-echo",
    paths: ["/v1/chat/completions", "/v1/chat/completions"],
    auth: ["authorization", "Bearer sk-test-openai-key"],
  },
  {
    column: "anthropic",
    name: "anthropic",
    model: "anthropic/mock-echo",
    paths: ["/v1/messages", "/v1/messages"],
    auth: ["x-api-key", "sk-ant-test-key"],
  },
  {
    column: "gemini",
    name: "gemini",
    model: "gemini/mock-echo",
    paths: ["/v1beta/models/mock-echo:generateContent", "/v1beta/models/mock-echo:streamGenerateContent"],
    auth: ["x-goog-api-key", "gemini-test-key"],
  },
  {
    column: "mistral",
    name: "mistral",
    model: "mistral/mock-echo",
    paths: ["/v1/chat/completions", "/v1/chat/completions"],
    auth: ["authorization", "Bearer mistral-test-key"],
  },
  {
    column: "groq (preset)",
    name: "groq",
    model: "groq/mock-echo",
    paths: ["/v1/chat/completions", "/v1/chat/completions"],
    auth: ["authorization", "Bearer groq-test-key"],
  },
  {
    column: "ollama (preset, no key)",
    name: "ollama",
    model: "ollama/mock-echo",
    paths: ["/v1/chat/completions", "/v1/chat/completions"],
    auth: ["authorization", undefined],
  },
  {
    column: "azure (v1 API)",
    name: "azure",
    model: "azure/mock-echo",
    paths: ["/openai/v1/chat/completions", "/openai/v1/chat/completions"],
    auth: ["api-key", MOCK_AZURE_API_KEY],
  },
  {
    column: "cohere",
    name: "cohere",
    model: "cohere/mock-echo",
    paths: ["/v2/chat", "/v2/chat"],
    auth: ["authorization", "Bearer cohere-test-key"],
  },
  {
    column: "bedrock",
    name: "bedrock",
    model: "bedrock/mock-echo",
    paths: ["/model/mock-echo/converse", "/model/mock-echo/converse-stream"],
    // Signed with SigV4; the mock checked the signature before answering.
    auth: ["authorization", new RegExp(`^AWS4-HMAC-SHA256 Credential=${MOCK_AWS_ACCESS_KEY_ID}/\\d{8}/us-east-1/bedrock/`)],
  },
  {
    column: "vertex (Gemini)",
    name: "vertex",
    model: "vertex/mock-echo",
    paths: [vertexPath("google", "mock-echo", "generateContent"), vertexPath("google", "mock-echo", "streamGenerateContent")],
    auth: ["authorization", /^Bearer ya29\.mock-/],
  },
  {
    column: "vertex (Claude)",
    name: "vertex",
    model: "vertex/claude-mock-echo",
    paths: [
      vertexPath("anthropic", "claude-mock-echo", "rawPredict"),
      vertexPath("anthropic", "claude-mock-echo", "streamRawPredict"),
    ],
    auth: ["authorization", /^Bearer ya29\.mock-/],
  },
  {
    column: "workers-ai (binding)",
    name: "workers-ai",
    model: "workers-ai/mock-echo",
    paths: ["/ai/run/mock-echo", "/ai/run/mock-echo"],
    // The binding carries no key: Cloudflare authenticates the Worker.
    auth: ["authorization", undefined],
  },
  {
    column: "mock",
    name: "mock",
    model: "mock-echo",
    paths: ["/v1/chat/completions", "/v1/chat/completions"],
    auth: ["authorization", undefined],
  },
] as const;

interface Turn {
  text?: string;
  call?: { id: string; name: string; args: unknown };
}

interface ClientFormat {
  name: "openai" | "openai-responses" | "anthropic" | "gemini" | "cohere" | "bedrock";
  request(model: string, options: { stream: boolean; tools: boolean; history?: unknown[] }): Request;
  /** The first user turn, the assistant's tool call and the tool's result, in this format. */
  history(call: NonNullable<Turn["call"]>, result: string): unknown[];
  answer(response: Response, stream: boolean): Promise<Turn>;
}

const tool = {
  name: "lookup",
  description: "Looks a phrase up",
  schema: { type: "object", properties: { text: { type: "string" } } },
};

const openai: ClientFormat = {
  name: "openai",
  request: (model, { stream, tools, history }) =>
    new Request(`${BASE}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${TEST_ADMIN_KEY}` },
      body: JSON.stringify({
        model,
        stream,
        messages: history ?? [{ role: "user", content: "matrix hello" }],
        ...(tools && {
          tools: [{ type: "function", function: { name: tool.name, description: tool.description, parameters: tool.schema } }],
        }),
      }),
    }),
  history: (call, result) => [
    { role: "user", content: "matrix hello" },
    {
      role: "assistant",
      content: null,
      tool_calls: [{ id: call.id, type: "function", function: { name: call.name, arguments: JSON.stringify(call.args) } }],
    },
    { role: "tool", tool_call_id: call.id, content: result },
  ],
  async answer(response, stream) {
    if (!stream) {
      const body = (await response.json()) as {
        choices: {
          message: { content: string | null; tool_calls?: { id: string; function: { name: string; arguments: string } }[] };
        }[];
      };
      const message = body.choices[0]?.message;
      const call = message?.tool_calls?.[0];
      return {
        text: message?.content ?? undefined,
        call: call && { id: call.id, name: call.function.name, args: JSON.parse(call.function.arguments) },
      };
    }
    const events = await sseData(response);
    expect(events.at(-1)).toBe("[DONE]");
    let text = "";
    let call: { id: string; name: string; args: string } | undefined;
    for (const data of events.slice(0, -1)) {
      const delta = (
        JSON.parse(data) as {
          choices: {
            delta: { content?: string; tool_calls?: { id?: string; function?: { name?: string; arguments?: string } }[] };
          }[];
        }
      ).choices[0]?.delta;
      text += delta?.content ?? "";
      for (const piece of delta?.tool_calls ?? []) {
        call ??= { id: piece.id ?? "", name: piece.function?.name ?? "", args: "" };
        call.args += piece.function?.arguments ?? "";
      }
    }
    return { text: text || undefined, call: call && { ...call, args: JSON.parse(call.args) } };
  },
};

const anthropic: ClientFormat = {
  name: "anthropic",
  request: (model, { stream, tools, history }) =>
    new Request(`${BASE}/v1/messages`, {
      method: "POST",
      headers: { "x-api-key": TEST_ADMIN_KEY, "anthropic-version": "2023-06-01" },
      body: JSON.stringify({
        model,
        max_tokens: 64,
        stream,
        messages: history ?? [{ role: "user", content: "matrix hello" }],
        ...(tools && { tools: [{ name: tool.name, description: tool.description, input_schema: tool.schema }] }),
      }),
    }),
  history: (call, result) => [
    { role: "user", content: "matrix hello" },
    { role: "assistant", content: [{ type: "tool_use", id: call.id, name: call.name, input: call.args }] },
    { role: "user", content: [{ type: "tool_result", tool_use_id: call.id, content: result }] },
  ],
  async answer(response, stream) {
    if (!stream) {
      const body = (await response.json()) as {
        content: { type: string; text?: string; id?: string; name?: string; input?: unknown }[];
      };
      const text = body.content.find((b) => b.type === "text")?.text;
      const use = body.content.find((b) => b.type === "tool_use");
      return { text, call: use && { id: use.id ?? "", name: use.name ?? "", args: use.input } };
    }
    const events = (await sseData(response)).map(
      (data) =>
        JSON.parse(data) as Record<
          string,
          { type?: string; text?: string; partial_json?: string; id?: string; name?: string }
        > & { type: string },
    );
    expect(events[0]?.type).toBe("message_start");
    expect(events.at(-1)?.type).toBe("message_stop");
    const text = events
      .flatMap((e) => (e.type === "content_block_delta" && e.delta?.type === "text_delta" ? [e.delta.text ?? ""] : []))
      .join("");
    const start = events.find((e) => e.type === "content_block_start" && e.content_block?.type === "tool_use")?.content_block;
    const json = events
      .flatMap((e) =>
        e.type === "content_block_delta" && e.delta?.type === "input_json_delta" ? [e.delta.partial_json ?? ""] : [],
      )
      .join("");
    return { text: text || undefined, call: start && { id: start.id ?? "", name: start.name ?? "", args: JSON.parse(json) } };
  },
};

const gemini: ClientFormat = {
  name: "gemini",
  request: (model, { stream, tools, history }) =>
    new Request(
      `${BASE}/v1beta/models/${encodeURIComponent(model)}:${stream ? "streamGenerateContent?alt=sse" : "generateContent"}`,
      {
        method: "POST",
        headers: { "x-goog-api-key": TEST_ADMIN_KEY },
        body: JSON.stringify({
          contents: history ?? [{ role: "user", parts: [{ text: "matrix hello" }] }],
          generationConfig: { maxOutputTokens: 64 },
          ...(tools && {
            tools: [{ functionDeclarations: [{ name: tool.name, description: tool.description, parameters: tool.schema }] }],
          }),
        }),
      },
    ),
  history: (call, result) => [
    { role: "user", parts: [{ text: "matrix hello" }] },
    { role: "model", parts: [{ functionCall: { id: call.id, name: call.name, args: call.args } }] },
    { role: "user", parts: [{ functionResponse: { id: call.id, name: call.name, response: { result } } }] },
  ],
  async answer(response, stream) {
    type Chunk = {
      candidates: { content: { parts: { text?: string; functionCall?: { id?: string; name: string; args: unknown } }[] } }[];
    };
    const chunks = stream
      ? (await sseData(response)).map((data) => JSON.parse(data) as Chunk)
      : [(await response.json()) as Chunk];
    const parts = chunks.flatMap((chunk) => chunk.candidates[0]?.content.parts ?? []);
    const text = parts.map((p) => p.text ?? "").join("");
    const call = parts.find((p) => p.functionCall)?.functionCall;
    return { text: text || undefined, call: call && { id: call.id ?? call.name, name: call.name, args: call.args } };
  },
};

const responses: ClientFormat = {
  name: "openai-responses",
  request: (model, { stream, tools, history }) =>
    new Request(`${BASE}/v1/responses`, {
      method: "POST",
      headers: { authorization: `Bearer ${TEST_ADMIN_KEY}` },
      body: JSON.stringify({
        model,
        stream,
        input: history ?? "matrix hello",
        ...(tools && { tools: [{ type: "function", name: tool.name, description: tool.description, parameters: tool.schema }] }),
      }),
    }),
  history: (call, result) => [
    { role: "user", content: "matrix hello" },
    { type: "function_call", call_id: call.id, name: call.name, arguments: JSON.stringify(call.args) },
    { type: "function_call_output", call_id: call.id, output: result },
  ],
  async answer(response, stream) {
    type Item = { type: string; content?: { text: string }[]; call_id?: string; name?: string; arguments?: string };
    let output: Item[];
    if (stream) {
      const events = (await sseData(response)).map((data) => JSON.parse(data) as { type: string; response?: { output: Item[] } });
      expect(events[0]?.type).toBe("response.created");
      expect(events.at(-1)?.type).toBe("response.completed");
      output = events.at(-1)?.response?.output ?? [];
    } else {
      output = ((await response.json()) as { output: Item[] }).output;
    }
    const text = output.flatMap((item) => item.content?.map((c) => c.text) ?? []).join("");
    const call = output.find((item) => item.type === "function_call");
    return {
      text: text || undefined,
      call: call && { id: call.call_id ?? "", name: call.name ?? "", args: JSON.parse(call.arguments ?? "{}") },
    };
  },
};

const cohere: ClientFormat = {
  name: "cohere",
  request: (model, { stream, tools, history }) =>
    new Request(`${BASE}/v2/chat`, {
      method: "POST",
      headers: { authorization: `Bearer ${TEST_ADMIN_KEY}` },
      body: JSON.stringify({
        model,
        stream,
        messages: history ?? [{ role: "user", content: "matrix hello" }],
        ...(tools && {
          tools: [{ type: "function", function: { name: tool.name, description: tool.description, parameters: tool.schema } }],
        }),
      }),
    }),
  history: (call, result) => [
    { role: "user", content: "matrix hello" },
    {
      role: "assistant",
      tool_plan: "I will look it up.",
      tool_calls: [{ id: call.id, type: "function", function: { name: call.name, arguments: JSON.stringify(call.args) } }],
    },
    { role: "tool", tool_call_id: call.id, content: [{ type: "document", document: { data: result } }] },
  ],
  async answer(response, stream) {
    type Call = { id?: string; function?: { name?: string; arguments?: string } };
    if (!stream) {
      const body = (await response.json()) as { message: { content?: { text: string }[]; tool_calls?: Call[] } };
      const text = body.message.content?.map((c) => c.text).join("");
      const call = body.message.tool_calls?.[0];
      return {
        text: text || undefined,
        call: call && { id: call.id ?? "", name: call.function?.name ?? "", args: JSON.parse(call.function?.arguments ?? "") },
      };
    }
    type Event = { type: string; delta?: { message?: { content?: { text?: string }; tool_calls?: Call } } };
    const events = (await sseData(response)).map((data) => JSON.parse(data) as Event);
    expect(events[0]?.type).toBe("message-start");
    expect(events.at(-1)?.type).toBe("message-end");
    const text = events.flatMap((e) => (e.type === "content-delta" ? [e.delta?.message?.content?.text ?? ""] : [])).join("");
    const start = events.find((e) => e.type === "tool-call-start")?.delta?.message?.tool_calls;
    const args = events
      .flatMap((e) => (e.type === "tool-call-delta" ? [e.delta?.message?.tool_calls?.function?.arguments ?? ""] : []))
      .join("");
    return {
      text: text || undefined,
      call: start && { id: start.id ?? "", name: start.function?.name ?? "", args: JSON.parse(args) },
    };
  },
};

/** A whole AWS event stream as its messages: event type and JSON payload, checksums checked. */
async function eventStreamEvents(response: Response): Promise<{ type: string; payload: Record<string, unknown> }[]> {
  const bytes = new Uint8Array(await response.arrayBuffer());
  const events: { type: string; payload: Record<string, unknown> }[] = [];
  for (let at = 0; at < bytes.length; ) {
    const total = new DataView(bytes.buffer, bytes.byteOffset + at, 4).getUint32(0);
    const message = decodeEventStreamMessage(bytes.subarray(at, at + total));
    const type = message.headers[":event-type"] ?? `exception:${message.headers[":exception-type"]}`;
    events.push({ type, payload: JSON.parse(new TextDecoder().decode(message.payload)) as Record<string, unknown> });
    at += total;
  }
  return events;
}

const bedrock: ClientFormat = {
  name: "bedrock",
  request: (model, { stream, tools, history }) =>
    new Request(`${BASE}/model/${encodeURIComponent(model)}/${stream ? "converse-stream" : "converse"}`, {
      method: "POST",
      // What the AWS SDK sends with AWS_BEARER_TOKEN_BEDROCK set to a Sluice key.
      headers: { authorization: `Bearer ${TEST_ADMIN_KEY}`, "content-type": "application/json" },
      body: JSON.stringify({
        messages: history ?? [{ role: "user", content: [{ text: "matrix hello" }] }],
        inferenceConfig: { maxTokens: 64 },
        ...(tools && {
          toolConfig: {
            tools: [{ toolSpec: { name: tool.name, description: tool.description, inputSchema: { json: tool.schema } } }],
          },
        }),
      }),
    }),
  history: (call, result) => [
    { role: "user", content: [{ text: "matrix hello" }] },
    { role: "assistant", content: [{ toolUse: { toolUseId: call.id, name: call.name, input: call.args } }] },
    { role: "user", content: [{ toolResult: { toolUseId: call.id, content: [{ text: result }] } }] },
  ],
  async answer(response, stream) {
    type Block = { text?: string; toolUse?: { toolUseId: string; name: string; input: unknown } };
    if (!stream) {
      expect(response.headers.get("content-type")).toMatch(/^application\/json/);
      const body = (await response.json()) as { output: { message: { content: Block[] } }; usage: unknown };
      const content = body.output.message.content;
      const text = content.map((b) => b.text ?? "").join("");
      const use = content.find((b) => b.toolUse)?.toolUse;
      if (text === "matrix hello") expect(body.usage).toMatchObject({ inputTokens: 2, outputTokens: 2, totalTokens: 4 });
      return { text: text || undefined, call: use && { id: use.toolUseId, name: use.name, args: use.input } };
    }
    expect(response.headers.get("content-type")).toBe("application/vnd.amazon.eventstream");
    const events = await eventStreamEvents(response);
    const types = events.map((e) => e.type);
    expect(types[0]).toBe("messageStart");
    expect(types.slice(-3)).toEqual(["contentBlockStop", "messageStop", "metadata"]);
    type Delta = { contentBlockIndex: number; delta?: { text?: string; toolUse?: { input: string } } };
    type Start = { start?: { toolUse?: { toolUseId: string; name: string } } };
    const deltas = events.filter((e) => e.type === "contentBlockDelta").map((e) => e.payload as Delta);
    const text = deltas.map((d) => d.delta?.text ?? "").join("");
    const start = events.find((e) => e.type === "contentBlockStart")?.payload as Start | undefined;
    const json = deltas.map((d) => d.delta?.toolUse?.input ?? "").join("");
    const use = start?.start?.toolUse;
    if (text === "matrix hello") {
      expect(events.at(-1)?.payload).toMatchObject({ usage: { inputTokens: 2, outputTokens: 2, totalTokens: 4 } });
    }
    return { text: text || undefined, call: use && { id: use.toolUseId, name: use.name, args: JSON.parse(json) } };
  },
};

/** The path a call took: the provider's own Responses endpoint where it has one. */
const expectedPath = (client: ClientFormat, provider: (typeof PROVIDERS)[number], stream: boolean) => {
  if (client.name !== "openai-responses") return provider.paths[stream ? 1 : 0];
  if (provider.name === "openai") return "/v1/responses";
  return provider.name === "azure" ? "/openai/v1/responses" : provider.paths[stream ? 1 : 0];
};

describe.each([openai, responses, anthropic, gemini, cohere, bedrock])("$name client format", (client) => {
  describe.each(PROVIDERS)("to $column", (provider) => {
    it.each([false, true])("answers, streamed: %s, and records usage", async (stream) => {
      const { response, settled } = await callWorker(client.request(provider.model, { stream, tools: false }), bindings);
      expect(response.status).toBe(200);
      expect(response.headers.get("x-sluice-provider")).toBe(provider.name);
      const answer = await client.answer(response, stream);
      expect(answer.text).toBe("matrix hello");
      const requestId = response.headers.get("x-request-id") ?? "";
      const upstream = await upstreamRequest(requestId);
      expect(upstream.path).toBe(expectedPath(client, provider, stream));
      const [header, value] = provider.auth;
      expect(upstream.headers[header]).toEqual(value instanceof RegExp ? expect.stringMatching(value) : value);
      await settled();
      expect(await usageRow(requestId)).toMatchObject({
        provider: provider.name,
        clientFormat: client.name,
        streamed: stream,
        promptTokens: 2,
        completionTokens: 2,
        status: 200,
      });
    });

    it("round-trips a tool call", async () => {
      const first = await callWorker(client.request(provider.model, { stream: false, tools: true }), bindings);
      expect(first.response.status).toBe(200);
      const { call } = await client.answer(first.response, false);
      expect(call).toMatchObject({ name: "lookup", args: { text: "matrix hello" } });
      const history = client.history(call as NonNullable<Turn["call"]>, "42");
      const second = await callWorker(client.request(provider.model, { stream: true, tools: true, history }), bindings);
      const { text } = await client.answer(second.response, true);
      expect(text).toMatch(/^Tool said: .*42/);
    });
  });
});

describe("a client speaking the provider's own format", () => {
  it("Anthropic to Anthropic: the body goes up as sent, unknown fields and beta flags included", async () => {
    const body = {
      model: "anthropic/mock-echo",
      max_tokens: 64,
      metadata: { user_id: "u-7" },
      thinking: { type: "enabled", budget_tokens: 1024 },
      messages: [{ role: "user", content: [{ type: "text", text: "keep it all", cache_control: { type: "ephemeral" } }] }],
    };
    const { response } = await callWorker(
      new Request(`${BASE}/v1/messages`, {
        method: "POST",
        headers: {
          "x-api-key": TEST_ADMIN_KEY,
          "anthropic-version": "2023-06-01",
          "anthropic-beta": "prompt-caching-2024-07-31",
        },
        body: JSON.stringify(body),
      }),
      bindings,
    );
    expect(response.status).toBe(200);
    const upstream = await upstreamRequest(response.headers.get("x-request-id") ?? "");
    expect(upstream.body).toEqual({ ...body, model: "mock-echo" });
    expect(upstream.headers["anthropic-beta"]).toBe("prompt-caching-2024-07-31");
    expect(upstream.headers["anthropic-version"]).toBe("2023-06-01");
    expect(upstream.headers["x-api-key"]).toBe("sk-ant-test-key");
  });

  it("Gemini to Gemini: the body goes up as sent", async () => {
    const body = {
      contents: [{ role: "user", parts: [{ text: "keep it all" }] }],
      safetySettings: [{ category: "HARM_CATEGORY_HARASSMENT", threshold: "BLOCK_NONE" }],
      generationConfig: { maxOutputTokens: 32, thinkingConfig: { thinkingBudget: 0 } },
    };
    const { response } = await callWorker(
      new Request(`${BASE}/v1beta/models/${encodeURIComponent("gemini/mock-echo")}:generateContent`, {
        method: "POST",
        headers: { "x-goog-api-key": TEST_ADMIN_KEY },
        body: JSON.stringify(body),
      }),
      bindings,
    );
    expect(response.status).toBe(200);
    const upstream = await upstreamRequest(response.headers.get("x-request-id") ?? "");
    expect(upstream.path).toBe("/v1beta/models/mock-echo:generateContent");
    expect(upstream.body).toEqual(body);
  });
});

describe("a Bedrock client to Bedrock", () => {
  const body = {
    messages: [{ role: "user", content: [{ text: "keep it all" }, { cachePoint: { type: "default" } }] }],
    inferenceConfig: { maxTokens: 32 },
    additionalModelRequestFields: { top_k: 5 },
    requestMetadata: { team: "t-1" },
  };
  const converse = (action: string) =>
    new Request(`${BASE}/model/${encodeURIComponent("bedrock/mock-echo")}/${action}`, {
      method: "POST",
      headers: { authorization: `Bearer ${TEST_ADMIN_KEY}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });

  it("forwards the body as sent, signed for Bedrock", async () => {
    const { response } = await callWorker(converse("converse"), bindings);
    expect(response.status).toBe(200);
    expect(response.headers.get("x-sluice-dropped")).toBeNull();
    const upstream = await upstreamRequest(response.headers.get("x-request-id") ?? "");
    expect(upstream.path).toBe("/model/mock-echo/converse");
    expect(upstream.body).toEqual(body);
    expect(upstream.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 /);
  });

  it("relays the event stream as it came, and meters it", async () => {
    const { response, settled } = await callWorker(converse("converse-stream"), bindings);
    expect(response.headers.get("content-type")).toBe("application/vnd.amazon.eventstream");
    const events = await eventStreamEvents(response);
    expect(events.map((e) => e.type)).toEqual([
      "messageStart",
      "contentBlockDelta",
      "contentBlockDelta",
      "contentBlockDelta",
      "contentBlockStop",
      "messageStop",
      "metadata",
    ]);
    // The mock's own metrics, not Sluice's: the bytes were not rewritten.
    expect(events.at(-1)?.payload).toEqual({
      usage: { inputTokens: 3, outputTokens: 3, totalTokens: 6 },
      metrics: { latencyMs: 1 },
    });
    await settled();
    expect(await usageRow(response.headers.get("x-request-id") ?? "")).toMatchObject({
      provider: "bedrock",
      clientFormat: "bedrock",
      promptTokens: 3,
      completionTokens: 3,
    });
  });
});

describe("what translation carries", () => {
  const png = "iVBORw0KGgo=";
  const openaiBody = (model: string, extra: Record<string, unknown> = {}) =>
    new Request(`${BASE}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${TEST_ADMIN_KEY}` },
      body: JSON.stringify({
        model,
        max_tokens: 40,
        temperature: 0.5,
        stop: ["END"],
        messages: [
          { role: "system", content: "You are terse." },
          {
            role: "user",
            content: [
              { type: "text", text: "describe" },
              { type: "image_url", image_url: { url: `data:image/png;base64,${png}` } },
            ],
          },
        ],
        ...extra,
      }),
    });

  it("to Anthropic: system, images, sampling, stop sequences and the output cap", async () => {
    const { response } = await callWorker(openaiBody("anthropic/mock-echo"), bindings);
    expect(response.status).toBe(200);
    const upstream = await upstreamRequest(response.headers.get("x-request-id") ?? "");
    expect(upstream.body).toEqual({
      model: "mock-echo",
      max_tokens: 40,
      system: "You are terse.",
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "describe" },
            { type: "image", source: { type: "base64", media_type: "image/png", data: png } },
          ],
        },
      ],
      stop_sequences: ["END"],
      temperature: 0.5,
    });
  });

  it("to Gemini: the same, and a response schema", async () => {
    const schema = { type: "object", properties: { caption: { type: "string" } } };
    const { response } = await callWorker(
      openaiBody("gemini/mock-echo", { response_format: { type: "json_schema", json_schema: { name: "caption", schema } } }),
      bindings,
    );
    expect(response.status).toBe(200);
    const upstream = await upstreamRequest(response.headers.get("x-request-id") ?? "");
    expect(upstream.body).toEqual({
      contents: [{ role: "user", parts: [{ text: "describe" }, { inlineData: { mimeType: "image/png", data: png } }] }],
      systemInstruction: { parts: [{ text: "You are terse." }] },
      generationConfig: {
        maxOutputTokens: 40,
        temperature: 0.5,
        stopSequences: ["END"],
        responseMimeType: "application/json",
        responseJsonSchema: schema,
      },
    });
  });

  it("refuses what a provider cannot do, in the caller's format", async () => {
    const { response } = await callWorker(
      openaiBody("anthropic/mock-echo", { response_format: { type: "json_object" } }),
      bindings,
    );
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { param: "response_format", type: "invalid_request_error" } });
  });
});

describe("the app API's completion", () => {
  it("goes to DEFAULT_PROVIDER", async () => {
    const { response } = await callWorker(
      new Request(`${BASE}/api/ai/completion`, {
        method: "POST",
        headers: { authorization: `Bearer ${TEST_ADMIN_KEY}` },
        body: JSON.stringify({ model: "mock-echo", messages: [{ role: "user", content: "to the default" }] }),
      }),
      { ...bindings, DEFAULT_PROVIDER: "anthropic" },
    );
    expect(response.status).toBe(200);
    expect(response.headers.get("x-sluice-provider")).toBe("anthropic");
    const body = (await response.json()) as { object: string; choices: { message: { content: string } }[] };
    expect(body).toMatchObject({ object: "chat.completion", choices: [{ message: { content: "to the default" } }] });
  });
});
