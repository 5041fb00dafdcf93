// An OpenAI-format call. To an OpenAI-dialect provider the body is
// forwarded as sent (model and credentials swapped) and the answer relayed as
// is; to another dialect it goes through the canonical form. A fallback chain
// may mix the two.
import type { ProviderSettings } from "../config/index.ts";
import type { GatewayContext } from "../context.ts";
import type { CanonicalRequest } from "../formats/canonical.ts";
import { canonicalToOpenAIResponse, OpenAIStreamEncoder, openaiRequestToCanonical } from "../formats/openai/canonical.ts";
import { canonicalToTextCompletion, TextCompletionStreamEncoder } from "../formats/openai/completions.ts";
import { GatewayError } from "../http/errors.ts";
import { estimateCanonical, estimateRequest } from "../limits/estimate.ts";
import { relayOpenAIStream } from "../providers/openai/stream.ts";
import type { OpenAIChatBody, OpenAIEndpoint } from "../providers/types.ts";
import { passJsonThrough, streamHooks, streamResponse } from "./call.ts";
import { type Exchange, routeCall } from "./failover.ts";
import type { Target } from "./resolve.ts";
import { type ClientEncoder, canonicalExchange } from "./translated.ts";

function clientWantsUsage(body: OpenAIChatBody): boolean {
  const options = body.stream_options as { include_usage?: unknown } | undefined;
  return options?.include_usage === true;
}

/** A string `provider` field picks the provider; anything else under that name is forwarded untouched. */
function takeProviderField(body: OpenAIChatBody): { body: OpenAIChatBody; provider?: string } {
  if (typeof body.provider !== "string") return { body };
  const { provider, ...rest } = body;
  return { body: rest as OpenAIChatBody, provider };
}

interface OpenAICall {
  body: OpenAIChatBody;
  provider?: string;
  endpoint: OpenAIEndpoint;
  /** The request for other dialects, built on first need; absent where only OpenAI-dialect providers serve. */
  canonical?: () => CanonicalRequest;
  encoder?: ClientEncoder;
}

/** Routes an OpenAI-format body: forwarded to OpenAI-dialect targets, translated for the others. */
async function routeOpenAI(c: GatewayContext, input: OpenAICall): Promise<Response> {
  const { body, endpoint } = input;
  const maxOutput = endpoint === "embeddings" ? 0 : c.get("config").limits.defaultMaxOutputTokens;
  return await routeCall(c, {
    model: body.model,
    providerOverride: input.provider,
    streamed: body.stream === true,
    estimate: (first) =>
      first.adapter.dialect !== "openai" && input.canonical
        ? estimateCanonical(input.canonical(), maxOutput)
        : estimateRequest(body, maxOutput),
    exchange: (target, settings) => {
      if (target.adapter.dialect === "openai") return openaiExchange(c, { body, endpoint, target, settings });
      if (!input.canonical || !input.encoder) {
        throw new GatewayError(
          400,
          "invalid_request",
          `Embeddings are served by OpenAI-compatible providers; \`${target.provider}\` is not one.`,
          { param: "model", code: "embeddings_unsupported" },
        );
      }
      return canonicalExchange(c, { request: input.canonical(), encoder: input.encoder, target, settings });
    },
  });
}

const once = <T>(make: () => T): (() => T) => {
  let made: { value: T } | undefined;
  return () => {
    made ??= { value: make() };
    return made.value;
  };
};

export async function proxyChatCompletion(c: GatewayContext, requestBody: OpenAIChatBody): Promise<Response> {
  const { body, provider } = takeProviderField(requestBody);
  const includeUsage = clientWantsUsage(body);
  return await routeOpenAI(c, {
    body,
    provider,
    endpoint: "chat/completions",
    canonical: once(() => openaiRequestToCanonical(body)),
    encoder: { response: canonicalToOpenAIResponse, stream: (model) => new OpenAIStreamEncoder(model, includeUsage) },
  });
}

/** A legacy completion: forwarded to OpenAI-dialect providers; to others through the canonical form, as a chat turn. */
export async function proxyCompletion(c: GatewayContext, requestBody: OpenAIChatBody): Promise<Response> {
  const { body, provider } = takeProviderField(requestBody);
  const includeUsage = clientWantsUsage(body);
  return await routeOpenAI(c, {
    body,
    provider,
    endpoint: "completions",
    canonical: once(() => {
      const prompt = Array.isArray(body.prompt) ? body.prompt.join("") : String(body.prompt ?? "");
      return openaiRequestToCanonical({ ...body, messages: [{ role: "user", content: prompt }] });
    }),
    encoder: {
      response: canonicalToTextCompletion,
      stream: (model) => new TextCompletionStreamEncoder(model, includeUsage),
    },
  });
}

/** Embeddings: OpenAI-dialect providers only, forwarded as sent. */
export async function proxyEmbeddings(c: GatewayContext, requestBody: OpenAIChatBody): Promise<Response> {
  const { body, provider } = takeProviderField(requestBody);
  return await routeOpenAI(c, { body, provider, endpoint: "embeddings" });
}

function openaiExchange(
  c: GatewayContext,
  input: { body: OpenAIChatBody; endpoint: OpenAIEndpoint; target: Target; settings: ProviderSettings },
): Exchange {
  const { body, target } = input;
  return {
    request: target.adapter.chatRequest({
      endpoint: input.endpoint,
      settings: input.settings,
      upstreamModel: target.upstreamModel,
      body,
      requestId: c.get("requestId"),
      clientHeaders: c.req.raw.headers,
    }),
    async respond(call, answer) {
      if (!answer.stream) {
        return passJsonThrough(call, answer.text, (json) => target.adapter.usageFrom((json as { usage?: unknown }).usage));
      }
      return streamResponse(
        call,
        relayOpenAIStream(answer.stream, {
          ...streamHooks(c, call),
          hideUsageChunk: !clientWantsUsage(body),
          usageFrom: target.adapter.usageFrom,
        }),
      );
    },
  };
}
