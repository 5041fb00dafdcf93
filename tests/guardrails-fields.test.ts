// Guardrails over text kept under keys of a tool's, a document's or a
// template's own, end to end: a Gemini function response, a Bedrock tool
// result's JSON, an Anthropic plain-text document and a Responses prompt
// template's variables on the way up; a tool call's input and the model's
// reasoning in whole answers passed through on the way back.
import { env } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { MOCK_AWS_ACCESS_KEY_ID, MOCK_AWS_REGION, MOCK_AWS_SECRET_ACCESS_KEY } from "../dev/mock-upstream/credentials.ts";
import { BASE, callWorker, mockProviderBindings, TEST_ADMIN_KEY, upstreamRequest, usageRow } from "./helpers.ts";
import { uniqueId } from "./identity.ts";

const mockRoot = String(env.MOCK_BASE_URL).replace(/\/v1$/, "");
const bindings = {
  ...mockProviderBindings,
  AWS_ACCESS_KEY_ID: MOCK_AWS_ACCESS_KEY_ID,
  AWS_SECRET_ACCESS_KEY: MOCK_AWS_SECRET_ACCESS_KEY,
  AWS_REGION: MOCK_AWS_REGION,
  BEDROCK_BASE_URL: mockRoot,
};
const call = (request: Request) => callWorker(request, bindings);

