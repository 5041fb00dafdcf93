// A call whose client format differs from the provider's: decoded to the
// canonical form, encoded for the provider, and the answer translated back,
// streamed event by event. Any client format reaches any provider this way.
import type { GatewayContext } from "../context.ts";
import type { CanonicalRequest, CanonicalResponse } from "../formats/canonical.ts";
import { GatewayError } from "../http/errors.ts";
import { estimateCanonical } from "../limits/estimate.ts";
import { beginCall, sendUpstream, streamHooks, streamResponse, targetFor } from "./call.ts";
import type { Target } from "./resolve.ts";
import { type ClientEncoder, translateStream } from "./translate-stream.ts";

export type { ClientEncoder } from "./translate-stream.ts";

export async function proxyCanonical(
  c: GatewayContext,
  request: CanonicalRequest,
  encoder: ClientEncoder,
  target: Target = targetFor(c, request.model),
): Promise<Response> {
  const { config, requestId } = c.var;
  const call = await beginCall(c, {
    target,
    estimate: estimateCanonical(request, config.limits.defaultMaxOutputTokens),
    streamed: request.stream,
  });
  const { meter, headers } = call;
  const upstream = await sendUpstream(
    call,
    target.adapter.canonicalRequest({
      settings: target.settings,
      upstreamModel: target.upstreamModel,
      request,
      requestId,
      clientHeaders: c.req.raw.headers,
    }),
  );

  if (!request.stream || !upstream.body) {
    let answer: CanonicalResponse;
    try {
      answer = target.adapter.canonicalResponse(await upstream.json());
    } catch {
      const error = new GatewayError(502, "upstream", `Upstream ${target.provider} sent a response that is not JSON.`);
      call.record(502, error.message);
      throw error;
    }
    meter.markFirstByte();
    meter.setTokens(answer.usage);
    call.record(200);
    return c.json(encoder.response(answer, request.model), 200, headers);
  }

  const stream = translateStream(upstream.body, {
    ...streamHooks(c, call),
    decoder: target.adapter.streamDecoder(),
    encoder: encoder.stream(request.model),
  });
  return streamResponse(call, stream);
}
