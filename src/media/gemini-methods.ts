// Gemini's `embedContent`, `batchEmbedContents` and `countTokens` through the
// gateway call: the caller's limits, the route and its fallbacks, the meter
// and the ledger. A provider that speaks Gemini (Gemini, Vertex AI) gets the
// body as sent, with the target's model where the body names one. Others
// are translated where they have the same thing: embeddings from an
// OpenAI-style `/embeddings`, counts from Anthropic's `count_tokens`. The
// rest is the caller's 400, naming what would serve it.
import { principalPolicy } from "../auth/principal.ts";
import type { GatewayContext } from "../context.ts";
import type { CanonicalRequest } from "../formats/canonical.ts";
import {
  embedTexts,
  type GeminiBatchEmbedBody,
  type GeminiCountTokensBody,
  type GeminiEmbedRequest,
} from "../formats/gemini/methods.ts";
import { geminiToCanonical } from "../formats/gemini/request.ts";
import { type FoundModality, findMedia, type Modality as InputKind } from "../guardrails/modalities.ts";
import { checkRequestLimits, type ShapeRefusal } from "../guardrails/request-limits.ts";
import { badRequest, GatewayError, headerValue } from "../http/errors.ts";
import { estimateInputTokens, mediaRulesFor } from "../limits/estimate.ts";
import type { Endpoint, EndpointMethod, ProviderSettings } from "../providers/types.ts";
import { type GatewayCall, malformedAnswer } from "../routing/call.ts";
import type { Exchange } from "../routing/exchanges.ts";
import { type GuardRun, guardrailsOver } from "../routing/guard-stage.ts";
import { pickedProvider } from "../routing/proxy.ts";
import type { Target } from "../routing/resolve.ts";
import { routeCall } from "../routing/route-call.ts";
import type { TokenCounts } from "../usage/prices.ts";
import type { Modality } from "../usage/record.ts";

export type GeminiMethodCall =
  | { method: "embedContent"; model: string; body: GeminiEmbedRequest }
  | { method: "batchEmbedContents"; model: string; body: GeminiBatchEmbedBody }
  | { method: "countTokens"; model: string; body: GeminiCountTokensBody };

const NO_TOKENS: TokenCounts = { promptTokens: 0, completionTokens: 0, cachedTokens: 0 };
/** What OpenAI-style embeddings do not take from Gemini's requests: named in `x-sluice-dropped`. */
const NOT_TRANSLATED = ["taskType", "title"] as const;

const unsupported = (method: EndpointMethod, target: Target) => {
  const servedBy =
    method === "countTokens"
      ? "Gemini, Vertex AI's Gemini models and Anthropic"
      : "Gemini, Vertex AI's Gemini models and providers with OpenAI-style embeddings";
  return new GatewayError(
    400,
    "invalid_request",
    `${method} is served by ${servedBy}; \`${target.provider}\` has no ${method === "countTokens" ? "token count" : "embeddings"} API Sluice can reach.`,
    { param: "model", code: `${method}_unsupported` },
  );
};

const parsed = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
};

/** The requests a call embeds, one each for `embedContent`. */
const embedRequests = (call: GeminiMethodCall): GeminiEmbedRequest[] =>
  call.method === "embedContent" ? [call.body] : call.method === "batchEmbedContents" ? call.body.requests : [];

/** About four characters a token: what an embedding the provider does not count is billed at. */
const textTokens = (call: GeminiMethodCall) =>
  embedRequests(call).reduce(
    (sum, request) => sum + Math.ceil(embedTexts(request).texts.reduce((length, text) => length + text.length, 0) / 4),
    0,
  );

/** The body for a Gemini-speaking target: each `model` a body names is the target's (Gemini refuses one that is not the path's). */
function forGemini(call: GeminiMethodCall, upstreamModel: string): Record<string, unknown> {
  const named = (model: unknown) => (model === undefined ? {} : { model: `models/${upstreamModel}` });
  if (call.method === "batchEmbedContents") {
    return { ...call.body, requests: call.body.requests.map((request) => ({ ...request, ...named(request.model ?? "") })) };
  }
  if (call.method === "countTokens" && call.body.generateContentRequest) {
    const inner = call.body.generateContentRequest;
    return { ...call.body, generateContentRequest: { ...inner, ...named(inner.model ?? "") } };
  }
  return { ...call.body, ...named(call.body.model) };
}

interface ExchangeInput {
  c: GatewayContext;
  call: GeminiMethodCall;
  target: Target;
  settings: ProviderSettings;
}

