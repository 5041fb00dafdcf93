// An OpenAI-format chat completion. To an OpenAI-dialect provider the body is
// forwarded as sent (model and credentials swapped) and the answer relayed as
// is; to another dialect it goes through the canonical form.
import type { GatewayContext } from "../context.ts";
import { canonicalToOpenAIResponse, OpenAIStreamEncoder, openaiRequestToCanonical } from "../formats/openai/canonical.ts";
import { canonicalToTextCompletion, TextCompletionStreamEncoder } from "../formats/openai/completions.ts";
import { GatewayError } from "../http/errors.ts";
import { estimateRequest } from "../limits/estimate.ts";
import { relayOpenAIStream } from "../providers/openai/stream.ts";
import type { OpenAIChatBody, OpenAIEndpoint } from "../providers/types.ts";
import { beginCall, passJsonThrough, sendUpstream, streamHooks, streamResponse, targetFor } from "./call.ts";
import type { Target } from "./resolve.ts";
import { type ClientEncoder, proxyCanonical } from "./translated.ts";

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

export async function proxyChatCompletion(c: GatewayContext, requestBody: OpenAIChatBody): Promise<Response> {
  const { body, provider } = takeProviderField(requestBody);
  const target = targetFor(c, body.model, provider);
  if (target.adapter.dialect !== "openai") {
    // Another dialect: through the canonical form, answered in OpenAI's shapes.
    const includeUsage = clientWantsUsage(body);
    const encoder: ClientEncoder = {
      response: canonicalToOpenAIResponse,
      stream: (model) => new OpenAIStreamEncoder(model, includeUsage),
    };
    return await proxyCanonical(c, openaiRequestToCanonical(body), encoder, target);
  }
  return await forwardOpenAI(c, body, { endpoint: "chat/completions", target });
}

/** A legacy completion: forwarded to OpenAI-dialect providers; to others through the canonical form, as a chat turn. */
export async function proxyCompletion(c: GatewayContext, requestBody: OpenAIChatBody): Promise<Response> {
  const { body, provider } = takeProviderField(requestBody);
  const target = targetFor(c, body.model, provider);
  if (target.adapter.dialect !== "openai") {
    const prompt = Array.isArray(body.prompt) ? body.prompt.join("") : String(body.prompt ?? "");
    const chat = openaiRequestToCanonical({ ...body, messages: [{ role: "user", content: prompt }] });
    const includeUsage = clientWantsUsage(body);
    const encoder: ClientEncoder = {
      response: canonicalToTextCompletion,
      stream: (model) => new TextCompletionStreamEncoder(model, includeUsage),
    };
    return await proxyCanonical(c, chat, encoder, target);
  }
  return await forwardOpenAI(c, body, { endpoint: "completions", target });
}

/** Embeddings: OpenAI-dialect providers only, forwarded as sent. */
export async function proxyEmbeddings(c: GatewayContext, requestBody: OpenAIChatBody): Promise<Response> {
  const { body, provider } = takeProviderField(requestBody);
  const target = targetFor(c, body.model, provider);
  if (target.adapter.dialect !== "openai") {
    throw new GatewayError(
      400,
      "invalid_request",
      `Embeddings are served by OpenAI-compatible providers; \`${target.provider}\` is not one.`,
      {
        param: "model",
        code: "embeddings_unsupported",
      },
    );
  }
  return await forwardOpenAI(c, body, { endpoint: "embeddings", target, generates: false });
}

async function forwardOpenAI(
  c: GatewayContext,
  body: OpenAIChatBody,
  options: { endpoint: OpenAIEndpoint; target: Target; generates?: boolean },
): Promise<Response> {
  const { config, requestId } = c.var;
  const streamed = body.stream === true;
  const call = await beginCall(c, {
    target: options.target,
    estimate: estimateRequest(body, options.generates === false ? 0 : config.limits.defaultMaxOutputTokens),
    streamed,
  });
  const { target } = options;
  const request = target.adapter.chatRequest({
    endpoint: options.endpoint,
    settings: target.settings,
    upstreamModel: target.upstreamModel,
    body,
    requestId,
    clientHeaders: c.req.raw.headers,
  });
  const upstream = await sendUpstream(call, request);

  if (!streamed || !upstream.body)
    return await passJsonThrough(call, upstream, (json) => target.adapter.usageFrom((json as { usage?: unknown }).usage));
  const stream = relayOpenAIStream(upstream.body, {
    ...streamHooks(c, call),
    hideUsageChunk: !clientWantsUsage(body),
    usageFrom: target.adapter.usageFrom,
  });
  return streamResponse(call, stream);
}
