// The mock upstream: a real HTTP server speaking providers' wire formats
// (OpenAI's chat completions and Responses API, Anthropic, Gemini and its
// embeddings and token counts, Bedrock's
// Converse with SigV4 and event-stream framing, and Vertex AI with its
// service-account tokens, each on its own paths), with configurable latency,
// chunking and injected failures, a receiver for Sluice's webhooks, and an OTLP collector. Tests
// and benchmarks share it; `npm run dev` starts one for the `mock-*` models.
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { closeServer, listen, readBody, sendJson } from "../standins/http.ts";
import { type AnthropicRequest, anthropicError, anthropicMessage, anthropicStreamEvents, anthropicTurns } from "./anthropic.ts";
import { mockAzure } from "./azure.ts";
import {
  CONVERSE_PATH,
  type ConverseRequest,
  converseError,
  converseErrorType,
  converseResponse,
  converseStreamEvents,
  converseTools,
  converseTurns,
} from "./bedrock.ts";
import { behaviourFor, FailureBudget, type MockBehaviour, type MockDefaults } from "./behaviour.ts";
import {
  CODE_ASSIST_PATH,
  type CodeAssistRequest,
  codeAssistProblem,
  codeAssistResponse,
  codeAssistStreamEvents,
  mockCodeAssistSetup,
} from "./code-assist.ts";
import {
  type CohereRequest,
  cohereEmbed,
  cohereError,
  cohereRerank,
  cohereResponse,
  cohereStreamError,
  cohereStreamEvents,
  cohereTools,
  cohereTurns,
  vllmRerank,
} from "./cohere.ts";
import { MOCK_AWS_ACCESS_KEY_ID, MOCK_AWS_SECRET_ACCESS_KEY, MOCK_VERTEX_ACCOUNT_PATH } from "./credentials.ts";
import { type GeminiRequest, geminiError, geminiResponse, geminiStreamEvents, geminiTools, geminiTurns } from "./gemini.ts";
import {
  ANTHROPIC_COUNT_PATH,
  answerAnthropicCount,
  answerGeminiMethod,
  GEMINI_METHOD_PATH,
  VERTEX_METHOD_PATH,
} from "./gemini-methods.ts";
import { GOOGLE_PREFIX, mockGoogle } from "./google.ts";
import { geminiSpeechAnswer, wantsGeminiAudio } from "./google-media.ts";
import { GuardService } from "./guard.ts";
import { HookReceiver } from "./hooks.ts";
import { mockMcp } from "./mcp.ts";
import { MCP_OAUTH_PREFIX, mockMcpOAuth } from "./mcp-oauth.ts";
import { answerMedia, geminiImageAnswer, MEDIA_PATHS, multipartFields, wantsGeminiImage } from "./media.ts";
import { answerFor, MOCK_MODELS, type MockAnswer, type MockTurn, UnknownMockModel } from "./models.ts";
import { mockOidc, OIDC_PREFIX } from "./oidc.ts";
import {
  type OpenAIChatRequest,
  openaiCompletion,
  openaiEmbeddings,
  openaiError,
  openaiModelList,
  openaiStreamEvents,
  openaiTextCompletion,
  openaiTextCompletionEvents,
  openaiTurns,
} from "./openai.ts";
import { OtlpReceiver } from "./otlp.ts";
import { attachRealtime } from "./realtime.ts";
import { type ResponsesRequest, responsesResponse, responsesStreamEvents, responsesTools, responsesTurns } from "./responses.ts";
import { signatureProblem } from "./sigv4.ts";
import { countTokens, splitIntoChunks } from "./text.ts";
import { mockTurnstile, TURNSTILE_PATH } from "./turnstile.ts";
import { mockVertex, VERTEX_PATH, VERTEX_TOKEN_PATH } from "./vertex.ts";
import {
  WORKERS_AI_PATH,
  type WorkersAiRequest,
  workersAiEmbeddings,
  workersAiError,
  workersAiModel,
  workersAiResponse,
  workersAiStreamEvents,
  workersAiTools,
  workersAiTurns,
} from "./workers-ai.ts";

function readRawBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

