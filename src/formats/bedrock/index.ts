// Bedrock's Converse API as a client format (the AWS SDK's ConverseCommand
// and ConverseStreamCommand): the model and whether to stream come from the
// path, `/model/{modelId}/converse` or `/converse-stream`. Forwarded as sent
// to Bedrock, decoded to the canonical form for every other provider.
import type { ClientFormat, RequestFacts, RouteFacts } from "../types.ts";
import { type ConverseBody, converseSchema, converseToCanonical } from "./request.ts";
import { ConverseStreamEncoder, canonicalToConverseResponse } from "./response.ts";

export const bedrockConverse: ClientFormat<ConverseBody> = {
  name: "bedrock",
  dialect: "bedrock-converse",
  errors: "bedrock",
  schema: converseSchema,
  // The route always knows both: they are in the path.
  facts: (_body, route: RouteFacts) => ({ model: route.model ?? "", stream: route.stream === true }),
  forwarded: (body) => body,
  prompt: (body) => [body.system ?? "", body.messages, body.toolConfig ?? ""],
  output: {
    of: (body) => body.inferenceConfig?.maxTokens,
    set: (forwarded, cap) => ({
      ...forwarded,
      inferenceConfig: { ...(forwarded.inferenceConfig as Record<string, unknown> | undefined), maxTokens: cap },
    }),
  },
  toCanonical: (body, facts: RequestFacts) => converseToCanonical(body, facts.model, facts.stream),
  translated: new Set(["messages", "system", "inferenceConfig", "toolConfig"]),
  encoder: () => ({ response: canonicalToConverseResponse, stream: () => new ConverseStreamEncoder() }),
};
