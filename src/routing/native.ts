// A call whose client speaks the provider's own format: the body goes up as
// sent (model and credentials swapped; unknown fields survive) and the answer
// comes back byte for byte, usage read on the way. Other providers get the
// request through the canonical form.
import type { ProviderSettings } from "../config/index.ts";
import type { GatewayContext } from "../context.ts";
import type { CanonicalRequest } from "../formats/canonical.ts";
import { type RelayHooks, relaySse, type UpstreamBody } from "../http/sse-relay.ts";
import { estimateCanonical } from "../limits/estimate.ts";
import type { StreamDecoder } from "../providers/types.ts";
import { passJsonThrough, streamHooks, streamResponse } from "./call.ts";
import { type Exchange, routeCall } from "./failover.ts";
import type { Target } from "./resolve.ts";
import { decodeEvents, type StreamWatch } from "./translate-stream.ts";
import { type ClientEncoder, canonicalExchange } from "./translated.ts";

interface NativeInput {
  dialect: "anthropic" | "gemini";
  body: Record<string, unknown>;
  canonical: CanonicalRequest;
  encoder: ClientEncoder;
  providerOverride?: string;
}

export async function proxyNativeOrCanonical(c: GatewayContext, input: NativeInput): Promise<Response> {
  const { canonical } = input;
  return await routeCall(c, {
    model: canonical.model,
    providerOverride: input.providerOverride,
    streamed: canonical.stream,
    estimate: () => estimateCanonical(canonical, c.get("config").limits.defaultMaxOutputTokens),
    exchange: (target, settings) =>
      target.adapter.dialect === input.dialect && target.adapter.nativeRequest
        ? nativeExchange(c, { input, target, settings })
        : canonicalExchange(c, { request: canonical, encoder: input.encoder, target, settings }),
  });
}

function nativeExchange(
  c: GatewayContext,
  options: { input: NativeInput; target: Target; settings: ProviderSettings },
): Exchange {
  const { input, target } = options;
  const request = target.adapter.nativeRequest?.({
    settings: options.settings,
    upstreamModel: target.upstreamModel,
    body: input.body,
    stream: input.canonical.stream,
    requestId: c.get("requestId"),
    clientHeaders: c.req.raw.headers,
  });
  if (!request) throw new Error(`provider ${target.provider} has no native request`);
  return {
    request,
    async respond(call, answer) {
      if (!answer.stream) return passJsonThrough(call, answer.text, (json) => target.adapter.canonicalResponse(json).usage);
      return streamResponse(
        call,
        relayNativeStream(answer.stream, { ...streamHooks(c, call), decoder: target.adapter.streamDecoder() }),
      );
    },
  };
}

interface RelayOptions extends RelayHooks, StreamWatch {
  decoder: StreamDecoder;
}

/** Forwards each upstream chunk as it came; the decoder only watches, for usage and for a proper end. */
function relayNativeStream(upstream: UpstreamBody, options: RelayOptions): ReadableStream<Uint8Array> {
  /** The upstream sent its own error event, which has already gone out as it came. */
  let reportedUpstream = false;
  const watch = (events: string[]) => {
    try {
      decodeEvents(options.decoder, events, options);
    } catch (error) {
      reportedUpstream = true;
      throw error;
    }
  };
  return relaySse(
    upstream,
    {
      chunk(raw, events) {
        watch(events);
        return raw;
      },
      tail(events) {
        watch(events);
        return "";
      },
      complete: () => options.decoder.complete,
      closing: () => "",
      reportedByUpstream: () => reportedUpstream,
    },
    options,
  );
}