export interface RecordedRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: unknown;
  /** When it arrived, ms since the epoch. */
  receivedAt: number;
  /** The caller went away before the answer was whole (an aborted attempt). */
  abandoned: boolean;
  /** The whole answer was written. */
  finished: boolean;
}

export interface MockUpstream {
  url: string;
  port: number;
  /** Requests received, newest last, keyed by the `x-request-id` the gateway sends. */
  requests: Map<string, RecordedRequest>;
  close(): Promise<void>;
}

const RECORD_LIMIT = 2000;
const sleep = (ms: number) => (ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve());

function flatHeaders(req: IncomingMessage): Record<string, string> {
  return Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(", ") : (v ?? "")]));
}

/**
 * Writes stream events with the behaviour's pacing; `cut:N` ends the socket
 * after N content chunks, `event:N` sends the dialect's own error event there.
 */
async function writeStream(
  res: ServerResponse,
  events: (string | Uint8Array)[],
  behaviour: MockBehaviour,
  contentType = "text/event-stream; charset=utf-8",
  streamError?: (message: string) => string,
): Promise<void> {
  res.writeHead(200, {
    "content-type": contentType,
    "cache-control": "no-cache",
    connection: "keep-alive",
  });
  res.flushHeaders();
  const failure = behaviour.failure;
  const cutAfter = failure?.kind === "cut" || failure?.kind === "event" ? failure.afterChunks + 1 : Number.POSITIVE_INFINITY;
  for (const [i, event] of events.entries()) {
    if (i > 0) await sleep(behaviour.intervalMs);
    if (i >= cutAfter && failure?.kind === "event" && streamError) {
      res.end(streamError(failure.message));
      return;
    }
    if (i >= cutAfter) {
      // An interval after the last chunk, as a connection lost mid-answer would be.
      res.socket?.destroy();
      return;
    }
    if (res.destroyed) return;
    res.write(event);
  }
  res.end();
}

/** One provider's wire format, as the mock speaks it. */
interface Dialect {
  prefix: string;
  turns(body: never): MockTurn[];
  tools(body: never): string[] | undefined;
  maxTokens(body: never): number | undefined;
  response(id: string, model: string, answer: MockAnswer, body: never): unknown;
  streamEvents(id: string, model: string, answer: MockAnswer, pieces: string[], body: never): (string | Uint8Array)[];
  /** Its streams' content type, when they are not server-sent events. */
  streamType?: string;
  /** The error event it sends inside a stream that fails after it began. */
  streamError?(message: string): string;
  error(status: number, message: string): unknown;
  errorHeaders?(status: number): Record<string, string>;
}

const OPENAI: Dialect = {
  prefix: "chatcmpl-mock-",
  turns: (body: OpenAIChatRequest) => openaiTurns(body),
  tools: (body: OpenAIChatRequest) => body.tools?.map((tool) => tool.function?.name ?? "tool"),
  maxTokens: (body: OpenAIChatRequest) => body.max_completion_tokens ?? body.max_tokens,
  response: openaiCompletion,
  streamEvents: (id, model, answer, pieces, body: OpenAIChatRequest) =>
    openaiStreamEvents(id, model, answer, pieces, body.stream_options?.include_usage === true),
  streamError: (message) => `data: ${JSON.stringify(openaiError(500, message))}\n\n`,
  error: openaiError,
};

const RESPONSES: Dialect = {
  prefix: "resp_mock_",
  turns: (body: ResponsesRequest) => responsesTurns(body),
  tools: (body: ResponsesRequest) => responsesTools(body),
  maxTokens: (body: ResponsesRequest) => body.max_output_tokens,
  response: responsesResponse,
  streamEvents: (id, model, answer, pieces, body: ResponsesRequest) => responsesStreamEvents(id, model, answer, pieces, body),
  streamError: (message) =>
    `event: error\ndata: ${JSON.stringify({ type: "error", code: "server_error", message, param: null })}\n\n`,
  error: openaiError,
};