const post = (path: string, headers: Record<string, string>, body: unknown) =>
  new Request(`${BASE}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });

async function admin(path: string, body: unknown) {
  const { response } = await call(post(path, { authorization: `Bearer ${TEST_ADMIN_KEY}` }, body));
  expect(response.status).toBe(201);
  return (await response.json()) as Record<string, unknown>;
}

/** A key under one SSN policy. */
async function keyUnder(phase: "input" | "output", mode: "block" | "redact"): Promise<{ id: string; key: string }> {
  const id = uniqueId("gr");
  await admin("/admin/guardrails", { id, name: "No SSN", phase, mode, kinds: ["ssn"] });
  const made = await admin("/admin/keys", { settings: { guardrails: [id] } });
  return { id, key: String(made.key) };
}

const SSN = "123-45-6789";
const requestIdOf = (response: Response) => response.headers.get("x-request-id") ?? "";

/** Each client's request with an SSN where its format keeps a tool's, a document's or a template's text. */
const PROMPTS = [
  {
    name: "a Gemini functionResponse",
    request: (key: string, response: Record<string, unknown>) =>
      post(
        "/v1beta/models/gemini%2Fmock-echo:generateContent",
        { "x-goog-api-key": key },
        {
          contents: [
            { role: "user", parts: [{ text: "look it up" }] },
            { role: "model", parts: [{ functionCall: { name: "lookup", args: { q: "alice" } } }] },
            { role: "user", parts: [{ functionResponse: { name: "lookup", response } }] },
          ],
        },
      ),
    refusal: { error: { code: 400, message: "The request was blocked by the guardrail `No SSN`.", status: "INVALID_ARGUMENT" } },
    /** Where the upstream finds the text. */
    sent: (body: Record<string, unknown>) =>
      (body as { contents: { parts: { functionResponse?: { response: unknown } }[] }[] }).contents[2]?.parts[0]?.functionResponse
        ?.response,
  },
  {
    name: "a Bedrock toolResult's json",
    request: (key: string, json: Record<string, unknown>) =>
      post(
        `/model/${encodeURIComponent("bedrock/mock-echo")}/converse`,
        { authorization: `Bearer ${key}` },
        {
          messages: [
            { role: "user", content: [{ text: "look it up" }] },
            { role: "assistant", content: [{ toolUse: { toolUseId: "t1", name: "lookup", input: { q: "alice" } } }] },
            { role: "user", content: [{ toolResult: { toolUseId: "t1", content: [{ json }] } }] },
          ],
        },
      ),
    refusal: { message: "The request was blocked by the guardrail `No SSN`." },
    sent: (body: Record<string, unknown>) =>
      (body as { messages: { content: { toolResult?: { content: { json: unknown }[] } }[] }[] }).messages[2]?.content[0]
        ?.toolResult?.content[0]?.json,
  },
  {
    name: "an Anthropic plain-text document",
    request: (key: string, data: Record<string, unknown>) =>
      post(
        "/v1/messages",
        { "x-api-key": key, "anthropic-version": "2023-06-01" },
        {
          model: "anthropic/mock-echo",
          max_tokens: 64,
          messages: [
            {
              role: "user",
              content: [
                { type: "document", source: { type: "text", media_type: "text/plain", data: data.result } },
                { type: "text", text: "summarise it" },
              ],
            },
          ],
        },
      ),
    refusal: {
      type: "error",
      error: { type: "invalid_request_error", message: "The request was blocked by the guardrail `No SSN`." },
    },
    sent: (body: Record<string, unknown>) => ({
      result: (body as { messages: { content: { source?: { data: string } }[] }[] }).messages[0]?.content[0]?.source?.data,
    }),
  },
  {
    name: "a Responses prompt template's variables",
    request: (key: string, variables: Record<string, unknown>) =>
      post(
        "/v1/responses",
        { authorization: `Bearer ${key}` },
        {
          model: "openai/mock-echo",
          prompt: { id: "pmpt_lookup", variables },
          input: "summarise it",
        },
      ),
    refusal: {
      error: {
        message: "The request was blocked by the guardrail `No SSN`.",
        type: "invalid_request_error",
        code: "guardrail_blocked",
        param: null,
      },
    },
    sent: (body: Record<string, unknown>) => (body as { prompt: { variables: unknown } }).prompt.variables,
  },
];

describe("input guardrails", () => {
  it.each(PROMPTS)("refuse an SSN in $name, sending nothing upstream", async ({ request, refusal }) => {
    const { id, key } = await keyUnder("input", "block");
    const done = await call(request(key, { result: `SSN ${SSN}` }));
    expect(done.response.status).toBe(400);
    const body = await done.response.text();
    expect(JSON.parse(body)).toEqual(refusal);
    expect(body).not.toContain(SSN);
    await done.settled();
    await expect(upstreamRequest(requestIdOf(done.response))).rejects.toThrow();
    const row = await usageRow(requestIdOf(done.response));
    expect(row).toMatchObject({ status: 400, attempts: 0 });
    expect(row?.metadata.guardrails).toEqual([{ guardrail: id, phase: "input", verdict: "blocked", categories: ["ssn"] }]);
  });

  it.each(PROMPTS)("redact an SSN in $name where it was before it goes upstream", async ({ request, sent }) => {
    const { key } = await keyUnder("input", "redact");
    const done = await call(request(key, { result: `SSN ${SSN}` }));
    expect(done.response.status).toBe(200);
    await done.settled();
    const received = await upstreamRequest(requestIdOf(done.response));
    expect(sent(received.body)).toEqual({ result: "SSN [SSN_1]" });
    expect(JSON.stringify(received.body)).not.toContain(SSN);
  });
});

/** The upstream calls answered from a script instead of the mock: path, and the body they were sent. */
const scripted: { path: string; body: Record<string, unknown> }[] = [];
const realFetch = globalThis.fetch;
afterEach(() => {
  globalThis.fetch = realFetch;
  scripted.length = 0;
});

/** The mock upstream's next answer at `path` is `answer`, as a provider's JSON; every other request goes through. */
function answerNext(path: string, answer: unknown) {
  globalThis.fetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = new Request(input, init);
    const url = new URL(request.url);
    if (!request.url.startsWith(mockRoot) || decodeURIComponent(url.pathname) !== path) return realFetch(request);
    scripted.push({ path, body: (await request.json()) as Record<string, unknown> });
    return Response.json(answer);
  }) as typeof fetch;
}

describe("output guardrails on a whole answer passed through", () => {
  it("redact an SSN in an Anthropic answer's thinking and tool_use input, keeping its shape", async () => {
    const { id, key } = await keyUnder("output", "redact");
    const answer = (ssn: string) => ({
      id: "msg_1",
      type: "message",
      role: "assistant",
      model: "mock-echo",
      content: [
        { type: "thinking", thinking: `Their SSN is ${ssn}.`, signature: "c2ln" },
        { type: "tool_use", id: "toolu_1", name: "lookup", input: { person: { ssn, age: 40 }, tags: [ssn] } },
      ],
      stop_reason: "tool_use",
      stop_sequence: null,
      usage: { input_tokens: 12, output_tokens: 30 },
    });
    answerNext("/v1/messages", answer(SSN));
    const done = await call(
      post(
        "/v1/messages",
        { "x-api-key": key, "anthropic-version": "2023-06-01" },
        {
          model: "anthropic/mock-echo",
          max_tokens: 64,
          messages: [{ role: "user", content: "look up alice" }],
        },
      ),
    );
    expect(done.response.status).toBe(200);
    expect(await done.response.json()).toEqual(answer("[SSN_REDACTED]"));
    expect(scripted.map((s) => s.body.messages)).toEqual([[{ role: "user", content: "look up alice" }]]);
    await done.settled();
    const row = await usageRow(requestIdOf(done.response));
    expect(row?.metadata.guardrails).toEqual([{ guardrail: id, phase: "output", verdict: "redacted", categories: ["ssn"] }]);
  });

  it("block a Gemini answer with an SSN in a functionCall's args, and bill it", async () => {
    const { id, key } = await keyUnder("output", "block");
    answerNext("/v1beta/models/mock-echo:generateContent", {
      candidates: [
        { content: { role: "model", parts: [{ functionCall: { name: "lookup", args: { ssn: SSN } } }] }, finishReason: "STOP" },
      ],
      usageMetadata: { promptTokenCount: 4, candidatesTokenCount: 9, totalTokenCount: 13 },
    });
    const done = await call(
      post(
        "/v1beta/models/gemini%2Fmock-echo:generateContent",
        { "x-goog-api-key": key },
        {
          contents: [{ role: "user", parts: [{ text: "look up alice" }] }],
        },
      ),
    );
    expect(done.response.status).toBe(400);
    const body = await done.response.text();
    expect(JSON.parse(body)).toEqual({
      error: { code: 400, message: "The answer was blocked by the guardrail `No SSN`.", status: "INVALID_ARGUMENT" },
    });
    expect(body).not.toContain(SSN);
    expect(scripted).toHaveLength(1);
    await done.settled();
    const row = await usageRow(requestIdOf(done.response));
    expect(row).toMatchObject({ status: 400, completionTokens: 9 });
    expect(row?.metadata.guardrails).toEqual([{ guardrail: id, phase: "output", verdict: "blocked", categories: ["ssn"] }]);
  });

  it("redact an SSN in a Bedrock answer's toolUse input", async () => {
    const { key } = await keyUnder("output", "redact");
    const answer = (ssn: string) => ({
      output: {
        message: { role: "assistant", content: [{ toolUse: { toolUseId: "t1", name: "lookup", input: { ssn, n: 1 } } }] },
      },
      stopReason: "tool_use",
      usage: { inputTokens: 4, outputTokens: 9, totalTokens: 13 },
    });
    answerNext("/model/mock-echo/converse", answer(SSN));
    const done = await call(
      post(
        `/model/${encodeURIComponent("bedrock/mock-echo")}/converse`,
        { authorization: `Bearer ${key}` },
        {
          messages: [{ role: "user", content: [{ text: "look up alice" }] }],
        },
      ),
    );
    expect(done.response.status).toBe(200);
    expect(await done.response.json()).toEqual(answer("[SSN_REDACTED]"));
    expect(scripted).toHaveLength(1);
    await done.settled();
  });

  it("redact an SSN in an OpenAI-compatible answer's reasoning_content and reasoning", async () => {
    const { key } = await keyUnder("output", "redact");
    const answer = (ssn: string) => ({
      id: "chatcmpl-1",
      object: "chat.completion",
      created: 1,
      model: "mock-echo",
      choices: [
        {
          index: 0,
          message: { role: "assistant", content: "Done.", reasoning_content: `SSN ${ssn}`, reasoning: `SSN ${ssn}` },
          finish_reason: "stop",
        },
      ],
      usage: { prompt_tokens: 4, completion_tokens: 9, total_tokens: 13 },
    });
    answerNext("/v1/chat/completions", answer(SSN));
    const done = await call(
      post(
        "/v1/chat/completions",
        { authorization: `Bearer ${key}` },
        {
          model: "openai/mock-echo",
          messages: [{ role: "user", content: "look up alice" }],
        },
      ),
    );
    expect(done.response.status).toBe(200);
    expect(await done.response.json()).toEqual(answer("[SSN_REDACTED]"));
    expect(scripted).toHaveLength(1);
    await done.settled();
  });
});
