// The official AWS SDK's Bedrock Runtime client, unmodified, pointed at
// Sluice with a Sluice key as its Bedrock API key (the bearer token
// AWS_BEARER_TOKEN_BEDROCK sets); its HTTP handler calls the Worker instead
// of a socket.
import {
  BedrockRuntimeClient,
  ConverseCommand,
  ConverseStreamCommand,
  type ConverseStreamOutput,
  ResourceNotFoundException,
} from "@aws-sdk/client-bedrock-runtime";
import { describe, expect, it } from "vitest";
import { decodeEventStreamMessage } from "../src/http/event-stream.ts";
import { BASE, callWorker, mockProviderBindings, TEST_ADMIN_KEY, upstreamRequest, usageRow, workerFetch } from "./helpers.ts";

/** A whole AWS event stream as its messages, checksums checked: event (or exception) type and JSON payload. */
async function eventStreamEvents(response: Response) {
  const bytes = new Uint8Array(await response.arrayBuffer());
  const events: { type: string; payload: unknown }[] = [];
  for (let at = 0; at < bytes.length; ) {
    const total = new DataView(bytes.buffer, bytes.byteOffset + at, 4).getUint32(0);
    const { headers, payload } = decodeEventStreamMessage(bytes.subarray(at, at + total));
    const type = headers[":event-type"] ?? `exception:${headers[":exception-type"]}`;
    events.push({ type, payload: JSON.parse(new TextDecoder().decode(payload)) });
    at += total;
  }
  return events;
}

interface SdkRequest {
  method: string;
  protocol: string;
  hostname: string;
  port?: number;
  path: string;
  query?: Record<string, string | string[] | null>;
  headers: Record<string, string>;
  body?: BodyInit;
}

/** The SDK's HTTP handler, with the Worker in place of the network. */
function workerHandler(pending: Promise<unknown>[], seen: Response[]) {
  const call = workerFetch(pending, mockProviderBindings);
  return {
    async handle(request: SdkRequest) {
      const port = request.port ? `:${request.port}` : "";
      const response = await call(`${request.protocol}//${request.hostname}${port}${request.path}`, {
        method: request.method,
        headers: request.headers,
        body: request.body,
      });
      seen.push(response);
      const headers: Record<string, string> = {};
      response.headers.forEach((value, name) => {
        headers[name] = value;
      });
      return { response: { statusCode: response.status, reason: response.statusText, headers, body: response.body } };
    },
    updateHttpClientConfig: () => undefined,
    httpHandlerConfigs: () => ({}),
  };
}

function client(pending: Promise<unknown>[], seen: Response[] = []) {
  return new BedrockRuntimeClient({
    region: "us-east-1",
    endpoint: BASE,
    token: { token: TEST_ADMIN_KEY },
    authSchemePreference: ["httpBearerAuth"],
    maxAttempts: 1,
    requestHandler: workerHandler(pending, seen),
  });
}

