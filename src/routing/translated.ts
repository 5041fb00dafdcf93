// A call whose client format differs from the provider's: decoded to the
// canonical form, encoded for the provider, and the answer translated back,
// streamed event by event. Any client format reaches any provider this way.
import type { ProviderSettings } from "../config/index.ts";
import type { GatewayContext } from "../context.ts";
import type { CanonicalRequest } from "../formats/canonical.ts";
import { malformedAnswer, streamHooks, streamResponse } from "./call.ts";
import type { Exchange } from "./failover.ts";
import type { Target } from "./resolve.ts";
import { type ClientEncoder, translateStream } from "./translate-stream.ts";

export type { ClientEncoder } from "./translate-stream.ts";

export function canonicalExchange(
  c: GatewayContext,
  input: { request: CanonicalRequest; encoder: ClientEncoder; target: Target; settings: ProviderSettings },
): Exchange {
  const { request, encoder, target } = input;
  return {
    request: target.adapter.canonicalRequest({
      settings: input.settings,
      upstreamModel: target.upstreamModel,
      request,
      requestId: c.get("requestId"),
      clientHeaders: c.req.raw.headers,
    }),
    async respond(call, upstream) {
      if (!upstream.stream) {
        let answer: ReturnType<typeof target.adapter.canonicalResponse>;
        try {
          answer = target.adapter.canonicalResponse(JSON.parse(upstream.text));
        } catch {
          throw malformedAnswer(call);
        }
        call.meter.markFirstByte();
        call.meter.setTokens(answer.usage);
        call.record(200);
        return c.json(encoder.response(answer, request.model), 200, call.headers);
      }
      const stream = translateStream(upstream.stream, {
        ...streamHooks(c, call),
        decoder: target.adapter.streamDecoder(),
        encoder: encoder.stream(request.model),
      });
      return streamResponse(call, stream);
    },
  };
}