const ANTHROPIC: Dialect = {
  prefix: "msg_mock_",
  turns: (body: AnthropicRequest) => anthropicTurns(body),
  tools: (body: AnthropicRequest) => body.tools?.map((tool) => tool.name ?? "tool"),
  maxTokens: (body: AnthropicRequest) => body.max_tokens,
  response: anthropicMessage,
  streamEvents: (id, model, answer, pieces, body: AnthropicRequest) => anthropicStreamEvents(id, model, answer, pieces, body),
  streamError: (message) => `event: error\ndata: ${JSON.stringify(anthropicError(529, message))}\n\n`,
  error: anthropicError,
};

const GEMINI: Dialect = {
  prefix: "mock-",
  turns: (body: GeminiRequest) => geminiTurns(body),
  tools: (body: GeminiRequest) => geminiTools(body),
  maxTokens: (body: GeminiRequest) => body.generationConfig?.maxOutputTokens,
  response: geminiResponse,
  streamEvents: (id, model, answer, pieces) => geminiStreamEvents(id, model, answer, pieces),
  streamError: (message) => `data: ${JSON.stringify(geminiError(500, message))}\n\n`,
  error: geminiError,
};

/** Code Assist: Gemini's requests and answers, wrapped. */
const CODE_ASSIST: Dialect = {
  prefix: "mock-",
  turns: (body: CodeAssistRequest) => geminiTurns(body.request ?? { contents: [] }),
  tools: (body: CodeAssistRequest) => geminiTools(body.request ?? { contents: [] }),
  maxTokens: (body: CodeAssistRequest) => body.request?.generationConfig?.maxOutputTokens,
  response: codeAssistResponse,
  streamEvents: (id, model, answer, pieces) => codeAssistStreamEvents(id, model, answer, pieces),
  streamError: (message) => `data: ${JSON.stringify(geminiError(500, message))}\n\n`,
  error: geminiError,
};

const COHERE: Dialect = {
  prefix: "",
  turns: (body: CohereRequest) => cohereTurns(body),
  tools: (body: CohereRequest) => cohereTools(body),
  maxTokens: (body: CohereRequest) => body.max_tokens,
  response: cohereResponse,
  streamEvents: cohereStreamEvents,
  streamError: cohereStreamError,
  error: cohereError,
};

const BEDROCK: Dialect = {
  prefix: "",
  turns: (body: ConverseRequest) => converseTurns(body),
  tools: (body: ConverseRequest) => converseTools(body),
  maxTokens: (body: ConverseRequest) => body.inferenceConfig?.maxTokens,
  response: converseResponse,
  streamEvents: converseStreamEvents,
  streamType: "application/vnd.amazon.eventstream",
  error: converseError,
  errorHeaders: (status) => ({ "x-amzn-errortype": converseErrorType(status) }),
};

const WORKERS_AI: Dialect = {
  prefix: "",
  turns: (body: WorkersAiRequest) => workersAiTurns(body),
  tools: (body: WorkersAiRequest) => workersAiTools(body),
  maxTokens: (body: WorkersAiRequest) => body.max_tokens,
  response: workersAiResponse,
  streamEvents: workersAiStreamEvents,
  streamError: (message) => `data: ${JSON.stringify({ errors: [{ message }] })}\n\n`,
  error: workersAiError,
};

const GEMINI_PATH = /^\/v1(?:beta|alpha)?\/models\/([^/:]+):(generateContent|streamGenerateContent)$/;

interface Route {
  dialect: Dialect;
  model: string;
  stream: boolean;
  /** The provider whose authentication the path needs checked (others take any key). */
  signedBy?: "bedrock" | "vertex" | "code-assist";
}