const endpointCall = (input: ExchangeInput, body: Record<string, unknown>, method?: EndpointMethod) => ({
  settings: input.settings,
  upstreamModel: input.target.upstreamModel,
  body,
  stream: false,
  requestId: input.c.get("requestId"),
  clientHeaders: input.c.req.raw.headers,
  method,
});

/** Reads a JSON answer; throws the 502 for one that is not. */
function answerJson(call: GatewayCall, answer: { text?: string; stream?: unknown }): unknown {
  const json = answer.stream === undefined ? parsed(answer.text ?? "") : undefined;
  if (json === undefined) throw malformedAnswer(call);
  call.meter.markFirstByte();
  return json;
}

/**
 * Gemini's own answer, forwarded. An embedding that reports no tokens (the
 * Gemini API's do not) is billed at its estimate, flagged so; a count is free.
 */
function geminiExchange(input: ExchangeInput, endpoint: Endpoint): Exchange {
  const { call } = input;
  if (input.settings.codeAssist) throw unsupported(call.method, input.target);
  return {
    framing: endpoint.framing,
    request: () => endpoint.request(endpointCall(input, forGemini(call, input.target.upstreamModel), call.method)),
    async respond(gateway, answer) {
      const json = answerJson(gateway, answer);
      const reported = call.method === "countTokens" ? NO_TOKENS : endpoint.codec.usage(json);
      gateway.meter.setTokens(reported ?? { ...NO_TOKENS, promptTokens: textTokens(call) });
      if (!reported) gateway.meter.flags.usage_estimated = true;
      gateway.record(200);
      return new Response(answer.text, { headers: { "content-type": "application/json", ...gateway.headers } });
    },
  };
}

interface OpenAIEmbeddingsAnswer {
  data?: { index?: number; embedding?: unknown }[];
}

/** Embeddings from an OpenAI-style `/embeddings`: every text in one call, answered as Gemini answers. */
function embeddingsExchange(input: ExchangeInput, endpoint: Endpoint): Exchange {
  const { call } = input;
  const requests = embedRequests(call);
  const inputs = requests.map((request, index) => {
    const { texts, other } = embedTexts(request);
    if (other !== undefined) {
      const where =
        call.method === "batchEmbedContents" ? `requests[${index}].content.parts[${other}]` : `content.parts[${other}]`;
      throw badRequest(`Invalid \`${where}\`: only text is embedded by \`${input.target.provider}\``, where);
    }
    // A content's parts make one embedding, as Gemini makes them.
    return texts.join("\n");
  });
  const dimensions = new Set(requests.map((request) => request.outputDimensionality));
  if (dimensions.size > 1) throw badRequest("Invalid `outputDimensionality`: must be the same in every request", "requests");
  const [dimension] = dimensions;
  const dropped = NOT_TRANSLATED.filter((field) => requests.some((request) => request[field] !== undefined));
  return {
    framing: endpoint.framing,
    request: () =>
      endpoint.request(endpointCall(input, { input: inputs, ...(dimension !== undefined && { dimensions: dimension }) })),
    async respond(gateway, answer) {
      const json = answerJson(gateway, answer) as OpenAIEmbeddingsAnswer;
      const data = Array.isArray(json.data) ? json.data : [];
      const vectors = inputs.map((_, index) => data.find((item) => item.index === index)?.embedding ?? data[index]?.embedding);
      if (!vectors.every(Array.isArray)) throw malformedAnswer(gateway);
      gateway.meter.setTokens(endpoint.codec.usage(json));
      gateway.record(200);
      if (dropped.length > 0) gateway.headers["x-sluice-dropped"] = headerValue(dropped.join(", "));
      const embeddings = vectors.map((values) => ({ values }));
      const body = call.method === "embedContent" ? { embedding: embeddings[0] } : { embeddings };
      return Response.json(body, { headers: gateway.headers });
    },
  };
}

/** A count from a provider's own count endpoint (Anthropic's), the request translated to its dialect, answered as Gemini's. */
function countExchange(input: ExchangeInput, endpoint: Endpoint, body: GeminiCountTokensBody): Exchange {
  const generate = body.generateContentRequest ?? { contents: body.contents ?? [] };
  const canonical: CanonicalRequest = geminiToCanonical(generate, input.call.model, false);
  return {
    framing: endpoint.framing,
    request: () => endpoint.request(endpointCall(input, endpoint.codec.encode(canonical), "countTokens")),
    async respond(gateway, answer) {
      const json = answerJson(gateway, answer) as { input_tokens?: unknown };
      if (typeof json.input_tokens !== "number") throw malformedAnswer(gateway);
      gateway.meter.setTokens(NO_TOKENS);
      gateway.record(200);
      return Response.json({ totalTokens: json.input_tokens }, { headers: gateway.headers });
    },
  };
}

