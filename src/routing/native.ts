// A call whose client speaks the provider's own format: the body goes up as
// sent (model and credentials swapped; unknown fields survive) and the answer
// comes back byte for byte, usage read on the way. Other providers get the
// request through the canonical form.
import type { GatewayContext } from "../context.ts";
import type { CanonicalRequest } from "../formats/canonical.ts";
import { type RelayHooks, relaySse } from "../http/sse-relay.ts";
import { estimateCanonical } from "../limits/estimate.ts";
import type { StreamDecoder } from "../providers/types.ts";
import { beginCall, passJsonThrough, sendUpstream, streamHooks, streamResponse, targetFor } from "./call.ts";
import { decodeEvents, type StreamWatch } from "./translate-stream.ts";
import { type ClientEncoder, proxyCanonical } from "./translated.ts";

interface NativeInput {
  dialect: "anthropic" | "gemini";
  body: Record<string, unknown>;
  canonical: CanonicalRequest;
  encoder: ClientEncoder;
  providerOverride?: string;
}

export async function proxyNativeOrCanonical(c: GatewayContext, input: NativeInput): Promise<Response> {
  const { config, requestId } = c.var;
  const { canonical } = input;
  const target = targetFor(c, canonical.model, input.providerOverride);
  if (target.adapter.dialect !== input.dialect || !target.adapter.nativeRequest) {
    return await proxyCanonical(c, canonical, input.encoder, target);
  }
  const call = await beginCall(c, {
    target,
    estimate: estimateCanonical(canonical, config.limits.defaultMaxOutputTokens),
    streamed: canonical.stream,
  });
  const nativeRequest = target.adapter.nativeRequest?.bind(target.adapter);
  if (!nativeRequest) throw new Error("provider lost its native request");
  const upstream = await sendUpstream(
    call,
    nativeRequest({
      settings: target.settings,
      upstreamModel: target.upstreamModel,
      body: input.body,
      stream: canonical.stream,
      requestId,
      clientHeaders: c.req.raw.headers,
    }),
  );

  if (!canonical.stream || !upstream.body)
    return await passJsonThrough(call, upstream, (json) => target.adapter.canonicalResponse(json).usage);
  return streamResponse(
    call,
    relayNativeStream(upstream.body, { ...streamHooks(c, call), decoder: target.adapter.streamDecoder() }),
  );
}

interface RelayOptions extends RelayHooks, StreamWatch {
  decoder: StreamDecoder;
}

/** Forwards each upstream chunk as it came; the decoder only watches, for usage and for a proper end. */
function relayNativeStream(upstream: ReadableStream<Uint8Array>, options: RelayOptions): ReadableStream<Uint8Array> {
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
