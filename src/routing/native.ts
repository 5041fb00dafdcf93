// A call whose client speaks the provider's own format: the body goes up as
// sent (model and credentials swapped; unknown fields survive) and the answer
// comes back byte for byte, usage read on the way. Other providers get the
// request through the canonical form.
import type { GatewayContext } from "../context.ts";
import { type CanonicalRequest, canonicalText } from "../formats/canonical.ts";
import { errorStreamEvent } from "../formats/index.ts";
import { GatewayError } from "../http/errors.ts";
import { SSE_HEADERS, SseSplitter, type StreamEnd, sseData } from "../http/sse.ts";
import type { StreamDecoder } from "../providers/types.ts";
import type { TokenCounts } from "../usage/prices.ts";
import { beginCall, deferred, sendUpstream } from "./call.ts";
import { resolveTarget } from "./resolve.ts";
import { type ClientEncoder, proxyCanonical } from "./translated.ts";

interface NativeInput {
  dialect: "anthropic" | "gemini";
  body: Record<string, unknown>;
  canonical: CanonicalRequest;
  encoder: ClientEncoder;
  providerOverride?: string;
}

export async function proxyNativeOrCanonical(c: GatewayContext, input: NativeInput): Promise<Response> {
  const { config, requestId, format } = c.var;
  const { canonical } = input;
  const adapter = resolveTarget(config, canonical.model, c.req.header("x-sluice-provider") ?? input.providerOverride).adapter;
  if (adapter.dialect !== input.dialect || !adapter.nativeRequest)
    return await proxyCanonical(c, canonical, input.encoder, input.providerOverride);

  const call = await beginCall(c, {
    model: canonical.model,
    providerOverride: input.providerOverride,
    estimate: {
      inputTokens:
        Math.ceil(canonicalText(canonical).length / 3) +
        (canonical.tools ? Math.ceil(JSON.stringify(canonical.tools).length / 3) : 0),
      outputTokens: canonical.maxTokens ?? config.limits.defaultMaxOutputTokens,
    },
    streamed: canonical.stream,
  });
  const { target, meter, headers } = call;
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

  if (!canonical.stream || !upstream.body) {
    const text = await upstream.text();
    meter.markFirstByte();
    try {
      meter.setTokens(target.adapter.canonicalResponse(JSON.parse(text)).usage);
    } catch {
      const error = new GatewayError(502, "upstream", `Upstream ${target.provider} sent a response that is not JSON.`);
      call.record(502, error.message);
      throw error;
    }
    call.record(200);
    return new Response(text, { status: 200, headers: { "content-type": "application/json", ...headers } });
  }

  const ended = deferred<StreamEnd>();
  call.recordWhenEnded(ended.promise);
  const stream = relayNativeStream(upstream.body, {
    decoder: target.adapter.streamDecoder(),
    onUsage: (tokens) => meter.setTokens(tokens),
    onGenerated: (characters) => meter.addGenerated(characters),
    onFirstByte: () => meter.markFirstByte(),
    errorEvent: (message) => errorStreamEvent(format, new GatewayError(502, "upstream", message)),
    abortUpstream: () => call.abort.abort(),
    onEnd: ended.resolve,
  });
  return new Response(stream, { status: 200, headers: { ...SSE_HEADERS, ...headers } });
}

interface RelayOptions {
  decoder: StreamDecoder;
  onUsage: (tokens: TokenCounts) => void;
  onGenerated: (characters: number) => void;
  onFirstByte: () => void;
  errorEvent: (message: string) => string;
  abortUpstream: () => void;
  onEnd: (end: StreamEnd) => void;
}

/** Forwards each upstream chunk as it came; the decoder only watches, for usage and for a proper end. */
function relayNativeStream(upstream: ReadableStream<Uint8Array>, options: RelayOptions): ReadableStream<Uint8Array> {
  const reader = upstream.getReader();
  reader.closed.catch(() => undefined);
  const text = new TextDecoder();
  const encoder = new TextEncoder();
  const splitter = new SseSplitter();
  let ended = false;
  /** The upstream sent its own error event, which has already gone out as it came. */
  let reportedUpstream = false;
  const end = (result: StreamEnd) => {
    if (ended) return;
    ended = true;
    options.onEnd(result);
  };
  const decode = (data: string) => {
    try {
      return options.decoder.decode(data);
    } catch (error) {
      reportedUpstream = true;
      throw error;
    }
  };
  const watch = (events: string[]) => {
    for (const event of events) {
      const data = sseData(event);
      if (data === undefined) continue;
      for (const canonical of decode(data)) {
        if (canonical.type === "usage") options.onUsage(canonical.usage);
        if (canonical.type === "text") options.onGenerated(canonical.text.length);
        if (canonical.type === "tool_call_delta") options.onGenerated(canonical.arguments.length);
      }
    }
  };
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const { done, value } = await reader.read();
          if (done) {
            watch(splitter.push(`${text.decode()}${splitter.pending ? "\n\n" : ""}`));
            if (options.decoder.complete) {
              end({ kind: "complete" });
            } else {
              const message = "The upstream stream ended before it was complete.";
              controller.enqueue(encoder.encode(options.errorEvent(message)));
              end({ kind: "upstream_error", error: message });
            }
            controller.close();
            return;
          }
          options.onFirstByte();
          controller.enqueue(value);
          watch(splitter.push(text.decode(value, { stream: true })));
        } catch (error) {
          const message = `The upstream stream failed: ${error instanceof Error ? error.message : String(error)}`;
          if (!reportedUpstream) controller.enqueue(encoder.encode(options.errorEvent(message)));
          end({ kind: "upstream_error", error: message });
          options.abortUpstream();
          controller.close();
        }
      },
      async cancel() {
        options.abortUpstream();
        end({ kind: "client_closed", error: "client closed the stream" });
        await reader.cancel().catch(() => undefined);
      },
    },
    { highWaterMark: 0 },
  );
}