function methodExchange(input: ExchangeInput): Exchange {
  const { call, target } = input;
  const endpoints = target.descriptor.endpoints(target.upstreamModel);
  const gemini = endpoints.find((endpoint) => endpoint.dialect === "gemini-generate" && endpoint.methods?.has(call.method));
  if (gemini) return geminiExchange(input, gemini);
  if (call.method === "countTokens") {
    const counter = endpoints.find((endpoint) => endpoint.methods?.has("countTokens"));
    if (counter) return countExchange(input, counter, call.body);
  } else {
    const embeddings = endpoints.find((endpoint) => endpoint.dialect === "openai-embeddings");
    if (embeddings) return embeddingsExchange(input, embeddings);
  }
  throw unsupported(call.method, target);
}

const MODALITY: Record<GeminiMethodCall["method"], Modality> = {
  embedContent: "embedding",
  batchEmbedContents: "embedding",
  countTokens: "token_count",
};

/**
 * The parts a call sends that a caller's `request_limits` read beside those
 * of `contents` (which they read as a prompt's): the contents to embed, and
 * a count's whole `generateContentRequest`, each named where it is.
 */
function partsBeside(call: GeminiMethodCall, refused: (kind: InputKind) => boolean): FoundModality | undefined {
  if (call.method === "countTokens") {
    const inner = call.body.generateContentRequest;
    const found = inner ? findMedia(inner, refused) : undefined;
    return found && { ...found, field: `generateContentRequest.${found.field}` };
  }
  const found = findMedia({ contents: embedRequests(call).map((request) => request.content) }, refused);
  const where = (index: string) => (call.method === "embedContent" ? "content" : `requests[${index}].content`);
  return found && { ...found, field: found.field.replace(/^contents\[(\d+)\]/, (_, index: string) => where(index)) };
}

/** Where each method's words are, for the text limits' refusals: a count of `contents` names its own. */
const TEXT_FIELD: Record<GeminiMethodCall["method"], string> = {
  embedContent: "content",
  batchEmbedContents: "requests",
  countTokens: "generateContentRequest",
};

/** The caller's `request_limits` over a call, as the chat path holds a prompt to them; undefined when it keeps to them. */
function requestLimitRefusal(c: GatewayContext, call: GeminiMethodCall): ShapeRefusal | undefined {
  const limits = principalPolicy(c.get("principal"))?.request_limits;
  if (!limits) return undefined;
  const body = call.body as unknown as Record<string, unknown>;
  return checkRequestLimits(body, limits, {
    inputTokens: () => estimateInputTokens([body], "gemini"),
    outputCap: undefined,
    sentBeside: (refused) => partsBeside(call, refused),
    textField: TEXT_FIELD[call.method],
  });
}

/**
 * Routes `await` it, as they do `proxy()`; a call past the caller's
 * `request_limits` is refused first, then its input guardrails read the
 * texts to embed or count.
 */
export async function geminiMethodProxy(c: GatewayContext, call: GeminiMethodCall): Promise<Response> {
  const picked = pickedProvider(c);
  const texts = embedRequests(call).map((request) => request.content);
  /** The call bound upstream: the caller's, or with what a guardrail redacted taken out. */
  let sent = call;
  const tooBig = requestLimitRefusal(c, call);
  const guard: GuardRun | undefined = tooBig
    ? () => ({ verdicts: [tooBig.verdict], blocked: tooBig.error })
    : guardrailsOver(c, { body: call.body as unknown as Record<string, unknown>, model: call.model }, (guarded) => {
        if (!guarded.blocked) sent = { ...call, body: guarded.body } as unknown as GeminiMethodCall;
        return guarded;
      });
  return await routeCall(c, {
    model: call.model,
    providerOverride: picked,
    providerParam: "x-sluice-provider",
    streamed: false,
    modality: MODALITY[call.method],
    // An embedding reserves its input; a count spends nothing but the request.
    estimate: (first) => ({
      inputTokens: texts.length === 0 ? 0 : estimateInputTokens(texts, mediaRulesFor(first.descriptor.kind, first.upstreamModel)),
      outputTokens: 0,
    }),
    guard,
    exchange: (target, settings) => methodExchange({ c, call: sent, target, settings }),
  });
}