describe("the official AWS SDK's Bedrock Runtime client", () => {
  it("converses, any provider, its bearer token a Sluice key", async () => {
    const pending: Promise<unknown>[] = [];
    const seen: Response[] = [];
    const answer = await client(pending, seen).send(
      new ConverseCommand({
        modelId: "anthropic/mock-echo",
        system: [{ text: "be brief" }],
        messages: [{ role: "user", content: [{ text: "hello AWS SDK" }] }],
        inferenceConfig: { maxTokens: 50, temperature: 0.2 },
      }),
    );
    expect(answer.output?.message?.content?.[0]?.text).toBe("hello AWS SDK");
    expect(answer.stopReason).toBe("end_turn");
    // The mock counts words: two of the system prompt, three of the message.
    expect(answer.usage).toMatchObject({ inputTokens: 5, outputTokens: 3, totalTokens: 8 });
    const requestId = seen[0]?.headers.get("x-request-id") ?? "";
    // Translated to Anthropic's Messages API: system, cap and sampling carried.
    expect((await upstreamRequest(requestId)).body).toMatchObject({
      model: "mock-echo",
      system: "be brief",
      max_tokens: 50,
      temperature: 0.2,
    });
    await Promise.all(pending);
    expect(await usageRow(requestId)).toMatchObject({
      clientFormat: "bedrock",
      provider: "anthropic",
      promptTokens: 5,
      completionTokens: 3,
      streamed: false,
      status: 200,
    });
  });

  it("streams, the events in Bedrock's order and the usage in its metadata", async () => {
    const pending: Promise<unknown>[] = [];
    const seen: Response[] = [];
    const answer = await client(pending, seen).send(
      new ConverseStreamCommand({
        modelId: "openai/mock-echo",
        messages: [{ role: "user", content: [{ text: "stream through AWS" }] }],
      }),
    );
    const events: ConverseStreamOutput[] = [];
    for await (const event of answer.stream ?? []) events.push(event);
    const kinds = events.map((event) => Object.keys(event).find((key) => key !== "$unknown"));
    expect(kinds[0]).toBe("messageStart");
    expect(kinds.slice(-3)).toEqual(["contentBlockStop", "messageStop", "metadata"]);
    const text = events.map((event) => event.contentBlockDelta?.delta?.text ?? "").join("");
    expect(text).toBe("stream through AWS");
    expect(events.at(-2)?.messageStop?.stopReason).toBe("end_turn");
    expect(events.at(-1)?.metadata?.usage).toMatchObject({ inputTokens: 3, outputTokens: 3, totalTokens: 6 });
    await Promise.all(pending);
    const requestId = seen[0]?.headers.get("x-request-id") ?? "";
    expect(await usageRow(requestId)).toMatchObject({ clientFormat: "bedrock", provider: "openai", streamed: true });
  });

  it("calls a tool and takes its result back", async () => {
    const pending: Promise<unknown>[] = [];
    const toolConfig = {
      tools: [
        {
          toolSpec: {
            name: "lookup",
            description: "Looks a phrase up",
            inputSchema: { json: { type: "object", properties: { text: { type: "string" } } } },
          },
        },
      ],
    };
    const sdk = client(pending);
    const first = await sdk.send(
      new ConverseCommand({
        modelId: "gemini/mock-echo",
        messages: [{ role: "user", content: [{ text: "find me" }] }],
        toolConfig,
      }),
    );
    expect(first.stopReason).toBe("tool_use");
    const use = first.output?.message?.content?.[0]?.toolUse;
    expect(use).toMatchObject({ name: "lookup", input: { text: "find me" } });
    if (!use) throw new Error("no tool call");
    const second = await sdk.send(
      new ConverseCommand({
        modelId: "gemini/mock-echo",
        messages: [
          { role: "user", content: [{ text: "find me" }] },
          { role: "assistant", content: [{ toolUse: use }] },
          { role: "user", content: [{ toolResult: { toolUseId: use.toolUseId, content: [{ text: "42" }] } }] },
        ],
        toolConfig,
      }),
    );
    expect(second.output?.message?.content?.[0]?.text).toMatch(/^Tool said: .*42/);
    await Promise.all(pending);
  });

  it("raises the SDK's own exception for a gateway error", async () => {
    const pending: Promise<unknown>[] = [];
    const failure = client(pending).send(
      new ConverseCommand({ modelId: "no-such-model", messages: [{ role: "user", content: [{ text: "x" }] }] }),
    );
    await expect(failure).rejects.toBeInstanceOf(ResourceNotFoundException);
    await expect(failure).rejects.toMatchObject({
      name: "ResourceNotFoundException",
      $metadata: { httpStatusCode: 404 },
      message: expect.stringContaining("no-such-model"),
    });
    await Promise.all(pending);
  });
});

describe("the Converse routes", () => {
  const converse = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    new Request(`${BASE}${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${TEST_ADMIN_KEY}`, "content-type": "application/json", ...headers },
      body: JSON.stringify(body),
    });
  const hello = { messages: [{ role: "user", content: [{ text: "a b c d e f" }] }] };

  it("answers errors in Bedrock's shape, the exception named in x-amzn-errortype, with honest statuses", async () => {
    const invalid = await callWorker(converse("/model/mock-echo/converse", { messages: "nope" }), mockProviderBindings);
    expect(invalid.response.status).toBe(400);
    expect(invalid.response.headers.get("x-amzn-errortype")).toBe("ValidationException");
    expect(await invalid.response.json()).toEqual({ message: expect.stringContaining("messages") });

    const unknownKey = await callWorker(
      converse("/model/mock-echo/converse", hello, { authorization: "Bearer sk-not-a-key-0000000000" }),
      mockProviderBindings,
    );
    expect(unknownKey.response.status).toBe(401);
    expect(unknownKey.response.headers.get("x-amzn-errortype")).toBe("UnrecognizedClientException");
    expect(Object.keys(await unknownKey.response.json())).toEqual(["message"]);

    const noRoute = await callWorker(converse("/model/mock-echo/invoke", hello), mockProviderBindings);
    expect(noRoute.response.status).toBe(404);
    expect(noRoute.response.headers.get("x-amzn-errortype")).toBe("ResourceNotFoundException");
  });

  it("ends a stream that breaks mid-way with an exception message, never a clean end", async () => {
    const { response, settled } = await callWorker(
      converse("/model/mock-echo/converse-stream", hello, { "x-mock-fail": "cut:2", "x-mock-interval-ms": "5" }),
      mockProviderBindings,
    );
    expect(response.status).toBe(200);
    const events = await eventStreamEvents(response);
    expect(events[0]?.type).toBe("messageStart");
    expect(events.at(-1)).toMatchObject({
      type: "exception:modelStreamErrorException",
      payload: { message: expect.stringContaining("upstream") },
    });
    expect(events.map((e) => e.type)).not.toContain("metadata");
    await settled();
    expect(await usageRow(response.headers.get("x-request-id") ?? "")).toMatchObject({ status: 502, streamed: true });
  });
});