/** Which dialect a path speaks, the model (Gemini, Bedrock and Vertex name it in the path) and whether to stream. */
function route(path: string, body: { model?: string; stream?: boolean }): Route | undefined {
  if (path === "/v1/chat/completions") return { dialect: OPENAI, model: body.model ?? "", stream: body.stream === true };
  if (path === "/v1/responses") return { dialect: RESPONSES, model: body.model ?? "", stream: body.stream === true };
  if (path === "/v1/messages") return { dialect: ANTHROPIC, model: body.model ?? "", stream: body.stream === true };
  if (path === "/v2/chat") return { dialect: COHERE, model: body.model ?? "", stream: body.stream === true };
  const codeAssist = CODE_ASSIST_PATH.exec(path);
  if (codeAssist) {
    return {
      dialect: CODE_ASSIST,
      model: body.model ?? "",
      stream: codeAssist[1] === "streamGenerateContent",
      signedBy: "code-assist",
    };
  }
  const gemini = GEMINI_PATH.exec(path);
  if (gemini)
    return { dialect: GEMINI, model: decodeURIComponent(gemini[1] ?? ""), stream: gemini[2] === "streamGenerateContent" };
  const converse = CONVERSE_PATH.exec(path);
  if (converse) {
    const model = decodeURIComponent(converse[1] ?? "");
    return { dialect: BEDROCK, model, stream: converse[2] === "converse-stream", signedBy: "bedrock" };
  }
  const workersAi = WORKERS_AI_PATH.exec(path);
  if (workersAi)
    return { dialect: WORKERS_AI, model: workersAiModel(decodeURIComponent(workersAi[1] ?? "")), stream: body.stream === true };
  const vertex = VERTEX_PATH.exec(path);
  if (vertex) {
    const [, , , publisher, model = "", method = ""] = vertex;
    return {
      dialect: publisher === "google" ? GEMINI : ANTHROPIC,
      model: decodeURIComponent(model),
      stream: method.startsWith("stream"),
      signedBy: "vertex",
    };
  }
  return undefined;
}

/** What Claude on Vertex requires of a body: its version inside, no model (the path names it), `stream` as the method says. */
function vertexAnthropicProblem(body: { model?: unknown; stream?: unknown; anthropic_version?: unknown }, stream: boolean) {
  if (body.anthropic_version !== "vertex-2023-10-16") return "anthropic_version: must be vertex-2023-10-16";
  if (body.model !== undefined) return "model: Extra inputs are not permitted";
  if ((body.stream === true) !== stream) return "stream: must match the method (rawPredict or streamRawPredict)";
  return undefined;
}

async function complete(
  res: ServerResponse,
  call: { dialect: Dialect; model: string; stream: boolean; body: never },
  behaviour: MockBehaviour,
) {
  const { dialect, model } = call;
  let answer: MockAnswer;
  try {
    answer = answerFor(model, dialect.turns(call.body), {
      maxTokens: dialect.maxTokens(call.body),
      tokens: behaviour.tokens,
      tools: dialect.tools(call.body),
    });
  } catch (error) {
    if (error instanceof UnknownMockModel) return sendJson(res, 404, dialect.error(404, error.message));
    // A body of the wrong shape: refused as a provider refuses it, never a crash.
    return sendJson(
      res,
      400,
      dialect.error(400, `Invalid request body: ${error instanceof Error ? error.message : String(error)}`),
    );
  }
  const id = `${dialect.prefix}${randomUUID().slice(0, 8)}`;
  if (!call.stream) {
    const response = dialect.response(id, model, answer, call.body) as Record<string, unknown>;
    if (behaviour.withoutUsage) {
      delete response.usage;
      delete response.usageMetadata;
    }
    return sendJson(res, 200, response);
  }
  const streamed = answer.toolCall?.arguments ?? answer.text;
  const pieces = splitIntoChunks(streamed, behaviour.chunks || answer.completionTokens);
  await writeStream(
    res,
    dialect.streamEvents(id, model, answer, pieces, call.body),
    behaviour,
    dialect.streamType,
    dialect.streamError,
  );
}

interface TextCompletionRequest {
  model?: string;
  prompt?: string | string[];
  max_tokens?: number;
  stream?: boolean;
  stream_options?: { include_usage?: boolean };
}

async function textCompletion(res: ServerResponse, body: TextCompletionRequest, behaviour: MockBehaviour) {
  const model = body.model ?? "";
  const prompt = Array.isArray(body.prompt) ? body.prompt.join("") : (body.prompt ?? "");
  let answer: MockAnswer;
  try {
    answer = answerFor(model, [{ role: "user", text: prompt }], { maxTokens: body.max_tokens, tokens: behaviour.tokens });
  } catch (error) {
    if (error instanceof UnknownMockModel) return sendJson(res, 404, openaiError(404, error.message));
    return sendJson(
      res,
      400,
      openaiError(400, `Invalid request body: ${error instanceof Error ? error.message : String(error)}`),
    );
  }
  const id = `cmpl-mock-${randomUUID().slice(0, 8)}`;
  if (!body.stream) return sendJson(res, 200, openaiTextCompletion(id, model, answer));
  const pieces = splitIntoChunks(answer.text, behaviour.chunks || answer.completionTokens);
  await writeStream(
    res,
    openaiTextCompletionEvents(id, model, answer, pieces, body.stream_options?.include_usage === true),
    behaviour,
  );
}

export interface MockOptions extends Partial<MockDefaults> {
  port?: number;
  /** Called as each request arrives, before it is answered (benchmarks snapshot counters here). */
  onRequest?: (requestId: string) => void;
}

export async function startMockUpstream(options: MockOptions = {}): Promise<MockUpstream> {
  const defaults: MockDefaults = {
    latencyMs: options.latencyMs ?? 0,
    chunks: options.chunks ?? 0,
    intervalMs: options.intervalMs ?? 0,
  };
  const budget = new FailureBudget();
  const requests = new Map<string, RecordedRequest>();
  /** Every attempt of a gateway request, in order: retries and failover send the same id again. */
  const history = new Map<string, RecordedRequest[]>();

  function record(req: IncomingMessage, res: ServerResponse, path: string, body: unknown) {
    const id = String(req.headers["x-request-id"] ?? randomUUID());
    options.onRequest?.(id);
    const recorded: RecordedRequest = {
      method: req.method ?? "GET",
      path,
      headers: flatHeaders(req),
      body,
      receivedAt: Date.now(),
      abandoned: false,
      finished: false,
    };
    res.once("finish", () => {
      recorded.finished = true;
    });
    res.once("close", () => {
      if (!res.writableFinished) recorded.abandoned = true;
    });
    requests.set(id, recorded);
    if (requests.size > RECORD_LIMIT) requests.delete(requests.keys().next().value as string);
    history.set(id, [...(history.get(id) ?? []), recorded]);
    if (history.size > RECORD_LIMIT) history.delete(history.keys().next().value as string);
  }

  // JSON Web Key Sets that tests publish here, standing in for identity providers.
  const keySets = new Map<string, unknown>();
  const hooks = new HookReceiver();
  const collector = new OtlpReceiver();
  const guardService = new GuardService();
  const vertex = mockVertex();
  const azure = mockAzure();
  const google = mockGoogle();
  const oidc = mockOidc();
  const codeAssistSetup = mockCodeAssistSetup();
  const turnstile = mockTurnstile();
  const mcp = mockMcp();
  const mcpOAuth = mockMcpOAuth();
  let baseUrl = "";

  async function answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    const keySet = /^\/__mock\/jwks(?:\/([\w-]+))?$/.exec(path);
    if (keySet) {
      const name = keySet[1] ?? "default";
      if (req.method === "PUT") keySets.set(name, JSON.parse(await readBody(req)));
      return sendJson(res, 200, keySets.get(name) ?? { keys: [] });
    }
    const attempts = /^\/__mock\/requests\/(.+)\/attempts$/.exec(path);
    if (attempts) return sendJson(res, 200, history.get(decodeURIComponent(attempts[1] ?? "")) ?? []);
    const recorded = /^\/__mock\/requests\/(.+)$/.exec(path);
    if (recorded) {
      const found = requests.get(decodeURIComponent(recorded[1] ?? ""));
      return found ? sendJson(res, 200, found) : sendJson(res, 404, { error: "no such request" });
    }
    if (path === MOCK_VERTEX_ACCOUNT_PATH) return sendJson(res, 200, vertex.account(baseUrl));
    if (path === "/__mock/vertex/tokens") return sendJson(res, 200, { issued: vertex.issued() });
    if (path === "/__mock/entra/tokens") return sendJson(res, 200, { issued: azure.issued() });
    if (path === "/__mock/mcp/state") return sendJson(res, 200, mcp.state());
    const raw = await readRawBody(req);
    const text = raw.toString("utf8");
    if (path === TURNSTILE_PATH) return sendJson(res, 200, turnstile.verify(new URLSearchParams(text)));
    // Gamma's OAuth metadata, as MCP servers publish it: the protected resource (RFC 9728) names its authorization server (RFC 8414).
    if (path === "/.well-known/oauth-protected-resource/mcp/gamma") {
      return sendJson(res, 200, { resource: `${baseUrl}/mcp/gamma`, authorization_servers: [`${baseUrl}${MCP_OAUTH_PREFIX}`] });
    }
    if (path === `/.well-known/oauth-authorization-server${MCP_OAUTH_PREFIX}`) {
      return sendJson(res, 200, mcpOAuth.metadata(`${baseUrl}${MCP_OAUTH_PREFIX}`));
    }
    if (path === "/mcp/gamma") {
      // Gamma takes only a live access token its OAuth server issued, and answers as that token's user.
      const user = mcpOAuth.userOf(req.headers.authorization);
      if (!user) return sendJson(res, 401, { error: "invalid_token" }, { "www-authenticate": 'Bearer error="invalid_token"' });
      if (req.method !== "POST") return void res.writeHead(405).end();
      const message = JSON.parse(text) as { id?: unknown; method?: string; params?: Record<string, unknown> };
      record(req, res, path, message);
      if (message.id === undefined) return void res.writeHead(202).end();
      return sendJson(res, 200, mcpOAuth.answer(user, message));
    }
    if (path.startsWith(MCP_OAUTH_PREFIX)) {
      const url = new URL(req.url ?? "/", "http://mock.invalid");
      const reply = mcpOAuth.handle(req.method ?? "GET", url, text, req.headers.authorization);
      if (reply?.status === 302) {
        res.writeHead(302, reply.headers);
        return void res.end();
      }
      if (reply) return sendJson(res, reply.status, reply.body, reply.headers);
    }
    const mcpServer = /^\/mcp\/([\w-]+)$/.exec(path);
    if (mcpServer) {
      let message: unknown;
      try {
        message = text ? JSON.parse(text) : undefined;
      } catch {
        return sendJson(res, 400, { jsonrpc: "2.0", id: null, error: { code: -32700, message: "Parse error" } });
      }
      record(req, res, path, message);
      return mcp.handle(req, res, mcpServer[1] ?? "", text);
    }
    if (path.startsWith(GOOGLE_PREFIX)) {
      const reply = google.handle(req.method ?? "GET", new URL(req.url ?? "/", "http://mock.invalid"), text);
      if (reply?.status === 302) {
        res.writeHead(302, reply.headers);
        return void res.end();
      }
      if (reply) return sendJson(res, reply.status, reply.body, reply.headers);
    }
    if (path.startsWith(OIDC_PREFIX)) {
      const url = new URL(req.url ?? "/", "http://mock.invalid");
      const reply = await oidc.handle(req.method ?? "GET", url, text, req.headers.authorization, baseUrl);
      if (reply?.status === 302) {
        res.writeHead(302, reply.headers);
        return void res.end();
      }
      if (reply) return sendJson(res, reply.status, reply.body, reply.headers);
    }
    if (path.startsWith("/v1internal")) {
      if (!google.accepts(req.headers.authorization)) {
        return sendJson(res, 401, geminiError(401, "Request had invalid authentication credentials."));
      }
      const setup = codeAssistSetup.handle(req.method ?? "GET", path);
      if (setup) return sendJson(res, setup.status, setup.body);
    }
    const hook = hooks.handle(req, path, text);
    if (hook) return sendJson(res, hook.status, hook.json);
    if (azure.isTokenPath(path)) {
      const { status, body } = azure.token(new URLSearchParams(text));
      return sendJson(res, status, body);
    }
    const guarded = await guardService.handle(req, path, text);
    if (guarded) return sendJson(res, guarded.status, guarded.json);
    const otlp = await collector.handle(req, path, text);
    if (otlp) return sendJson(res, otlp.status, otlp.json);
    if (path === VERTEX_TOKEN_PATH) {
      const { status, body } = vertex.token(new URLSearchParams(text), baseUrl);
      return sendJson(res, status, body);
    }
    let body: unknown;
    let upload: FormData | undefined;
    const contentType = String(req.headers["content-type"] ?? "");
    if (MEDIA_PATHS.has(path) && contentType.startsWith("multipart/form-data")) {
      try {
        const fields = await multipartFields(raw, contentType);
        upload = fields.form;
        body = fields.summary;
      } catch {
        return sendJson(res, 400, openaiError(400, "We could not parse the multipart body of your request."));
      }
    } else if (text) {
      try {
        body = JSON.parse(text);
      } catch {
        return sendJson(res, 400, openaiError(400, "We could not parse the JSON body of your request."));
      }
    }
    // Azure's paths are served as OpenAI's once the key or token is checked; recorded as sent, query included.
    const onAzure = azure.route(path, new URL(req.url ?? "/", "http://mock.invalid").searchParams);
    record(req, res, onAzure ? (req.url ?? path) : path, body);
    let served = path;
    if (onAzure) {
      if ("problem" in onAzure) return sendJson(res, 404, openaiError(404, onAzure.problem));
      if (!azure.accepts({ "api-key": req.headers["api-key"], authorization: req.headers.authorization })) {
        return sendJson(res, 401, openaiError(401, "Access denied due to invalid subscription key or wrong API endpoint."));
      }
      served = onAzure.path;
      if (onAzure.deployment && body && typeof body === "object") body = { ...body, model: onAzure.deployment };
    }
    const call = req.method === "POST" ? route(served, (body ?? {}) as { model?: string; stream?: boolean }) : undefined;
    const dialect = call?.dialect ?? (served.startsWith("/v2/") ? COHERE : OPENAI);
    const errorHeaders = (status: number) => dialect.errorHeaders?.(status) ?? {};
    if (call?.signedBy === "bedrock") {
      const problem = signatureProblem(
        { method: req.method ?? "POST", url: req.url ?? "/", headers: req.headers, body: text },
        { [MOCK_AWS_ACCESS_KEY_ID]: MOCK_AWS_SECRET_ACCESS_KEY },
      );
      if (problem) return sendJson(res, problem.status, { message: problem.message }, { "x-amzn-errortype": problem.type });
    }
    if (call?.signedBy === "vertex") {
      if (!vertex.accepts(req.headers.authorization)) {
        return sendJson(res, 401, geminiError(401, "Request had invalid authentication credentials."));
      }
      const problem = call.dialect === ANTHROPIC ? vertexAnthropicProblem(body ?? {}, call.stream) : undefined;
      if (problem) return sendJson(res, 400, anthropicError(400, problem));
    }
    if (call?.signedBy === "code-assist") {
      const problem = codeAssistProblem((body ?? {}) as CodeAssistRequest);
      if (problem) return sendJson(res, problem.status, problem.body);
    }
    // Gemini with a bearer token (a user's Google account): only a token the mock's Google issued and still honours.
    if (call?.dialect === GEMINI && !call.signedBy && req.headers.authorization && !google.accepts(req.headers.authorization)) {
      return sendJson(
        res,
        401,
        geminiError(
          401,
          "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.",
        ),
      );
    }
    // As OpenAI does, the Responses API refuses chat completions' stream options.
    if (
      call?.dialect === RESPONSES &&
      (body as { stream_options?: { include_usage?: unknown } })?.stream_options?.include_usage !== undefined
    ) {
      return sendJson(res, 400, openaiError(400, "Unknown parameter: 'stream_options.include_usage'."));
    }
    // Like real providers, a rejected key is quoted back in the error (the gateway must not pass it on).
    const credential =
      call?.signedBy === "bedrock"
        ? MOCK_AWS_ACCESS_KEY_ID
        : call?.signedBy === "vertex"
          ? "vertex"
          : (/^Bearer (\S+)$/.exec(req.headers.authorization ?? "")?.[1] ??
            String(req.headers["x-api-key"] ?? req.headers["x-goog-api-key"] ?? ""));
    if (credential.startsWith("sk-reject"))
      return sendJson(res, 401, dialect.error(401, `Incorrect API key provided: ${credential}.`));
    const model = call?.model ?? (body as { model?: string } | undefined)?.model;
    const behaviour = behaviourFor(req.headers, defaults, budget, { model, credential });
    await sleep(behaviour.latencyMs);
    const failure = behaviour.failure;
    if (failure?.kind === "drop") {
      req.socket.destroy();
      return;
    }
    if (failure?.kind === "status") {
      const headers: Record<string, string> = {
        ...errorHeaders(failure.status),
        ...(failure.retryAfter && { "retry-after": failure.retryAfter }),
      };
      return sendJson(res, failure.status, dialect.error(failure.status, `mock upstream failure (${failure.status})`), headers);
    }
    if (req.method === "GET" && path === "/v1/models") return sendJson(res, 200, openaiModelList(MOCK_MODELS));
    if (call?.dialect === GEMINI && wantsGeminiImage(body)) return sendJson(res, 200, geminiImageAnswer(body ?? {}, call.model));
    if (call?.dialect === GEMINI && wantsGeminiAudio(body)) {
      const spoken = geminiSpeechAnswer(body ?? {}, call.model);
      return sendJson(res, spoken.status, spoken.body);
    }
    if (call?.dialect === WORKERS_AI && (body as WorkersAiRequest | undefined)?.text !== undefined) {
      return sendJson(res, 200, workersAiEmbeddings((body as WorkersAiRequest).text).body);
    }
    if (call) return complete(res, { ...call, body: (body ?? {}) as never }, behaviour);
    const onVertex = VERTEX_METHOD_PATH.exec(path);
    const method = onVertex ?? GEMINI_METHOD_PATH.exec(path);
    if (req.method === "POST" && method) {
      if (onVertex && !vertex.accepts(req.headers.authorization)) {
        return sendJson(res, 401, geminiError(401, "Request had invalid authentication credentials."));
      }
      const model = decodeURIComponent(method[1] ?? "");
      const answered = answerGeminiMethod({ model, method: method[2] ?? "", body, vertex: onVertex !== null });
      return sendJson(res, answered.status, answered.body);
    }
    if (req.method === "POST" && path === ANTHROPIC_COUNT_PATH) {
      const answered = answerAnthropicCount(body);
      return sendJson(res, answered.status, answered.body);
    }
    if (req.method === "POST" && MEDIA_PATHS.has(path)) {
      const fields = (body ?? {}) as Record<string, unknown>;
      const json = upload || body === undefined ? undefined : fields;
      return answerMedia(res, { path, json, form: upload, fields, intervalMs: behaviour.intervalMs });
    }
    if (req.method === "POST" && (served === "/v2/rerank" || served === "/v2/embed")) {
      const reply = (served === "/v2/rerank" ? cohereRerank : cohereEmbed)((body ?? {}) as Record<string, unknown>);
      return sendJson(res, reply.status, reply.body);
    }
    if (req.method === "POST" && served === "/v1/rerank") {
      const reply = vllmRerank((body ?? {}) as Record<string, unknown>);
      return sendJson(res, reply.status, reply.body);
    }
    if (req.method === "POST" && served === "/v1/completions")
      return textCompletion(res, (body ?? {}) as TextCompletionRequest, behaviour);
    if (req.method === "POST" && served === "/v1/embeddings") {
      const request = (body ?? {}) as { model?: string; input?: unknown };
      const inputs =
        typeof request.input === "string" ? [request.input] : Array.isArray(request.input) ? request.input : undefined;
      if (!inputs?.every((text): text is string => typeof text === "string")) {
        return sendJson(res, 400, openaiError(400, "'input' must be a string or an array of strings."));
      }
      return sendJson(
        res,
        200,
        openaiEmbeddings(
          request.model ?? "",
          inputs,
          inputs.reduce((sum, text) => sum + countTokens(text), 0),
        ),
      );
    }
    sendJson(res, 404, openaiError(404, `mock upstream has no route ${req.method} ${path}`));
  }

  const server = createServer((req, res) => {
    answer(req, res).catch((error) => sendJson(res, 500, openaiError(500, String(error))));
  });
  // Keys the mock rejects are refused here too; any other bearer opens a session.
  attachRealtime(server, (authorization) => /^Bearer (?!sk-reject)\S+$/.test(authorization ?? ""));
  const port = await listen(server, options.port);
  baseUrl = `http://127.0.0.1:${port}`;
  return { url: baseUrl, port, requests, close: () => closeServer(server) };
}
